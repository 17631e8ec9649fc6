from __future__ import annotations

import io
import json

import numpy as np
import pytest
import soundfile as sf
import trimesh
from PIL import Image

from studio import provenance
from studio.generators.base import Artifact

RECIPE = provenance.make_recipe(
    key="k" * 64,
    modality="image",
    model={"id": "m", "source": "builtin", "weights_hash": "abc123"},
    params={"prompt": "red apple", "negative_prompt": "blurry", "num_steps": 20, "width": 64, "height": 64, "seed": 7},
    seed=7,
    parents=["p" * 64],
)


def png_bytes(mode="RGB", dtype=np.uint8):
    arr = (np.arange(64 * 64).reshape(64, 64) % 255).astype(dtype)
    img = Image.fromarray(arr if mode != "RGB" else np.stack([arr] * 3, -1))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_png_roundtrip_keeps_pixels_and_has_a1111_parameters():
    raw = png_bytes()
    out = provenance.embed(Artifact("a.png", raw, "image"), RECIPE)
    assert provenance.read_recipe("a.png", out.data)["params"]["prompt"] == "red apple"
    img = Image.open(io.BytesIO(out.data))
    params = img.text["parameters"]
    assert params.splitlines()[0] == "red apple"
    assert "Negative prompt: blurry" in params
    assert "Steps: 20" in params and "Size: 64x64" in params and "Seed: 7" in params
    assert "AI-generated" in img.text["Comment"]
    assert np.array_equal(np.asarray(img), np.asarray(Image.open(io.BytesIO(raw))))


def test_16bit_png_keeps_its_depth():
    arr = (np.arange(32 * 32).reshape(32, 32) * 60).astype(np.uint16)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    out = provenance.embed(Artifact("h.png", buf.getvalue()), RECIPE)
    back = np.asarray(Image.open(io.BytesIO(out.data)))
    assert back.dtype == np.uint16 and np.array_equal(back, arr)
    assert provenance.read_recipe("h.png", out.data)["id"] == RECIPE["id"]


def test_wav_roundtrip_keeps_samples():
    samples = np.sin(np.linspace(0, 100, 8001)).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, samples, 16000, format="WAV", subtype="PCM_16")
    out = provenance.embed(Artifact("a.wav", buf.getvalue(), "audio"), RECIPE)
    back, sr = sf.read(io.BytesIO(out.data), dtype="float32")
    ref, _ = sf.read(io.BytesIO(buf.getvalue()), dtype="float32")
    assert sr == 16000 and np.array_equal(back, ref)
    assert provenance.read_recipe("a.wav", out.data)["seed"] == 7
    twice = provenance.embed(Artifact("a.wav", out.data), RECIPE)
    assert twice.data.count(b"ICMT") == 1


def test_glb_roundtrip_still_loads():
    mesh = trimesh.creation.box()
    raw = mesh.export(file_type="glb")
    out = provenance.embed(Artifact("m.glb", raw, "model3d"), RECIPE)
    assert provenance.read_recipe("m.glb", out.data)["modality"] == "image"
    scene = trimesh.load(io.BytesIO(out.data), file_type="glb")
    assert len(scene.geometry) == 1


def test_markdown_and_sidecar():
    out = provenance.embed(Artifact("t.md", b"# Hello\n"), RECIPE)
    assert out.data.decode().startswith("# Hello")
    assert provenance.read_recipe("t.md", out.data)["parents"] == ["p" * 64]
    side = provenance.sidecar(RECIPE, [out])
    full = json.loads(side.data)
    assert set(full["outputs"]) == {"t.md"} and full["ai_generated"] is True
    assert provenance.read_recipe("recipe.json", side.data)["id"] == RECIPE["id"]


def test_unknown_or_foreign_files_give_none():
    assert provenance.read_recipe("x.png", png_bytes()) is None
    assert provenance.read_recipe("x.wav", b"not a wav") is None
    assert provenance.read_recipe("x.mid", b"MThd") is None


def a1111_pairs(text: str) -> dict[str, str]:
    """The ``Key: value`` pairs of the last line of an A1111 ``parameters`` string."""
    return dict(pair.split(": ", 1) for pair in text.splitlines()[-1].split(", "))


@pytest.fixture(scope="module")
def real_image_recipes(tmp_path_factory):
    """Recipes of the built-in emoji-diffusion at 2 steps: txt2img at the model's own size with its own
    scheduler, then img2img from that picture with DPM++ 2M Karras at an asked-for 64x64."""
    from studio.services import build_services
    from studio.settings import Settings

    studio = build_services(Settings(cache_dir=tmp_path_factory.mktemp("cache"))).studio

    def recipe_of(values):
        result = studio.generate("image", studio.check("image", values), use_cache=False)
        side = next(a for a in result.artifacts if a.name == "recipe.json")
        image = next(a for a in result.artifacts if a.name.endswith(".png"))
        return json.loads(side.data), image.data

    txt2img, picture = recipe_of({"prompt": "red apple", "num_steps": 2, "seed": 3})
    img2img, _ = recipe_of(
        {
            "prompt": "red apple",
            "num_steps": 2,
            "seed": 3,
            "mode": "img2img",
            "init_image": picture,
            "strength": 0.5,
            "scheduler": "DPM++ 2M Karras",
            "width": 64,
            "height": 64,
        }
    )
    return txt2img, img2img, picture


def test_a1111_txt2img_says_what_actually_ran(real_image_recipes):
    txt2img, _, picture = real_image_recipes
    assert txt2img["params"]["width"] is None and txt2img["params"]["scheduler"] == "Default"
    text = Image.open(io.BytesIO(picture)).text["parameters"]
    pairs = a1111_pairs(text)
    width, height = Image.open(io.BytesIO(picture)).size
    assert pairs["Size"] == f"{width}x{height}"
    assert pairs["Sampler"] == "DDIM"  # the built-in model's own scheduler, by its A1111 name
    assert "Denoising strength" not in pairs
    assert "None" not in text and "Default" not in text
    assert text == provenance.a1111_parameters(txt2img)


def test_a1111_img2img_keeps_strength_and_the_asked_sampler(real_image_recipes):
    _, img2img, _ = real_image_recipes
    pairs = a1111_pairs(provenance.a1111_parameters(img2img))
    assert pairs["Denoising strength"] == "0.5"
    assert pairs["Sampler"] == "DPM++ 2M Karras" and pairs["Size"] == "64x64"


def image_recipe(params: dict, info: dict) -> dict:
    base = {"prompt": "p", "mode": "txt2img", "scheduler": "Default", "width": None, "height": None}
    base["strength"] = 0.75
    return provenance.make_recipe(
        key="k", modality="image", model={"weights_hash": "h"}, params={**base, **params}, seed=1, info=info
    )


@pytest.mark.parametrize(
    "cls, asked, sampler",
    [
        ("DDIMScheduler", "Default", "DDIM"),
        ("EulerAncestralDiscreteScheduler", "Default", "Euler a"),
        ("EulerDiscreteScheduler", "Default", "Euler"),
        ("DPMSolverMultistepScheduler", "Default", "DPM++ 2M"),
        ("DPMSolverMultistepScheduler", "DPM++ 2M Karras", "DPM++ 2M Karras"),
        ("PNDMScheduler", "Default", "PLMS"),
        ("UniPCMultistepScheduler", "UniPC", "UniPC"),
        ("FlowMatchEulerDiscreteScheduler", "Default", "FlowMatchEulerDiscreteScheduler"),
    ],
)
def test_a1111_sampler_names_the_scheduler_that_ran(cls, asked, sampler):
    pairs = a1111_pairs(provenance.a1111_parameters(image_recipe({"scheduler": asked}, {"scheduler": cls})))
    assert pairs["Sampler"] == sampler


def test_a1111_leaves_out_what_is_unknown_or_unused():
    # No size anywhere and an info that names no scheduler (the built-in GAN/VAE use none).
    gan = image_recipe({"scheduler": "Euler a"}, {"seeds": [1], "note": "GAN/VAE models use neither steps"})
    pairs = a1111_pairs(provenance.a1111_parameters(gan))
    assert "Size" not in pairs and "Sampler" not in pairs and "Denoising strength" not in pairs
    # Only a partial size asked for and no info: still no "Size: 128xNone".
    partial = a1111_pairs(provenance.a1111_parameters(image_recipe({"width": 128}, {})))
    assert "Size" not in partial and "Sampler" not in partial
    # An inpaint recipe keeps its strength; an asked size is used when the info has none.
    inpaint = image_recipe({"mode": "inpaint", "width": 96, "height": 64, "scheduler": "Euler"}, {})
    pairs = a1111_pairs(provenance.a1111_parameters(inpaint))
    assert pairs["Denoising strength"] == "0.75" and pairs["Size"] == "96x64" and pairs["Sampler"] == "Euler"
