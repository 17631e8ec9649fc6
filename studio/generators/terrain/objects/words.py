"""Which kinds of object, and how many, a prompt asks for ("pine forest", "palm beach", "barren desert", "a village
by the lake", "rocky tundra"); the palette brings its own kinds when the prompt names none."""

from __future__ import annotations

from studio.generators.terrain.objects.assets import KINDS

TREES = ("conifer", "broadleaf", "palm")

# The kinds a palette brings when the prompt names none.
PALETTE_KINDS: dict[str, tuple[str, ...]] = {
    "temperate": ("broadleaf", "conifer", "bush", "rock", "grass"),
    "alpine": ("conifer", "bush", "rock", "grass"),
    "desert": ("cactus", "rock", "bush"),
    "volcanic": ("rock", "bush", "grass"),
    "tropical": ("palm", "broadleaf", "bush", "grass", "rock"),
    "arctic": ("rock", "grass", "bush"),
}
DENSITY = {"desert": 0.12, "arctic": 0.2, "volcanic": 0.25}  # object density when the prompt says nothing

# Prompt words: (words, kinds to add, kinds to drop, density or None).
WORDS: tuple[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], float | None], ...] = (
    (("pine", "pines", "spruce", "fir", "firs", "conifer", "conifers", "taiga", "evergreen"), ("conifer",),
     ("broadleaf", "palm"), 0.9),
    (("forest", "forests", "forested", "woods", "wood", "woodland", "woodlands", "trees", "grove"),
     ("conifer", "broadleaf"), (), 0.9),
    (("jungle", "rainforest"), ("palm", "broadleaf", "bush"), (), 1.0),
    (("oak", "oaks", "beech", "birch", "maple", "orchard"), ("broadleaf",), (), 0.8),
    (("palm", "palms", "beach", "beaches", "tropical", "oasis"), ("palm",), ("conifer",), None),
    (("village", "villages", "town", "hamlet", "houses", "house", "huts", "hut", "settlement", "farm", "cabins",
      "cabin"), ("house",), (), None),
    (("cactus", "cacti", "saguaro"), ("cactus",), (), None),
    (("rocky", "boulders", "boulder", "stones", "stony", "rocks", "scree"), ("rock",), (), None),
    (("tundra",), ("rock", "grass"), ("conifer", "broadleaf", "palm", "cactus"), 0.35),
    (("meadow", "meadows", "grassland", "grasslands", "prairie", "steppe", "savanna", "savannah"), ("grass",), (),
     None),
    (("barren", "desolate", "bare", "empty", "lifeless", "wasteland"), (), ("conifer", "broadleaf", "palm", "grass"),
     0.03),
    (("sparse", "scattered", "few"), (), (), 0.15),
    (("dense", "thick", "overgrown", "lush"), (), (), 1.0),
    (("treeless",), (), TREES, None),
)  # fmt: skip


def prompt_objects(live: list[str], palette: str) -> tuple[tuple[str, ...], float, list[str]]:
    """(kinds, density, words understood) that the prompt's words ``live`` ask for on ``palette``."""
    kinds = set(PALETTE_KINDS.get(palette, PALETTE_KINDS["temperate"]))
    dropped: set[str] = set()
    density, matched = DENSITY.get(palette, 0.45), []
    for vocab, add, drop, dens in WORDS:  # later rows win on density; a word's drops win over others' adds
        hits = [t for t in live if t in vocab]
        if not hits:
            continue
        matched += [t for t in hits if t not in matched]
        kinds |= set(add)
        dropped |= set(drop)
        if dens is not None:
            density = dens
    return tuple(k for k in KINDS if k in kinds - dropped), density, matched
