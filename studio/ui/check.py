"""The Check tab: drop any files and learn, in one line each, whether this studio made them and whether they changed
since (``studio/checker.py``: Content Credentials, watermark, recipe). A ``NAME.c2pa`` dropped with ``NAME`` is
read as its sidecar manifest."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import gradio as gr

from studio.checker import MAX_FILE_BYTES, FileCheck, check_file
from studio.credentials.signing import SIDECAR_SUFFIX
from studio.outputs import inside
from studio.services import Services
from studio.ui.common import file_path

MAX_FILES = 20

EXPLAINER = """\
Every picture and clip this studio makes carries **Content Credentials** (a signed C2PA manifest: made by this
studio, with which model and seed, AI-generated) and an **invisible watermark** that survives re-encoding,
resizing and cropping better than any metadata. Other files (3D scenes, MIDI, heightmaps, text) come with a
`.c2pa` file beside them: drop both.

**What the signature proves, and what it does not.** {identity} It proves that the file was signed by whoever
holds this installation's key and that not a byte changed since. It does not prove who runs this studio, and other
verifiers (such as contentcredentials.org) will call the signer *untrusted*. An organisation can sign with its own
certificate instead (`--c2pa-cert`, `--c2pa-key`). A watermark found without credentials means the file was
re-saved somewhere on the way; no sign at all proves nothing either way: marks and credentials can be removed.
"""


def identity_line(services: Services) -> str:
    """One sentence on who signs this studio's outputs."""
    signer = services.studio.signer
    if signer is None:
        return "This studio is not signing its outputs (signing is off)."
    if signer.identity.self_made:
        return "This studio signs with a certificate it made for itself on first start."
    return f"This studio signs with its operator's certificate ({signer.identity.subject})."


def upload_folder() -> Path:
    """Where Gradio keeps uploads (``launch`` points ``GRADIO_TEMP_DIR`` into the cache folder)."""
    return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio")


def check_uploads(paths: list[str]) -> tuple[str, list[dict[str, Any]]]:
    """(one Markdown line per file, the JSON of each) for uploaded file paths; never raises. A path outside
    Gradio's upload folder is not read: what a browser sends is data, never a path the server trusts."""
    paths = [p for p in paths if inside(Path(p), upload_folder())]
    if len(paths) > MAX_FILES:
        return f"At most {MAX_FILES} files at a time; you dropped {len(paths)}.", []
    by_name = {Path(p).name: p for p in paths}
    checks: list[FileCheck] = []
    for name, path in by_name.items():
        if name.lower().endswith(SIDECAR_SUFFIX) and name[: -len(SIDECAR_SUFFIX)] in by_name:
            continue  # read with the file it describes
        checks.append(_check_one(name, path, by_name.get(name + SIDECAR_SUFFIX)))
    lines = [f"- **{c.name}**: {c.verdict}" for c in checks]
    return "\n".join(lines) or "Drop files to check them.", [c.as_dict() for c in checks]


def _check_one(name: str, path: str, sidecar_path: str | None) -> FileCheck:
    try:
        size = os.stat(path).st_size
        if size > MAX_FILE_BYTES:
            return FileCheck(
                name, f"too large: {size / 2**20:.0f} MB; files over {MAX_FILE_BYTES // 2**20} MB are not read"
            )
        data = Path(path).read_bytes()
        sidecar = (
            Path(sidecar_path).read_bytes() if sidecar_path and os.stat(sidecar_path).st_size <= size + 2**22 else None
        )
    except OSError as exc:
        return FileCheck(name, f"unreadable: {exc.strerror or exc}")
    return check_file(name, data, sidecar)


def build_check_tab(services: Services) -> None:
    """The tab's drop box, its verdicts and their details."""
    gr.Markdown(EXPLAINER.format(identity=identity_line(services)), elem_id="check-explainer")
    files = gr.File(label="Files to check (any kind, up to 20)", file_count="multiple", elem_id="check-files")
    verdicts = gr.Markdown(elem_id="check-verdicts")
    with gr.Accordion("Details (credentials, watermark, recipe)", open=False):
        details = gr.JSON(elem_id="check-details")

    def run(values: Any) -> tuple[str, list[dict[str, Any]]]:
        items = values if isinstance(values, list) else [values] if values else []
        paths = [p for p in (file_path(v) for v in items) if p]
        return check_uploads(paths)

    files.change(run, [files], [verdicts, details], api_name="check", concurrency_id="check", concurrency_limit=2)
