"""MusicGen through transformers on tiny models built from configs: text-to-music, seeds, continuation past the
window, extend, melody conditioning (studio-computed chroma), and clear errors for bad uploads."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from studio.generators.base import Context, ModelSpec
from studio.generators.music.generator import MusicGenerator, recognise_music
from studio.generators.music.params import MusicParams
from studio.params import ParamError, check_params
from tests.generators.music.helpers import make_tiny_musicgen


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def load(folder: Path) -> object:
    kind = recognise_music(folder)
    return MusicGenerator().load(
        ModelSpec(id=folder.name, modality="music", source="folder", path=str(folder), kind=kind or "")
    )


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> object:
    # 128 positions at 50 frames/s: a 2.46 s window, so 4 s needs a continuation
    return load(make_tiny_musicgen(tmp_path_factory.mktemp("mg") / "tiny-musicgen", positions=128))


@pytest.fixture(scope="module")
def melody(tmp_path_factory: pytest.TempPathFactory) -> object:
    return load(make_tiny_musicgen(tmp_path_factory.mktemp("mgm") / "tiny-musicgen-melody", melody=True))


def wav(seconds: float, freq: float = 440.0, sr: int = 32000) -> bytes:
    t = np.arange(int(seconds * sr)) / sr
    buf = io.BytesIO()
    sf.write(buf, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), sr, format="WAV")
    return buf.getvalue()


def run(model: object, **values: object):
    values.setdefault("prompt", "calm folk melody")
    values.setdefault("seed", 1)
    values.setdefault("duration_s", 1.0)
    return MusicGenerator().generate(model, check_params(MusicParams, values), Context())


def read(out) -> tuple[np.ndarray, int]:
    audio, sr = sf.read(io.BytesIO(out.artifacts[0].data))
    return audio, sr


def test_recognised_kinds(plain: object, melody: object) -> None:
    assert recognise_music(plain.folder) == "musicgen"  # type: ignore[attr-defined]
    assert recognise_music(melody.folder) == "musicgen-melody"  # type: ignore[attr-defined]


def test_text_to_music_length_and_rate(plain: object) -> None:
    out = run(plain, duration_s=1.5)
    audio, sr = read(out)
    assert sr == 32000 and len(audio) == 48000 and np.isfinite(audio).all()
    assert out.info["chunks"] == 1 and out.info["kind"] == "musicgen"


def test_seed_repeats_and_leaves_global_rng_alone(plain: object) -> None:
    import torch

    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    a, _ = read(run(plain, seed=5))
    assert torch.equal(torch.rand(1), expected_next)
    b, _ = read(run(plain, seed=5))
    c, _ = read(run(plain, seed=6))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_longer_than_window_continues(plain: object) -> None:
    out = run(plain, duration_s=4.0)
    audio, sr = read(out)
    assert out.info["chunks"] == 2 and len(audio) == 4 * sr


def test_extend_keeps_the_earlier_audio(plain: object) -> None:
    first, sr = read(run(plain, duration_s=1.0))
    buf = io.BytesIO()
    sf.write(buf, first, sr, format="WAV", subtype="PCM_16")
    out = run(plain, duration_s=1.0, extend_from=buf.getvalue())
    audio, _ = read(out)
    assert out.info["extended"] and len(audio) == 2 * sr
    assert np.allclose(audio[:sr], first, atol=2e-4)


def test_melody_conditioning(melody: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from studio.generators.music.musicgen import melody_chroma

    seen: list[object] = []
    model = melody.model  # type: ignore[attr-defined]
    real = model.generate

    def spy(**kwargs: object) -> object:
        seen.append(kwargs.get("input_features"))
        return real(**kwargs)

    monkeypatch.setattr(model, "generate", spy)
    audio, sr = read(run(melody, melody_audio=wav(2.0, 440.0)))
    assert len(audio) == sr
    t = np.arange(64000) / 32000
    expected = melody_chroma((0.3 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32), melody.chroma)  # type: ignore[attr-defined]
    assert len(seen) == 1 and seen[0] is not None and seen[0].equal(expected)  # type: ignore[attr-defined]
    run(melody)  # a melody checkpoint also runs on text alone
    assert seen[1] is None


def test_chroma_matches_the_melody_pitch() -> None:
    from studio.generators.music.musicgen import CHROMA_DEFAULTS, melody_chroma

    t = np.arange(64000) / 32000
    chroma = melody_chroma((0.3 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32), CHROMA_DEFAULTS)
    assert chroma.shape[-1] == 12 and chroma.sum(-1).eq(1).all()
    assert int(chroma[0, 4].argmax()) == 9  # A (chroma bins start at C in transformers' filter bank)


def test_bad_uploads_are_clear_errors(plain: object, melody: object) -> None:
    with pytest.raises(ParamError, match=r"melody_audio.*not a melody checkpoint"):
        run(plain, melody_audio=wav(1.0))
    with pytest.raises(ParamError, match=r"melody_audio.*not readable audio") as bad:
        run(melody, melody_audio=b"RIFF\x00\x00\x00\x00WAVEjunk")
    assert "BytesIO" not in str(bad.value)  # the reason, not the name of an in-memory file object
    with pytest.raises(ParamError, match=r"melody_audio.*at most 60 s"):
        run(melody, melody_audio=wav(61.0, sr=8000))
    with pytest.raises(ParamError, match="duration_s"):
        run(melody, duration_s=10.0)
    with pytest.raises(ParamError, match="duration_s"):
        run(plain, duration_s=200.0)


def test_extend_and_new_music_together_fit_the_longest_duration(plain: object) -> None:
    with pytest.raises(ParamError, match=r"extend_from: is 3 s long by its header; at most 1 s"):
        run(plain, duration_s=119.0, extend_from=wav(3.0, sr=8000))
    with pytest.raises(ParamError, match=r"extend_from: leaves no room"):
        run(plain, duration_s=120.0, extend_from=wav(1.0, sr=8000))


def test_hf_cache_snapshot_is_listed_and_runs(tmp_path: Path) -> None:
    from studio.catalog import Catalog

    snap = tmp_path / "hub" / "models--someone--musicgen-tiny" / "snapshots" / "abc123"
    make_tiny_musicgen(snap, positions=128)
    (tmp_path / "hub" / "models--someone--musicgen-tiny" / "refs").mkdir()
    (tmp_path / "hub" / "models--someone--musicgen-tiny" / "refs" / "main").write_text("abc123")
    gen = MusicGenerator()
    catalog = Catalog({"music": gen}, hf_cache=tmp_path / "hub")
    spec = catalog.get("music", "someone/musicgen-tiny")
    assert spec.kind == "musicgen" and spec.source == "hf-cache"
    out = gen.generate(
        gen.load(spec), check_params(MusicParams, {"prompt": "folk", "seed": 1, "duration_s": 1.0}), Context()
    )
    assert out.info["kind"] == "musicgen"


def test_declared_unused_fields_are_the_ones_musicgen_does_not_use(plain: object) -> None:
    import dataclasses

    used = set(run(plain).info["used_params"])
    spec = ModelSpec(id="tiny-musicgen", modality="music", source="folder", kind="musicgen")
    unused = MusicGenerator().unused_fields(spec)
    assert unused.isdisjoint(used)
    assert used | unused | {"model"} == {f.name for f in dataclasses.fields(MusicParams)}


def test_stop_ends_musicgen_at_the_next_step(plain: object) -> None:
    import threading

    from studio.generators.base import Cancelled, Event

    cancel = threading.Event()
    seen: list[tuple[int, int]] = []

    def sink(event: Event) -> None:
        if event.kind == "progress":
            seen.append((event.step, event.total))
            cancel.set()  # Stop as soon as the first step is reported

    params = check_params(MusicParams, {"prompt": "calm folk melody", "seed": 1, "duration_s": 4.0})
    with pytest.raises(Cancelled):
        MusicGenerator().generate(plain, params, Context(sink, cancel))
    assert len(seen) == 1 and seen[0][0] < seen[0][1]
