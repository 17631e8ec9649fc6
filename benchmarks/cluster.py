"""Cluster benchmark: terrain throughput with 1 and 2 Serve replicas, and what Ray adds to one request's latency.

    python -m benchmarks.cluster                      # 8-request bursts at 257 px, 15 latency pairs at 129 px
    python -m benchmarks.cluster --burst 12 --size 513 --pairs 25

One local Ray instance (``ray.init(num_cpus=2)``); the terrain deployment gets 1 CPU per replica. Part 1: a burst of
``--burst`` terrain requests sent at once (one thread each, through ``Studio.generate`` with the cache off, so
every request is generated) to 1 replica, then to 2 (the deployment redeployed; each replica warmed first).
Reported: requests per second for each and the ratio (target >= 1.6x with 2 replicas on 2 cores). Part 2: one
request at a time, in-process ``Studio`` against the same ``Studio`` whose runner is the Ray deployment, runs
interleaved; reported: the median of each and the difference (target <= 50 ms added).

The figures depend on what else runs on the machine: two replicas can only be twice as fast when two cores are free.
The front end's share of each request (recipes embedded in six files, hashes) stays in the one front-end process, so
on 2 cores the ideal is below 2x: about 1.5x for 257 px terrain (0.7 s generating, 0.2 s front end, measured here).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any


def _burst(studio: Any, params: list[Any]) -> float:
    """Wall seconds for generating every ``params`` at once, one thread each."""
    errors: list[BaseException] = []

    def one(p: Any) -> None:
        try:
            studio.generate("terrain", p, use_cache=False)
        except BaseException as exc:  # reported after the burst
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(p,)) for p in params]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - start


def _deploy(settings: Any, replicas: int) -> Any:
    from studio.cluster.config import ClusterConfig, DeploymentSize
    from studio.cluster.runner import RayRunner

    config = ClusterConfig(sizes={"terrain": DeploymentSize(replicas=replicas, max_replicas=replicas, cpus=1.0)})
    return RayRunner.start(settings, config, ["terrain"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--burst", type=int, default=8, help="requests per burst (default 8)")
    parser.add_argument("--size", type=int, default=257, help="terrain size_px of the burst (default 257)")
    parser.add_argument("--pairs", type=int, default=15, help="latency runs of each kind (default 15)")
    args = parser.parse_args()

    import ray

    from studio.engine import Studio
    from studio.services import build_services
    from studio.settings import ROOT, Settings

    tmp = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    settings = Settings(cache_dir=tmp)
    local = build_services(settings).studio
    ray.init(
        num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}}
    )
    base = local.check("terrain", {"prompt": "rugged mountains with rivers", "size_px": args.size, "seed": 1})
    burst = [dataclasses.replace(base, seed=100 + i) for i in range(args.burst)]

    rates: dict[int, float] = {}
    runner = None
    for replicas in (1, 2):
        runner = _deploy(settings, replicas)
        remote = Studio(local.generators, local.catalog, local.memory, cache=None, runner=runner)
        _burst(remote, [dataclasses.replace(base, seed=i) for i in range(2 * replicas)])  # warm every replica
        wall = _burst(remote, burst)
        rates[replicas] = args.burst / wall
        spread = [r["served"] for r in runner.replicas(fresh=True)]  # warm-ups included: how Serve spread them
        rate = rates[replicas]
        print(f"{replicas} replica(s): {args.burst} requests of {args.size} px in {wall:.2f} s = {rate:.2f}/s", end="")
        print(f" (requests per replica, warm-ups included: {spread})")
    print(f"throughput, 2 replicas vs 1: {rates[2] / rates[1]:.2f}x (target >= 1.6x)")

    small = local.check("terrain", {"prompt": "rolling hills", "size_px": 129, "seed": 3})
    remote = Studio(local.generators, local.catalog, local.memory, cache=None, runner=runner)
    here: list[float] = []
    there: list[float] = []
    for i in range(args.pairs + 1):
        p = dataclasses.replace(small, seed=1000 + i)
        for studio, out in ((local, here), (remote, there)):
            t = time.perf_counter()
            studio.generate("terrain", p, use_cache=False)
            if i:  # the first pair warms both
                out.append(time.perf_counter() - t)
    med_here, med_there = statistics.median(here), statistics.median(there)
    print(
        f"one 129 px request: in-process {med_here * 1000:.0f} ms, through Ray Serve {med_there * 1000:.0f} ms, "
        f"added {(med_there - med_here) * 1000:+.0f} ms (median of {args.pairs}; target <= 50 ms)"
    )
    ray.shutdown()


if __name__ == "__main__":
    main()
