"""Every output is signed, and a third-party reader (c2pa-python's Reader) validates it and sees any change."""

from __future__ import annotations

import io
import json
import os
import stat

import c2pa
import pytest

from studio.credentials.identity import given_identity, self_made_identity
from studio.credentials.reading import read_credentials, without_manifest
from studio.credentials.signing import GENERATION_LABEL, TRAINED_ALGORITHMIC_MEDIA
from tests.kit_helpers import picture


def c2pa_read(data: bytes, mime: str, manifest: bytes | None = None) -> c2pa.Reader:
    return c2pa.Reader(mime, io.BytesIO(data), manifest)


def failures(reader: c2pa.Reader) -> list[str]:
    codes = [f["code"] for f in reader.get_validation_results()["activeManifest"].get("failure", [])]
    return [c for c in codes if c != "signingCredential.untrusted"]


def test_png_and_wav_carry_valid_credentials_that_say_what_made_them(kit_result):
    files = {a.name: a.data for a in kit_result.artifacts}
    for name, mime in (("picture.png", "image/png"), ("music.wav", "audio/wav")):
        reader = c2pa_read(files[name], mime)
        assert reader.get_validation_state() == "Valid" and failures(reader) == [], name
        active = reader.get_active_manifest()
        assert active["claim_generator_info"][0]["name"] == "studio"
        actions = next(a for a in active["assertions"] if a["label"] == "c2pa.actions.v2")["data"]["actions"]
        assert actions[0]["action"] == "c2pa.created" and actions[0]["digitalSourceType"] == TRAINED_ALGORITHMIC_MEDIA
        gen = next(a for a in active["assertions"] if a["label"] == GENERATION_LABEL)["data"]
        assert gen["seed"] == 5 and gen["model"]["id"] == "kit-model" and gen["model"]["weights_hash"] == "w" * 64
        assert gen["recipe_id"] == kit_result.recipe["id"]


def test_other_formats_get_a_sidecar_manifest_bound_to_their_bytes(kit_result):
    files = {a.name: a.data for a in kit_result.artifacts}
    for name in ("scene.glb", "music.mid", "notes.md", "recipe.json"):
        manifest = files[name + ".c2pa"]
        reader = c2pa_read(files[name], "application/octet-stream", manifest)
        assert reader.get_validation_state() == "Valid" and failures(reader) == [], name
    assert not any(n.endswith(".c2pa.c2pa") for n in files)


def test_one_changed_byte_is_reported_by_the_third_party_reader(kit_result):
    files = {a.name: a.data for a in kit_result.artifacts}
    for name, mime in (("picture.png", "image/png"), ("music.wav", "audio/wav")):
        data = bytearray(files[name])
        where = data.index(b"IDAT" if name.endswith(".png") else b"data") + 100  # inside the pixels / samples
        data[where] ^= 0x01
        reader = c2pa_read(bytes(data), mime)
        assert reader.get_validation_state() == "Invalid", name
        assert any("mismatch" in c for c in failures(reader)), (name, failures(reader))
    glb = bytearray(files["scene.glb"])
    glb[-2] ^= 0x01
    reader = c2pa_read(bytes(glb), "application/octet-stream", files["scene.glb.c2pa"])
    assert reader.get_validation_state() == "Invalid"


def test_a_cache_hit_returns_the_same_signed_bytes(kit, kit_result):
    again = kit.generate("kit", kit.check("kit", {"prompt": "a test", "seed": 5}))
    assert again.from_cache
    assert [a.data for a in again.artifacts] == [a.data for a in kit_result.artifacts]


def test_a_fresh_signing_differs_only_in_its_manifest(kit, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1790000000")  # the recipe's date, which would differ too
    params = kit.check("kit", {"prompt": "a test", "seed": 5})
    old = {a.name: a.data for a in kit.generate("kit", params, use_cache=False).artifacts}
    for a in kit.generate("kit", params, use_cache=False).artifacts:
        if a.name.endswith((".png", ".wav")):
            assert a.data != old[a.name]  # C2PA salts every assertion at random
            assert without_manifest(a.data) == without_manifest(old[a.name])


def test_an_input_it_was_made_from_is_an_ingredient(kit, kit_result):
    parent = next(a.data for a in kit_result.artifacts if a.name == "picture.png")
    child = kit.generate("kit", kit.check("kit", {"prompt": "a child", "seed": 6, "init_image": parent}))
    data = next(a.data for a in child.artifacts if a.name == "picture.png")
    active = c2pa_read(data, "image/png").get_active_manifest()
    (ing,) = active["ingredients"]
    assert ing["title"] == "init_image" and ing["relationship"] == "parentOf"
    assert ing.get("active_manifest")  # the parent's own credentials came along
    creds = read_credentials(data)
    assert creds is not None and creds.state == "valid" and creds.ingredients == ["init_image"]


def test_the_self_made_identity_is_owner_only_and_kept(tmp_path):
    first = self_made_identity(tmp_path)
    folder = tmp_path / "c2pa"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in folder.iterdir())
    assert self_made_identity(tmp_path) == first and first.self_made and first.alg == "es256"
    (folder / "signer-key.pem").write_text("garbage")
    os.chmod(folder / "signer-key.pem", 0o600)
    assert self_made_identity(tmp_path).key_pem != first.key_pem  # a damaged identity is replaced, not used


def test_a_given_identity_is_checked_and_named_in_errors(tmp_path):
    mine = self_made_identity(tmp_path / "a")
    other = self_made_identity(tmp_path / "b")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_bytes(mine.chain_pem)
    key.write_bytes(other.key_pem)
    with pytest.raises(ValueError, match="--c2pa-cert/--c2pa-key: the key does not belong"):
        given_identity(cert, key)
    with pytest.raises(ValueError, match="--c2pa-key: no such file"):
        given_identity(cert, tmp_path / "none.pem")
    key.write_bytes(mine.key_pem)
    ident = given_identity(cert, key)
    assert not ident.self_made and ident.alg == "es256" and "studio signer" in ident.subject


def test_unsigned_content_reads_as_no_credentials():
    assert read_credentials(picture(1)) is None
    assert read_credentials(b"MThd....") is None
    assert json.dumps(read_credentials(picture(1), b"\x00" * 40).as_dict())  # a bogus sidecar: a summary, no raise
