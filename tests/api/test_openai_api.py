"""OpenAI's /v1 on a real studio server, driven by the official ``openai`` client, with a tiny Llama in --model-dir
and an API key."""

from __future__ import annotations

import pytest

from studio.generators.text import llamacpp
from tests.api.conftest import KEY

HELLO = [{"role": "user", "content": "Hello there"}]


@pytest.fixture(scope="module")
def client(text_server: str):
    import openai

    return openai.OpenAI(base_url=text_server + "v1", api_key=KEY, max_retries=0, timeout=120)


def test_models_lists_every_text_model_by_its_tab_id(client):
    ids = [m.id for m in client.models.list()]
    assert ids[0] == "smollm2-135m-instruct" and "tiny-llama" in ids
    assert client.models.retrieve("tiny-llama").id == "tiny-llama"


def test_chat_returns_the_reply_its_recipe_and_hits_the_cache(client):
    first = client.chat.completions.create(model="tiny-llama", messages=HELLO, max_tokens=12, seed=5)
    reply = first.choices[0].message.content
    assert isinstance(reply, str) and first.choices[0].finish_reason in ("stop", "length")
    extra = first.model_extra
    assert len(extra["recipe_id"]) == 64 and extra["seed"] == 5 and not extra["studio"]["from_cache"]
    assert 0 < first.usage.completion_tokens <= 12 and first.model == "tiny-llama"
    again = client.chat.completions.create(model="tiny-llama", messages=HELLO, max_tokens=12, seed=5)
    assert again.choices[0].message.content == reply and again.model_extra["studio"]["from_cache"]
    assert again.model_extra["recipe_id"] == extra["recipe_id"]


def test_streaming_sends_the_same_text_in_pieces(client):
    stream = client.chat.completions.create(
        model="tiny-llama",
        messages=HELLO,
        max_tokens=24,
        seed=6,
        temperature=0.8,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    pieces = [c.choices[0].delta.content or "" for c in chunks if c.choices]
    assert len([p for p in pieces if p]) >= 3
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens <= 24
    whole = client.chat.completions.create(model="tiny-llama", messages=HELLO, max_tokens=24, seed=6, temperature=0.8)
    assert whole.model_extra["studio"]["from_cache"]  # the stream stored its result like any other request
    assert "".join(pieces) == whole.choices[0].message.content


def test_a_stop_string_ends_the_text_before_it(client):
    base = {"model": "tiny-llama", "prompt": "The quick brown", "max_tokens": 20, "temperature": 0, "seed": 1}
    text = client.completions.create(**base).choices[0].text
    assert len(text) > 6
    stop = text[3:6]
    cut = client.completions.create(**base, stop=[stop])
    assert cut.choices[0].text == text[: text.index(stop)] and cut.choices[0].finish_reason == "stop"


@pytest.mark.parametrize(
    ("bad", "param"),
    [
        ({"temperature": 5}, "temperature"),
        ({"n": 2}, "n"),
        ({"max_tokens": 100000}, "max_tokens"),
        ({"messages": []}, "messages"),
        ({"stop": ["a", ""]}, "stop[1]"),
    ],
)
def test_a_bad_request_is_refused_naming_the_field(client, bad, param):
    import openai

    args = {"model": "tiny-llama", "messages": HELLO, "max_tokens": 4, **bad}
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(**args)
    assert err.value.status_code == 400 and err.value.param == param and param in err.value.message


def test_an_unknown_model_is_not_found(client):
    import openai

    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model="no-such-model", messages=HELLO)
    assert "tiny-llama" in err.value.message  # says what is available


def test_the_api_needs_the_key(text_server):
    import openai

    stranger = openai.OpenAI(base_url=text_server + "v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        stranger.models.list()


@pytest.mark.skipif(not llamacpp.available(), reason="llama-cpp-python is not installed")
def test_a_gguf_file_is_served_on_llama_cpp(client):
    assert "tiny.F32.gguf" in [m.id for m in client.models.list()]
    stream = client.chat.completions.create(model="tiny.F32.gguf", messages=HELLO, max_tokens=8, seed=2, stream=True)
    chunks = list(stream)
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")
    again = client.chat.completions.create(model="tiny.F32.gguf", messages=HELLO, max_tokens=8, seed=2)
    assert again.model_extra["studio"]["from_cache"]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == again.choices[0].message.content
