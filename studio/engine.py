"""The engine: validate → resolve seed → cache lookup → acquire model → generate → provenance → store.

``Studio`` is the one object the UI, the API and the CLI talk to. It holds the generators, the catalog, the memory
manager, the result cache and the runner of the generation step (here, or on a Ray Serve cluster: see
``studio/runner.py``), all injected. ``generate`` runs one request on the calling thread; ``stream`` runs it on a
worker thread and yields progress events, then the result, so a UI can show progress and stop it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import queue
import secrets
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio import __version__, provenance
from studio.cache import CacheEntry, ResultCache, Uncacheable, cache_key
from studio.catalog import Catalog
from studio.credentials.signing import Ingredient, Signer
from studio.generators.base import Artifact, Context, Event, Generator, ModelSpec
from studio.memory import MemoryManager
from studio.outputs import Outputs
from studio.params import SEED_MAX, ParamError, as_dict, check_params, defaults_of
from studio.policy import PromptPolicy
from studio.runner import LocalRunner, Runner
from studio.watermark.files import mark_artifact

log = logging.getLogger(__name__)

TEXT_FILE = "__text__"


@dataclass
class Result:
    """A finished generation: files (recipe embedded), the recipe, the seed used, and whether it came from cache."""

    modality: str
    artifacts: list[Artifact]
    recipe: dict[str, Any]
    seed: int | None
    from_cache: bool
    text: str | None = None
    elapsed_s: float = 0.0
    paths: dict[str, Path] = field(default_factory=dict)
    load_s: float = 0.0  # of elapsed_s, the time spent loading the model (0 when it was already loaded)

    def by_role(self, role: str) -> list[Artifact]:
        """Artifacts with the given role ("image", "audio", "model3d", "recipe", ...)."""
        return [a for a in self.artifacts if a.role == role]

    def write(self, outputs: Outputs) -> dict[str, Path]:
        """Write every file into the result's folder in ``outputs`` (see ``studio/outputs.py``); name → path.

        The folder is named from the recipe id (the request's cache key) under the server's key, so a cache hit
        finds its files already written and costs no disk writes, and no visitor can guess another's folder.
        """
        self.paths = outputs.write(self.modality, self.recipe["id"], {a.name: a.data for a in self.artifacts})
        return self.paths


def recipe_params(params: Any) -> dict[str, Any]:
    """Params as JSON-ready values: bytes (uploaded images, audio) become their SHA-256."""
    out: dict[str, Any] = {}
    for k, v in as_dict(params).items():
        if isinstance(v, (bytes, bytearray)):
            out[k] = {"sha256": hashlib.sha256(v).hexdigest(), "bytes": len(v)} if v else None
        else:
            out[k] = v
    return out


def ingredients_of(params: Any) -> list[Ingredient]:
    """The uploaded inputs (init image, mask, melody, sketch, MIDI to extend) a request was made from."""
    return [Ingredient(k, bytes(v)) for k, v in as_dict(params).items() if isinstance(v, (bytes, bytearray)) and v]


class Studio:
    """The studio's services behind one object (see the module docstring)."""

    def __init__(
        self,
        generators: Mapping[str, Generator],
        catalog: Catalog,
        memory: MemoryManager,
        cache: ResultCache | None,
        runner: Runner | None = None,
        signer: Signer | None = None,
        policy: PromptPolicy | None = None,
    ) -> None:
        self.generators = dict(generators)
        self.catalog = catalog
        self.memory = memory
        self.cache = cache
        # Where the generation step runs: here by default, or on a Ray Serve cluster (``studio/runner.py``).
        self.runner: Runner = runner if runner is not None else LocalRunner(self.generators, memory)
        self.signer = signer  # None: outputs carry the recipe and the watermark, no Content Credentials
        self.policy = policy  # None: every prompt is allowed

    # -- requests ------------------------------------------------------------------------------------------
    def params_type(self, modality: str) -> type:
        """The ``<Modality>Params`` class of ``modality``."""
        if modality not in self.generators:
            raise ParamError("modality", f"{modality!r} is not one of: {', '.join(self.generators)}")
        return self.generators[modality].params_type

    def check(self, modality: str, values: Mapping[str, Any]) -> Any:
        """Validated params for ``modality`` from raw ``values`` (raises ``ParamError``)."""
        return check_params(self.params_type(modality), values)

    def resolve(self, modality: str, params: Any) -> tuple[Any, ModelSpec]:
        """Params with the seed drawn (if -1) and the model id filled in, and the model's spec."""
        changes: dict[str, Any] = {}
        names = {f.name for f in dataclasses.fields(params)}
        if "seed" in names and (params.seed is None or params.seed < 0):
            changes["seed"] = secrets.randbelow(SEED_MAX)
        if "model" in names:
            spec = self.catalog.get(modality, params.model) if params.model else self.catalog.default(modality)
            changes["model"] = spec.id
        else:
            spec = self.catalog.default(modality)
        defaults = defaults_of(type(params))
        for name in self.unused_fields(modality, spec) & names:
            if getattr(params, name) != defaults[name]:
                changes[name] = defaults[name]
        return (dataclasses.replace(params, **changes) if changes else params), spec

    def unused_fields(self, modality: str, spec: ModelSpec | str) -> frozenset[str]:
        """The params the model ``spec`` (or a model id) does not use, as its generator declares them."""
        if isinstance(spec, str):
            try:
                spec = self.catalog.get(modality, spec) if spec else self.catalog.default(modality)
            except ParamError:
                return frozenset()
        gen = self.generators.get(modality)
        return frozenset(gen.unused_fields(spec)) if gen is not None else frozenset()

    def request_key(self, modality: str, params: Any, spec: ModelSpec, parents: Iterable[str] = ()) -> str | None:
        """The cache key of a resolved request, or None when it cannot be cached."""
        try:
            return cache_key(
                {
                    "studio": __version__,
                    "modality": modality,
                    "model": {"id": spec.id, "weights_hash": spec.weights_hash},
                    "params": dataclasses.asdict(params),
                    "parents": sorted(parents),
                }
            )
        except Uncacheable as exc:
            log.info("request not cacheable: %s", exc)
            return None

    def generate(
        self,
        modality: str,
        params: Any,
        ctx: Context | None = None,
        parents: Iterable[str] = (),
        use_cache: bool = True,
    ) -> Result:
        """Run one request and return its ``Result``.

        ``params`` is checked again here (cheap), so a ``<Modality>Params`` built directly in Python, without
        ``check``, cannot reach a generator out of range.
        """
        start = time.perf_counter()
        ctx = ctx or Context()
        parents = list(parents)
        params = check_params(self.params_type(modality), dataclasses.asdict(params))
        if self.policy is not None:
            self.policy.check(params)  # before the cache: a refused prompt is not served from it either
        params, spec = self.resolve(modality, params)
        key = self.request_key(modality, params, spec, parents)
        seed = getattr(params, "seed", None)
        if key is not None and use_cache and self.cache is not None:
            entry = self.cache.get(key)
            if entry is not None:
                return self._from_entry(modality, entry, seed, time.perf_counter() - start)

        ran = self.runner.run(modality, spec, params, ctx)
        output = ran.output
        ctx.check()

        recipe = provenance.make_recipe(
            key=key or hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
            modality=modality,
            model={
                "id": spec.id,
                "source": spec.source,
                "kind": spec.kind,
                "weights_hash": spec.weights_hash,
                **{k: v for k, v in spec.extra if k.startswith("training_")},  # a model trained here names its run
            },
            params=recipe_params(params),
            seed=seed,
            info=output.info,
            parents=parents,
        )
        # Watermark (part of the content, deterministic), then the recipe, then Content Credentials over both.
        artifacts = [provenance.embed(mark_artifact(a, recipe["id"]), recipe) for a in output.artifacts]
        if self.signer is not None:
            artifacts = self.signer.sign(artifacts, recipe, ingredients_of(params))
        side = provenance.sidecar(recipe, artifacts)
        artifacts.append(side)
        if self.signer is not None:
            artifacts += self.signer.sign_recipe(side, recipe)
        full_recipe = provenance.read_recipe(side.name, side.data) or recipe
        if key is not None and use_cache and self.cache is not None:
            files = {a.name: a.data for a in artifacts}
            roles = {a.name: a.role for a in artifacts}
            if output.text is not None:
                files[TEXT_FILE] = output.text.encode("utf-8")
                roles[TEXT_FILE] = "raw-text"
            self.cache.put(key, CacheEntry(files=files, recipe=full_recipe, roles=roles))
        elapsed = time.perf_counter() - start
        return Result(modality, artifacts, full_recipe, seed, False, output.text, elapsed, load_s=ran.load_s)

    def _from_entry(self, modality: str, entry: CacheEntry, seed: int | None, elapsed: float) -> Result:
        text = entry.files.get(TEXT_FILE)
        artifacts = [Artifact(n, b, entry.roles.get(n, "data")) for n, b in entry.files.items() if n != TEXT_FILE]
        return Result(modality, artifacts, entry.recipe, seed, True, text.decode("utf-8") if text else None, elapsed)

    def stream(
        self,
        modality: str,
        params: Any,
        cancel: threading.Event | None = None,
        parents: Iterable[str] = (),
        use_cache: bool = True,
    ) -> Iterator[Event | Result]:
        """Run ``generate`` on a worker thread; yield its ``Event``s as they come, then the ``Result``.

        Errors from the worker are re-raised here. Closing the iterator (a UI's Stop) sets ``cancel`` so the worker
        stops at its next step.
        """
        cancel = cancel or threading.Event()
        events: queue.Queue[Any] = queue.Queue()
        done = object()
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                box["result"] = self.generate(modality, params, Context(events.put, cancel), parents, use_cache)
            except BaseException as exc:  # handed to the consumer thread, which re-raises it
                box["error"] = exc
            finally:
                events.put(done)

        worker = threading.Thread(target=work, name=f"generate-{modality}", daemon=True)
        worker.start()
        try:
            while True:
                item = events.get()
                if item is done:
                    break
                yield item
            if "error" in box:
                raise box["error"]
            yield box["result"]
        finally:
            if worker.is_alive():
                cancel.set()
