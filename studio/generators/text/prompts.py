"""Presets and prompt framing for the Text tab: chat messages, completion text, and the prompt helper.

A preset is a named starting point: it sets the sliders (the UI copies its values into them) and, when the system
prompt box is left empty, supplies the system prompt. The prompt-helper presets (``image-prompt``,
``music-prompt``, ``terrain-prompt``) also frame the request: the user's idea goes in, a few worked examples show
the model the target tab's vocabulary, and the reply is cleaned down to one prompt line for that tab.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from studio.params import ParamError

MAX_HISTORY_MESSAGES = 200
MAX_HISTORY_CHARS = 60000  # of the history's JSON
HELPER_MAX_CHARS = 300


@dataclass(frozen=True)
class Preset:
    """A named set of text settings (see the module docstring). ``target`` names the tab a prompt helper feeds."""

    name: str
    label: str
    system_prompt: str = ""
    temperature: float = 0.3
    top_p: float = 0.9
    top_k: int = 50
    repetition_penalty: float = 1.1
    max_new_tokens: int = 256
    target: str = ""
    examples: tuple[tuple[str, str], ...] = ()


PRESETS: tuple[Preset, ...] = (
    # No system prompt of its own: the model's chat template supplies the one it was tuned with, which answered
    # SmolLM2's factual questions better than a generic one in our tries.
    Preset("assistant", "Assistant", "", temperature=0.2),
    Preset(
        "code",
        "Code",
        "You are an expert programmer. Reply with correct, idiomatic code in one fenced Markdown block with its "
        "language, followed by a one-sentence explanation.",
        temperature=0.2,
        top_p=0.95,
        top_k=40,
        repetition_penalty=1.05,
        max_new_tokens=512,
    ),
    Preset(
        "creative",
        "Creative writing",
        "You are a creative writer with a vivid, original voice. Use concrete images and varied rhythm.",
        temperature=0.9,
        top_p=0.95,
        top_k=80,
        repetition_penalty=1.15,
        max_new_tokens=400,
    ),
    Preset("precise", "Precise (greedy)", "You are a careful assistant. Answer briefly and exactly.", temperature=0.0),
    Preset(
        "image-prompt",
        "Prompt helper → Image",
        "You write prompts for a small picture generator that draws one simple object or face, emoji style. "
        "Reply with one short prompt: a colour and an object, at most six words.",
        temperature=0.7,
        top_p=0.9,
        top_k=40,
        repetition_penalty=1.1,
        max_new_tokens=24,
        target="image",
        examples=(
            ("something for a fruit stand", "shiny red apple"),
            ("a happy greeting", "smiling face with big eyes"),
            ("space travel", "rocket with orange flames"),
        ),
    ),
    Preset(
        "music-prompt",
        "Prompt helper → Music",
        "You write prompts for a melody generator. Reply with one short line naming a mood, a style (folk, "
        "chorale or dance), optionally a key, a metre and an instrument.",
        temperature=0.7,
        top_p=0.9,
        top_k=40,
        repetition_penalty=1.1,
        max_new_tokens=32,
        target="music",
        examples=(
            ("a bedtime song", "gentle lullaby in G major on the music box"),
            ("a rainy afternoon", "calm folk melody in D minor on piano"),
            ("a village party", "lively reel in 6/8 on the fiddle"),
        ),
    ),
    Preset(
        "terrain-prompt",
        "Prompt helper → Terrain",
        "You write prompts for a landscape generator. Reply with one short line naming a landform (plains, hills, "
        "mountains, canyon, island, volcano or archipelago) and details such as snow, lakes, rivers or desert.",
        temperature=0.7,
        top_p=0.9,
        top_k=40,
        repetition_penalty=1.1,
        max_new_tokens=32,
        target="terrain",
        examples=(
            ("a place to ski", "snowy jagged mountains with a lake"),
            ("a hot dry land", "desert canyon with a river"),
            ("a holiday in the sun", "tropical volcanic island"),
        ),
    ),
)
PRESET_NAMES: tuple[str, ...] = ("none", *(p.name for p in PRESETS))
HELPER_TARGETS: tuple[str, ...] = tuple(p.target for p in PRESETS if p.target)


def preset(name: str) -> Preset | None:
    """The preset called ``name`` ("none" and unknown names give None)."""
    return next((p for p in PRESETS if p.name == name), None)


def parse_history(raw: str) -> list[dict[str, str]]:
    """Chat history from its JSON form: ``[{"role": "user"|"assistant", "content": "..."}, ...]``.

    ``[[user, assistant], ...]`` pairs are accepted too. The turns must alternate, starting with the user and
    ending with the assistant (the new prompt is the next user turn). Raises ``ParamError("history", ...)``.
    """
    if not raw.strip():
        return []
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ParamError("history", f"is not valid JSON ({exc.msg} at position {exc.pos})") from None
    except RecursionError:
        raise ParamError("history", "is nested too deeply; a chat history is a list of messages") from None
    if not isinstance(data, list):
        raise ParamError("history", "must be a JSON list of messages")
    messages: list[dict[str, str]] = []
    for i, item in enumerate(data):
        if isinstance(item, (list, tuple)) and len(item) == 2 and all(isinstance(t, str) for t in item):
            messages += [{"role": "user", "content": item[0]}, {"role": "assistant", "content": item[1]}]
        elif isinstance(item, dict) and isinstance(item.get("role"), str) and isinstance(item.get("content"), str):
            messages.append({"role": item["role"], "content": item["content"]})
        else:
            raise ParamError("history", f"item {i} must be {{'role': ..., 'content': '...'}} or a [user, reply] pair")
    if len(messages) > MAX_HISTORY_MESSAGES:
        raise ParamError("history", f"has {len(messages)} messages; at most {MAX_HISTORY_MESSAGES} are allowed")
    for i, m in enumerate(messages):
        want = "user" if i % 2 == 0 else "assistant"
        if m["role"] != want:
            raise ParamError("history", f"message {i} is from {m['role']!r}; turns must alternate user, assistant")
    if len(messages) % 2:
        raise ParamError("history", "must end with an assistant reply (the prompt is the next user turn)")
    return messages


def history_json(messages: list[dict[str, Any]]) -> str:
    """The canonical JSON form of a chat history (what the UI sends, so equal histories share a cache key)."""
    clean = [{"role": str(m["role"]), "content": str(m["content"])} for m in messages]
    return json.dumps(clean, ensure_ascii=False, separators=(",", ":")) if clean else ""


def recent_history(
    messages: list[dict[str, Any]], max_chars: int = MAX_HISTORY_CHARS, max_messages: int = MAX_HISTORY_MESSAGES
) -> str:
    """``history_json`` of the latest turns that fit ``max_chars`` and ``max_messages``: a long chat drops its oldest
    exchanges (as the model's context does) instead of being refused."""
    kept = list(messages)
    while kept and (len(kept) > max_messages or len(history_json(kept)) > max_chars):
        kept = kept[2:] if len(kept) > 1 else []  # one user/assistant exchange at a time
    return history_json(kept)


def chat_messages(system: str, history: list[dict[str, str]], prompt: str) -> list[dict[str, str]]:
    """The message list for a chat template: optional system prompt, earlier turns, then the new prompt."""
    head = [{"role": "system", "content": system}] if system.strip() else []
    return [*head, *history, {"role": "user", "content": prompt}]


def plain_chat(messages: list[dict[str, str]]) -> str:
    """A chat as plain text, for models without a chat template ("User: ...\\nAssistant: ...")."""
    names = {"system": "System", "user": "User", "assistant": "Assistant"}
    lines = [f"{names.get(m['role'], m['role'].title())}: {m['content']}" for m in messages]
    return "\n".join(lines) + "\nAssistant:"


def helper_messages(p: Preset, idea: str) -> list[dict[str, str]]:
    """The prompt helper's messages: its instruction, its worked examples, then the user's idea."""
    messages = [{"role": "system", "content": p.system_prompt}]
    for asked, answer in p.examples:
        messages += [{"role": "user", "content": f"Idea: {asked}"}, {"role": "assistant", "content": answer}]
    messages.append({"role": "user", "content": f"Idea: {idea}"})
    return messages


def clean_helper_output(text: str, fallback: str) -> str:
    """One clean prompt line from a helper reply: first non-empty line, labels, quotes and markup removed."""
    for line in text.splitlines():
        line = re.sub(r"^\s*(?:[-*#>]+|\d+[.)])\s+", "", line)  # a list bullet or heading mark
        line = re.sub(r"^\s*(?:prompt|idea|answer)\s*:\s*", "", line, flags=re.I)
        line = line.strip().strip("\"'`*“”‘’").strip()
        if line:
            return line[:HELPER_MAX_CHARS].rstrip()
    return fallback.strip()[:HELPER_MAX_CHARS]
