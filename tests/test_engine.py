from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest
import torch

from studio.cache import ResultCache
from studio.catalog import Catalog
from studio.engine import Result, Studio
from studio.generators.base import Artifact, Cancelled, Context, ModelSpec, Output
from studio.memory import MemoryManager
from studio.params import ParamError, param


@dataclass(frozen=True)
class EchoParams:
    prompt: str = param("", allow_empty=False, max_len=100)
    model: str = param("")
    steps: int = param(3, min=1, max=50)
    seed: int = param(-1, min=-1, max=2**31 - 1)


class EchoGenerator:
    """A generator on a tiny real module: output depends on the seed and the prompt."""

    modality = "echo"
    params_type = EchoParams
    place_on_device = True

    def __init__(self):
        self.loads = 0
        self.runs = 0

    def models(self):
        return [ModelSpec(id="tiny", modality="echo", source="builtin", weights_hash="w1")]

    def recognise(self, folder):
        return None

    def unused_fields(self, spec):
        return frozenset()

    def load(self, spec, device, dtype):
        self.loads += 1
        torch.manual_seed(0)
        return torch.nn.Linear(4, 4)

    def generate(self, model, params, ctx: Context):
        self.runs += 1
        g = torch.Generator().manual_seed(params.seed)
        x = torch.randn(1, 4, generator=g)
        for i in range(params.steps):
            ctx.progress(i + 1, params.steps, "step")
            x = torch.tanh(model(x))
        text = f"{params.prompt}:{x.detach().numpy().round(4).tolist()}"
        return Output([Artifact("out.md", text.encode(), "text")], text=text, info={"norm": float(x.detach().norm())})


@pytest.fixture
def studio(tmp_path):
    gen = EchoGenerator()
    s = Studio(
        {"echo": gen},
        Catalog({"echo": gen}, hf_cache=tmp_path / "none"),
        MemoryManager(device="cpu"),
        ResultCache(tmp_path / "c"),
    )
    return s, gen


def test_cached_equals_uncached_and_skips_model(studio):
    s, gen = studio
    p = s.check("echo", {"prompt": "hi", "seed": 7})
    first = s.generate("echo", p)
    second = s.generate("echo", p)
    assert not first.from_cache and second.from_cache
    assert gen.runs == 1 and gen.loads == 1
    assert [a.data for a in first.artifacts] == [a.data for a in second.artifacts]
    assert first.text == second.text and second.seed == 7
    assert first.recipe["model"]["id"] == "tiny" and first.recipe["params"]["model"] == "tiny"
    assert set(first.recipe["outputs"]) == {"out.md"}


def test_random_seed_is_resolved_and_returned(studio):
    s, _ = studio
    r = s.generate("echo", s.check("echo", {"prompt": "hi"}))
    assert r.seed is not None and r.seed >= 0
    again = s.generate("echo", s.check("echo", {"prompt": "hi", "seed": r.seed}))
    assert again.from_cache and again.text == r.text


def test_unknown_model_is_a_param_error(studio):
    s, _ = studio
    with pytest.raises(ParamError, match="tiny"):
        s.generate("echo", s.check("echo", {"prompt": "x", "model": "nope"}))


def test_stream_reports_progress_then_result(studio):
    s, _ = studio
    items = list(s.stream("echo", s.check("echo", {"prompt": "hi", "seed": 1, "steps": 4})))
    assert [i.step for i in items[:-1] if i.kind == "progress"] == [1, 2, 3, 4]
    assert isinstance(items[-1], Result)


def test_cancel_stops_at_next_step_and_caches_nothing(studio):
    s, _gen = studio
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        list(s.stream("echo", s.check("echo", {"prompt": "hi", "seed": 3}), cancel=cancel))
    assert s.cache.size_bytes() == 0
    assert all(r["leases"] == 0 for r in s.memory.snapshot())


def test_parents_are_recorded(studio):
    s, _ = studio
    r = s.generate("echo", s.check("echo", {"prompt": "hi", "seed": 2}), parents=["abc"])
    assert r.recipe["parents"] == ["abc"]


def test_use_cache_false_neither_reads_nor_writes(studio):
    s, gen = studio
    p = s.check("echo", {"prompt": "hi", "seed": 9})
    s.generate("echo", p, use_cache=False)
    assert s.cache.size_bytes() == 0
    s.generate("echo", p)
    assert gen.runs == 2
    assert not s.generate("echo", p, use_cache=False).from_cache


def test_load_time_is_reported_only_for_the_run_that_loaded(studio):
    s, gen = studio
    slow_load = gen.load

    def load(spec, device, dtype):
        threading.Event().wait(0.05)  # a model that takes a moment to load
        return slow_load(spec, device, dtype)

    gen.load = load
    first = s.generate("echo", s.check("echo", {"prompt": "a", "seed": 1}))
    second = s.generate("echo", s.check("echo", {"prompt": "b", "seed": 1}))  # the model is already loaded
    hit = s.generate("echo", s.check("echo", {"prompt": "a", "seed": 1}))
    assert 0.05 <= first.load_s <= first.elapsed_s
    assert second.load_s == 0.0 and hit.load_s == 0.0 and hit.from_cache


def test_params_the_model_does_not_use_are_reset_and_share_the_cache(studio):
    s, gen = studio
    gen.unused_fields = lambda spec: frozenset({"steps"})  # this model ignores steps
    a = s.generate("echo", s.check("echo", {"prompt": "hi", "seed": 3, "steps": 9}))
    b = s.generate("echo", s.check("echo", {"prompt": "hi", "seed": 3, "steps": 2}))
    assert a.recipe["params"]["steps"] == 3  # the default: the recipe claims no setting that had no effect
    assert b.from_cache and gen.runs == 1
    assert s.unused_fields("echo", "tiny") == {"steps"} and s.unused_fields("echo", "no-such-model") == set()


def test_params_built_without_check_are_still_validated(studio):
    s, gen = studio
    with pytest.raises(ParamError, match="steps"):
        s.generate("echo", EchoParams(prompt="hi", steps=500, seed=1))  # out of range, never checked
    assert gen.runs == 0
