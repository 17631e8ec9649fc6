"""Prompt → musical controls: style, key and mode, metre, tempo and instrument, read from plain words.

"calm folk melody in D minor" → folk, D minor, slow; "joyful chorale" → chorale, major, lively;
"fast dance in 6/8" → dance, 6/8, fast. Each control is optional: what the prompt leaves open is filled by
the UI's sliders (which win over the prompt when set) and then by defaults that depend on the style and the
seed (``resolve_controls``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from studio.generators.music.tokens import KEY_NAMES, METRES

# Words → controls. Multi-word keys ("music box") and prefixes ("melanchol") match at a word start.


def _table(spec: str) -> dict[str, str]:
    """ "value: word word; value: word" → {word: value}; words joined by "_" contain spaces."""
    out: dict[str, str] = {}
    for group in spec.split(";"):
        value, words = group.split(":")
        for w in words.split():
            out[w.replace("_", " ")] = value.strip().replace("_", " ")
    return out


def _words(spec: str) -> tuple[str, ...]:
    return tuple(spec.split())


STYLE_WORDS = _table(
    "chorale: chorale hymn bach choir church sacred four-part harmony harmonised harmonized organ;"
    "dance: dance reel jig hornpipe fiddle celtic irish scottish strathspey polka waltz clog;"
    "folk: folk melody song ballad tune lullaby air lied nursery"
)
MINOR_WORDS = _words(
    "minor sad melanchol dark mournful sombre somber gloomy lament tragic haunting wistful sorrow grief eerie"
    " mysterious dorian aeolian phrygian"
)
MAJOR_WORDS = _words(
    "major happy joyful joyous bright cheerful uplifting triumphant festive sunny playful merry jolly hopeful glad"
    " mixolydian lydian ionian"
)
SLOW_WORDS = _words(
    "calm slow gentle peaceful lullaby relaxed relaxing adagio largo lento serene quiet soft dreamy tender"
    " meditative sleepy hymn"
)
MODERATE_WORDS = _words("moderate andante walking moderato steady medium joyful festive playful")
FAST_WORDS = _words("fast lively energetic quick allegro presto upbeat vivace brisk rapid reel jig polka")
METRE_WORDS = _table(
    "9/8: slip_jig; 3/4: waltz minuet; 6/8: jig barcarolle lullaby; 2/4: march polka; 4/4: reel hornpipe"
)
INSTRUMENT_WORDS = _table(
    "piano: piano keys; music_box: music_box celesta glockenspiel; strings: strings violin fiddle cello;"
    "organ: organ church; flute: flute whistle recorder pipe; clarinet: clarinet oboe woodwind;"
    "guitar: guitar lute; harp: harp; choir: choir voices vocal"
)
INSTRUMENTS: tuple[str, ...] = (
    "piano",
    "strings",
    "organ",
    "flute",
    "clarinet",
    "guitar",
    "harp",
    "choir",
    "music box",
)
TEMPO_BPM = {"slow": 66, "moderate": 96, "fast": 126}  # beats per minute of the metre's beat
STYLE_DEFAULTS = {
    "folk": {"tempo": "moderate", "metres": ("3/4", "4/4", "2/4", "6/8"), "instrument": "flute"},
    "dance": {"tempo": "fast", "metres": ("4/4", "6/8", "2/4"), "instrument": "strings"},
    "chorale": {"tempo": "slow", "metres": ("4/4", "3/4"), "instrument": "organ"},
}
# (tonic, mode) drawn by the seed when neither the prompt nor the key menu names one: C G D F Am Dm Em Bb A Gm
COMMON_KEYS: tuple[tuple[int, str], ...] = tuple(
    (t, m)
    for t, m in zip(
        (0, 7, 2, 5, 9, 2, 4, 10, 9, 7), ("major",) * 4 + ("minor",) * 3 + ("major",) * 2 + ("minor",), strict=True
    )
)

_NOTE = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11, "h": 11}
_KEY_RE = re.compile(
    r"(?:\b(?:in|key\s+of)\s+([a-gA-G])|\b([A-G]))"
    r"(\s*(?:#|♯|-?\s?sharp|b(?![a-z])|♭|-?\s?flat))?"
    r"(?:\s*-?\s*(major|minor|maj|min|m)\b)?"
)


@dataclass(frozen=True)
class PromptControls:
    """What a prompt asked for; None where it said nothing. ``matched`` lists the words that were understood."""

    style: str | None = None
    tonic: int | None = None
    mode: str | None = None
    metre: str | None = None
    tempo: str | None = None
    tempo_bpm: float | None = None
    instrument: str | None = None
    matched: tuple[str, ...] = field(default=())


def _has(text: str, word: str) -> bool:
    return re.search(rf"(?<![a-z]){re.escape(word)}", text) is not None


def _first(text: str, words: tuple[str, ...] | dict[str, str]) -> str | None:
    for w in words:
        if _has(text, w):
            return w
    return None


def parse_key(prompt: str) -> tuple[int | None, str | None, str | None]:
    """(tonic pitch class, mode, matched text) from "in D minor", "key of F#", "Bb major"; Nones when absent."""
    for m in _KEY_RE.finditer(prompt):
        letter = m.group(1) or m.group(2)
        accidental = (m.group(3) or "").strip().lower()
        mode_word = (m.group(4) or "").lower()
        if m.group(2) and not (accidental or mode_word):
            continue  # a bare capital letter ("A calm tune") is not a key
        if m.group(1) and letter == "a" and not (accidental or mode_word):
            continue  # "in a minute", "in a hurry"
        pc = _NOTE[letter.lower()]
        if accidental in ("#", "♯") or "sharp" in accidental:
            pc += 1
        elif accidental in ("b", "♭") or "flat" in accidental:
            pc -= 1
        mode = "minor" if mode_word in ("minor", "min", "m") else "major" if mode_word in ("major", "maj") else None
        return pc % 12, mode, m.group(0).strip()
    return None, None, None


def parse_prompt(prompt: str) -> PromptControls:
    """Read the controls a prompt asks for (see the module docstring)."""
    text = prompt.lower()
    matched: list[str] = []
    style_word = _first(text, STYLE_WORDS)
    style = STYLE_WORDS[style_word] if style_word else None
    tonic, mode, key_text = parse_key(prompt)
    if key_text:
        matched.append(key_text)
    if mode is None:
        word = _first(text, MINOR_WORDS) or _first(text, MAJOR_WORDS)
        if word:
            mode = "minor" if word in MINOR_WORDS else "major"
            matched.append(word)
    metre = None
    for m in re.finditer(r"\b(\d{1,2})\s*/\s*(\d{1,2})\b", text):
        if f"{m.group(1)}/{m.group(2)}" in METRES:
            metre = f"{m.group(1)}/{m.group(2)}"
            matched.append(metre)
            break
    if metre is None:
        word = _first(text, METRE_WORDS)
        metre = METRE_WORDS[word] if word else None
    tempo_bpm = None
    bpm = re.search(r"\b(\d{2,3})\s*(?:bpm|beats per minute)\b", text)
    if bpm:
        tempo_bpm = float(bpm.group(1))
        matched.append(bpm.group(0))
    tempo = None
    for cls, words in (("slow", SLOW_WORDS), ("fast", FAST_WORDS), ("moderate", MODERATE_WORDS)):
        word = _first(text, words)
        if word:
            tempo = cls
            matched.append(word)
            break
    inst_word = _first(text, INSTRUMENT_WORDS)
    instrument = INSTRUMENT_WORDS[inst_word] if inst_word else None
    if style_word:
        matched.append(style_word)
    if inst_word and inst_word not in matched:
        matched.append(inst_word)
    return PromptControls(style, tonic, mode, metre, tempo, tempo_bpm, instrument, tuple(dict.fromkeys(matched)))


def beat_quarters(metre: str) -> float:
    """Quarter notes per beat: a dotted quarter in 6/8, 9/8, 12/8 and 3/8, a half in 2/2 and 3/2, else a quarter."""
    num, den = (int(x) for x in metre.split("/"))
    if den == 8 and num % 3 == 0:
        return 1.5
    if den == 2:
        return 2.0
    return 4.0 / den


def tempo_class(bpm: float, metre: str = "4/4") -> str:
    """The TEMPO token class of a beat tempo (compound beats count as faster: a jig at 100 is fast)."""
    scale = 0.8 if beat_quarters(metre) == 1.5 else 1.0
    return "slow" if bpm < 80 * scale else "moderate" if bpm < 115 * scale else "fast"


@dataclass(frozen=True)
class Resolved:
    """Controls after prompt, sliders and defaults are combined; what the model and the renderer use."""

    style: str
    tonic: int
    mode: str
    metre: str
    tempo: str
    tempo_bpm: float  # beats per minute of the metre's beat
    instrument: str
    from_prompt: tuple[str, ...]

    @property
    def key_name(self) -> str:
        return f"{KEY_NAMES[self.tonic]} {self.mode}"

    @property
    def quarter_bpm(self) -> float:
        """Tempo in quarter notes per minute (what MIDI stores)."""
        return self.tempo_bpm * beat_quarters(self.metre)


def parse_key_choice(choice: str) -> tuple[int, str] | None:
    """Map "D minor" to (2, "minor") and "auto" to None."""
    if choice == "auto":
        return None
    name, mode = choice.split(" ")
    return KEY_NAMES.index(name), mode


def resolve_controls(
    prompt: str,
    seed: int,
    style: str = "auto",
    key: str = "auto",
    metre: str = "auto",
    tempo_bpm: float = 0.0,
    instrument: str = "auto",
) -> Resolved:
    """Combine the prompt's controls with the sliders (which win when not "auto"/0) and seeded defaults."""
    pc = parse_prompt(prompt)
    rng = np.random.default_rng(seed)
    style_ = style if style != "auto" else pc.style or "folk"
    defaults = STYLE_DEFAULTS[style_]
    key_choice = parse_key_choice(key)
    if key_choice is not None:
        tonic, mode = key_choice
    else:
        tonic_, mode_ = COMMON_KEYS[int(rng.integers(len(COMMON_KEYS)))]
        tonic = pc.tonic if pc.tonic is not None else tonic_
        mode = pc.mode or mode_
    metres = defaults["metres"]
    metre_ = metre if metre != "auto" else pc.metre or str(metres[int(rng.integers(len(metres)))])
    explicit = float(tempo_bpm) if tempo_bpm and tempo_bpm > 0 else pc.tempo_bpm
    if explicit is not None:
        bpm, tempo = explicit, tempo_class(explicit, metre_)
    else:
        tempo = pc.tempo or str(defaults["tempo"])
        # compound beats (dotted quarters) are felt slower than simple ones
        bpm = TEMPO_BPM[tempo] * (0.8 if beat_quarters(metre_) == 1.5 else 1.0)
    inst = instrument if instrument != "auto" else pc.instrument or str(defaults["instrument"])
    return Resolved(style_, tonic, mode, metre_, tempo, round(bpm, 1), inst, pc.matched)
