"""Which models exist: built-in ones (assets/), models trained here (finished training runs), hub ids in the local
Hugging Face cache, and ``--model-dir`` folders; GGUF files in either (for llama.cpp, when it is installed).

Each generator offers its built-in models (``models()``) and recognises folders of its modality
(``recognise(folder)``); the catalog asks every generator about every folder it finds. Nothing is downloaded:
a hub id is listed only when its snapshot is already in the local cache.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from studio.fingerprint import fingerprint
from studio.generators.base import Generator, ModelSpec
from studio.params import ParamError

log = logging.getLogger(__name__)

SOURCE_LABELS = {"hf-cache": "HF cache", "folder": "local folder", "trained": "trained here"}


def hf_cache_dir() -> Path:
    """The local Hugging Face hub cache (``HF_HUB_CACHE`` / ``HF_HOME`` honoured)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface"))
    return home / "hub"


def hf_cache_snapshots(cache: Path) -> Iterable[tuple[str, Path]]:
    """(hub id, snapshot folder) for each model repo in the local hub cache."""
    if not cache.is_dir():
        return
    for repo in sorted(cache.glob("models--*")):
        hub_id = repo.name[len("models--") :].replace("--", "/")
        snap: Path | None = None
        ref = repo / "refs" / "main"
        if ref.is_file():
            cand = repo / "snapshots" / ref.read_text().strip()
            snap = cand if cand.is_dir() else None
        if snap is None:
            snaps = (
                sorted((repo / "snapshots").glob("*"), key=lambda p: p.stat().st_mtime)
                if (repo / "snapshots").is_dir()
                else []
            )
            snap = snaps[-1] if snaps else None
        if snap is not None:
            yield hub_id, snap


def gguf_files(folder: Path, depth: int = 3) -> list[Path]:
    """The ``.gguf`` files in ``folder`` and up to ``depth - 1`` folders below it (LM Studio keeps
    ``models/<publisher>/<repo>/<file>.gguf``), sorted."""
    found: list[Path] = []
    for level in range(depth):
        found.extend(sorted(folder.glob("/".join(["*"] * level + ["*.gguf"]))))
    return found


class Catalog:
    """The models each modality can use; built-ins first, then the HF cache, then ``--model-dir`` folders."""

    def __init__(
        self,
        generators: Mapping[str, Generator],
        model_dirs: Iterable[str | os.PathLike[str]] = (),
        hf_cache: str | os.PathLike[str] | None = None,
        trained_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.generators = dict(generators)
        self.model_dirs = [Path(d) for d in model_dirs]
        self.hf_cache = Path(hf_cache) if hf_cache is not None else hf_cache_dir()
        self.trained_dir = Path(trained_dir) if trained_dir is not None else None
        self._listing: dict[str, list[ModelSpec]] | None = None

    def refresh(self) -> None:
        """Forget the listing so the next call scans the folders again."""
        self._listing = None

    def _scan(self) -> dict[str, list[ModelSpec]]:
        listing: dict[str, list[ModelSpec]] = {m: [] for m in self.generators}
        for modality, gen in self.generators.items():
            listing[modality].extend(gen.models())
        found: list[tuple[str, Path, str]] = list(self._trained())
        for hub_id, snap in hf_cache_snapshots(self.hf_cache):
            found.append((hub_id, snap, "hf-cache"))
            found.extend((f"{hub_id}/{f.name}", f, "hf-cache") for f in gguf_files(snap, depth=1))
        for d in self.model_dirs:
            if not d.is_dir():
                log.warning("model dir %s does not exist", d)
                continue
            # A --model-dir is either one model folder or a folder of model folders; GGUF files anywhere in it
            # are models of their own, named by their file name.
            subs = [d, *sorted(p for p in d.iterdir() if p.is_dir())]
            found.extend((p.name, p, "folder") for p in subs)
            found.extend((f.name, f, "folder") for f in gguf_files(d))
        for model_id, folder, source in found:
            for modality, gen in self.generators.items():
                kind = gen.recognise(folder)
                if kind:
                    listing[modality].append(
                        ModelSpec(
                            id=model_id,
                            modality=modality,
                            source=source,
                            path=str(folder),
                            label=f"{model_id} ({_where(source, folder)})",
                            kind=kind,
                            weights_hash=fingerprint(folder),
                            extra=(("training_run", model_id),) if source == "trained" else (),
                        )
                    )
        return listing

    def _trained(self) -> Iterable[tuple[str, Path, str]]:
        """(run name, model folder, "trained") for each finished training run (``<trained_dir>/<run>/model``)."""
        if self.trained_dir is None or not self.trained_dir.is_dir():
            return
        for run in sorted(self.trained_dir.iterdir()):
            if (run / "model" / "model_index.json").is_file():
                yield run.name, run / "model", "trained"

    def models(self, modality: str) -> list[ModelSpec]:
        """Every model available for ``modality``."""
        if self._listing is None:
            self._listing = self._scan()
        return list(self._listing.get(modality, []))

    def get(self, modality: str, model_id: str) -> ModelSpec:
        """The spec of ``model_id``; raises ``ParamError("model", ...)`` naming what is available."""
        specs = self.models(modality)
        for spec in specs:
            if spec.id == model_id:
                return spec
        if not specs:
            raise ParamError("model", f"no {modality} model is available")
        names = ", ".join(s.id for s in specs)
        shown = repr(model_id) if len(model_id) <= 80 else f"{model_id[:77]!r}..."
        # A model is named by its catalog id only: a path, another case or a folder of a built-in is not an id.
        raise ParamError("model", f"{shown} is not available; choose one of: {names} (a model is named by its id)")

    def default(self, modality: str) -> ModelSpec:
        """The first (built-in) model of ``modality``."""
        specs = self.models(modality)
        if not specs:
            raise ParamError("model", f"no {modality} model is available")
        return specs[0]


def _where(source: str, path: Path) -> str:
    """How a label says where a found model lives."""
    if source == "hf-cache":
        return "HF cache, llama.cpp" if path.is_file() else "HF cache"
    if source == "trained":
        return SOURCE_LABELS[source]
    return "local file, llama.cpp" if path.is_file() else "local folder"
