"""Prompt -> terrain settings: a small, deterministic keyword reader (no model needed).

The prompt picks a *landform* (the shape of the land) and a *palette* (its colours), then modifiers adjust
the numbers: "snowy" lowers the snow line, "jagged" raises roughness, "with a lake" carves a lake basin,
"gentle" softens, "no snow" / "without water" negate. Sliders that the user set explicitly win over all of
it (see ``TerrainParams``). ``resolve`` returns the settings and the words it understood, so the recipe and
the UI can say what the prompt did.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from studio.generators.terrain.objects.words import TREES, prompt_objects

LANDFORMS = ("plains", "hills", "mountains", "canyon", "island", "volcano", "archipelago")
PALETTES = ("temperate", "alpine", "desert", "volcanic", "tropical", "arctic")


@dataclass(frozen=True)
class TerrainSettings:
    """Everything the pipeline needs, resolved from prompt + overrides; recorded in the recipe.

    Heights are normalised to [0, 1] (0 = lowest, 1 = highest point); ``height_m`` maps 1.0 to metres.
    ``water_level`` is the share of the map under water; ``snow_line`` a normalised height (1 = no snow).
    """

    landform: str = "hills"
    palette: str = "temperate"
    roughness: float = 0.4
    erosion: float = 0.45
    water_level: float = 0.04
    snow_line: float = 1.0
    warp: float = 0.35
    moisture: float = 0.7
    height_m: float = 260.0
    extent_m: float = 4000.0
    lake: bool = False
    river: bool = False
    colours: str = ""  # "#rrggbb,..." land colours from low to high (e.g. sent from an image); "" = the palette's
    object_density: float = 0.45  # 0 = no objects, 1 = as close as each kind's spacing allows
    object_kinds: tuple[str, ...] = ()  # kinds of object that may stand on the land (objects/assets.py)


PRESETS: dict[str, dict[str, Any]] = {
    "plains": dict(roughness=0.3, erosion=0.25, water_level=0.06, warp=0.3, moisture=0.6, height_m=120.0),
    "hills": dict(roughness=0.4, erosion=0.45, water_level=0.03, warp=0.35, moisture=0.7, height_m=320.0),
    "mountains": dict(
        palette="alpine",
        roughness=0.6,
        erosion=0.55,
        water_level=0.02,
        snow_line=0.65,
        warp=0.4,
        moisture=0.5,
        height_m=1100.0,
    ),
    "canyon": dict(
        palette="desert",
        roughness=0.5,
        erosion=0.95,
        water_level=0.02,
        warp=0.5,
        moisture=0.08,
        height_m=500.0,
        river=True,
    ),
    "island": dict(palette="tropical", roughness=0.5, erosion=0.5, water_level=0.6, warp=0.5, height_m=500.0),
    "volcano": dict(
        palette="volcanic",
        roughness=0.55,
        erosion=0.5,
        water_level=0.5,
        warp=0.35,
        moisture=0.6,
        height_m=1100.0,
    ),
    "archipelago": dict(
        palette="tropical",
        roughness=0.45,
        erosion=0.4,
        water_level=0.6,
        warp=0.45,
        moisture=0.75,
        height_m=320.0,
    ),
}

# Landform words, strongest first: "volcanic island" is a volcano, "desert canyon" a canyon.
LANDFORM_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("volcano", ("volcano", "volcanoes", "volcanic", "lava", "crater", "caldera", "magma", "stratovolcano")),
    ("archipelago", ("archipelago", "islands", "isles", "islets", "atoll", "atolls", "cays", "keys")),
    ("island", ("island", "isle", "islet")),
    ("canyon", ("canyon", "canyons", "gorge", "gorges", "mesa", "mesas", "badlands", "ravine", "butte", "buttes")),
    (
        "mountains",
        (
            "mountain",
            "mountains",
            "peak",
            "peaks",
            "alps",
            "alpine",
            "range",
            "summit",
            "summits",
            "massif",
            "highlands",
            "sierra",
            "cordillera",
            "himalaya",
            "himalayas",
            "jagged",
            "cliffs",
        ),
    ),
    ("hills", ("hill", "hills", "hilly", "rolling", "downs", "knolls", "foothills", "moor", "moors", "highland")),
    (
        "plains",
        (
            "plain",
            "plains",
            "flat",
            "flatlands",
            "meadow",
            "meadows",
            "prairie",
            "steppe",
            "savanna",
            "savannah",
            "lowlands",
            "marsh",
            "marshes",
            "wetlands",
            "fields",
        ),
    ),
)

PALETTE_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("volcanic", ("volcanic", "lava", "basalt", "obsidian", "ash", "magma")),
    (
        "desert",
        (
            "desert",
            "deserts",
            "arid",
            "dune",
            "dunes",
            "sand",
            "sandy",
            "sahara",
            "dusty",
            "red",
            "mesa",
            "badlands",
            "canyon",
            "canyons",
        ),
    ),
    ("arctic", ("arctic", "polar", "tundra", "glacier", "glaciers", "glacial", "frozen", "icy", "ice", "winter")),
    (
        "tropical",
        ("tropical", "jungle", "rainforest", "palm", "palms", "paradise", "caribbean", "lagoon", "atoll", "reef"),
    ),
    ("alpine", ("alpine", "alps", "mountain", "mountains", "peaks")),
    ("temperate", ("green", "grassy", "lush", "forest", "forested", "woodland", "temperate", "meadow", "meadows")),
)

NEGATORS = {"no", "without", "not", "never", "zero", "nor"}
SKIP = {"a", "an", "the", "any", "some", "of", "and"}


def _scale(key: str, factor: float, lo: float, hi: float) -> Any:
    return lambda s: {key: min(hi, max(lo, getattr(s, key) * factor))}


# Each modifier: words -> a function of the settings so far that returns the fields to change.
MODIFIERS: tuple[tuple[str, tuple[str, ...], Any], ...] = (
    (
        "snow",
        ("snow", "snowy", "snowfield", "snowfields", "snowcapped"),
        lambda s: {
            "snow_line": min(s.snow_line, {"mountains": 0.3, "volcano": 0.55, "island": 0.5}.get(s.landform, 0.3)),
            "palette": "alpine" if s.palette == "temperate" else s.palette,
        },
    ),
    ("capped", ("capped", "caps"), lambda s: {"snow_line": min(s.snow_line, 0.5)}),
    (
        "arctic",
        ("arctic", "polar", "tundra", "glacier", "glaciers", "glacial", "frozen", "icy", "winter"),
        lambda s: {"snow_line": min(s.snow_line, 0.3), "moisture": 0.4},
    ),
    (
        "jagged",
        (
            "jagged",
            "sharp",
            "craggy",
            "rugged",
            "spiky",
            "steep",
            "dramatic",
            "rocky",
            "harsh",
            "spires",
            "pinnacles",
            "cliffs",
            "serrated",
        ),
        lambda s: {
            "roughness": max(s.roughness, 0.9),
            "erosion": s.erosion * 0.75,
            "height_m": min(5000.0, s.height_m * 1.15),
        },
    ),
    (
        "gentle",
        ("gentle", "soft", "smooth", "rolling", "mellow", "calm", "peaceful", "mild", "undulating", "cozy"),
        lambda s: {"roughness": min(s.roughness, 0.2), "height_m": s.height_m * 0.7, "erosion": max(s.erosion, 0.5)},
    ),
    ("flat", ("flat", "flatlands", "level"), lambda s: {"roughness": 0.15, "height_m": s.height_m * 0.5}),
    (
        "eroded",
        ("eroded", "weathered", "ancient", "worn", "old", "aged", "carved"),
        lambda s: {"erosion": max(s.erosion, 0.9)},
    ),
    (
        "lake",
        ("lake", "lakes", "pond", "ponds", "tarn", "tarns", "loch", "lochs", "reservoir", "mere"),
        lambda s: {"lake": True, "water_level": s.water_level if s.water_level >= 0.3 else max(s.water_level, 0.08)},
    ),
    (
        "river",
        ("river", "rivers", "stream", "streams", "creek", "creeks", "brook", "delta"),
        lambda s: {"river": True, "water_level": max(s.water_level, 0.025)},
    ),
    (
        "sea",
        ("sea", "ocean", "coast", "coastal", "coastline", "bay", "beach", "beaches", "shore", "fjord", "fjords"),
        lambda s: {"water_level": max(s.water_level, 0.3)},
    ),
    (
        "dry",
        ("dry", "arid", "barren", "parched", "desert", "dunes", "sandy", "dusty"),
        lambda s: {"moisture": 0.06, "snow_line": 1.0 if s.snow_line >= 0.68 else s.snow_line},
    ),
    (
        "wet",
        ("wet", "lush", "rainy", "green", "verdant", "forest", "forested", "jungle", "rainforest", "misty"),
        lambda s: {"moisture": 0.88},
    ),
    (
        "tall",
        ("tall", "high", "huge", "towering", "massive", "giant", "epic", "majestic", "colossal", "enormous"),
        _scale("height_m", 1.45, 10.0, 5000.0),
    ),
    ("low", ("low", "small", "tiny", "little", "modest"), _scale("height_m", 0.6, 10.0, 5000.0)),
    ("wild", ("wild", "twisted", "swirling", "chaotic", "alien", "strange"), lambda s: {"warp": max(s.warp, 0.85)}),
)

NEGATED: dict[str, dict[str, Any]] = {
    "snow": {"snow_line": 1.0},
    "capped": {"snow_line": 1.0},
    "arctic": {"snow_line": 1.0},
    "lake": {"lake": False, "water_level": 0.0},
    "river": {"river": False},
    "sea": {"water_level": 0.0},
    "water": {"water_level": 0.0, "lake": False, "river": False},
}


def words(prompt: str) -> list[str]:
    """Lower-case words of the prompt ("Snow-capped" -> "snow", "capped")."""
    return re.findall(r"[a-z]+", prompt.lower())


def _negated_positions(tokens: list[str]) -> set[int]:
    out: set[int] = set()
    for i, t in enumerate(tokens):
        if t in NEGATORS:
            j = i + 1
            while j < len(tokens) and tokens[j] in SKIP:
                j += 1
            if j < len(tokens):
                out.add(j)
    return out


def resolve(prompt: str, overrides: Mapping[str, Any] | None = None) -> tuple[TerrainSettings, list[str]]:
    """Settings for ``prompt``, then ``overrides`` (explicit values; None means "from the prompt").

    Returns the settings and the prompt words that changed something (negated ones as "no <word>").
    """
    tokens = words(prompt)
    negated = _negated_positions(tokens)
    live = [t for i, t in enumerate(tokens) if i not in negated]
    dead = [t for i, t in enumerate(tokens) if i in negated]
    matched: list[str] = []

    overrides = dict(overrides or {})
    landform = next((name for name, vocab in LANDFORM_WORDS if any(t in vocab for t in live)), "hills")
    if overrides.get("landform") not in (None, "auto"):
        landform = str(overrides["landform"])  # an explicit landform brings its own preset
    s = dataclasses.replace(TerrainSettings(landform=landform), **PRESETS.get(landform, {}))
    matched += [t for t in live if any(t in vocab for _, vocab in LANDFORM_WORDS)]

    palette = next((name for name, vocab in PALETTE_WORDS if any(t in vocab for t in live)), None)
    if palette is not None and palette != s.palette and not (palette == "alpine" and landform != "mountains"):
        s = dataclasses.replace(s, palette=palette)

    for _name, vocab, change in MODIFIERS:
        hits = [t for t in live if t in vocab]
        if hits:
            s = dataclasses.replace(s, **change(s))
            matched += [t for t in hits if t not in matched]
    for name, vocab, _ in MODIFIERS:
        hits = [t for t in dead if t in vocab]
        if hits and name in NEGATED:
            s = dataclasses.replace(s, **NEGATED[name])
            matched += [f"no {t}" for t in hits]
    if any(t in ("water", "waters") for t in dead):
        s = dataclasses.replace(s, **NEGATED["water"])
        matched.append("no water")

    kinds, density, hits = prompt_objects(live, s.palette)
    if any(t in ("trees", "tree", "forest", "forests", "woods", "vegetation", "plants") for t in dead):
        kinds, hits = tuple(k for k in kinds if k not in TREES), [*hits, "no trees"]
    s = dataclasses.replace(s, object_kinds=kinds, object_density=density)
    matched += [t for t in hits if t not in matched]

    for key, value in overrides.items():
        if value is None or value == "auto" or value == ():
            continue
        if not hasattr(s, key):
            raise KeyError(f"TerrainSettings has no field {key!r}")
        s = dataclasses.replace(s, **{key: value})
    # Round the numbers the prompt computed, so recipes read 1840.0 rather than 1839.9999999999998.
    rounded = {f.name: round(getattr(s, f.name), 4) for f in dataclasses.fields(s) if f.type in ("float", float)}
    return dataclasses.replace(s, **rounded), matched
