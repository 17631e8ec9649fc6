"""Text generator tests on tiny GPT-2 and Llama models built from configs (seconds, no network), plus one slow test
on the real built-in SmolLM2."""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path

import pytest
import torch

from studio import provenance
from studio.cache import ResultCache
from studio.catalog import Catalog
from studio.engine import Studio
from studio.generators.base import Cancelled, Context, Event, ModelSpec
from studio.generators.text.compact import Int4Linear, ShortlistHead, int4_grid, optimise_for_cpu
from studio.generators.text.decode import Sampling, decode, find_stop, held_tail, pick_next
from studio.generators.text.generator import TextGenerator
from studio.generators.text.models import converted_ok, recognise_causal_lm
from studio.generators.text.params import TextParams
from studio.generators.text.prompts import clean_helper_output, history_json, parse_history
from studio.generators.text.runners import HFRunner, LlamaRunner, make_runner
from studio.memory import MemoryManager, model_bytes
from studio.params import ParamError, check_params
from tests.generators.text.helpers import save_tiny_gpt2, save_tiny_llama


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run fastest on one thread (and do not fight the other jobs on a shared machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("text-models")
    return {
        "gpt2": save_tiny_gpt2(root / "tiny-gpt2"),
        "llama": save_tiny_llama(root / "tiny-llama"),
    }


def _spec(folder: Path) -> ModelSpec:
    return ModelSpec(id=folder.name, modality="text", source="folder", path=str(folder), kind="causal-lm")


@pytest.fixture(scope="module")
def loaded(folders):
    """Each tiny model loaded twice: as saved (fp32) and compacted for the CPU ("auto")."""
    out = {}
    for name, folder in folders.items():
        for precision in ("fp32", "auto"):
            out[name, precision] = TextGenerator(precision=precision).load(_spec(folder), "cpu", None)
    return out


def _params(**values) -> TextParams:
    return check_params(TextParams, {"seed": 1, "max_new_tokens": 24, **values})


def _run(gen: TextGenerator, model, params: TextParams) -> tuple[str, list[str], dict]:
    texts: list[str] = []
    out = gen.generate(model, params, Context(lambda e: texts.append(e.data) if e.kind == "text" else None))
    return out.text or "", texts, out.info


# -- models ---------------------------------------------------------------------------------------------------
def test_recognise_causal_lm_folders_only(folders, tmp_path):
    assert recognise_causal_lm(folders["gpt2"]) == "causal-lm"
    assert TextGenerator().recognise(folders["llama"]) == "causal-lm"
    no_tok = tmp_path / "no-tokenizer"
    no_tok.mkdir()
    (no_tok / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"]}))
    (no_tok / "model.safetensors").write_bytes(b"")
    assert recognise_causal_lm(no_tok) is None
    bert = tmp_path / "bert"
    bert.mkdir()
    (bert / "config.json").write_text(json.dumps({"architectures": ["BertModel"]}))
    assert recognise_causal_lm(bert) is None
    assert recognise_causal_lm(tmp_path / "missing") is None


def test_builtin_is_listed_only_with_a_conversion_dir(tmp_path):
    assert TextGenerator(converted_dir=None).models() == []
    gguf = tmp_path / "fake.gguf"
    gguf.write_bytes(b"GGUF not really")
    specs = TextGenerator(converted_dir=tmp_path / "models", gguf_path=gguf).models()
    (spec,) = [s for s in specs if s.kind == "causal-lm"]  # (and the same GGUF on llama.cpp, when installed)
    assert spec.id == "smollm2-135m-instruct" and spec.source == "builtin"
    assert spec.path == str(tmp_path / "models" / "smollm2-135m-instruct")
    assert spec.weights_hash.endswith("-auto") and dict(spec.extra)["gguf"] == str(gguf)
    assert not converted_ok(tmp_path / "models" / "smollm2-135m-instruct", dict(spec.extra)["gguf_sha256"])


def test_catalog_lists_model_dir_folders(folders):
    gen = TextGenerator()
    catalog = Catalog({"text": gen}, model_dirs=[folders["gpt2"].parent], hf_cache=folders["gpt2"].parent / "none")
    ids = [s.id for s in catalog.models("text")]
    assert ids == ["tiny-gpt2", "tiny-llama"]


def test_catalog_lists_hub_ids_in_the_local_hf_cache(folders, tmp_path):
    import shutil

    snap = tmp_path / "hub" / "models--someone--tiny-chat" / "snapshots" / "abc123"
    shutil.copytree(folders["llama"], snap)
    (snap.parent.parent / "refs").mkdir()
    (snap.parent.parent / "refs" / "main").write_text("abc123")
    gen = TextGenerator()
    (spec,) = Catalog({"text": gen}, hf_cache=tmp_path / "hub").models("text")
    assert spec.id == "someone/tiny-chat" and spec.source == "hf-cache" and spec.kind == "causal-lm"
    assert gen.load(spec, "cpu", None).context_len == 512


# -- the fast path agrees with transformers --------------------------------------------------------------------
@pytest.mark.parametrize("name", ["gpt2", "llama"])
@pytest.mark.parametrize("penalty", [1.0, 1.3])
def test_greedy_decode_equals_plain_generate(loaded, name, penalty):
    tm = loaded[name, "fp32"]
    prompt = tm.tokenizer("The quick brown fox")["input_ids"]
    n = 20
    with torch.inference_mode():
        ref = tm.model.generate(
            torch.tensor([prompt]),
            max_new_tokens=n,
            min_new_tokens=n,
            do_sample=False,
            repetition_penalty=penalty,
            pad_token_id=0,
        )[0, len(prompt) :].tolist()
    runner = make_runner(tm.model, len(prompt) + n)
    assert isinstance(runner, LlamaRunner if name == "llama" else HFRunner)
    out = decode(runner, tm.tokenizer, prompt, n, Sampling(temperature=0.0, repetition_penalty=penalty), seed=0)
    assert out.token_ids == ref
    assert out.finish_reason == "length"


def test_lean_llama_logits_match_transformers_forward(loaded):
    tm = loaded["llama", "fp32"]
    ids = torch.tensor([tm.tokenizer("Mountains rise over green hills")["input_ids"]])
    with torch.inference_mode():
        ref = tm.model(ids).logits[0]  # (T, V)
        runner = LlamaRunner(tm.model, ids.shape[1] + 1)
        first = runner.step(ids[:, :3], 0)[0]
        rest = [runner.step(ids[:, t : t + 1], t)[0] for t in range(3, ids.shape[1])]
    torch.testing.assert_close(first, ref[2], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(torch.stack(rest), ref[3:], atol=1e-4, rtol=1e-4)


def test_compact_model_lean_runner_equals_its_own_forward(loaded):
    tm = loaded["llama", "auto"]
    assert tm.layers["int8"] == 14 and tm.layers["shortlist_head"] == 1 and tm.precision == "int8+shortlist-head"
    attn = tm.model.model.layers[0].self_attn
    assert hasattr(attn, "studio_qkv") and hasattr(tm.model.model.layers[0].mlp, "studio_gate_up")
    prompt = tm.tokenizer("Hello! How are you")["input_ids"]
    greedy = Sampling(temperature=0.0)
    lean = decode(LlamaRunner(tm.model, len(prompt) + 16), tm.tokenizer, prompt, 16, greedy, seed=0)
    plain = decode(HFRunner(tm.model), tm.tokenizer, prompt, 16, greedy, seed=0)
    assert lean.token_ids == plain.token_ids


def test_compact_weights_are_counted_and_smaller(loaded):
    fp32, compact = model_bytes(loaded["llama", "fp32"]), model_bytes(loaded["llama", "auto"])
    assert 0 < compact < 0.6 * fp32


def test_int4_repack_is_lossless_for_weights_on_a_4bit_grid():
    torch.manual_seed(0)
    out_f, in_f, group = 64, 128, 32
    codes = torch.randint(0, 16, (out_f, in_f // group, group)).float()
    step, low = torch.rand(out_f, in_f // group, 1) * 0.02, -torch.rand(out_f, in_f // group, 1) * 0.1
    codes[..., 0], codes[..., 1] = 0, 15  # each group spans its grid, as GGUF's Q4_1 quantiser makes it
    weight = (codes * step + low).reshape(out_f, in_f)
    linear = torch.nn.Linear(in_f, out_f, bias=False)
    linear.weight.data.copy_(weight)
    grid = int4_grid(linear.weight)
    assert grid is not None
    q, s, lo = grid
    torch.testing.assert_close(
        (q.reshape(out_f, -1, group) * s[..., None] + lo[..., None]).reshape(out_f, in_f), weight
    )
    assert int4_grid(torch.randn(out_f, in_f)) is None
    x = torch.randn(3, in_f)
    # The kernel takes bf16 activations and bf16 scales: compare with the same rounding of the exact weights.
    ref = torch.nn.functional.linear(x.bfloat16().float(), weight)
    torch.testing.assert_close(Int4Linear(linear, grid)(x), ref, atol=0.05, rtol=0.02)


def test_shortlist_head_is_exact_where_it_matters():
    torch.manual_seed(0)
    linear = torch.nn.Linear(64, 1000, bias=False)
    head = ShortlistHead(linear, shortlist=32)
    x = torch.randn(3, 64)
    exact = torch.nn.functional.linear(x, linear.weight.half().float())
    got = head(x)
    assert torch.equal(got.argmax(-1), exact.argmax(-1))
    top = exact.topk(16, dim=-1).indices  # the likely tokens carry fp16-exact logits
    torch.testing.assert_close(got.gather(-1, top), exact.gather(-1, top), atol=1e-4, rtol=1e-4)
    assert (got - exact).abs().max() < 0.5  # the far tail is rough, not wrong


def test_optimise_keeps_tied_embedding_shared(folders):
    tm = TextGenerator(precision="fp32").load(_spec(folders["llama"]), "cpu", None)
    counts = optimise_for_cpu(tm.model)
    assert counts == {"int4": 0, "int8": 14, "fp32": 0, "shortlist_head": 1}
    head, embed = tm.model.get_output_embeddings(), tm.model.get_input_embeddings()
    assert head.weight_half.data_ptr() == embed.weight_half.data_ptr()


# -- sampling, streaming, stopping ------------------------------------------------------------------------------
def test_pick_next_follows_top_k_top_p_and_the_local_generator():
    logits = torch.tensor([0.0, 5.0, 4.9, -3.0, 1.0])
    assert pick_next(logits, None, Sampling(temperature=0.0), torch.Generator()) == 1
    draws = {
        pick_next(logits, None, Sampling(temperature=1.0, top_k=2), torch.Generator().manual_seed(s)) for s in range(50)
    }
    assert draws == {1, 2}
    # top_p = 0.4 keeps only the most likely token.
    assert {pick_next(logits, None, Sampling(1.0, top_p=0.4), torch.Generator().manual_seed(s)) for s in range(20)} == {
        1
    }
    # A penalty on token 1 (positive logit divided) lets token 2 win greedily.
    assert pick_next(logits, torch.tensor([1]), Sampling(0.0, repetition_penalty=1.5), torch.Generator()) == 2
    state = torch.random.get_rng_state()
    pick_next(logits, None, Sampling(1.0), torch.Generator().manual_seed(3))
    assert torch.equal(state, torch.random.get_rng_state())  # the global RNG is never touched


def test_stop_helpers():
    assert find_stop("hello world", ["wor", "lo"], 0) == 3
    assert find_stop("hello world", ["wor"], 8) == 6  # a stop straddling old and new text is found
    assert find_stop("hello world", ["wor"], 9) == -1  # one wholly in the old text was checked before
    assert find_stop("hello", ["xyz"], 0) == -1
    assert held_tail("the end\nUs", ["\nUser:"]) == 3
    assert held_tail("the end U", ["Us", "\nUser:"]) == 1
    assert held_tail("the end", ["\nUser:"]) == 0


@pytest.mark.parametrize("name", ["gpt2", "llama"])
def test_same_seed_same_text_other_seed_other_text(loaded, name):
    gen = TextGenerator()
    tm = loaded[name, "auto"]
    a = _run(gen, tm, _params(prompt="Hello! How are", temperature=1.0, top_k=0, top_p=1.0, seed=5))[0]
    b = _run(gen, tm, _params(prompt="Hello! How are", temperature=1.0, top_k=0, top_p=1.0, seed=5))[0]
    c = _run(gen, tm, _params(prompt="Hello! How are", temperature=1.0, top_k=0, top_p=1.0, seed=6))[0]
    assert a == b and a != c


@pytest.mark.parametrize("mode", ["chat", "complete"])
def test_streamed_text_grows_and_ends_with_the_final_text(loaded, mode):
    gen = TextGenerator()
    text, streamed, info = _run(gen, loaded["llama", "auto"], _params(prompt="Tell me about the sea", mode=mode))
    assert len(streamed) >= 2 and streamed[-1] == text
    for earlier, later in itertools.pairwise(streamed):
        assert later.startswith(earlier)
    assert info["new_tokens"] == 24 and info["runner"] == "lean-llama"
    assert info["chat_template"] is (mode == "chat")


def test_stop_string_ends_generation_before_it_and_is_never_shown(loaded):
    gen = TextGenerator()
    tm = loaded["gpt2", "auto"]
    full = _run(gen, tm, _params(prompt="The sea", mode="complete", temperature=0.0, max_new_tokens=30))[0]
    stop = full[len(full) // 2 : len(full) // 2 + 3]
    assert stop and stop in full
    text, streamed, info = _run(
        gen, tm, _params(prompt="The sea", mode="complete", temperature=0.0, max_new_tokens=30, stop=[stop])
    )
    assert text == full[: full.index(stop)]
    assert info["finish_reason"] == "stop"
    assert not any(stop in s for s in streamed)


def test_stop_ends_generation_at_once(loaded):
    gen = TextGenerator()
    seen: list[Event] = []
    cancel = threading.Event()

    def sink(event: Event) -> None:
        seen.append(event)
        if len(seen) == 3:
            cancel.set()

    with pytest.raises(Cancelled):
        gen.generate(loaded["llama", "auto"], _params(prompt="Go on", max_new_tokens=200), Context(sink, cancel))
    assert len(seen) == 3  # no token was decoded after Stop


def test_history_is_used_and_trimmed_to_fit(folders):
    gen = TextGenerator()
    tm = gen.load(_spec(folders["llama"]), "cpu", None)
    turns = [{"role": r, "content": "the quick brown fox jumps " * 12} for r in ("user", "assistant")] * 6
    long_history = history_json(turns)
    _, _, info = _run(gen, tm, _params(prompt="And then?", history=long_history, max_new_tokens=100))
    assert info["history_turns_dropped"] >= 1 and info["prompt_tokens"] + 100 <= tm.context_len
    short = history_json([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}])
    with_turns = _run(gen, tm, _params(prompt="And then?", history=short))[2]
    without = _run(gen, tm, _params(prompt="And then?"))[2]
    assert with_turns["prompt_tokens"] > without["prompt_tokens"] and "history_turns_dropped" not in with_turns


def test_prompt_helper_returns_one_clean_line(loaded):
    gen = TextGenerator()
    text, streamed, info = _run(gen, loaded["llama", "auto"], _params(prompt="a sunny beach", preset="image-prompt"))
    assert "\n" not in text and 0 < len(text) <= 300 and streamed[-1] == text
    assert info["prompt_for"] == "image"
    assert clean_helper_output('\n\n1. Prompt: "snowy peaks with a lake"\nmore', "x") == "snowy peaks with a lake"
    assert clean_helper_output("  \n", "fallback idea") == "fallback idea"


# -- validation --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": "   \n "}, "prompt"),
        ({"prompt": "x" * 8001}, "prompt"),
        ({"prompt": "hi\x00there"}, "prompt"),
        ({"prompt": "hi", "stop": [""]}, "stop[0]"),
        ({"prompt": "hi", "stop": ["s"] * 9}, "stop"),
        ({"prompt": "hi", "stop": ["y" * 65]}, "stop[0]"),
        ({"prompt": "hi", "max_new_tokens": 0}, "max_new_tokens"),
        ({"prompt": "hi", "max_new_tokens": 10**9}, "max_new_tokens"),
        ({"prompt": "hi", "max_new_tokens": 2.5}, "max_new_tokens"),
        ({"prompt": "hi", "temperature": float("nan")}, "temperature"),
        ({"prompt": "hi", "top_p": 0.0}, "top_p"),
        ({"prompt": "hi", "mode": "poem"}, "mode"),
        ({"prompt": "hi", "preset": "haiku"}, "preset"),
        ({"prompt": "hi", "history": "[{"}, "history"),
        ({"prompt": "hi", "history": '[{"role": "assistant", "content": "x"}]'}, "history"),
        ({"prompt": "hi", "history": '[["a", "b"]]', "mode": "complete"}, "history"),
    ],
)
def test_bad_input_names_the_field(values, field):
    with pytest.raises(ParamError) as err:
        check_params(TextParams, values)
    assert err.value.field == field


@pytest.mark.parametrize(
    "content, words",
    [
        ("a\u0000b", "control character U+0000"),
        ("a\u001bb", "control character U+001B"),
        ("a\u202eb", "bidirectional control character U+202E"),
        ("a\u2066b", "bidirectional control character U+2066"),
        ("a\u200fb", "bidirectional control character U+200F"),
        ("a\ud800b", "lone surrogate"),
    ],
)
@pytest.mark.parametrize("form", ["messages", "pairs"])
def test_history_messages_refuse_control_and_bidi_characters(content, words, form):
    # JSON escapes (\\u0000, \\u202e) pass the check on the raw text and only appear once the history is parsed.
    if form == "messages":
        raw = json.dumps([{"role": "user", "content": "hi"}, {"role": "assistant", "content": content}])
    else:
        raw = json.dumps([["hi", content]])
    assert "\\u" in raw
    with pytest.raises(ParamError) as err:
        check_params(TextParams, {"prompt": "hi", "history": raw})
    assert err.value.field == "history"
    assert "message 1" in str(err.value) and words in str(err.value)


def test_history_messages_keep_newlines_and_tabs():
    raw = json.dumps([["line one\nline two", "a\tb\r\n"]])
    assert check_params(TextParams, {"prompt": "hi", "history": raw}).history == raw


def test_history_forms():
    pairs = parse_history('[["hi", "hello"]]')
    assert pairs == [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    assert parse_history(history_json(pairs)) == pairs and history_json([]) == ""
    with pytest.raises(ParamError, match="history: is nested too deeply"):
        parse_history("[" * 100_000)


def test_prompt_longer_than_the_context_is_a_clear_error(loaded):
    gen = TextGenerator()
    tm = loaded["llama", "auto"]  # 512 positions
    with pytest.raises(ParamError, match="exceeds the model's context of 512") as err:
        gen.generate(tm, _params(prompt="fox " * 600), Context())
    assert err.value.field == "prompt"
    with pytest.raises(ParamError) as err:
        gen.generate(tm, _params(prompt="hi", max_new_tokens=600), Context())
    assert err.value.field == "max_new_tokens"


# -- through the engine: memory manager, cache, provenance ------------------------------------------------------
def test_engine_caches_seeded_requests_and_writes_the_recipe(folders, tmp_path):
    gen = TextGenerator()
    studio = Studio(
        {"text": gen},
        Catalog({"text": gen}, model_dirs=[folders["llama"]], hf_cache=tmp_path / "none"),
        MemoryManager(device="cpu"),
        ResultCache(tmp_path / "cache"),
    )
    params = studio.check("text", {"prompt": "Hello", "model": "tiny-llama", "seed": 9, "max_new_tokens": 12})
    first = studio.generate("text", params)
    again = studio.generate("text", params)
    assert not first.from_cache and again.from_cache and again.text == first.text
    (md,) = [a for a in first.artifacts if a.name == "text.md"]
    recipe = provenance.read_recipe(md.name, md.data)
    assert recipe is not None and recipe["params"]["prompt"] == "Hello" and recipe["seed"] == 9
    assert first.text in md.data.decode()
    assert "text:tiny-llama" in studio.memory
    with_history = studio.check(
        "text",
        {
            **{k: getattr(params, k) for k in ("prompt", "model", "seed", "max_new_tokens")},
            "history": '[["hi", "hello"]]',
        },
    )
    assert not studio.generate("text", with_history).from_cache


# -- the real built-in model -------------------------------------------------------------------------------------
@pytest.mark.slow
def test_builtin_smollm2_converts_once_and_answers(tmp_path):
    gen = TextGenerator(converted_dir=tmp_path / "models")
    (spec,) = [s for s in gen.models() if s.kind == "causal-lm"]
    tm = gen.load(spec, "cpu", None)  # converts the GGUF (~20 s)
    assert converted_ok(Path(spec.path), dict(spec.extra)["gguf_sha256"])
    assert tm.precision == "int4+shortlist-head" and tm.layers["int4"] == 210
    written = {f.name: f.stat().st_mtime_ns for f in Path(spec.path).iterdir()}
    gen.load(spec, "cpu", None)
    assert {f.name: f.stat().st_mtime_ns for f in Path(spec.path).iterdir()} == written  # no second conversion
    text, _, info = _run(gen, tm, _params(prompt="What is the capital of France?", temperature=0.0, max_new_tokens=16))
    assert "Paris" in text and info["runner"] == "lean-llama"


def test_model_written_control_and_bidi_characters_are_dropped_from_the_text():
    from studio.generators.text.decode import TextStream
    from studio.params import Spec, check_text

    class CharTokenizer:  # token id = code point
        def decode(self, ids, **_):
            return "".join(map(chr, ids))

    stream = TextStream(CharTokenizer())
    for ch in "hi\x1b[31m \u202eevil\u200e\nok":
        stream.push(ord(ch))
    text = stream.flush()
    assert text == "hi[31m evil\nok"
    check_text("history", text, Spec())  # what the model wrote is accepted back as the next turn's history


def test_a_long_chat_keeps_its_latest_exchanges_within_the_limits():
    from studio.generators.text.prompts import MAX_HISTORY_CHARS, MAX_HISTORY_MESSAGES, parse_history, recent_history

    chat = []
    for i in range(150):  # 300 messages, ~90,000 characters: over both limits
        chat += [{"role": "user", "content": f"question {i} " + "x" * 300}, {"role": "assistant", "content": f"a{i}"}]
    kept = parse_history(recent_history(chat))  # accepted by the same parser the request goes through
    assert len(kept) <= MAX_HISTORY_MESSAGES and len(recent_history(chat)) <= MAX_HISTORY_CHARS
    assert kept[-1] == chat[-1] and kept[0]["role"] == "user"  # the newest turns, whole exchanges
    assert recent_history(chat[:4]) == recent_history(chat[:4], max_chars=10**6)  # a short chat is untouched
