from __future__ import annotations

import threading
import time

import pytest
import torch

from studio.memory import MemoryManager, OutOfMemory, model_bytes


def linear(n: int) -> torch.nn.Module:
    """A module of exactly n*n*4 + n*4 bytes (fp32 weight and bias)."""
    return torch.nn.Linear(n, n)


def nbytes(n: int) -> int:
    return n * n * 4 + n * 4


def test_model_bytes_counts_parameters_buffers_and_shared_storage_once():
    m = torch.nn.Sequential(torch.nn.Linear(10, 10), torch.nn.BatchNorm1d(10))
    expected = (100 + 10) * 4 + (10 + 10) * 4 + (10 + 10) * 4 + 8  # linear, bn affine, running stats, num_batches
    assert model_bytes(m) == expected
    tied = torch.nn.Sequential(torch.nn.Linear(8, 8, bias=False), torch.nn.Linear(8, 8, bias=False))
    tied[1].weight = tied[0].weight
    assert model_bytes(tied) == 8 * 8 * 4


def test_holder_objects_are_measured():
    class Holder:
        def __init__(self):
            self.a = linear(4)
            self.b = linear(8)
            self.name = "x"

    assert model_bytes(Holder()) == nbytes(4) + nbytes(8)


def test_loads_once_and_counts_bytes():
    mm = MemoryManager(device="cpu", ram_budget_bytes=10**9)
    calls = []

    def loader():
        calls.append(1)
        return linear(16)

    with mm.acquire("a", loader) as m1:
        pass
    with mm.acquire("a", loader) as m2:
        assert m2 is m1
    assert len(calls) == 1
    assert mm.used_bytes("cpu") == nbytes(16)
    assert mm.snapshot()[0]["key"] == "a"


def test_lru_eviction_order():
    budget = nbytes(16) * 2 + 10
    mm = MemoryManager(device="cpu", ram_budget_bytes=budget)
    for k in ("a", "b"):
        with mm.acquire(k, lambda: linear(16)):
            pass
        time.sleep(0.01)
    with mm.acquire("a", lambda: linear(16)):  # a is now the most recent
        pass
    with mm.acquire("c", lambda: linear(16)):
        pass
    assert "b" not in mm and "a" in mm and "c" in mm
    assert mm.used_bytes("cpu") <= budget


def test_leased_models_are_never_evicted():
    mm = MemoryManager(device="cpu", ram_budget_bytes=nbytes(16) + 10)
    with mm.acquire("a", lambda: linear(16)) as a, mm.acquire("b", lambda: linear(16)):
        assert "a" in mm  # over budget, but a is leased
        assert a.weight.shape == (16, 16)
    with mm.acquire("c", lambda: linear(16)):
        pass
    assert "c" in mm and mm.used_bytes("cpu") <= nbytes(16) + 10


def test_concurrent_acquires_load_once_and_stay_consistent():
    mm = MemoryManager(device="cpu", ram_budget_bytes=nbytes(32) * 3 + 10)
    loads: dict[str, int] = {}
    lock = threading.Lock()
    errors: list[BaseException] = []

    def loader(key):
        def load():
            with lock:
                loads[key] = loads.get(key, 0) + 1
            time.sleep(0.01)
            return linear(32)

        return load

    def worker(i):
        try:
            for j in range(20):
                key = f"m{(i + j) % 5}"
                with mm.acquire(key, loader(key)) as m:
                    out = m(torch.ones(1, 32))
                    assert out.shape == (1, 32)
        except BaseException as exc:  # collected and re-raised by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(r["leases"] == 0 for r in mm.snapshot())
    assert mm.used_bytes("cpu") <= nbytes(32) * 3 + 10


def test_same_key_loaded_once_under_contention():
    mm = MemoryManager(device="cpu", ram_budget_bytes=10**9)
    count = []
    barrier = threading.Barrier(8)

    def load():
        count.append(1)
        time.sleep(0.05)
        return linear(8)

    def worker():
        barrier.wait()
        with mm.acquire("same", load):
            pass

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(count) == 1


def test_out_of_memory_evicts_and_retries_once():
    mm = MemoryManager(device="cpu", ram_budget_bytes=10**9)
    with mm.acquire("idle", lambda: linear(8)):
        pass
    attempts = []

    def fn(model):
        attempts.append("idle" in mm)
        if len(attempts) == 1:
            raise torch.OutOfMemoryError("injected")
        return "ok"

    assert mm.run("big", lambda: linear(8), fn) == "ok"
    assert attempts == [True, False]  # the idle model was evicted before the retry


def test_out_of_memory_twice_gives_a_clear_error():
    mm = MemoryManager(device="cpu", ram_budget_bytes=10**9)

    def fn(model):
        raise torch.OutOfMemoryError("injected")

    with pytest.raises(OutOfMemory, match="even after unloading"):
        mm.run("big", lambda: linear(8), fn)
    # The model stays loaded for the next (smaller) request, and no lease is left behind to pin it.
    assert [(r["key"], r["leases"]) for r in mm.snapshot()] == [("big", 0)]


def test_loader_error_leaves_no_lease_and_no_entry():
    mm = MemoryManager(device="cpu", ram_budget_bytes=10**9)

    def bad():
        raise ValueError("broken weights")

    with pytest.raises(ValueError), mm.acquire("bad", bad):
        pass
    assert "bad" not in mm


def test_idle_models_are_reaped_and_unload_respects_leases():
    mm = MemoryManager(device="cpu", ram_budget_bytes=10**9, idle_timeout_s=60)
    with mm.acquire("a", lambda: linear(4)):
        assert mm.unload("a") is False
    assert mm.reap_idle(now=time.monotonic() + 30) == []
    assert mm.reap_idle(now=time.monotonic() + 61) == ["a"]
    assert "a" not in mm


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_tiers_move_down_then_unload():
    per = nbytes(1024)
    mm = MemoryManager(
        device="cuda", gpu_total_bytes=int(per * 2.5), gpu_budget_fraction=1.0, ram_budget_bytes=per + 10
    )
    for k in ("a", "b", "c"):
        with mm.acquire(k, lambda: linear(1024)) as m:
            assert m.weight.is_cuda
        time.sleep(0.01)
    assert mm.tier_of("a") == "cpu" and mm.tier_of("c") == "gpu"
    with mm.acquire("d", lambda: linear(1024)):
        pass
    assert "a" not in mm  # pushed off the CPU tier too
    with mm.acquire("b", lambda: linear(1024)) as m:
        assert m.weight.is_cuda
