"""Small generative models that work on pixels directly and are trained in the studio's Train tab: a plain
autoencoder (sampled through a Gaussian fitted to its codes) and a deep belief network (stacked RBMs)."""
