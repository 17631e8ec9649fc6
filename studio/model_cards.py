"""Model cards: what each model was trained on, its licence, and its known biases and limits, for the tabs.

A model's card is a file in its own folder (``README.md``, ``MODEL_CARD.md`` or ``model_card.md``): the built-ins
in ``assets/models/<name>/``, a model the user trained here in its run folder, and whatever card a Hugging Face
cache snapshot brought along. Models whose folder holds no card (the built-in text model, converted from a GGUF
package; the procedural terrain) have one in ``assets/cards/<id>.md``. A card is read no further than
``MAX_CARD_BYTES`` and its YAML front matter (the Hub's metadata block) is shown as a short line of facts.
"""

from __future__ import annotations

import re
from pathlib import Path

from studio.generators.base import ModelSpec
from studio.settings import ROOT

CARD_NAMES = ("MODEL_CARD.md", "model_card.md", "README.md")
BUILTIN_CARDS = ROOT / "assets" / "cards"
MAX_CARD_BYTES = 64 * 1024
FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
FACTS = ("license", "license_name", "datasets", "language", "base_model", "pipeline_tag")


def card_path(spec: ModelSpec) -> Path | None:
    """Where ``spec``'s card is, or None if it has none."""
    folders = [Path(spec.path)] if spec.path else []
    for folder in folders:
        for name in CARD_NAMES:
            if (folder / name).is_file():
                return folder / name
    builtin = BUILTIN_CARDS / f"{dict(spec.extra).get('card', spec.id)}.md"  # a spec may name another's card
    if not builtin.is_file() and spec.source == "procedural":
        builtin = BUILTIN_CARDS / f"procedural-{spec.modality}.md"
    return builtin if builtin.is_file() else None


def card_markdown(spec: ModelSpec) -> str:
    """The card of ``spec`` as Markdown for the UI, or a line saying there is none and what to check instead."""
    path = card_path(spec)
    if path is None:
        return (
            f"**{spec.display}** has no model card in its folder. Before publishing what it makes, check where it "
            "came from: its training data, its licence, and what it is known to get wrong."
        )
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_CARD_BYTES + 1)
    except OSError as exc:
        return f"The model card of **{spec.display}** cannot be read ({exc.strerror or exc})."
    text = raw[:MAX_CARD_BYTES].decode("utf-8", errors="replace")
    facts, body = _front_matter(text)
    more = "\n\n*(the card is longer; the rest is in " + path.name + ")*" if len(raw) > MAX_CARD_BYTES else ""
    return (f"{facts}\n\n" if facts else "") + body.strip() + more


def _front_matter(text: str) -> tuple[str, str]:
    """(a line of the Hub metadata worth showing, the card without its front matter)."""
    match = FRONT_MATTER.match(text)
    if not match:
        return "", text
    facts = []
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in FACTS and value.strip():
            facts.append(f"{key.strip()}: {value.strip()[:80]}")
    return (" · ".join(facts), text[match.end() :])
