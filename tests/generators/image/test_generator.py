"""Image generator: params, upload checks, tiny SD checkpoints and tiny built-ins through the real code paths."""

from __future__ import annotations

import dataclasses
import io
import struct
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.cache import ResultCache
from studio.catalog import Catalog
from studio.engine import Studio
from studio.generators.base import Cancelled, Context, Event
from studio.generators.image.checkpoints import SCHEDULERS, recognise
from studio.generators.image.generator import ImageGenerator
from studio.generators.image.params import ImageParams
from studio.generators.image.upload import open_checked
from studio.memory import MemoryManager
from studio.params import ParamError, check_params
from tests.generators.image.helpers import save_tiny_builtins, save_tiny_sd


def png(size: tuple[int, int] = (64, 64), colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


def noisy_png(size: tuple[int, int] = (96, 96)) -> bytes:
    arr = np.random.default_rng(0).integers(0, 255, (*size, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(arr).save(out, format="PNG")
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A real 1×1 PNG whose IHDR is rewritten to claim ``width``×``height`` (a decompression-bomb header)."""
    data = bytearray(png((1, 1)))
    ihdr = bytearray(data[12:29])  # b"IHDR" + 13 bytes of fields
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)) & 0xFFFFFFFF)
    return bytes(data)


class Recorder:
    """A Context sink that keeps every event."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def kinds(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]


@pytest.fixture(scope="module")
def sd_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_sd(tmp_path_factory.mktemp("ckpt") / "tiny-sd")


@pytest.fixture(scope="module")
def builtins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_builtins(tmp_path_factory.mktemp("assets"))


@pytest.fixture(scope="module")
def sd_model(sd_folder: Path):
    gen = ImageGenerator()
    spec = Catalog({"image": gen}, model_dirs=[sd_folder], hf_cache=sd_folder / "none").get("image", "tiny-sd")
    return gen, gen.load(spec, "cpu", None)


def params(**kw) -> ImageParams:
    base = {"prompt": "red apple", "num_steps": 2, "seed": 7, "width": 64, "height": 64}
    return check_params(ImageParams, {**base, **kw})


# -- params and uploads ----------------------------------------------------------------------------------
def test_params_cross_field_checks():
    with pytest.raises(ParamError, match="init_image"):
        params(mode="img2img")
    with pytest.raises(ParamError, match="mask_image"):
        params(mode="inpaint", init_image=png())
    with pytest.raises(ParamError, match="multiple of 8"):
        params(width=100)
    with pytest.raises(ParamError, match="scheduler"):
        params(scheduler="Heun++")
    assert params(mode="img2img", init_image=png()).mode == "img2img"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"hello, not an image", "not an image"),
        (b"", "empty"),
        (png_claiming(30_000, 30_000), "decompression bomb"),  # beyond Pillow's own bomb limit
        (png_claiming(5000, 5000), "at most 4096 px"),  # under Pillow's limit, over ours: header check
        (noisy_png()[:-400], "truncated"),
    ],
)
def test_uploads_refused_with_a_clear_message(data: bytes, message: str):
    with pytest.raises(ParamError, match=message) as err:
        open_checked("init_image", data)
    assert err.value.field == "init_image"


def test_upload_size_limit(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("studio.generators.image.upload.MAX_UPLOAD_BYTES", 100)
    with pytest.raises(ParamError, match="MB"):
        open_checked("init_image", noisy_png())


def test_upload_checked_at_validation():
    with pytest.raises(ParamError, match="decompression bomb"):
        params(mode="img2img", init_image=png_claiming(30_000, 30_000))


# -- checkpoints -------------------------------------------------------------------------------------------
def test_recognise(sd_folder: Path, builtins: Path, tmp_path: Path):
    assert recognise(sd_folder) == "sd"
    assert recognise(builtins / "emoji-diffusion") == "emoji-diffusion"
    assert recognise(tmp_path) is None
    (tmp_path / "model_index.json").write_text('{"_class_name": "StableDiffusionPipeline"}')
    assert recognise(tmp_path) is None  # no safetensors: never unpickled


def test_txt2img_progress_previews_and_seeds(sd_model):
    gen, pipe = sd_model
    rec = Recorder()
    out = gen.generate(pipe, params(num_images=2, num_steps=6), Context(rec))
    assert [a.name for a in out.artifacts] == ["image-01-seed7.png", "image-02-seed8.png"]
    assert [e.step for e in rec.kinds("progress")] == [1, 2, 3, 4, 5, 6]
    assert rec.kinds("preview"), "a live preview every few steps"
    assert out.info["seeds"] == [7, 8]
    # Batch == single: image 2 of the batch is the single image of seed 8.
    single = gen.generate(pipe, params(seed=8, num_steps=6), Context())
    a = np.asarray(Image.open(io.BytesIO(out.artifacts[1].data)), dtype=np.int16)
    b = np.asarray(Image.open(io.BytesIO(single.artifacts[0].data)), dtype=np.int16)
    assert a.shape == (64, 64, 3)
    assert np.abs(a - b).max() <= 2


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_every_scheduler_runs_and_leaves_the_model_alone(sd_model, scheduler: str):
    gen, pipe = sd_model
    before = type(pipe.scheduler)
    out = gen.generate(pipe, params(scheduler=scheduler, num_steps=3), Context())
    assert len(out.artifacts) == 1
    assert type(pipe.scheduler) is before  # a fresh scheduler per call, the shared one untouched
    expected = {
        "Default": before.__name__,
        "DDIM": "DDIMScheduler",
        "Euler": "EulerDiscreteScheduler",
        "Euler a": "EulerAncestralDiscreteScheduler",
        "DPM++ 2M": "DPMSolverMultistepScheduler",
        "DPM++ 2M Karras": "DPMSolverMultistepScheduler",
        "UniPC": "UniPCMultistepScheduler",
    }
    assert out.info["scheduler"] == expected[scheduler]  # the one asked for is the one that ran


def test_img2img_and_inpaint(sd_model):
    gen, pipe = sd_model
    rec = Recorder()
    out = gen.generate(pipe, params(mode="img2img", init_image=png(), strength=0.5, num_steps=4), Context(rec))
    assert len(out.artifacts) == 1
    assert rec.kinds("progress")[-1].total == 2  # half the schedule
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (16, 16, 48, 48))
    buf = io.BytesIO()
    mask.save(buf, format="PNG")
    out = gen.generate(pipe, params(mode="inpaint", init_image=png(), mask_image=buf.getvalue()), Context())
    assert Image.open(io.BytesIO(out.artifacts[0].data)).size == (64, 64)


def test_stop_interrupts_at_the_next_step(sd_model):
    gen, pipe = sd_model
    cancel = threading.Event()
    rec = Recorder()

    def sink(event: Event) -> None:
        rec(event)
        if event.kind == "progress" and event.step == 2:
            cancel.set()

    with pytest.raises(Cancelled):
        gen.generate(pipe, params(num_steps=10), Context(sink, cancel))
    assert max(e.step for e in rec.kinds("progress")) == 2


# -- built-ins ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["emoji-diffusion", "emoji-gan", "emoji-vae"])
def test_builtins_load_and_draw(builtins: Path, kind: str):
    gen = ImageGenerator(builtins)
    spec = {s.id: s for s in gen.models()}[kind]
    pipe = gen.load(spec, "cpu", None)
    out = gen.generate(pipe, params(num_images=2, width=None, height=None), Context())
    assert [Image.open(io.BytesIO(a.data)).size for a in out.artifacts] == [(64, 64), (64, 64)]
    resized = gen.generate(pipe, params(width=128, height=96), Context())
    assert Image.open(io.BytesIO(resized.artifacts[0].data)).size == (128, 96)
    # Interpolation: the ends of a walk are the plain images of the two seeds.
    walk = gen.generate(pipe, params(num_images=3, width=None, height=None, interpolate_seed=11), Context())
    end = gen.generate(pipe, params(seed=11, width=None, height=None), Context())
    a = np.asarray(Image.open(io.BytesIO(walk.artifacts[-1].data)), dtype=np.int16)
    b = np.asarray(Image.open(io.BytesIO(end.artifacts[0].data)), dtype=np.int16)
    assert np.abs(a - b).max() <= 2


@pytest.mark.parametrize("kind", ["emoji-gan", "emoji-vae"])
def test_fields_declared_unused_change_nothing(builtins: Path, kind: str):
    gen = ImageGenerator(builtins)
    spec = {s.id: s for s in gen.models()}[kind]
    pipe = gen.load(spec, "cpu", None)
    assert gen.unused_fields(spec) == {"num_steps", "scheduler", "guidance_scale", "negative_prompt", "style"}
    plain = gen.generate(pipe, params(width=None, height=None), Context()).artifacts[0].data
    varied = params(width=None, height=None, num_steps=3, scheduler="Euler", guidance_scale=12.0, negative_prompt="x")
    assert gen.generate(pipe, varied, Context()).artifacts[0].data == plain
    diffusion = {s.id: s for s in gen.models()}["emoji-diffusion"]
    assert gen.unused_fields(diffusion) == {"style"}  # these tiny built-ins learnt no drawing styles


@pytest.mark.parametrize("kind", ["emoji-diffusion", "emoji-gan"])
def test_a_builtin_that_learnt_styles_offers_them_and_style_asks_as_its_captions_did(tmp_path: Path, kind: str):
    """``_styles`` in model_index.json makes Style a used field; "noto" draws what ", noto style" in the prompt
    draws; auto gives each seed a style in turn (seed 7 of two styles: the second), unless the prompt names one."""
    import json

    root = save_tiny_builtins(tmp_path / "assets")
    index_path = root / kind / "model_index.json"
    index_path.write_text(json.dumps({**json.loads(index_path.read_text()), "_styles": ["twemoji", "noto"]}))
    gen = ImageGenerator(root)
    spec = {s.id: s for s in gen.models()}[kind]
    assert "style" not in gen.unused_fields(spec) and "64×64" in spec.label and "2 styles" in spec.label
    pipe = gen.load(spec, "cpu", None)

    def drawn(**kw) -> bytes:
        return gen.generate(pipe, params(width=None, height=None, **kw), Context()).artifacts[0].data

    noto = drawn(style="noto")
    assert noto == drawn(prompt="red apple, noto style") != drawn(style="twemoji")
    assert drawn(style="auto") == noto and drawn(style="auto", seed=8) == drawn(style="twemoji", seed=8)
    assert drawn(style="auto", prompt="red apple, Twemoji style") == drawn(style="twemoji")  # named in words: kept
    out = gen.generate(pipe, params(width=None, height=None, num_images=4, seed=5), Context())
    assert out.info["styles"] == ["noto", "twemoji", "noto", "twemoji"]  # seeds 5..8
    with pytest.raises(ParamError, match="style"):
        params(style="pixel-art")


def test_the_engine_drops_a_style_the_model_did_not_learn(builtins: Path, tmp_path: Path):
    gen = ImageGenerator(builtins)
    studio = Studio(
        {"image": gen},
        Catalog({"image": gen}, hf_cache=tmp_path / "none"),
        MemoryManager(device="cpu"),
        ResultCache(tmp_path / "cache"),
    )
    resolved, _ = studio.resolve("image", params(style="fluent", model="emoji-diffusion"))
    assert resolved.style == "auto"


def test_builtin_diffusion_attends_to_the_token_states_its_folder_names(tmp_path: Path):
    """A UNet trained on N MiniLM token states gets N of them on every request (not the pooled one)."""
    import json

    root = save_tiny_builtins(tmp_path / "assets")
    index_path = root / "emoji-diffusion" / "model_index.json"
    index_path.write_text(json.dumps({**json.loads(index_path.read_text()), "_prompt_tokens": 4}))
    gen = ImageGenerator(root)
    pipe = gen.load({s.id: s for s in gen.models()}["emoji-diffusion"], "cpu", None)
    seen: list[dict] = []
    pipe.unet.register_forward_pre_hook(lambda m, a, kw: seen.append(kw), with_kwargs=True)
    gen.generate(pipe, params(width=None, height=None, guidance_scale=3.0, scheduler="Euler"), Context())
    context = seen[0]["encoder_hidden_states"]
    assert context.shape == (2, 4, 384)  # guidance: the null prompt, then "red apple" ([CLS] red apple [SEP])
    assert (context[0] == 0).all() and (context[1].norm(dim=-1) > 0.99).all()


def test_builtin_gan_refuses_img2img(builtins: Path):
    gen = ImageGenerator(builtins)
    pipe = gen.load({s.id: s for s in gen.models()}["emoji-gan"], "cpu", None)
    with pytest.raises(ParamError, match="text only"):
        gen.generate(pipe, params(mode="img2img", init_image=png()), Context())


def test_builtin_diffusion_img2img_inpaint(builtins: Path):
    gen = ImageGenerator(builtins)
    pipe = gen.load({s.id: s for s in gen.models()}["emoji-diffusion"], "cpu", None)
    out = gen.generate(pipe, params(mode="img2img", init_image=png(), strength=0.5, num_steps=4), Context())
    assert len(out.artifacts) == 1
    mask = Image.new("L", (64, 64), 0)
    buf = io.BytesIO()
    mask.save(buf, format="PNG")  # nothing to repaint: the picture comes back (through the autoencoder)
    out = gen.generate(pipe, params(mode="inpaint", init_image=png(), mask_image=buf.getvalue()), Context())
    assert Image.open(io.BytesIO(out.artifacts[0].data)).size == (64, 64)


# -- through the engine ------------------------------------------------------------------------------------
def test_engine_round_trip_writes_recipe_and_hits_cache(sd_folder: Path, tmp_path: Path):
    gen = ImageGenerator()
    studio = Studio(
        {"image": gen},
        Catalog({"image": gen}, model_dirs=[sd_folder], hf_cache=tmp_path / "none"),
        MemoryManager(device="cpu"),
        ResultCache(tmp_path / "cache"),
    )
    p = dataclasses.replace(params(), model="tiny-sd")
    first = studio.generate("image", p)
    again = studio.generate("image", p)
    assert not first.from_cache and again.from_cache
    assert [a.data for a in first.by_role("image")] == [a.data for a in again.by_role("image")]
    text = Image.open(io.BytesIO(first.by_role("image")[0].data)).text
    assert text["parameters"].startswith("red apple\n")
    assert "Steps: 2" in text["parameters"] and "Seed: 7" in text["parameters"]
    assert "studio-recipe" in text


def test_auto_placement_leaves_an_oversized_model_on_the_cpu():
    """``place="auto"``: a model over the device budget is leased on the CPU (the generator then offloads)."""
    import torch

    memory = MemoryManager(device="cuda", gpu_total_bytes=1000, ram_budget_bytes=10**9)
    with memory.acquire("big", lambda: torch.nn.Linear(100, 100), place="auto") as model:
        assert next(model.parameters()).device.type == "cpu"
        assert memory.tier_of("big") == "cpu"
    assert ImageGenerator.place_on_device == "auto"


def test_sdxl_layout(tmp_path: Path):
    from tests.generators.image.helpers import save_tiny_sdxl

    folder = save_tiny_sdxl(tmp_path / "tiny-sdxl")
    assert recognise(folder) == "sdxl"
    gen = ImageGenerator()
    spec = Catalog({"image": gen}, model_dirs=[folder], hf_cache=tmp_path / "none").get("image", "tiny-sdxl")
    pipe = gen.load(spec, "cpu", None)
    rec = Recorder()
    out = gen.generate(pipe, params(num_steps=3, scheduler="DPM++ 2M Karras"), Context(rec))
    assert Image.open(io.BytesIO(out.artifacts[0].data)).size == (64, 64)
    assert len(rec.kinds("progress")) == 3
    out = gen.generate(pipe, params(mode="img2img", init_image=png(), strength=0.6, num_steps=5), Context())
    assert len(out.artifacts) == 1


def test_an_ancestral_sampler_draws_each_picture_from_its_own_seed(builtins: Path):
    """Euler a draws fresh noise every step: from image i's own generator, so a picture comes back from its seed,
    alone or in a batch (it once came from the global generator and changed on every call)."""
    gen = ImageGenerator(builtins)
    pipe = gen.load({s.id: s for s in gen.models()}["emoji-diffusion"], "cpu", None)

    def pictures(**kw) -> list[np.ndarray]:
        out = gen.generate(pipe, params(width=None, height=None, scheduler="Euler a", **kw), Context())
        return [np.asarray(Image.open(io.BytesIO(a.data)), dtype=np.int16) for a in out.artifacts]

    first, again = pictures(seed=8), pictures(seed=8)
    assert np.array_equal(first[0], again[0])
    assert np.abs(pictures(seed=7, num_images=2)[1] - first[0]).max() <= 1
