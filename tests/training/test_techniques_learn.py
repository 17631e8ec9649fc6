"""Each technique learns: after a short CPU run on pictures of one unusual colour and shape, its samples for their
caption are nearer the data than the base model's (the built-in it starts from, or its untrained self). And Resume
ends on exactly the weights of an uninterrupted run."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import torch

from studio.params import check_params
from studio.settings import Settings
from studio.training.dataset import ImageData, to_tensor
from studio.training.params import TrainParams
from studio.training.run_folder import RunFolder
from studio.training.techniques import build_technique
from studio.training.trainer import train
from tests.training.pictures import CAPTION, distance_to_data, square_pictures

ASSETS = Settings().assets_dir
SEEDS = [0, 1, 2, 3]

# technique, base, steps, learning rate: a few CPU seconds each.
CASES = [
    ("autoencoder", "scratch", 25, 3e-3),
    ("dbn", "scratch", 30, 1e-2),
    ("gan", "builtin", 25, 2e-4),
    ("vae", "builtin", 25, 1e-3),
    ("diffusion", "builtin", 12, 3e-4),
]


def _params(technique: str, base: str, steps: int, lr: float, **kw: object) -> TrainParams:
    values: dict[str, object] = {"name": "t", "technique": technique, "base": base, "steps": steps, "lr": lr}
    values.update(batch_size=8, sample_every=10**5, checkpoint_every=10**5, val_fraction=0.0)
    return check_params(TrainParams, {**values, **kw})


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> object:
    """One torch thread: on a shared 2-core machine two threads per process fight each other (measured 4x slower)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _samples(technique: object, data: ImageData) -> list:
    technique.train_mode(False)  # type: ignore[attr-defined]
    technique.fit(to_tensor(data.images))  # type: ignore[attr-defined]
    images = technique.sample(CAPTION, SEEDS)  # type: ignore[attr-defined]
    technique.train_mode(True)  # type: ignore[attr-defined]
    return images


@pytest.mark.parametrize(("name", "base", "steps", "lr"), CASES, ids=[c[0] for c in CASES])
def test_samples_move_towards_the_data(tmp_path: Path, name: str, base: str, steps: int, lr: float) -> None:
    data = ImageData(square_pictures(8), [CAPTION] * 8)
    params = _params(name, base, steps, lr)
    torch.manual_seed(0)
    technique = build_technique(params, data.captions, ASSETS)
    technique.sample_steps = 10  # diffusion's sampler: fewer steps than a preview's, the same for both sides
    before = distance_to_data(_samples(technique, data), data.images)
    run = RunFolder(tmp_path, "t")
    run.dir.mkdir()
    assert train(run, params, technique, data, threading.Event()) == "finished"
    after = distance_to_data(_samples(technique, data), data.images)
    assert after < 0.6 * before, f"{name}: samples {after:.1f} from the data, base model's {before:.1f}"
    rows = run.metrics()
    assert set(technique.terms) <= set(rows[-1]), "every loss term is logged"


def test_resume_gives_the_weights_of_an_uninterrupted_run(tmp_path: Path) -> None:
    data = ImageData(square_pictures(8), [CAPTION] * 8)
    # Adam state, a cosine schedule with warm-up, flips, crops and jitter: every kind of state a resume must restore.
    params = _params(
        "autoencoder",
        "scratch",
        12,
        3e-3,
        schedule="cosine",
        warmup_steps=3,
        crops=True,
        jitter=0.2,
        val_fraction=0.25,
        checkpoint_every=4,
    )

    def fresh() -> object:
        torch.manual_seed(1)  # module initialisation, the same for both runs
        return build_technique(params, data.captions, ASSETS)

    whole = fresh()
    straight = RunFolder(tmp_path, "straight")
    straight.dir.mkdir()
    assert train(straight, params, whole, data, threading.Event()) == "finished"

    stop = threading.Event()
    first = fresh()
    step_fn = first.train_step  # type: ignore[attr-defined]

    def stopping_step(batch, opts, gen, step, total):  # type: ignore[no-untyped-def]
        out = step_fn(batch, opts, gen, step, total)
        if step == 6:
            stop.set()  # Stop pressed during step 6: the run checkpoints and stops before step 7
        return out

    first.train_step = stopping_step  # type: ignore[attr-defined]
    parted = RunFolder(tmp_path, "parted")
    parted.dir.mkdir()
    assert train(parted, params, first, data, stop) == "stopped"
    second = fresh()  # as after a server restart: new objects, everything read from the checkpoint
    assert train(parted, params, second, data, threading.Event()) == "finished"

    a, b = whole.modules["autoencoder"].state_dict(), second.modules["autoencoder"].state_dict()  # type: ignore[attr-defined]
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert [r["step"] for r in parted.metrics()] == [r["step"] for r in straight.metrics()]
    assert parted.metrics()[-1]["val_loss"] == straight.metrics()[-1]["val_loss"]
