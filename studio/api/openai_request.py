"""OpenAI request bodies → the Text tab's values (``TextParams`` fields), and the tab's field names back to OpenAI's.

``chat_values`` reads a ``/v1/chat/completions`` body: system (or developer) messages become the system prompt,
the earlier user/assistant turns the chat history (consecutive turns of one role are joined, as chat front-ends
sometimes send them), the last user message the prompt. ``completion_values`` reads ``/v1/completions``. Both take
``max_tokens`` (or ``max_completion_tokens``), ``temperature``, ``top_p``, ``stop`` (a string or a list), ``seed``
and ``n`` (1 only); llama.cpp's and text-generation-webui's ``top_k`` and ``repetition_penalty``
(``repeat_penalty``) too. A field left out takes the Text tab's default, so the same request from the tab and from
an OpenAI client shares one cache entry. What the studio cannot do (several choices, tools, log-probs, penalties
other than zero) is refused with ``OpenAIError`` naming the field, never silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from studio.generators.text.prompts import history_json

# The Text tab's field → the request field a client sent it in (for errors).
FIELD_NAMES = {
    "max_new_tokens": "max_tokens",
    "history": "messages",
    "system_prompt": "messages",
    "repetition_penalty": "repetition_penalty",
}
PASSED = ("temperature", "top_p", "top_k")
REFUSED_IF_SET = ("tools", "functions", "tool_choice", "function_call", "logit_bias", "suffix")
ZERO_ONLY = ("presence_penalty", "frequency_penalty")


@dataclass
class OpenAIError(Exception):
    """A request OpenAI's API would refuse: ``status``, a message, the ``param`` it is about, OpenAI's error type."""

    message: str
    param: str | None = None
    status: int = 400
    code: str | None = None
    kind: str = "invalid_request_error"

    def body(self) -> dict[str, Any]:
        """The error as OpenAI shapes it: ``{"error": {"message", "type", "param", "code"}}``."""
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}


def openai_field(field: str, body: dict[str, Any]) -> str:
    """The request field a ``TextParams`` field (or ``stop[1]``-style name) came from."""
    base = field.split("[", 1)[0]
    if base == "prompt":
        return "messages" if "messages" in body else "prompt"
    if base == "max_new_tokens" and "max_completion_tokens" in body:
        return "max_completion_tokens"
    if base == "repetition_penalty" and "repeat_penalty" in body:
        return "repeat_penalty"
    return FIELD_NAMES.get(base, field)


def _sampling(body: dict[str, Any]) -> dict[str, Any]:
    """The sampling fields every request shares, as ``TextParams`` values (absent ones left to their defaults)."""
    for name in REFUSED_IF_SET:
        if body.get(name) not in (None, [], {}, ""):
            raise OpenAIError(f"{name} is not supported by this server", name)
    for name in ZERO_ONLY:
        if body.get(name) not in (None, 0, 0.0):
            raise OpenAIError(f"{name} is not supported (only 0); use repetition_penalty instead", name)
    n = body.get("n")
    if n is not None and n != 1:
        raise OpenAIError("only n=1 is supported", "n")
    if body.get("logprobs") not in (None, False, 0) or body.get("top_logprobs") not in (None, 0):
        raise OpenAIError("logprobs are not supported", "logprobs")
    fmt = body.get("response_format")
    if fmt is not None and (not isinstance(fmt, dict) or fmt.get("type") != "text"):
        raise OpenAIError("only response_format {'type': 'text'} is supported", "response_format")
    values: dict[str, Any] = {k: body[k] for k in PASSED if body.get(k) is not None}
    for name in ("max_completion_tokens", "max_tokens"):
        if body.get(name) is not None:
            values["max_new_tokens"] = body[name]
            break
    for name in ("repetition_penalty", "repeat_penalty"):
        if body.get(name) is not None:
            values["repetition_penalty"] = body[name]
            break
    seed = body.get("seed")
    if seed is not None:
        values["seed"] = seed
    stop = body.get("stop")
    if isinstance(stop, str):
        values["stop"] = [stop]
    elif isinstance(stop, list):
        values["stop"] = stop
    elif stop is not None:
        raise OpenAIError("stop must be a string or a list of strings", "stop")
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise OpenAIError("model must be a string", "model")
    values["model"] = model or ""
    return values


def _content(message: dict[str, Any], i: int) -> str:
    """A message's text: a string, or a list of text parts (images and audio are refused)."""
    content = message.get("content")
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for j, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise OpenAIError("only text content parts are supported", f"messages[{i}].content[{j}]")
            texts.append(part["text"])
        return "".join(texts)
    raise OpenAIError("content must be a string or a list of text parts", f"messages[{i}].content")


def chat_values(body: dict[str, Any]) -> dict[str, Any]:
    """``TextParams`` values (mode "chat") from a chat completion body; raises ``OpenAIError``."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise OpenAIError("messages must be a non-empty list", "messages")
    system: list[str] = []
    turns: list[dict[str, str]] = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise OpenAIError("each message must be an object with role and content", f"messages[{i}]")
        role = m.get("role")
        text = _content(m, i)
        if role in ("system", "developer"):
            if turns:
                raise OpenAIError("system messages must come before the conversation", f"messages[{i}].role")
            system.append(text)
        elif role in ("user", "assistant"):
            if turns and turns[-1]["role"] == role:
                turns[-1]["content"] += "\n\n" + text
            else:
                turns.append({"role": role, "content": text})
        else:
            raise OpenAIError(f"role {role!r} is not supported (system, user, assistant)", f"messages[{i}].role")
    if not turns or turns[0]["role"] != "user":
        raise OpenAIError("the conversation must start with a user message", "messages")
    if turns[-1]["role"] != "user":
        raise OpenAIError("the last message must be from the user", "messages")
    values = _sampling(body)
    values.update(
        mode="chat",
        prompt=turns[-1]["content"],
        history=history_json(turns[:-1]),
        system_prompt="\n\n".join(s for s in system if s),
    )
    return values


def completion_values(body: dict[str, Any]) -> dict[str, Any]:
    """``TextParams`` values (mode "complete") from a completion body; raises ``OpenAIError``."""
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise OpenAIError("prompt must be a string (one prompt per request)", "prompt")
    if body.get("echo"):
        raise OpenAIError("echo is not supported", "echo")
    best_of = body.get("best_of")
    if best_of not in (None, 1):
        raise OpenAIError("only best_of=1 is supported", "best_of")
    values = _sampling(body)
    values.update(mode="complete", prompt=prompt)
    return values
