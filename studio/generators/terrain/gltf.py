"""A small, deterministic glTF 2.0 binary (GLB) writer: buffer views, accessors, images, materials, meshes, nodes.

Written by hand (not through trimesh) so every part an engine reads is under control: buffer views carry their
``target`` (vertex or index data; none for images and instance data, as the spec asks), accessors carry ``min``
and ``max``, images are embedded PNGs, and ``EXT_mesh_gpu_instancing`` nodes are plain JSON. The same calls give
the same bytes: nothing depends on time, dict order is insertion order and arrays are little-endian.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np

ARRAY_BUFFER = 34962  # bufferView.target of vertex attributes
ELEMENT_ARRAY_BUFFER = 34963  # ... of triangle indices
LINEAR, LINEAR_MIPMAP_LINEAR = 9729, 9987
CLAMP_TO_EDGE, REPEAT = 33071, 10497
INSTANCING = "EXT_mesh_gpu_instancing"

_COMPONENT = {np.dtype("float32"): 5126, np.dtype("uint32"): 5125, np.dtype("uint16"): 5123, np.dtype("uint8"): 5121}
_TYPE = {1: "SCALAR", 2: "VEC2", 3: "VEC3", 4: "VEC4"}


class Gltf:
    """One glTF document being built; ``glb()`` returns the file. Methods return the new object's index."""

    def __init__(self) -> None:
        self.doc: dict[str, Any] = {"asset": {"version": "2.0", "generator": "studio terrain"}}
        self.bin = bytearray()
        self.used: list[str] = []

    def _add(self, kind: str, obj: dict[str, Any]) -> int:
        items = self.doc.setdefault(kind, [])
        items.append(obj)
        return len(items) - 1

    def use(self, extension: str) -> None:
        """Declare an extension in ``extensionsUsed`` (once)."""
        if extension not in self.used:
            self.used.append(extension)

    def view(self, data: bytes, target: int | None = None, stride: int | None = None) -> int:
        """A buffer view over ``data`` (4-byte aligned in the binary chunk)."""
        self.bin += b"\0" * (-len(self.bin) % 4)
        view: dict[str, Any] = {"buffer": 0, "byteOffset": len(self.bin), "byteLength": len(data)}
        if stride is not None:
            view["byteStride"] = stride
        if target is not None:
            view["target"] = target
        self.bin += data
        return self._add("bufferViews", view)

    def accessor(self, array: np.ndarray, target: int | None = ARRAY_BUFFER, normalized: bool = False) -> int:
        """An accessor (with its own buffer view) of a (count,) or (count, 1-4) array; floats get min and max."""
        a = np.ascontiguousarray(array)
        if a.dtype not in _COMPONENT:
            raise TypeError(f"glTF has no component type for {a.dtype}")
        width = 1 if a.ndim == 1 else a.shape[1]
        stride = a.dtype.itemsize * width if target == ARRAY_BUFFER and width > 1 else None
        if stride is not None and stride % 4:  # vertex attribute strides are multiples of 4
            stride = None
        acc: dict[str, Any] = {
            "bufferView": self.view(a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes(), target, stride),
            "componentType": _COMPONENT[a.dtype],
            "count": int(a.shape[0]),
            "type": _TYPE[width],
        }
        if normalized:
            acc["normalized"] = True
        if a.dtype == np.float32 or target == ELEMENT_ARRAY_BUFFER:
            flat = a.reshape(a.shape[0], width)
            lo, hi = flat.min(axis=0), flat.max(axis=0)
            cast = float if a.dtype == np.float32 else int
            acc["min"], acc["max"] = [cast(x) for x in lo], [cast(x) for x in hi]
        return self._add("accessors", acc)

    def texture(self, png: bytes, name: str, wrap: int = CLAMP_TO_EDGE) -> int:
        """An embedded PNG image, its sampler (trilinear, ``wrap`` on both axes) and the texture using them."""
        image = self._add("images", {"name": name, "mimeType": "image/png", "bufferView": self.view(png)})
        sampler = {"magFilter": LINEAR, "minFilter": LINEAR_MIPMAP_LINEAR, "wrapS": wrap, "wrapT": wrap}
        samplers = self.doc.setdefault("samplers", [])
        if sampler not in samplers:
            samplers.append(sampler)
        return self._add("textures", {"sampler": samplers.index(sampler), "source": image})

    def material(self, name: str, **fields: Any) -> int:
        """A material: ``pbrMetallicRoughness`` fields in ``pbr``; the rest (normalTexture, alphaMode...) as given."""
        pbr = fields.pop("pbr", {})
        return self._add("materials", {"name": name, "pbrMetallicRoughness": pbr, **fields})

    def mesh(self, name: str, primitives: list[dict[str, Any]]) -> int:
        """A mesh of triangle primitives (each ``{"attributes": {...}, "indices": i, "material": m}``)."""
        return self._add("meshes", {"name": name, "primitives": primitives})

    def node(self, name: str, **fields: Any) -> int:
        """A node (``mesh``, ``children``, ``translation``, ``extensions``... as given)."""
        return self._add("nodes", {"name": name, **fields})

    def glb(self, roots: list[int], extras: dict[str, Any] | None = None) -> bytes:
        """The GLB file: one scene holding ``roots``; ``extras`` goes in the scene's extras."""
        doc = dict(self.doc)
        if self.used:
            doc["extensionsUsed"] = list(self.used)
        scene: dict[str, Any] = {"name": "terrain", "nodes": roots}
        if extras:
            scene["extras"] = extras
        doc["scenes"], doc["scene"] = [scene], 0
        self.bin += b"\0" * (-len(self.bin) % 4)
        doc["buffers"] = [{"byteLength": len(self.bin)}]
        raw = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        raw += b" " * (-len(raw) % 4)
        body = struct.pack("<I4s", len(raw), b"JSON") + raw + struct.pack("<I4s", len(self.bin), b"BIN\0") + self.bin
        return struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + bytes(body)
