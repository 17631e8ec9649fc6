"""Signing the studio's outputs with Content Credentials (C2PA manifests, via c2pa-python).

Each output gets a manifest that says: made by this studio and version, ``trainedAlgorithmicMedia`` (the IPTC
digital source type of content a trained model made), with the model, its weights hash, the seed and the recipe id
in a ``org.studio.generation`` assertion, and each uploaded input it was made from (an init image, a melody, a
sketch, a MIDI to extend) as an ingredient, its own credentials carried along when it had some.

Formats C2PA embeds into (``EMBEDDED``, by extension) carry the manifest inside the file; every other file gets a
``<name>.c2pa`` sidecar manifest beside it, bound to the file's bytes by a hash over all of them. Which is which is
decided by the file's extension only, so a new kind of output is signed without a change here.

C2PA mandates a random salt in every assertion, so two signings of the same content differ in their manifest
bytes: the engine signs once, when a result is made, and the result cache keeps the signed files, so a repeat of a
request returns the very same bytes. The content itself (pixels, samples, recipe, watermark) stays deterministic.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from studio import __version__
from studio.credentials.identity import Identity
from studio.generators.base import Artifact

log = logging.getLogger(__name__)

TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
GENERATION_LABEL = "org.studio.generation"
SIDECAR_SUFFIX = ".c2pa"
EMBEDDED = {
    ".png": "image/png",
    ".wav": "audio/wav",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".flac": "audio/flac",
    ".mp3": "audio/mpeg",
}
SIDECAR_FORMAT = "application/octet-stream"  # a hash over every byte of the file
UNSIGNED_ROLES = frozenset({"recipe", "credentials"})  # recipe.json describes the others; sidecars are manifests


@dataclass(frozen=True)
class Ingredient:
    """An input an output was made from: the params field it came in (``init_image``) and its bytes."""

    field: str
    data: bytes


def ext_of(name: str) -> str:
    """``.png`` of ``image-01.png`` (lower case), ``""`` without a dot."""
    dot = name.rfind(".")
    return name[dot:].lower() if dot >= 0 else ""


def sniff_format(data: bytes) -> str | None:
    """The MIME type C2PA knows the bytes by, from their first bytes (never from a name), or None."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:4] == b"fLaC":
        return "audio/flac"
    return None


class Signer:
    """Signs artifacts under one ``Identity`` (thread-safe: Gradio runs handlers on several threads)."""

    def __init__(self, identity: Identity) -> None:
        self.identity = identity
        self._lock = threading.Lock()
        self._signer: Any = None
        self._context: Any = None

    def _native(self) -> tuple[Any, Any]:
        if self._signer is None:
            import c2pa

            info = c2pa.C2paSignerInfo(self.identity.alg, self.identity.chain_pem, self.identity.key_pem, None)
            self._signer = c2pa.Signer.from_info(info)
            # No thumbnail: the manifest would carry a JPEG copy of every picture (32 kB for a 64x64 emoji).
            self._context = c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": False}}})
        return self._signer, self._context

    def sign(
        self, artifacts: Sequence[Artifact], recipe: dict[str, Any], ingredients: Sequence[Ingredient] = ()
    ) -> list[Artifact]:
        """The artifacts signed: embedded manifests where the format allows, else a ``.c2pa`` sidecar after each."""
        out: list[Artifact] = []
        for art in artifacts:
            if art.role in UNSIGNED_ROLES or ext_of(art.name) == SIDECAR_SUFFIX:
                out.append(art)
                continue
            out += self._signed(art, recipe, ingredients)
        return out

    def sign_recipe(self, side: Artifact, recipe: dict[str, Any]) -> list[Artifact]:
        """The ``.c2pa`` sidecar of ``recipe.json`` (made last: it holds the hashes of the signed files)."""
        return self._signed(Artifact(side.name, side.data, "data"), recipe, ())[1:]

    def _signed(self, art: Artifact, recipe: dict[str, Any], ingredients: Sequence[Ingredient]) -> list[Artifact]:
        """[the signed file] or [the file, its sidecar]; [the file] unsigned if c2pa refuses it (logged)."""
        import c2pa

        mime = EMBEDDED.get(ext_of(art.name))
        try:
            if mime is not None and sniff_format(art.data) == mime:
                return [Artifact(art.name, self._sign(art, mime, recipe, ingredients, embed=True), art.role)]
            manifest = self._sign(art, SIDECAR_FORMAT, recipe, ingredients, embed=False)
        except c2pa.C2paError as exc:
            log.warning("could not sign %s (%s); it keeps its recipe and watermark only", art.name, exc)
            return [art]
        return [art, Artifact(art.name + SIDECAR_SUFFIX, manifest, "credentials")]

    def _sign(
        self, art: Artifact, mime: str, recipe: dict[str, Any], ingredients: Sequence[Ingredient], *, embed: bool
    ) -> bytes:
        """Embedded: the signed file's bytes; sidecar: the manifest store's bytes."""
        import c2pa

        with self._lock:
            signer, context = self._native()
            builder = c2pa.Builder(
                json.dumps(manifest_definition(art.name, mime, recipe, ingredients)), context=context
            )
            for i, ing in enumerate(ingredients):
                _add_ingredient(builder, ing, "parentOf" if i == 0 else "componentOf")
            if not embed:
                builder.set_no_embed()
            dest = io.BytesIO()
            manifest = builder.sign(signer, mime, io.BytesIO(art.data), dest)
        return dest.getvalue() if embed else bytes(manifest)


def manifest_definition(
    name: str, mime: str, recipe: dict[str, Any], ingredients: Sequence[Ingredient]
) -> dict[str, Any]:
    """The C2PA manifest definition of one output (see the module docstring)."""
    agent = {"name": "studio", "version": __version__}
    model = recipe.get("model") or {}
    if ingredients:  # made from an input: the input was opened, then edited by the model
        actions = [
            {"action": "c2pa.opened", "parameters": {"ingredientIds": [ingredients[0].field]}},
            {"action": "c2pa.edited", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA, "softwareAgent": agent},
        ]
    else:
        actions = [{"action": "c2pa.created", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA, "softwareAgent": agent}]
    generation = {
        "recipe_id": recipe.get("id"),
        "modality": recipe.get("modality"),
        "model": {k: model.get(k) for k in ("id", "source", "kind", "weights_hash")},
        "seed": recipe.get("seed"),
        "created": recipe.get("created"),
        "parents": list(recipe.get("parents") or []),
        "ai_generated": True,
    }
    return {
        "claim_generator_info": [agent],
        "title": name,
        "format": mime,
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": actions}},
            {"label": GENERATION_LABEL, "data": generation},
        ],
    }


def _add_ingredient(builder: Any, ing: Ingredient, relationship: str) -> None:
    """Add an input as an ingredient; its own credentials come along when c2pa can read its format."""
    import c2pa

    spec = {"title": ing.field, "relationship": relationship, "label": ing.field}
    fmt = sniff_format(ing.data) or SIDECAR_FORMAT
    try:
        builder.add_ingredient(json.dumps(spec), fmt, io.BytesIO(ing.data))
    except c2pa.C2paError as exc:  # a damaged upload: record it by hash only
        log.info("ingredient %s not readable by c2pa (%s); recorded without its contents", ing.field, exc)
        builder.add_ingredient(json.dumps(spec), SIDECAR_FORMAT, io.BytesIO(ing.data))
