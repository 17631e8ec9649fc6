"""The synthesiser's own bound on what one render may allocate."""

from __future__ import annotations

import pytest

from studio.generators.music.synth import MAX_RENDER_S, SynthNote, render_notes


def test_render_refuses_audio_past_its_bound_before_allocating() -> None:
    with pytest.raises(ValueError, match=f"at most {MAX_RENDER_S:.0f} s"):
        render_notes([SynthNote(3600.0 * 24, 1.0, 60, 0.8)], "piano")  # a day of silence would be 22 GB
    assert render_notes([SynthNote(0.0, 0.2, 60, 0.8)], "piano").shape[1] == 2
