"""Model cards: every built-in has one that names its limits; a model folder's own card wins; none is said plainly."""

from __future__ import annotations

from studio.catalog import Catalog
from studio.generators.base import ModelSpec
from studio.model_cards import MAX_CARD_BYTES, card_markdown
from studio.registry import make_generators
from studio.settings import Settings


def test_every_built_in_model_has_a_card_with_its_limits(tmp_path):
    generators = make_generators(Settings(cache_dir=tmp_path))
    catalog = Catalog(generators, hf_cache=tmp_path / "none")
    specs = [s for m in generators for s in catalog.models(m) if s.source in ("builtin", "procedural")]
    assert {s.modality for s in specs} == {"text", "image", "music", "terrain"}
    for spec in specs:
        card = card_markdown(spec).lower()
        assert "limit" in card and ("licen" in card or "credit" in card), spec.id
    music = next(s for s in specs if s.modality == "music")
    assert card_markdown(music).startswith("license: cc-by-nc-sa-4.0")  # the Hub front matter, as one line


def test_a_folders_own_card_is_read_with_bounds(tmp_path):
    folder = tmp_path / "my-model"
    folder.mkdir()
    spec = ModelSpec(id="my-model", modality="image", source="folder", path=str(folder), label="My model")
    assert "has no model card" in card_markdown(spec)
    (folder / "README.md").write_text(
        "---\nlicense: mit\ndatasets: [mine]\n---\n# Mine\nTrained on my cat." + "x" * MAX_CARD_BYTES
    )
    card = card_markdown(spec)
    assert card.startswith("license: mit · datasets: [mine]") and "Trained on my cat" in card
    assert "the card is longer" in card and len(card) < MAX_CARD_BYTES + 500
