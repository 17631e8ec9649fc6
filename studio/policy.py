"""The prompt policy: terms and patterns this studio refuses to generate from, applied to every request.

A policy file has one rule a line; ``#`` starts a comment. A plain line is a word or phrase, matched as whole
words, ignoring case, accents' width variants and runs of spaces (``"deepfake  nude"`` matches ``deepfake nude``);
a line starting ``re:`` is a Python regular expression, matched ignoring case. ``DEFAULT_RULES`` is a short
starting list, on by default when the studio is shared publicly; operators should write their own.

The engine checks every free-text field of a request (prompt, negative prompt, system prompt, ...; not fields with
a fixed set of choices, and not the model name) before the result cache is asked, so the Text, Image, Music and
Terrain tabs, the API and the CLI all meet the same policy. A refusal is a ``ParamError`` naming the field; the
log gets only the SHA-256 of the refused text, never the text.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.params import ParamError, spec_of

log = logging.getLogger(__name__)

DEFAULT_RULES = """\
# The studio's default prompt policy: sexual content involving minors, and sexual or nude imagery of real people
# made without their consent. A starting point, not a complete list: write your own with --prompt-policy FILE.
child porn
child sexual abuse
csam
loli
shota
revenge porn
deepfake nude
deepfake porn
non-consensual
nonconsensual
re: \\b(nude|naked|topless|undressed|nsfw|porn\\w*)\\b.{0,60}\\b(child|children|kids?|minors?|underage|toddlers?)\\b
re: \\b(child|children|kids?|minors?|underage|toddlers?)\\b.{0,60}\\b(nude|naked|topless|undressed|nsfw|porn\\w*)\\b
re: \\b(sexy|sexual|explicit|erotic)\\b.{0,60}\\b(child|children|kids?|minors?|underage|preteens?|schoolgirls?)\\b
re: \\b(child|children|kids?|minors?|underage|preteens?|schoolgirls?)\\b.{0,60}\\b(sexy|sexual|explicit|erotic)\\b
re: \\bundress(ed|ing)?\\b.{0,40}\\b(photo|picture|image) of\\b
"""
MAX_RULES = 10_000
ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))


@dataclass(frozen=True)
class Rule:
    """One line of a policy: its line number, its text as written, and the compiled pattern."""

    line: int
    text: str
    pattern: re.Pattern[str]
    is_regex: bool


def normalise(text: str) -> str:
    """Text as rules see it: NFKC (full-width letters become plain), case-folded, no zero-width characters,
    runs of whitespace as one space."""
    text = unicodedata.normalize("NFKC", text).translate(ZERO_WIDTH).casefold()
    return re.sub(r"\s+", " ", text)


class PromptPolicy:
    """A list of ``Rule``s (see the module docstring); ``check`` refuses a request that matches one."""

    def __init__(self, rules: list[Rule], source: str) -> None:
        self.rules = rules
        self.source = source  # "default" or the file's path, for the log and the UI

    @classmethod
    def parse(cls, text: str, source: str) -> PromptPolicy:
        """Rules from a policy's text; ``ValueError`` naming the line of a bad pattern."""
        rules: list[Rule] = []
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("re:") else raw.strip()
            if not line:
                continue
            if len(rules) >= MAX_RULES:
                raise ValueError(f"{source}: more than {MAX_RULES} rules")
            if line.startswith("re:"):
                body = line[3:].strip()
                try:
                    rules.append(Rule(number, body, re.compile(body, re.IGNORECASE), True))
                except re.error as exc:
                    raise ValueError(f"{source}, line {number}: not a regular expression ({exc})") from None
            else:
                words = normalise(line).strip()
                pattern = re.compile(r"(?<!\w)" + re.escape(words).replace(r"\ ", r"\s+") + r"(?!\w)")
                rules.append(Rule(number, words, pattern, False))
        return cls(rules, source)

    @classmethod
    def default(cls) -> PromptPolicy:
        return cls.parse(DEFAULT_RULES, "default")

    @classmethod
    def from_file(cls, path: Path) -> PromptPolicy:
        """The policy in ``path`` (UTF-8); ``ValueError`` naming the flag when it cannot be read."""
        try:
            return cls.parse(path.read_text(encoding="utf-8"), str(path))
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"--prompt-policy {path}: cannot read it ({exc})") from None

    def refusal(self, text: str) -> Rule | None:
        """The first rule ``text`` matches, or None."""
        seen = normalise(text)
        return next((r for r in self.rules if r.pattern.search(seen)), None)

    def check(self, params: Any) -> None:
        """Raise ``ParamError`` on the first free-text field of ``params`` a rule refuses (see the docstring)."""
        for f in dataclasses.fields(params):
            value = getattr(params, f.name)
            texts = (
                [value]
                if isinstance(value, str)
                else [v for v in value if isinstance(v, str)]
                if isinstance(value, (list, tuple))
                else []
            )
            if not texts or f.name == "model" or spec_of(type(params), f.name).choices is not None:
                continue
            for text in texts:
                rule = self.refusal(text)
                if rule is not None:
                    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
                    log.warning(
                        "refused a %s by prompt policy %s, line %d; sha256 %s", f.name, self.source, rule.line, digest
                    )
                    what = f"pattern on line {rule.line}" if rule.is_regex else f"'{rule.text}'"
                    raise ParamError(f.name, f"refused by this studio's prompt policy (it matches {what})")
