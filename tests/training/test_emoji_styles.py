"""The four-style emoji set: names to code points, dedup, a caption-level held-out split, the data card, and
npm tarballs unpacked without writing outside their folder. Tiny packages made here stand in for the real ones."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.training import emoji_sources, emoji_styles
from studio.training.emoji_sources import STYLES, canonical_key, cldr_keys, safe_extract, slug

APPLE = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 36 36"><circle cx="18" cy="18" r="14" fill="#d00"/></svg>'
TALL = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 18 36"><rect width="18" height="36" fill="#00d"/></svg>'


def _write(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def _png(colour: tuple[int, int, int], size: int = 64) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (size, size), (*colour, 255)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Four tiny packages laid out like the real ones: a red apple in every style, plus the traps."""
    roots = {name: tmp_path / name for name in STYLES}
    _write(roots["twemoji"] / "assets/svg/1f34e.svg", APPLE)
    _write(roots["twemoji"] / "assets/svg/1f34e-fe0f.svg", APPLE)  # the same emoji again
    _write(roots["twemoji"] / "assets/svg/1f44b-1f3fb.svg", APPLE)  # a skin-tone variant
    _write(roots["twemoji"] / "assets/svg/1f4cf.svg", TALL)  # straight ruler, not square
    _write(roots["noto"] / "img/google/64/1f34e.png", _png((200, 0, 0)))
    _write(roots["noto"] / "img/google/64/1f34f.png", b"not a png")
    _write(roots["openmoji"] / "color/svg/1F34E.svg", APPLE)
    _write(
        roots["openmoji"] / "data/openmoji.csv", "emoji,hexcode,annotation\n🍎,1F34E,red apple\n👋,1F44B,waving hand\n"
    )
    _write(roots["fluent"] / "icons/flat/red-apple.svg", APPLE)
    _write(roots["fluent"] / "icons/flat/waving-hand-default.svg", APPLE)
    _write(roots["fluent"] / "icons/flat/waving-hand-light.svg", APPLE)
    monkeypatch.setattr(emoji_styles, "package_root", lambda style, cache_dir: roots[style.name])
    return tmp_path


def test_code_point_names_and_cldr_slugs() -> None:
    assert canonical_key("0023-FE0F-20E3") == canonical_key("0023-20e3") == "23-20e3"
    assert canonical_key("red-apple") is None and canonical_key("110000") is None
    assert slug("A button (blood type)") == "a-button-blood-type"
    assert slug("man’s shoe") == "mans-shoe"


def test_fluent_names_find_their_code_points_through_openmojis_table(packages: Path) -> None:
    keys = cldr_keys(packages / "openmoji" / "data/openmoji.csv")
    assert keys == {"red-apple": "1f34e", "waving-hand": "1f44b"}
    found = dict(
        (p.name, k) for k, p in emoji_sources.style_files(STYLES["fluent"], packages / "fluent", packages / "openmoji")
    )
    assert found == {"red-apple.svg": "1f34e", "waving-hand-default.svg": "1f44b", "waving-hand-light.svg": None}


def test_one_picture_per_emoji_and_style_with_reasons_for_the_rest(packages: Path) -> None:
    data = emoji_styles.build(STYLES, size=32, cache_dir=packages / "cache")
    apples = [s for c, s in zip(data.captions, data.styles, strict=True) if c == "red apple"]
    assert sorted(apples) == sorted(STYLES)  # one per style, the FE0F twin dropped
    assert data.images.shape[1:] == (32, 32, 3) and data.images.dtype == np.uint8
    twemoji = data.card["styles"]["twemoji"]
    assert twemoji["files"] == 4 and twemoji["kept"] == 2
    assert twemoji["dropped"] == {
        "same emoji as another file of the style": 1,
        "skin-tone variant, flag or nameless code point": 1,
    }
    assert data.card["styles"]["noto"]["dropped"] == {"unreadable (UnidentifiedImageError)": 1}
    assert data.card["styles"]["openmoji"]["share_alike"] and data.card["share_alike"]
    assert "CC BY-SA 4.0" in emoji_styles.card_markdown(data.card)


def test_pictures_sit_on_white_and_keep_their_shape(packages: Path) -> None:
    data = emoji_styles.build(["twemoji"], size=32, cache_dir=packages / "cache")
    ruler = data.images[data.captions.index("straight ruler")]
    assert (ruler[:, :4] == 255).all() and (ruler[:, -4:] == 255).all()  # padded left and right, not stretched
    assert ruler[16, 16, 2] > 150 and ruler[16, 16, 0] < 100  # the blue bar in the middle
    apple = data.images[data.captions.index("red apple")]
    assert (apple[0, 0] == 255).all() and apple[16, 16, 0] > 150 and apple[16, 16, 1] < 100


def test_the_held_out_split_is_by_caption_and_never_moves() -> None:
    captions = [f"thing {i}" for i in range(4000)]
    held = [c for c in captions if emoji_styles.is_held_out(c)]
    assert 0.03 < len(held) / len(captions) < 0.07
    assert held == [c for c in captions if emoji_styles.is_held_out(c)]
    data = emoji_styles.StyledSet(
        np.zeros((4, 2, 2, 3), np.uint8),
        [held[0], held[0], "thing x", "thing x"],
        ["twemoji", "noto", "twemoji", "noto"],
        ["a", "a", "b", "b"],
        np.asarray([emoji_styles.is_held_out(c) for c in [held[0], held[0], "thing x", "thing x"]]),
    )
    assert set(data.split(held_out=True).captions) == {held[0]}
    assert emoji_styles.styled_caption("red apple", "noto") == "red apple, noto style"


def test_the_set_is_cached_and_read_back_the_same(packages: Path) -> None:
    first = emoji_styles.load(["twemoji", "openmoji"], size=16, cache_dir=packages / "cache")
    again = emoji_styles.load(["twemoji", "openmoji"], size=16, cache_dir=packages / "cache")
    assert np.array_equal(first.images, again.images) and first.captions == again.captions
    assert first.styles == again.styles and first.card == again.card


def test_unknown_style_is_named() -> None:
    with pytest.raises(ValueError, match="unknown style 'comic'"):
        emoji_styles.build(["comic"])


def _tarball(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for info, data in members:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return buf.getvalue()


def test_npm_tarballs_cannot_write_outside_their_folder(tmp_path: Path) -> None:
    link = tarfile.TarInfo("package/link.svg")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    data = _tarball(
        [
            (tarfile.TarInfo("package/color/svg/1F34E.svg"), APPLE.encode()),
            (tarfile.TarInfo("package/../../escaped.txt"), b"x"),
            (tarfile.TarInfo("/abs.txt"), b"x"),
            (tarfile.TarInfo("other/top.txt"), b"x"),
            (link, b""),
        ]
    )
    dest = tmp_path / "out"
    assert safe_extract(data, dest) == 1
    assert [p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()] == ["package/color/svg/1F34E.svg"]
    assert not (tmp_path / "escaped.txt").exists()


def test_npm_specs_must_be_exact() -> None:
    for spec in ("openmoji", "openmoji@latest", "../x@1.0.0", "openmoji@^17"):
        with pytest.raises(ValueError, match="exact npm package spec"):
            emoji_sources.fetch_npm(spec, Path("/nonexistent"))


def test_a_styled_128px_run_trains_end_to_end_and_the_studio_draws_at_its_size(
    packages: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The GPU recipe of issue 17, on the CPU and a tiny slice: --data styles at 128 px, both stages, then the
    pipeline draws 128×128 and the model index lists the styles a prompt may name."""
    import json

    from studio.generators.image.checkpoints import native_size
    from studio.generators.image.emoji.pipeline import EmojiDiffusionPipeline
    from studio.training import datasets
    from studio.training.train_diffusion import main

    monkeypatch.setattr(emoji_styles, "CACHE_DIR", packages / "cache")
    out = packages / "model"
    common = ["--data", "styles", "--steps", "1", "--batch-size", "2", "--device", "cpu", "--out", str(out)]
    main(["--stage", "autoencoder", *common])
    main(["--stage", "unet", "--prompt-tokens", "4", *common])
    index = json.loads((out / "model_index.json").read_text())
    assert index["_styles"] == ["twemoji", "noto", "openmoji", "fluent"]
    pipe = EmojiDiffusionPipeline.load(out)
    assert native_size(pipe) == 128 and pipe.unet.config.sample_size == 32
    images = pipe("red apple, noto style", num_inference_steps=1, output_type="np").images
    assert images.shape == (1, 128, 128, 3)
    rows = datasets.with_plain_captions(emoji_styles.load(size=16).split(held_out=False), packages / "cache")
    assert len(rows.captions) == len(rows.base) == len(rows.images) and rows.captions.count("red apple") == 4
    assert "red apple, fluent style" in rows.captions and rows.embeddings.shape == (len(rows.captions), 384)


def test_variety_is_zero_for_copies_and_grows_with_difference() -> None:
    from studio.training.variety import spread, style_variety

    red = np.zeros((64, 64, 3), np.uint8)
    red[..., 0] = 255
    white = np.full((64, 64, 3), 255, np.uint8)
    assert spread(np.stack([red, red, red, red])) == 0.0
    assert spread(np.stack([red, white])) == pytest.approx(np.sqrt(2 / 3))  # G and B differ by 1, R not
    half = np.stack([red, red, white, white])
    assert 0 < spread(half) < spread(np.stack([red, white]))
    captions = ["apple"] * 4 + ["pear"] * 4 + ["lone"]
    assert style_variety(np.concatenate([half, np.stack([red] * 4), red[None]]), captions) == pytest.approx(
        spread(half) / 2
    )
