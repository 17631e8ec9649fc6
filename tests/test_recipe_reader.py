"""Hostile files dropped on the History panel: ``read_recipe`` returns a checked recipe or None for any bytes,
``load_recipe`` says why, and no pixel or sample is decoded to find out."""

from __future__ import annotations

import io
import json
import random
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import trimesh

from studio import provenance
from studio.generators.base import Artifact
from studio.recipe_reader import UnreadableRecipe, load_recipe, read_recipe
from tests.memory_helpers import peak_growth
from tests.png_helpers import chunk, itxt, png_of

RECIPE = provenance.make_recipe(
    key="k" * 64,
    modality="image",
    model={"id": "m", "source": "builtin", "weights_hash": "abc123"},
    params={"prompt": "red apple", "seed": 7},
    seed=7,
    parents=["p" * 64],
)


DEEP_33 = json.loads("[" * 32 + "]" * 32)  # params itself is one level more


def unreadable(name: str, data: bytes) -> str:
    """The reason ``load_recipe`` gives, after checking that ``read_recipe`` says None."""
    assert read_recipe(name, data) is None
    with pytest.raises(UnreadableRecipe) as err:
        load_recipe(name, data)
    return str(err.value)


def test_recipe_after_the_pixels_of_a_12000_square_png_is_read_without_decoding_them(tmp_path: Path) -> None:
    data = png_of(12000, 12000, rows=12000, after=itxt(json.dumps(RECIPE)))
    assert len(data) < 100_000  # 144 megapixels
    assert read_recipe("big.png", data)["id"] == RECIPE["id"]
    setup = "from studio.recipe_reader import read_recipe"
    growth, outcome = peak_growth(setup, "read_recipe('big.png', data)['id']", data, tmp_path)
    assert outcome == repr(RECIPE["id"]) and growth < 30


def test_a_30000_square_png_is_refused_by_its_header() -> None:
    data = png_of(30000, 30000, before=itxt(json.dumps(RECIPE)))
    assert "30000x30000 pixels" in unreadable("huge.png", data)


def test_compressed_recipe_text_is_inflated_no_further_than_the_limit() -> None:
    bomb = chunk(b"iTXt", b"studio-recipe\0\1\0\0\0" + zlib.compress(b" " * (16 * 2**20), 9))
    assert "inflates past 4 MB" in unreadable("z.png", png_of(8, 8, rows=8, before=bomb))
    assert read_recipe("ok.png", png_of(8, 8, rows=8, before=itxt(json.dumps(RECIPE), compressed=True))) == RECIPE


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe{\x00", "not UTF-8"),
        (b"{oops", "not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested more than 32 deep"),
        (json.dumps({**RECIPE, "params": {"x": DEEP_33}}).encode(), "nested"),
        (b"[1, 2]", "a JSON list, not an object"),
        (json.dumps({**RECIPE, "params": [1]}).encode(), "'params' is a list; expected dict"),
        (json.dumps({**RECIPE, "modality": 3}).encode(), "'modality' is a int; expected str"),
        (json.dumps({**RECIPE, "id": None}).encode(), "'id' is a NoneType"),
        (json.dumps({k: v for k, v in RECIPE.items() if k != "id"}).encode(), "has no 'id'"),
        (json.dumps({**RECIPE, "seed": "7"}).encode(), "'seed' is a str; expected int or null"),
        (json.dumps({**RECIPE, "seed": True}).encode(), "'seed' is a bool"),
        (json.dumps({**RECIPE, "info": {"settings": [1]}}).encode(), "'info.settings'"),
        (json.dumps({**RECIPE, "parents": [1]}).encode(), "'parents'"),
        (json.dumps({**RECIPE, "modality": "../../etc"}).encode(), "not a name the studio writes"),
        (json.dumps({**RECIPE, "id": "../../../tmp/x"}).encode(), "not a name the studio writes"),
    ],
    ids=[
        "not-utf8", "not-json", "deep-100000", "deep-33", "list", "params", "modality", "id", "no-id", "seed-str",
        "seed-bool", "settings", "parents", "modality-path", "id-path",
    ],
)  # fmt: skip
def test_bad_json_recipes_are_refused_with_a_reason(raw: bytes, reason: str) -> None:
    assert reason in unreadable("recipe.json", raw)
    md = b"# Notes\n\n```studio-recipe\n" + raw + b"\n```\n"
    assert read_recipe("notes.md", md) is None


def test_other_containers_refuse_what_they_cannot_hold() -> None:
    assert "no recipe" in unreadable("song.mid", b"MThd")
    assert "not a RIFF/WAVE" in unreadable("a.wav", b"not a wav")
    huge_chunk = b"RIFF\xff\xff\xff\xffWAVE" + b"LIST\xff\xff\xff\xffINFOICMT\xff\xff\xff\xff{"
    assert "not JSON" in unreadable("a.wav", huge_chunk)
    assert "too short" in unreadable("m.glb", b"glTF")
    big_json = struct.pack("<4sIII4s", b"glTF", 2, 0, 2**31, b"JSON")
    assert "at most 4 MB" in unreadable("m.glb", big_json)
    not_asset = struct.pack("<4sIII4s", b"glTF", 2, 0, 14, b"JSON") + b'{"asset": "x"}'
    assert "no studio recipe" in unreadable("m.glb", not_asset)
    assert "no studio-recipe block" in unreadable("t.md", b"\xff\xfe plain")


def outputs() -> list[Artifact]:
    """One of each kind of output the studio embeds a recipe into, plus its sidecar."""
    pixels = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (16, 16), (200, 30, 30)).save(pixels, format="PNG")
    sound = io.BytesIO()
    sf.write(sound, np.zeros(800, np.float32), 8000, format="WAV")
    files = [
        Artifact("a.png", pixels.getvalue()),
        Artifact("a.wav", sound.getvalue()),
        Artifact("m.glb", trimesh.creation.box().export(file_type="glb")),
        Artifact("t.md", b"# Hello\n"),
    ]
    embedded = [provenance.embed(a, RECIPE) for a in files]
    return [*embedded, provenance.sidecar(RECIPE, embedded)]


def test_every_cut_and_corruption_of_real_outputs_gives_a_recipe_or_none() -> None:
    rng = random.Random(0)
    for artifact in outputs():
        data = artifact.data
        assert read_recipe(artifact.name, data)["id"] == RECIPE["id"]
        for cut in sorted({rng.randrange(len(data)) for _ in range(150)}):
            assert read_recipe(artifact.name, data[:cut]) in (None, read_recipe(artifact.name, data))
        for _ in range(150):
            bad = bytearray(data)
            for _ in range(rng.randint(1, 4)):
                bad[rng.randrange(len(bad))] = rng.randrange(256)
            got = read_recipe(artifact.name, bytes(bad))
            assert got is None or isinstance(got, dict)
