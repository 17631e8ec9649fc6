"""Emoji captions and colour augmentation (no dataset build: fast)."""

from __future__ import annotations

import numpy as np

from studio.training.emoji_data import (
    _check_hsv_roundtrip,
    caption_for,
    dominant_colour,
    hue_shift,
    recolour_caption,
    twemoji_dir,
)


def test_captions_from_unicode_names():
    assert caption_for("1f34e") == "red apple"
    assert caption_for("2764") == "red heart"  # not "heavy black heart"
    assert caption_for("1f680") == "rocket"
    assert caption_for("1f415") == "dog"
    assert caption_for("1f469-200d-1f52c") == "woman microscope"  # ZWJ sequence: visible parts
    assert caption_for("1f44d-1f3fb") is None  # skin-tone variant
    assert caption_for("1f1fa-1f1f8") is None  # flag
    assert caption_for("not-hex") is None


def test_colour_words_follow_the_hue_shift():
    red = np.zeros((8, 8, 3), dtype=np.uint8)
    red[..., 0] = 220
    assert dominant_colour(red) == "red"
    assert dominant_colour(hue_shift(red, 120)) == "green"
    assert dominant_colour(hue_shift(red, 215)) == "blue"
    assert dominant_colour(np.full((8, 8, 3), 128, dtype=np.uint8)) is None  # grey: no colour
    assert recolour_caption("red apple", "green") == "green apple"
    assert recolour_caption("dog face", "blue") == "blue dog face"
    assert _check_hsv_roundtrip()


def test_twemoji_package_is_there():
    assert len(list(twemoji_dir().glob("*.png"))) > 3000
