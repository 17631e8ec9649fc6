"""The outputs folder: unguessable folder names, and nothing from a browser becomes a path outside it."""

from __future__ import annotations

import hashlib
import os

import pytest

from studio.keys import server_key
from studio.outputs import Outputs

RID = hashlib.sha256(b"a request").hexdigest()


def make(tmp_path, key=b"k" * 32) -> Outputs:
    return Outputs(tmp_path / "outputs", key, ["image", "terrain"])


def test_folder_is_stable_per_key_and_not_the_recipe_id(tmp_path):
    a, b = make(tmp_path), make(tmp_path, key=b"x" * 32)
    assert a.folder("image", RID) == make(tmp_path).folder("image", RID)
    assert a.folder("image", RID) != b.folder("image", RID)
    assert RID[:8] not in a.folder("image", RID).name  # a folder cannot be found from a guessed prompt and seed


def test_write_then_find_and_a_repeat_writes_nothing(tmp_path):
    out = make(tmp_path)
    paths = out.write("image", RID, {"image_00.png": b"png", "recipe.json": b"{}"})
    assert out.find("image", RID, "image_00.png") == paths["image_00.png"]
    mtime_ns = paths["recipe.json"].stat().st_mtime_ns
    out.write("image", RID, {"image_00.png": b"png", "recipe.json": b"{}"})
    assert paths["recipe.json"].stat().st_mtime_ns == mtime_ns
    assert [p.name for p in out.files("image", RID)] == ["image_00.png", "recipe.json"]


@pytest.mark.parametrize(
    ("modality", "rid", "name"),
    [
        ("image", "/etc/passwd", None),
        ("image", "../" * 8 + "etc", None),
        ("image", RID[:32], None),
        ("image", RID.upper(), None),
        ("../image", RID, None),
        ("music", RID, None),  # not a modality of this studio
        (["image"], RID, None),
        ("image", RID, "../../../../etc/passwd"),
        ("image", RID, "/etc/passwd"),
        ("image", RID, ".."),
        ("image", RID, {"path": "/etc/passwd"}),
    ],
)
def test_browser_values_never_become_paths(tmp_path, modality, rid, name):
    out = make(tmp_path)
    out.write("image", RID, {"image_00.png": b"png"})
    assert out.find(modality, rid, name) is None
    assert out.files(modality, rid) == [] or (modality == "image" and rid == RID)


def test_a_symlink_out_of_the_folder_is_not_followed(tmp_path):
    out = make(tmp_path)
    out.write("image", RID, {"image_00.png": b"png"})
    secret = tmp_path / "secret.txt"
    secret.write_text("server file")
    os.symlink(secret, out.folder("image", RID) / "leak.png")
    assert out.find("image", RID, "leak.png") is None
    assert [p.name for p in out.files("image", RID)] == ["image_00.png"]


def test_write_refuses_names_that_are_paths(tmp_path):
    with pytest.raises(ValueError):
        make(tmp_path).write("image", RID, {"../escape.png": b"x"})
    with pytest.raises(ValueError):
        make(tmp_path).write("image", "/tmp/x", {"a.png": b"x"})
    assert not (tmp_path / "escape.png").exists()


def test_server_key_is_made_once_owner_only(tmp_path):
    key = server_key(tmp_path)
    assert len(key) == 32 and server_key(tmp_path) == key
    assert (tmp_path / "server-key").stat().st_mode & 0o077 == 0
