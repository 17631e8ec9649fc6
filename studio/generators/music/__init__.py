"""The Music tab's generators: the built-in symbolic transformer and MusicGen."""
