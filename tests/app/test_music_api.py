"""The /music endpoint through gradio_client against a real server (built-in model): files, cache, extend, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    not any((ROOT / "assets" / "models").glob("*/vocab.json")), reason="no built-in music model in assets/"
)
MUSIC = {"prompt": "calm folk melody in D minor", "duration_s": 6, "seed": 7}


def _path(value: object) -> str:
    return value["path"] if isinstance(value, dict) else str(value)  # type: ignore[index]


def _call(client, **kw):
    return client.predict(**{**MUSIC, **kw}, api_name="/music")


def test_music_endpoint_returns_audio_midi_roll_and_recipe(client):
    audio, roll, files, recipe, status, used = _call(client)
    names = {_path(f).rsplit("/", 1)[-1] for f in files}
    assert {"music.wav", "music.mid", "pianoroll.png", "recipe.json"} <= names
    assert _path(audio).endswith(".wav") and _path(roll).endswith(".png")
    assert recipe["modality"] == "music" and recipe["seed"] == 7
    assert recipe["info"]["controls"]["key"] == "D minor"
    assert "D minor" in used and "seed 7" in status


def test_same_request_comes_from_cache(client):
    _call(client, seed=11)
    *_, recipe, status, _ = _call(client, seed=11)
    assert "From cache" in status and recipe["seed"] == 11


def test_extend_through_the_api(client, tmp_path):
    from gradio_client import handle_file

    _, _, files, recipe, _, _ = _call(client, seed=5)
    midi = next(_path(f) for f in files if _path(f).endswith(".mid"))
    local = tmp_path / "piece.mid"
    local.write_bytes(Path(midi).read_bytes())
    *_, longer, _, _ = _call(client, seed=6, extend_from=handle_file(str(local)))
    assert longer["info"]["extended"] and longer["info"]["bars"] > recipe["info"]["bars"]


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"prompt": ""}, "prompt"),
        ({"duration_s": 1e9}, "duration_s"),
        ({"tempo_bpm": "nan"}, "tempo_bpm"),
        ({"key": "Q major"}, "key"),
        ({"model": "no-such-model"}, "model"),
    ],
)
def test_bad_input_gets_a_clear_error(client, bad, field):
    with pytest.raises(Exception) as err:
        _call(client, **bad)
    assert field in str(err.value)


def test_api_lists_keyword_parameters(client):
    info = client.view_api(print_info=False, return_format="dict")
    params = {p["parameter_name"] for p in info["named_endpoints"]["/music"]["parameters"]}
    assert {"prompt", "model", "duration_s", "tempo_bpm", "temperature", "top_k", "seed"} <= params
