"""The data check names every refused file with its reason, reads nothing outside what it was given, and a run's
name cannot overwrite a built-in or escape the models folder."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest

from studio.params import ParamError, check_params
from studio.training.data_check import (
    MAX_FILE_BYTES,
    DataError,
    caption_from_name,
    check_folder,
    check_uploads,
    check_zip,
)
from studio.training.params import TrainParams
from tests.png_helpers import png_of
from tests.training.pictures import png_bytes, square_pictures


def _good() -> bytes:
    return png_bytes(square_pictures(1, 40)[0])


def _reasons(report) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {r.name: r.reason for r in report.refused}


def test_uploads_usable_refused_and_captions(tmp_path: Path) -> None:
    files = {
        "a.png": _good(),
        "a.txt": b"a magenta square on cyan",
        "b.png": _good(),
        "captions.txt": b"b.png\tsquare from the list\n",
        "red_apple-02.png": _good(),
        "fake.png": b"this is text, not a picture",
        "cut.png": _good()[:60],
        "bomb.png": png_of(60_000, 60_000),  # a few bytes claiming 3.6 gigapixels
        "photo.jpg": _good(),  # a PNG named .jpg: used, and noted
    }
    paths = []
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        paths.append((name, tmp_path / name))
    report = check_uploads(paths)
    assert report.usable == 4
    captions = dict(zip(report.names, report.captions, strict=True))
    assert captions["a.png"] == "a magenta square on cyan"
    assert captions["b.png"] == "square from the list"
    assert captions["red_apple-02.png"] == "red apple"
    reasons = _reasons(report)
    assert set(reasons) == {"fake.png", "cut.png", "bomb.png"}
    assert "not an image" in reasons["fake.png"]
    assert "truncated" in reasons["cut.png"] or "could not be decoded" in reasons["cut.png"]
    assert "decompression bomb" in reasons["bomb.png"]
    assert any("photo.jpg is really a PNG" in n for n in report.notes)
    assert report.images.shape == (4, 64, 64, 3) and report.images.dtype == np.uint8
    assert len(report.manifest_hash) == 64
    assert report.caption_sources == {"sidecar .txt": 1, "captions.txt": 1, "file name": 2}


def test_metadata_jsonl_captions_and_zero_usable(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("set/x.png", _good())
        zf.writestr("set/metadata.jsonl", '{"file_name": "x.png", "text": "from metadata"}\n')
    report = check_zip(buf.getvalue())
    assert report.captions == ["from metadata"]
    empty = check_uploads([("notes.png", _write(tmp_path / "notes.png", b"hello"))])
    assert empty.usable == 0 and "not an image" in empty.refused[0].reason


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_zip_entries_that_climb_out_bombs_links_and_nested_zips() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ok.png", _good())
        zf.writestr("../evil.png", _good())
        zf.writestr("/etc/abs.png", _good())
        zf.writestr("bomb.bin", b"\0" * (5 * 1024 * 1024))  # ~5 kB that unpack to 5 MB: 1000:1
        zf.writestr("huge.bin", b"\0" * (MAX_FILE_BYTES + 1))
        inner = io.BytesIO()
        with zipfile.ZipFile(inner, "w") as z2:
            z2.writestr("in.png", _good())
        zf.writestr("inner.zip", inner.getvalue(), compress_type=zipfile.ZIP_STORED)
        link = zipfile.ZipInfo("link.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    report = check_zip(buf.getvalue())
    assert report.names == ["ok.png"]
    reasons = _reasons(report)
    assert "climbs out" in reasons["../evil.png"] and "climbs out" in reasons["/etc/abs.png"]
    assert "zip bomb" in reasons["bomb.bin"]
    assert "unpack to" in reasons["huge.bin"]
    assert "zip inside the zip" in reasons["inner.zip"]
    assert "link" in reasons["link.png"]


def test_a_zip_that_would_unpack_to_too_much_is_refused_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    from studio.training import data_check

    monkeypatch.setattr(data_check, "MAX_TOTAL_BYTES", 100)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.png", _good())
        zf.writestr("b.png", _good())
    with pytest.raises(DataError, match="zip bomb"):
        check_zip(buf.getvalue())


def test_server_folders_only_inside_the_allowed_roots(tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / "set").mkdir(parents=True)
    (root / "set" / "one.png").write_bytes(_good())
    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "secret.png").write_bytes(_good())
    os.symlink(outside / "secret.png", root / "set" / "link.png")
    os.symlink(outside, root / "set" / "linked-dir")
    report = check_folder("set", [root])
    assert report.names == ["one.png"]
    assert "link" in _reasons(report)["link.png"]
    for bad in (str(outside), "../private", "set/linked-dir"):
        with pytest.raises(DataError, match="outside the folders"):
            check_folder(bad, [root])
    with pytest.raises(DataError, match="--data-dir"):
        check_folder("set", [])


@pytest.mark.parametrize("name", ["../escape", "a/b", "Upper", "", ".hidden", "x" * 64, "a..b"])
def test_run_names_that_could_escape_are_refused(name: str) -> None:
    with pytest.raises(ParamError, match="name"):
        check_params(TrainParams, {"name": name})


def test_names_of_models_in_the_catalog_and_existing_runs_are_refused(tmp_path: Path) -> None:
    from studio.services import build_services
    from studio.settings import Settings

    jobs = build_services(Settings(cache_dir=tmp_path)).jobs
    assert jobs is not None
    with pytest.raises(ParamError, match="builtin model"):
        jobs.check_name("emoji-diffusion")
    (tmp_path / "training" / "taken").mkdir(parents=True)
    with pytest.raises(ParamError, match="exists already"):
        jobs.check_name("taken")


def test_caption_from_name() -> None:
    assert caption_from_name("dir/Red_Apple-001.PNG") == "red apple"
    assert caption_from_name("0001.png") == "picture"
