"""Content Credentials (C2PA): the studio's signing identity, signing its outputs, and reading credentials back."""
