"""Hostile MIDI and audio uploads: refused by their headers and event times, with a ParamError naming the field,
before anything is decoded or rendered (each bomb's peak memory is measured in a fresh process)."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from studio.generators.music.files import MIDI_META_PREFIX, read_audio, read_midi
from studio.generators.music.params import MusicParams
from studio.generators.music.symbolic import plan_piece
from studio.params import ParamError, check_params
from tests.generators.music.helpers import midi_bytes
from tests.memory_helpers import peak_growth

MIDI_SETUP = """
from studio.generators.music.params import MusicParams
from studio.generators.music.symbolic import plan_piece
from studio.params import check_params
"""


def studio_text(**changes: object) -> str:
    controls = {"style": "folk", "tonic": 2, "mode": "minor", "metre": "4/4", "tempo": "moderate"}
    payload: dict[str, object] = {"controls": controls, "tempo_bpm": 100.0, "quarter_bpm": 100.0, "instrument": "piano"}
    for key, value in changes.items():
        (controls if key in controls else payload)[key] = value
    return MIDI_META_PREFIX + json.dumps(payload)


def plan(extend_from: bytes, duration_s: float = 10.0):
    params = check_params(MusicParams, {"prompt": "folk", "extend_from": extend_from, "duration_s": duration_s})
    return plan_piece(params, seed=1)


def test_a_far_away_note_is_refused_before_rendering(tmp_path: Path) -> None:
    bomb = midi_bytes(late_tick=10**9)  # ~2 h later at 120 BPM, in 60 bytes
    assert len(bomb) < 100
    with pytest.raises(ParamError) as err:
        plan(bomb)
    assert err.value.field == "extend_from" and "at most 300 s" in err.value.message
    setup = MIDI_SETUP + "plan_piece(check_params(MusicParams, {'prompt': 'x', 'duration_s': 5.0}), 1)"
    call = "plan_piece(check_params(MusicParams, {'prompt': 'x', 'extend_from': data}), 1)"
    growth, outcome = peak_growth(setup, call, bomb, tmp_path)
    assert outcome.startswith("ParamError: extend_from:") and growth < 50


def test_a_piece_and_its_extension_fit_the_longest_duration() -> None:
    ten_minutes = midi_bytes(late_tick=480 * 2 * 600, text=studio_text(tempo_bpm=120.0, quarter_bpm=120.0))
    with pytest.raises(ParamError, match=r"extend_from: lasts 601 s .* at most 300 s"):
        plan(ten_minutes)
    four_minutes = midi_bytes(late_tick=480 * 2 * 240, text=studio_text(tempo_bpm=120.0, quarter_bpm=120.0))
    assert plan(four_minutes, duration_s=50.0).prior
    with pytest.raises(ParamError, match="extend_from"):
        plan(four_minutes, duration_s=70.0)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (midi_bytes(ticks_per_beat=0), "0 ticks per beat"),
        (midi_bytes(text=studio_text(metre="4/0")), "metre '4/0'"),
        (midi_bytes(text=studio_text(tempo_bpm=0.0, quarter_bpm=0.0)), "tempo 0 BPM"),
        (midi_bytes(text=studio_text(tempo_bpm=float("inf"))), "tempo inf BPM"),
        (midi_bytes(text=studio_text(instrument="kazoo")), "instrument 'kazoo'"),
        (midi_bytes(text=studio_text(tonic=99)), "tonic 99"),
        (b"MThd\0\0\0\6\0\1\xff\xff\1\xe0", "65535 tracks"),
        (b"MThd\0\0\0\6\0\1\0\1\xe7\x28", "SMPTE"),
        (b"MThd\0\0\0\6\0\1\0\1\1\xe0MTrk\xff\xff\xff\xff", "not a readable MIDI file"),
    ],
    ids=["0-ticks", "metre-4/0", "tempo-0", "tempo-inf", "instrument", "tonic", "tracks", "smpte", "truncated"],
)
def test_impossible_midi_is_a_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(ParamError) as err:
        plan(data)
    assert err.value.field == "extend_from" and message in err.value.message


def test_corrupt_midi_gives_only_param_errors() -> None:
    rng = random.Random(0)
    base = midi_bytes(late_tick=1000, text=studio_text())
    for _ in range(400):
        data = bytearray(base)
        for _ in range(rng.randint(1, 5)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        try:
            read_midi(bytes(data[: rng.randrange(len(data) + 1)] if rng.random() < 0.3 else data))
        except ParamError as err:
            assert err.field == "extend_from"
    body = b"\x00\xff\x59\x02\x60\x00\x00\xff\x2f\x00"  # a key signature of 96 flats, end of track
    key = b"MThd\0\0\0\6\0\0\0\1\1\xe0MTrk" + len(body).to_bytes(4, "big") + body
    with pytest.raises(ParamError, match="extend_from: is not a readable MIDI file"):
        read_midi(key)


def test_midi_is_capped_by_size_and_events() -> None:
    body = b"\x00\xb0\x01\x00" + b"\x00\x01\x00" * 55_000 + b"\x00\xff\x2f\x00"  # running status: 3 bytes each
    many = b"MThd\0\0\0\6\0\0\0\1\1\xe0MTrk" + len(body).to_bytes(4, "big") + body
    with pytest.raises(ParamError, match="extend_from: holds 55002 MIDI events; at most 50000"):
        read_midi(many)
    with pytest.raises(ParamError, match="extend_from: is 2048 KiB; MIDI files of at most 256 KiB"):
        read_midi(b"MThd" + b"\0" * (2 * 1024 * 1024 - 4))


def flac_bytes(seconds: float, rate: int = 16000, channels: int = 1) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, np.full((int(seconds * rate), channels), 0.1, np.float32), rate, format="FLAC")
    return buf.getvalue()


def lie_in_streaminfo(data: bytes, *, channels: int | None = None, frames: int | None = None) -> bytes:
    """The FLAC with its STREAMINFO header claiming other channel and frame counts (audio untouched).

    STREAMINFO follows "fLaC" and a 4-byte block header; its bytes 10..17 pack the rate (20 bits), channels - 1
    (3), bits per sample - 1 (5) and the total frames (36).
    """
    assert data[:4] == b"fLaC"
    at = 8 + 10
    bits = int.from_bytes(data[at : at + 8], "big")
    if channels is not None:
        bits = bits & ~(7 << 41) | (channels - 1) << 41
    if frames is not None:
        bits = bits & ~((1 << 36) - 1) | frames
    return data[:at] + bits.to_bytes(8, "big") + data[at + 8 :]


def test_flac_of_30_minutes_of_8_channels_is_refused_by_its_header(tmp_path: Path) -> None:
    bomb = io.BytesIO()  # silence compresses well: 117 kB that decode to 460 MB of float32
    with sf.SoundFile(bomb, "w", samplerate=8000, channels=8, format="FLAC", subtype="PCM_16") as f:
        minute = np.zeros((8000 * 60, 8), np.int16)
        for _ in range(30):
            f.write(minute)
    assert len(bomb.getvalue()) < 200_000
    with pytest.raises(ParamError) as err:
        read_audio(bomb.getvalue(), "extend_from", max_seconds=110.0)
    assert err.value.field == "extend_from"
    assert err.value.message == "is 1800 s long by its header; at most 110 s are allowed"
    setup = """
    import io, numpy as np, soundfile as sf
    from studio.generators.music.files import read_audio
    small = io.BytesIO()
    sf.write(small, np.zeros(1600, np.float32), 16000, format="FLAC")
    read_audio(small.getvalue(), "extend_from")
    """
    growth, outcome = peak_growth(setup, "read_audio(data, 'extend_from', 110.0)", bomb.getvalue(), tmp_path)
    assert outcome.startswith("ParamError: extend_from: is 1800 s long") and growth < 50


def test_audio_header_that_understates_its_length_gets_only_what_it_claimed() -> None:
    liar = lie_in_streaminfo(flac_bytes(5.0), frames=16000)  # says 1 s, holds 5 s
    audio, rate = read_audio(liar, "extend_from", max_seconds=2.0)
    assert rate == 16000 and audio.shape == (16000,) and audio.dtype == np.float32


def test_audio_refusals_name_the_field() -> None:
    with pytest.raises(ParamError, match="extend_from: is 3 s long by its header; at most 2 s"):
        read_audio(flac_bytes(3.0), "extend_from", max_seconds=2.0)
    nine = io.BytesIO()
    sf.write(nine, np.zeros((1600, 9), np.float32), 16000, format="WAV")
    with pytest.raises(ParamError, match="melody_audio: has 9 channels; at most 8"):
        read_audio(nine.getvalue(), "melody_audio")
    # a header that contradicts its stream is refused by libsndfile as it decodes, still by the field's name
    with pytest.raises(ParamError, match="extend_from: is not readable audio"):
        read_audio(lie_in_streaminfo(flac_bytes(1.0), channels=8), "extend_from", max_seconds=2.0)


def test_audio_is_decoded_to_mono_within_the_limit() -> None:
    audio, rate = read_audio(flac_bytes(1.5, channels=2), "melody_audio", max_seconds=2.0)
    assert rate == 16000 and audio.shape == (24000,)
    np.testing.assert_allclose(audio[:5], 0.1, atol=1e-4)
