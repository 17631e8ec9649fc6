from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import time

import pytest

from studio.cache import MAGIC, CacheEntry, ResultCache, Uncacheable, cache_key, decode_entry, encode_entry


def test_key_is_type_tagged_and_order_free():
    assert cache_key({"a": 1}) != cache_key({"a": 1.0})
    assert cache_key({"a": 1}) != cache_key({"a": True})
    assert cache_key({"a": 1.0}) != cache_key({"a": True})
    assert cache_key({"a": "1"}) != cache_key({"a": 1})
    assert cache_key({"a": 1, "b": [1, 2]}) == cache_key({"b": [1, 2], "a": 1})
    assert cache_key({"a": (1, 2)}) == cache_key({"a": [1, 2]})
    assert cache_key({"a": None}) != cache_key({"a": "none"})


def test_uncacheable_values_are_refused():
    with pytest.raises(Uncacheable):
        cache_key({"a": object()})
    with pytest.raises(Uncacheable):
        cache_key({"a": float("nan")})


def _entry(n: int = 100, tag: bytes = b"x") -> CacheEntry:
    return CacheEntry(files={"a.png": tag * n, "recipe.json": b"{}"}, recipe={"id": "r"}, roles={"a.png": "image"})


def test_roundtrip_and_persistence(tmp_path):
    c = ResultCache(tmp_path)
    k = cache_key({"x": 1})
    assert c.get(k) is None
    c.put(k, _entry())
    again = ResultCache(tmp_path).get(k)  # a new instance: survives restarts
    assert again is not None
    assert again.files == _entry().files and again.roles["a.png"] == "image" and again.recipe == {"id": "r"}


def test_damaged_entry_is_a_miss(tmp_path):
    c = ResultCache(tmp_path)
    k = cache_key({"x": 2})
    c.put(k, _entry())
    path = c._path(k)
    blob = bytearray(path.read_bytes())
    blob[-5] ^= 0xFF
    path.write_bytes(bytes(blob))
    assert c.get(k) is None
    assert not path.exists()


def _with_header(header: object, body: bytes = b"") -> bytes:
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    return MAGIC + len(text).to_bytes(8, "little") + text + body


DAMAGED_HEADERS = [
    {"recipe": {}, "files": [{"name": "a.png", "sha256": "0" * 64}]},  # no size
    {"recipe": {}, "files": [{"name": "a.png", "size": "4", "sha256": "0" * 64}]},
    {"recipe": {}, "files": [{"name": "a.png", "size": -4, "sha256": "0" * 64}]},
    {"recipe": {}, "files": [{"name": "a.png", "size": True, "sha256": "0" * 64}]},
    {"recipe": {}, "files": [{"name": 7, "size": 4, "sha256": "0" * 64}]},
    {"recipe": {}, "files": [["a.png", 4]]},
    {"recipe": {}, "files": {"a.png": 4}},
    {"recipe": [], "files": []},
    {"files": []},
    [],
    b"[" * 100_000 + b"]" * 100_000,  # RecursionError inside json
    b"\xff\xfe",
]


@pytest.mark.parametrize("header", DAMAGED_HEADERS, ids=range(len(DAMAGED_HEADERS)))
def test_damaged_but_well_formed_entry_is_a_miss_and_removed(tmp_path, header):
    c = ResultCache(tmp_path)
    k = cache_key({"damaged": 1})
    c.put(k, _entry())
    path = c._path(k)
    path.write_bytes(_with_header(header, b"data"))
    with pytest.raises(ValueError):
        decode_entry(path.read_bytes())
    assert c.get(k) is None
    assert not path.exists()


def test_temp_files_of_live_writers_stay_dead_or_stale_ones_go(tmp_path):
    c = ResultCache(tmp_path)
    sub = tmp_path / "ab"
    sub.mkdir()
    mine = sub / f".tmp-{os.getpid()}-x.entry"  # this process is alive and may be writing
    dead = sub / ".tmp-999999999-x.entry"  # beyond any pid
    stale = sub / f".tmp-{os.getpid()}-y.entry"
    for p in (mine, dead, stale):
        p.write_bytes(b"half")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    c.evict()
    assert mine.exists() and not dead.exists() and not stale.exists()


def test_truncated_blob_never_decodes():
    blob = encode_entry(_entry(1000))
    for cut in (10, 30, len(blob) // 2, len(blob) - 1):
        with pytest.raises(ValueError):
            decode_entry(blob[:cut])


def test_budget_evicts_least_recently_used(tmp_path):
    size = len(encode_entry(_entry(1000)))
    c = ResultCache(tmp_path, budget_bytes=int(size * 2.5))
    keys = [cache_key({"i": i}) for i in range(3)]
    c.put(keys[0], _entry(1000))
    time.sleep(0.02)
    c.put(keys[1], _entry(1000))
    time.sleep(0.02)
    assert c.get(keys[0]) is not None  # touch 0: now 1 is the least recently used
    time.sleep(0.02)
    c.put(keys[2], _entry(1000))
    assert c.size_bytes() <= c.budget_bytes
    assert c.get(keys[1]) is None
    assert c.get(keys[0]) is not None and c.get(keys[2]) is not None


def _slow_writer(root: str, key: str) -> None:
    # Writes a huge entry slowly so the parent can kill it mid-write.
    import studio.cache as cache_mod

    real_fdopen = os.fdopen

    class Slow:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            for i in range(0, len(data), 4096):
                self.f.write(data[i : i + 4096])
                self.f.flush()
                time.sleep(0.001)

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return self.f.__exit__(*a)

    cache_mod.os.fdopen = lambda fd, mode: Slow(real_fdopen(fd, mode))  # type: ignore[assignment]
    ResultCache(root).put(key, _entry(5_000_000))


def test_writer_killed_mid_write_leaves_no_readable_entry(tmp_path):
    key = cache_key({"killed": True})
    ctx = mp.get_context("fork")
    proc = ctx.Process(target=_slow_writer, args=(str(tmp_path), key))
    proc.start()
    deadline = time.time() + 10
    while time.time() < deadline and not any(p.name.startswith(".tmp-") for p in tmp_path.rglob("*")):
        time.sleep(0.01)
    time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    assert any(p.name.startswith(".tmp-") for p in tmp_path.rglob("*")), "the writer was killed before writing"
    c = ResultCache(tmp_path)
    assert not any(p.name.startswith(".tmp-") for p in tmp_path.rglob("*")), "a dead writer's temp file is swept"
    assert c.get(key) is None
    c.put(key, _entry())  # and the key still works afterwards
    assert c.get(key) is not None


def _same_key_writer(root: str, key: str, tag: bytes, n: int) -> None:
    c = ResultCache(root)
    for _ in range(n):
        c.put(key, _entry(200_000, tag))


def test_two_processes_writing_the_same_key_stay_consistent(tmp_path):
    key = cache_key({"shared": 1})
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_same_key_writer, args=(str(tmp_path), key, t, 15)) for t in (b"a", b"b")]
    for p in procs:
        p.start()
    c = ResultCache(tmp_path)
    seen = set()
    while any(p.is_alive() for p in procs):
        e = c.get(key)
        if e is not None:
            data = e.files["a.png"]
            assert data in (b"a" * 200_000, b"b" * 200_000)  # one writer's whole entry, never a mix
            seen.add(data[:1])
    for p in procs:
        p.join()
        assert p.exitcode == 0
    final = c.get(key)
    assert final is not None and final.files["a.png"] in (b"a" * 200_000, b"b" * 200_000)
