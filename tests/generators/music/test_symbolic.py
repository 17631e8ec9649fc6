"""The built-in symbolic music path on a tiny GPT-2 built from a config: files, determinism, grammar, extend,
Stop, and clear errors for bad input."""

from __future__ import annotations

import io
import itertools
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from studio.generators.base import Cancelled, Context, Event
from studio.generators.music.files import read_midi
from studio.generators.music.generator import MusicGenerator, recognise_music
from studio.generators.music.params import MusicParams
from studio.generators.music.tokens import HEADER_LEN, Controls, Vocab, metre_bar_ticks
from studio.params import ParamError, check_params
from tests.generators.music.helpers import make_tiny_symbolic, midi_bytes


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[MusicGenerator, object]:
    assets = tmp_path_factory.mktemp("assets")
    make_tiny_symbolic(assets / "tiny-remi")
    gen = MusicGenerator(assets)
    (spec,) = gen.models()
    return gen, gen.load(spec)


def run(tiny: tuple[MusicGenerator, object], **values: object):
    gen, model = tiny
    values.setdefault("seed", 7)
    values.setdefault("duration_s", 6.0)
    return gen.generate(model, check_params(MusicParams, values), Context())


def test_models_lists_builtin_with_weights_hash(tiny: tuple[MusicGenerator, object]) -> None:
    (spec,) = tiny[0].models()
    assert spec.kind == "symbolic" and spec.source == "builtin" and len(spec.weights_hash) == 16


def test_outputs_wav_midi_pianoroll(tiny: tuple[MusicGenerator, object]) -> None:
    out = run(tiny, prompt="calm folk melody in D minor", duration_s=8.0)
    names = {a.name: a for a in out.artifacts}
    assert set(names) == {"music.wav", "music.mid", "pianoroll.png"}
    audio, sr = sf.read(io.BytesIO(names["music.wav"].data))
    assert sr == 32000 and audio.ndim == 2 and np.isfinite(audio).all() and np.abs(audio).max() <= 1.0
    c = out.info["controls"]
    assert (c["style"], c["key"], c["tempo_class"]) == ("folk", "D minor", "slow")
    # duration is met to within a bar, plus the release tail
    bar_s = metre_bar_ticks(c["metre"]) / 12 * 60 / (c["tempo_bpm"] * (1.5 if c["metre"].endswith("/8") else 1))
    assert abs(len(audio) / sr - 8.0) < bar_s + 1.5
    notes, info = read_midi(names["music.mid"].data)
    assert notes and info is not None and info.controls.tonic == 2 and info.controls.mode == "minor"
    assert names["pianoroll.png"].data[:8] == b"\x89PNG\r\n\x1a\n"


def test_same_seed_same_bytes_other_seed_differs(tiny: tuple[MusicGenerator, object]) -> None:
    a = run(tiny, prompt="joyful chorale", seed=3)
    b = run(tiny, prompt="joyful chorale", seed=3)
    c = run(tiny, prompt="joyful chorale", seed=4)
    assert [x.data for x in a.artifacts] == [x.data for x in b.artifacts]
    assert a.artifacts[1].data != c.artifacts[1].data


def test_prompt_controls_reach_the_midi(tiny: tuple[MusicGenerator, object]) -> None:
    out = run(tiny, prompt="fast dance in 6/8", tempo_bpm=100)
    _, info = read_midi(out.artifacts[1].data)
    assert info is not None
    assert (info.controls.style, info.controls.metre, info.controls.tempo) == ("dance", "6/8", "fast")
    assert info.quarter_bpm == 150.0


def test_every_sample_follows_the_grammar(tiny: tuple[MusicGenerator, object]) -> None:
    import torch

    from studio.generators.music.sampler import SampleSettings, make_decoder, sample_bars

    vocab = Vocab()
    model = tiny[1].model  # type: ignore[attr-defined]
    header = vocab.header(Controls("chorale", 0, "major", "3/4", "slow"))
    ids = sample_bars(make_decoder(model), vocab, header, 12, 36, SampleSettings(1.5), torch.Generator().manual_seed(0))
    events = ids[HEADER_LEN:]
    assert vocab.bars_in(events) == 12
    for prev, cur in itertools.pairwise(events):
        if vocab.is_pos(prev):
            assert vocab.is_pitch(cur)
        if vocab.is_pitch(prev):
            assert vocab.is_dur(cur)
    assert all(n.onset % 36 < 36 for n in vocab.decode(events, 36, 0))


def test_fast_decoder_matches_transformers(tiny: tuple[MusicGenerator, object]) -> None:
    import torch

    from studio.generators.music.decoder import GPT2Decoder

    model = tiny[1].model  # type: ignore[attr-defined]
    ids = torch.randint(0, len(Vocab()), (1, 40), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = model(input_ids=ids).logits[0]
    dec = GPT2Decoder(model)
    assert torch.allclose(dec.prefill(ids[0, :25].tolist()), ref[24], atol=1e-4)
    for j in range(25, 40):
        assert torch.allclose(dec.step(int(ids[0, j])), ref[j], atol=1e-4)


def test_extend_continues_the_piece(tiny: tuple[MusicGenerator, object]) -> None:
    first = run(tiny, prompt="calm folk melody in D minor", duration_s=5.0)
    more = run(tiny, prompt="anything", duration_s=5.0, extend_from=first.artifacts[1].data, seed=9)
    old, info_old = read_midi(first.artifacts[1].data)
    new, info_new = read_midi(more.artifacts[1].data)
    assert info_old is not None and info_new is not None and info_new.controls == info_old.controls
    assert new[: len(old)] == old and len(new) > len(old)
    assert more.info["extended"] and more.info["bars"] > first.info["bars"]


def test_stop_cancels_part_way(tiny: tuple[MusicGenerator, object]) -> None:
    gen, model = tiny
    cancel = threading.Event()
    steps: list[tuple[int, int]] = []

    def sink(event: Event) -> None:  # Stop pressed once the second progress report arrives
        if event.kind == "progress":
            steps.append((event.step, event.total))
            if len(steps) == 2:
                cancel.set()

    params = check_params(MusicParams, {"prompt": "folk", "seed": 1, "duration_s": 30})
    with pytest.raises(Cancelled):
        gen.generate(model, params, Context(sink, cancel))
    step, total = steps[-1]
    assert len(steps) == 2 and step < total  # it stopped at the next step (a bar), long before the end


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": "   "}, "prompt"),
        ({"prompt": "x", "duration_s": 1e9}, "duration_s"),
        ({"prompt": "x", "duration_s": float("nan")}, "duration_s"),
        ({"prompt": "x", "tempo_bpm": float("nan")}, "tempo_bpm"),
        ({"prompt": "x", "tempo_bpm": 5}, "tempo_bpm"),
        ({"prompt": "x", "key": "H major"}, "key"),
        ({"prompt": "x", "top_k": -1}, "top_k"),
        ({"prompt": "x", "extend_from": b"\0" * (21 * 1024 * 1024)}, "extend_from"),
        ({"prompt": "x", "melody_audio": "not bytes"}, "melody_audio"),
    ],
)
def test_bad_params_name_the_field(values: dict[str, object], field: str) -> None:
    with pytest.raises(ParamError) as err:
        check_params(MusicParams, values)
    assert err.value.field == field


def test_malformed_midi_is_a_clear_error(tiny: tuple[MusicGenerator, object]) -> None:
    with pytest.raises(ParamError, match=r"extend_from.*MIDI"):
        run(tiny, prompt="folk", extend_from=b"MThd garbage")


def test_extending_a_piece_whose_note_lies_hours_away_is_refused(tiny: tuple[MusicGenerator, object]) -> None:
    with pytest.raises(ParamError, match=r"extend_from: lasts \d+ s .* at most 300 s"):
        run(tiny, prompt="folk", extend_from=midi_bytes(late_tick=10**9))


def test_melody_upload_is_refused_by_the_symbolic_model(tiny: tuple[MusicGenerator, object]) -> None:
    with pytest.raises(ParamError, match="melody_audio"):
        run(tiny, prompt="folk", melody_audio=b"RIFF....WAVE")


def test_too_many_bars_is_a_clear_error(tiny: tuple[MusicGenerator, object]) -> None:
    with pytest.raises(ParamError, match="duration_s"):
        run(tiny, prompt="fast reel", duration_s=300.0, tempo_bpm=300, metre="2/4")


def test_recognise(tmp_path: Path, tiny: tuple[MusicGenerator, object]) -> None:
    (spec,) = tiny[0].models()
    assert recognise_music(Path(spec.path or "")) == "symbolic"
    (tmp_path / "config.json").write_text('{"model_type": "gpt2"}')
    assert recognise_music(tmp_path) is None
    (tmp_path / "config.json").write_text('{"model_type": "musicgen"}')
    assert recognise_music(tmp_path) == "musicgen"


@pytest.mark.parametrize("renderer", ["builtin", "fluidsynth"])
def test_renderers(tiny: tuple[MusicGenerator, object], renderer: str) -> None:
    from studio.generators.music.synth import fluidsynth_available

    if renderer == "fluidsynth" and not fluidsynth_available():
        with pytest.raises(ParamError, match="renderer"):
            run(tiny, prompt="folk tune on the piano", renderer=renderer)
        return
    out = run(tiny, prompt="folk tune on the piano", renderer=renderer, duration_s=5.0)
    audio, sr = sf.read(io.BytesIO(out.artifacts[0].data))
    assert out.info["synthesiser"] == renderer and np.abs(audio).max() > 0.1
    assert len(audio) / sr < 5.0 + 4.0  # a bar of rounding and a short release tail


def test_thread_count_is_restored(tiny: tuple[MusicGenerator, object]) -> None:
    import torch

    torch.set_num_threads(2)
    run(tiny, prompt="folk", duration_s=2.0)
    assert torch.get_num_threads() == 2
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        tiny[0].generate(tiny[1], check_params(MusicParams, {"prompt": "folk", "seed": 1}), Context(cancel=cancel))
    assert torch.get_num_threads() == 2
