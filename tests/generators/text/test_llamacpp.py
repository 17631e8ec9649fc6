"""GGUF models on llama.cpp: a tiny Llama written with the ``gguf`` package (and the same weights in transformers),
and the built-in SmolLM2 GGUF. Skipped, apart from the catalog's rule, when ``llama_cpp`` is not installed."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import torch

from studio.cache import ResultCache
from studio.catalog import Catalog
from studio.engine import Studio
from studio.generators.base import Cancelled, Context, Event
from studio.generators.text import llamacpp
from studio.generators.text.generator import BUILTIN_GGUF_ID, TextGenerator
from studio.memory import MemoryManager
from tests.generators.text.gguf_helpers import tiny_llama_torch, write_tiny_gguf

needs_llama = pytest.mark.skipif(not llamacpp.available(), reason="llama-cpp-python is not installed")


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("gguf-models")
    write_tiny_gguf(folder / "tiny-llama.F32.gguf")
    (folder / "not-a-model.gguf").write_bytes(b"nothing here")
    return folder


def _studio(model_dir: Path, tmp_path: Path, converted: Path | None = None) -> Studio:
    gen = TextGenerator(converted_dir=converted)
    catalog = Catalog({"text": gen}, model_dirs=[model_dir], hf_cache=tmp_path / "no-hub")
    return Studio({"text": gen}, catalog, MemoryManager(device="cpu"), ResultCache(tmp_path / "cache"))


def test_gguf_files_are_listed_only_when_llama_cpp_is_installed(model_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(llamacpp, "available", lambda: False)
    assert [s.id for s in _studio(model_dir, tmp_path).catalog.models("text")] == []
    monkeypatch.setattr(llamacpp, "available", lambda: True)
    (spec,) = _studio(model_dir, tmp_path).catalog.models("text")  # the file without GGUF magic is no model
    assert spec.id == "tiny-llama.F32.gguf" and spec.kind == "gguf" and spec.source == "folder"
    assert spec.weights_hash and "llama.cpp" in spec.label


@needs_llama
def test_llama_cpp_logits_match_transformers_on_the_same_weights(model_dir):
    gm = llamacpp.load_gguf(model_dir / "tiny-llama.F32.gguf")
    hf = tiny_llama_torch()
    ids = [1, 40, 77, 120, 250, 261]
    runner = llamacpp.LlamaCppRunner(gm, 32)
    ours = [runner.step(torch.tensor([ids]), 0)[0]]
    with torch.inference_mode():
        theirs = [hf(torch.tensor([ids])).logits[0, -1]]
        for token in (5, 9, 200):
            ours.append(runner.step(torch.tensor([[token]]), len(ids))[0])
            ids = [*ids, token]
            theirs.append(hf(torch.tensor([ids])).logits[0, -1])
    for a, b in zip(ours, theirs, strict=True):
        # llama.cpp keeps its KV cache in fp16: logits of a few units agree to ~1e-2, the ranking exactly.
        assert torch.allclose(a, b, atol=2e-2, rtol=1e-3), (a - b).abs().max()
        assert torch.equal(a.topk(5).indices, b.topk(5).indices)
    assert gm.precision == "ALL_F32" and gm.context_len == 256


@needs_llama
def test_engine_runs_a_gguf_with_seed_stops_streaming_and_its_real_size(model_dir, tmp_path):
    studio = _studio(model_dir, tmp_path)
    ask = {"prompt": "hello the sea", "model": "tiny-llama.F32.gguf", "max_new_tokens": 24, "temperature": 0.9}
    first = studio.generate("text", studio.check("text", {**ask, "seed": 4}), use_cache=False)
    again = studio.generate("text", studio.check("text", {**ask, "seed": 4}), use_cache=False)
    other = studio.generate("text", studio.check("text", {**ask, "seed": 5}), use_cache=False)
    assert first.text == again.text != other.text
    info = first.recipe["info"]
    import llama_cpp

    assert info["engine"] == "llama.cpp" and info["engine_version"] == llama_cpp.__version__
    assert info["chat_template"] is True and 0 < info["new_tokens"] <= 24
    (row,) = studio.memory.snapshot()
    size = (model_dir / "tiny-llama.F32.gguf").stat().st_size
    assert row["key"] == "text:tiny-llama.F32.gguf" and row["mb"] * 1e6 > size  # the file plus its KV cache

    greedy = {**ask, "temperature": 0.0, "seed": 1, "mode": "complete"}
    full = studio.generate("text", studio.check("text", greedy), use_cache=False).text or ""
    stop = full[len(full) // 2 : len(full) // 2 + 2]
    assert stop.strip()
    streamed: list[str] = []
    items = studio.stream("text", studio.check("text", {**greedy, "stop": [stop]}), use_cache=False)
    for item in items:
        if isinstance(item, Event) and item.kind == "text":
            streamed.append(item.data)
        elif not isinstance(item, Event):
            cut = item
    assert cut.text == full[: full.index(stop)] and cut.recipe["info"]["finish_reason"] == "stop"
    assert streamed and all(stop not in s for s in streamed)


@needs_llama
def test_stop_ends_a_llama_cpp_generation_at_once(model_dir):
    gen = TextGenerator()
    (spec,) = Catalog({"text": gen}, model_dirs=[model_dir], hf_cache=model_dir / "no-hub").models("text")
    gm = gen.load(spec, "cpu", None)
    seen: list[Event] = []
    cancel = threading.Event()

    def sink(event: Event) -> None:
        seen.append(event)
        if len(seen) == 3:
            cancel.set()

    params = Studio({"text": gen}, Catalog({"text": gen}), MemoryManager(device="cpu"), None).check(
        "text", {"prompt": "go on", "max_new_tokens": 200, "seed": 2}
    )
    with pytest.raises(Cancelled):
        gen.generate(gm, params, Context(sink, cancel))
    assert len(seen) == 3


@needs_llama
@pytest.mark.slow
def test_builtin_gguf_answers_on_llama_cpp(tmp_path):
    studio = _studio(tmp_path, tmp_path, converted=tmp_path / "models")
    ids = [s.id for s in studio.catalog.models("text")]
    assert ids == ["smollm2-135m-instruct", BUILTIN_GGUF_ID]
    ask = {"prompt": "What is the capital of France?", "model": BUILTIN_GGUF_ID, "temperature": 0.0}
    result = studio.generate("text", studio.check("text", {**ask, "max_new_tokens": 16, "seed": 0}))
    assert "Paris" in (result.text or "")
    assert result.recipe["info"]["engine"] == "llama.cpp" and result.recipe["info"]["precision"] == "Q4_1"
