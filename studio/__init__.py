"""A browser creative studio for generative AI: text, images, music and terrain.

Importing this package has no side effects: no torch import, no device probe, no threads.
"""

from __future__ import annotations

__version__ = "0.1.0"
