"""The Image tab's generators: diffusers checkpoints and the built-in emoji models."""
