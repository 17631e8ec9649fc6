"""What a watermark carries, and how sure a detection is.

The payload is 12 bits: a hash of the studio's mark name and the recipe id, so a detection can confirm "this file
came from that recipe" (1 chance in 4,096 of a wrong recipe matching) without the file carrying the recipe. The
mark name is public and the same for every installation of the studio, so any studio can read any studio's marks;
that also means anyone with this code can look for them (a watermark deters and helps triage, it does not prove).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

MARK_NAME = "studio-open-creative-studio/watermark/v1"
PAYLOAD_BITS = 12
PAYLOADS = 2**PAYLOAD_BITS


def payload_of(recipe_id: str) -> int:
    """The 12-bit payload of a recipe id."""
    digest = hashlib.sha256(f"{MARK_NAME}:{recipe_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % PAYLOADS


def seed_of(purpose: str) -> int:
    """A fixed seed for a method's pseudo-random patterns, derived from the mark name."""
    return int.from_bytes(hashlib.sha256(f"{MARK_NAME}:{purpose}".encode()).digest()[:8], "big")


def false_alarm(z: float, trials: float) -> float:
    """The chance that unmarked content scores ``z`` or more in at least one of ``trials`` looks (Gaussian tail)."""
    tail = 0.5 * math.erfc(z / math.sqrt(2))
    return min(1.0, trials * tail)


THRESHOLD_Z = 6.0  # a reading counts as found from this score on (false_alarm says what that risks)


@dataclass(frozen=True)
class Reading:
    """A reading: the best payload and its score, over ``looks`` payload-and-place guesses of the reader."""

    payload: int
    z: float
    looks: int

    @property
    def false_alarm(self) -> float:
        """The chance unmarked content would score this high in one of the reader's looks."""
        return false_alarm(self.z, self.looks)

    @property
    def found(self) -> bool:
        return self.z >= THRESHOLD_Z
