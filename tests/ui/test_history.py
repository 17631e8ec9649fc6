"""History entries come from the browser: they are data, and nothing in them is a path the server trusts."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.params import SEED_MAX
from studio.services import build_services
from studio.settings import Settings
from studio.ui.history import add_entry, allowed_values, entry_of, gallery_items, thumb_of
from studio.ui.send import sent_picture


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """Services with one real terrain result written to the outputs folder: (services, result)."""
    services = build_services(Settings(cache_dir=tmp_path_factory.mktemp("cache")))
    params = services.studio.check("terrain", {"prompt": "archipelago", "seed": 3, "size_px": 129})
    result = services.studio.generate("terrain", params)
    result.write(services.outputs)
    return services, result


ROOT = Path(__file__).resolve().parents[2]


def test_a_real_entry_shows_its_own_picture(made):
    services, result = made
    entry = entry_of(services, result.recipe)
    assert entry is not None and "thumb" not in entry
    assert gallery_items(services, [entry]) == [(str(result.paths["terrain.png"]), "terrain · archipelago")]
    assert sent_picture(services, result.recipe) == result.paths["terrain.png"]


@pytest.mark.parametrize(
    "planted",
    [str(ROOT / "studio" / "settings.py"), str(ROOT / ".git" / "config"), "/etc/passwd", "browser-state-secret"],
)
def test_an_entry_naming_a_server_file_shows_nothing(made, planted):
    services, result = made
    if planted == "browser-state-secret":
        planted = str(services.settings.cache_dir / planted)
    forged = [
        {"id": "0" * 64, "modality": "terrain", "prompt": "x", "thumb": planted},
        {"id": planted, "modality": "terrain", "thumb": planted},
        {"id": result.recipe["id"], "modality": "../terrain", "thumb": planted},
        "not an entry",
        ["a", "list"],
    ]
    assert gallery_items(services, forged) == []
    assert all(thumb_of(services, e) is None for e in forged)
    assert sent_picture(services, {"id": "0" * 64, "modality": "image", "path": planted}) is None


def test_a_recipe_whose_id_is_a_path_writes_nothing_there(made, tmp_path):
    services, _ = made
    target = tmp_path / "planted"
    recipe = {"id": str(target), "modality": "text", "params": {"prompt": "hi"}}
    assert entry_of(services, recipe) is None
    assert not target.exists() and not any(tmp_path.iterdir())
    assert entry_of(services, {"id": "f" * 64, "modality": "terrain"}) is None  # no such result here


def test_restored_values_are_checked_against_their_fields(made):
    services, _ = made
    params_type = services.studio.params_type("terrain")
    values = {"prompt": ["a", "list"], "seed": SEED_MAX + 1, "roughness": "0.4", "size_px": 257, "nope": 1}
    assert allowed_values(params_type, values) == {"roughness": 0.4, "size_px": 257}
    assert allowed_values(params_type, "not a dict") == {}


def test_add_entry_tolerates_a_damaged_history():
    entry = {"id": "a" * 64, "modality": "terrain"}
    assert add_entry("junk", entry) == [entry]  # type: ignore[arg-type]
    assert add_entry([1, None, {"id": "b"}], entry) == [entry, {"id": "b"}]
