"""The generators the studio offers, made from its settings (one line per modality)."""

from __future__ import annotations

from studio.generators.base import Generator
from studio.settings import Settings


def make_generators(settings: Settings) -> dict[str, Generator]:
    """Instantiate each modality's generator. Imports are local so ``import studio`` stays light."""
    from studio.generators.image.generator import ImageGenerator
    from studio.generators.music.generator import MusicGenerator
    from studio.generators.terrain.generator import TerrainGenerator
    from studio.generators.text.generator import TextGenerator

    generators: dict[str, Generator] = {"terrain": TerrainGenerator()}
    generators["text"] = TextGenerator(settings.converted_dir)
    generators["music"] = MusicGenerator(settings.assets_dir)
    generators["image"] = ImageGenerator(settings.assets_dir)
    return generators
