"""The loss terms each technique logs (the same names its ``terms`` attribute gives), readable without building it."""

TERMS: dict[str, tuple[str, ...]] = {
    "diffusion": ("denoise_mse",),
    "gan": ("d_loss", "g_loss", "d_real", "d_fake"),
    "vae": ("recon_nll", "kl"),
    "autoencoder": ("recon_mse",),
    "dbn": ("recon_error", "free_energy"),
}
