"""Reading Content Credentials back from any bytes (c2pa-python's Reader), bounded and total.

``read_credentials`` returns None when the bytes carry no manifest, else a ``Credentials`` summary: the validation
state c2pa reports, whether the signer is on a trust list, who signed, which generator made the claim, the
digital source type, the studio's generation assertion, and the failure codes (a changed byte shows as
``assertion.dataHash.mismatch``). Bytes c2pa cannot make sense of give a summary with ``state="unreadable"``; no
exception escapes. The format is judged from the bytes, never from a file name.
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from studio.credentials.signing import GENERATION_LABEL, SIDECAR_FORMAT, sniff_format

log = logging.getLogger(__name__)

MAX_MANIFEST_BYTES = 4 * 1024 * 1024  # a sidecar manifest; the studio's are a few kB
MAX_FIELD_CHARS = 300  # strings from a stranger's manifest are cut to this before they are shown
# Codes that say nothing is wrong with the content or signature, only that nobody vouches for the signer.
UNTRUSTED_ONLY = frozenset({"signingCredential.untrusted"})


@dataclass
class Credentials:
    """What a file's Content Credentials say (see the module docstring)."""

    state: str  # "valid" (signature and content hashes check out), "invalid", "unreadable"
    trusted: bool = False  # the signer chains to a trust list c2pa knows (a self-made certificate does not)
    signer: str | None = None
    issuer: str | None = None
    generator: str | None = None
    digital_source_type: str | None = None
    generation: dict[str, Any] | None = None  # the studio's own assertion, when a studio signed it
    ingredients: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    error: str | None = None
    sidecar: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_credentials(data: bytes, manifest: bytes | None = None) -> Credentials | None:
    """The credentials embedded in ``data`` (or in the sidecar ``manifest`` bound to it), or None if there are none."""
    import c2pa

    fmt = sniff_format(data)
    if manifest is None and fmt is None:
        return None  # a format the studio does not embed credentials into: only a sidecar could hold them
    if manifest is not None and len(manifest) > MAX_MANIFEST_BYTES:
        return Credentials("unreadable", error=f"its manifest is over {MAX_MANIFEST_BYTES // 2**20} MB")
    try:
        reader = c2pa.Reader.try_create(fmt or SIDECAR_FORMAT, io.BytesIO(data), manifest)
    except c2pa.C2paError as exc:
        return Credentials("unreadable", error=_short(exc), sidecar=manifest is not None)
    except (ValueError, OSError, MemoryError) as exc:  # defensive: the reader must never take the checker down
        log.info("c2pa reader failed", exc_info=True)
        return Credentials("unreadable", error=_short(exc), sidecar=manifest is not None)
    if reader is None:
        return None
    try:
        return _summary(reader, sidecar=manifest is not None)
    except (c2pa.C2paError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return Credentials("unreadable", error=_short(exc), sidecar=manifest is not None)
    finally:
        reader.close()


def _summary(reader: Any, *, sidecar: bool) -> Credentials:
    state = (reader.get_validation_state() or "").lower()
    results = reader.get_validation_results() or {}
    active = reader.get_active_manifest() or {}
    failures = [str(f.get("code")) for f in (results.get("activeManifest") or {}).get("failure") or []]
    for ing in (results.get("ingredientDeltas") or [])[:50]:  # an ingredient's own failures count too
        failures += [str(f.get("code")) for f in (ing.get("validationDeltas") or {}).get("failure") or []]
    real = [f for f in failures if f not in UNTRUSTED_ONLY]
    sig = active.get("signature_info") or {}
    gen = (active.get("claim_generator_info") or [{}])[0] or {}
    creds = Credentials(
        state="invalid" if real or state == "invalid" else "valid",
        trusted=state == "trusted",
        signer=_clip(sig.get("common_name")),
        issuer=_clip(sig.get("issuer")),
        generator=_clip(" ".join(str(gen.get(k, "")) for k in ("name", "version")).strip() or None),
        failures=[_clip(f) or "" for f in real[:20]],
        ingredients=[_clip(i.get("title")) or "?" for i in (active.get("ingredients") or [])[:20]],
        sidecar=sidecar,
    )
    for assertion in (active.get("assertions") or [])[:100]:
        label, body = assertion.get("label", ""), assertion.get("data") or {}
        if label.startswith("c2pa.actions") and isinstance(body, dict):
            for action in (body.get("actions") or [])[:50]:
                if isinstance(action, dict) and action.get("digitalSourceType"):
                    creds.digital_source_type = _clip(action["digitalSourceType"])
        elif label == GENERATION_LABEL and isinstance(body, dict):
            text = json.dumps(body)
            creds.generation = body if len(text) <= 64 * 1024 else None
    return creds


def _clip(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= MAX_FIELD_CHARS else text[:MAX_FIELD_CHARS] + "…"


def _short(exc: BaseException) -> str:
    return _clip(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) or type(exc).__name__


def without_manifest(data: bytes) -> bytes:
    """The bytes with an embedded C2PA manifest taken out (PNG ``caBX`` chunk, RIFF ``C2PA`` chunk): the content
    that was signed, for comparing two signings of the same content (each has its own random salts)."""
    import struct

    if data[:8] == b"\x89PNG\r\n\x1a\n":
        out, pos = [data[:8]], 8
        while pos + 8 <= len(data):
            length, kind = struct.unpack(">I4s", data[pos : pos + 8])
            if kind != b"caBX":
                out.append(data[pos : pos + 12 + length])
            pos += 12 + length
        return b"".join(out)
    if data[:4] == b"RIFF" and data[8:12] in (b"WAVE", b"WEBP"):
        body, pos = [data[8:12]], 12
        while pos + 8 <= len(data):
            cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
            end = pos + 8 + size + (size & 1)
            if cid != b"C2PA":
                body.append(data[pos:end])
            pos = end
        joined = b"".join(body)
        return b"RIFF" + struct.pack("<I", len(joined)) + joined
    return data
