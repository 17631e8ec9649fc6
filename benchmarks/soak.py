"""Soak: a real studio under a few hundred mixed requests; does its memory or any folder it writes keep growing?

    python -m benchmarks.soak                        # 200 requests (mostly terrain, some music), ~3 minutes
    python -m benchmarks.soak --requests 1000 --music-every 0

Starts ``python app.py`` on a free loopback port with its own cache folder and small disk budgets, sends the
requests one after another through ``gradio_client`` (terrain at 129 and 257 pixels, every fifth a repeat that the
result cache answers, every ``--music-every``-th a short music piece), samples the server's RSS (VmRSS) after each
and the folders' sizes as it goes. It prints the RSS slope per request (least squares over the second half, after
warm-up), the RSS once the server has idled ``--idle-s`` seconds, and each folder's size against its budget, then
stops the server. It gives up after ``--max-s`` seconds.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from studio.janitor import folder_bytes

ROOT = Path(__file__).resolve().parent.parent
GB = 1024**3


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` in MB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def slope(ys: list[float]) -> float:
    """Least-squares slope of ``ys`` against their index."""
    n = len(ys)
    if n < 2:
        return 0.0
    mx, my = (n - 1) / 2, sum(ys) / n
    return sum((x - mx) * (y - my) for x, y in enumerate(ys)) / sum((x - mx) ** 2 for x in range(n))


def start(cache_dir: Path, budgets: dict[str, float]) -> tuple[subprocess.Popen[bytes], str]:
    """``python app.py`` on a free loopback port with ``cache_dir`` (``<tmp>/cache``) and the budget flags."""
    from tests.app.conftest import start_server

    flags = [f"--{name}={value}" for name, value in budgets.items()]
    env = {k: v for k, v in os.environ.items() if k != "GRADIO_TEMP_DIR"}
    env.update(GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1")
    return start_server(cache_dir.parent, *flags, env=env)


def request_of(i: int, music_every: int) -> tuple[str, dict[str, Any]]:
    """The ``i``-th request: (api name, keyword arguments)."""
    if music_every and i % music_every == music_every - 1:
        return "/music", {"prompt": "calm folk melody in D minor", "duration_s": 4, "seed": i}
    seed = i - 5 if i % 5 == 4 else i  # every fifth repeats an earlier one: a cache hit
    return "/terrain", {
        "prompt": "snowy jagged mountains with a lake",
        "size_px": 257 if i % 3 == 0 else 129,
        "seed": seed,
    }


def soak(requests: int, music_every: int, budgets: dict[str, float], max_s: float, idle_s: float) -> dict[str, Any]:
    """Run the soak; returns the samples and the folders' final sizes."""
    from gradio_client import Client

    cache_dir = Path(tempfile.mkdtemp(prefix="studio-soak-")) / "cache"
    cache_dir.mkdir()
    proc, url = start(cache_dir, budgets)
    folders = {"outputs-gb": cache_dir / "outputs", "gradio-temp-gb": cache_dir / "gradio"}
    folders["result-cache-gb"] = cache_dir / "results"
    peaks = dict.fromkeys(folders, 0)
    rss: list[float] = []
    failed, began = 0, time.time()
    try:
        client = Client(url, analytics_enabled=False, verbose=False, download_files=False)
        rss_start = rss_mb(proc.pid)
        for i in range(requests):
            if time.time() - began > max_s:
                print(f"stopping after {i} requests: --max-s {max_s:.0f} reached")
                break
            api, kwargs = request_of(i, music_every)
            try:
                client.predict(**kwargs, api_name=api)
            except Exception as exc:  # a soak counts failures and goes on
                failed += 1
                print(f"request {i} ({api}) failed: {type(exc).__name__}: {exc}"[:300])
            rss.append(rss_mb(proc.pid))
            if i % 10 == 9:
                for name, f in folders.items():
                    peaks[name] = max(peaks[name], folder_bytes(f))
        time.sleep(2)  # the janitor is nudged after every request; let it finish the last sweep
        final = {name: folder_bytes(f) for name, f in folders.items()}
        time.sleep(idle_s)  # does the memory come back once the server is idle?
        rss_idle = rss_mb(proc.pid)
    finally:
        from tests.app.conftest import stop_server

        stop_server(proc)
    return {
        "rss": rss,
        "rss_start": rss_start,
        "rss_idle": rss_idle,
        "final": final,
        "peaks": peaks,
        "failed": failed,
        "elapsed_s": time.time() - began,
        "cache_dir": cache_dir,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=200, help="how many requests (default 200)")
    ap.add_argument("--music-every", type=int, default=10, help="every N-th request is music; 0: none (default 10)")
    ap.add_argument("--outputs-gb", type=float, default=0.05)
    ap.add_argument("--gradio-temp-gb", type=float, default=0.05)
    ap.add_argument("--result-cache-gb", type=float, default=0.05)
    ap.add_argument("--idle-s", type=float, default=15, help="idle this long before the last RSS sample (default 15)")
    ap.add_argument("--max-s", type=float, default=600, help="give up after this many seconds (default 600)")
    args = ap.parse_args()
    budgets = {
        "outputs-gb": args.outputs_gb,
        "gradio-temp-gb": args.gradio_temp_gb,
        "result-cache-gb": args.result_cache_gb,
    }
    out = soak(args.requests, args.music_every, budgets, args.max_s, args.idle_s)
    rss = out["rss"]
    half = rss[len(rss) // 2 :]
    print(f"\nsoak: {len(rss)} requests in {out['elapsed_s']:.0f} s, {out['failed']} failed")
    print(f"  RSS: {out['rss_start']:.0f} MB idle -> {rss[0]:.0f} after the first -> {rss[-1]:.0f} MB at the end")
    print(f"  RSS slope over the second half: {slope(half) * 1024:+.1f} KB/request ({len(half)} requests)")
    marks = [len(rss) * k // 4 for k in range(4)] + [len(rss) - 1]
    print("  RSS after request " + ", ".join(f"{m + 1}: {rss[m]:.0f}" for m in marks) + " MB")
    print(f"  RSS after {args.idle_s:.0f} s idle: {out['rss_idle']:.0f} MB")
    for name, budget_gb in budgets.items():
        budget = budget_gb * GB
        final, peak = out["final"][name], out["peaks"][name]
        verdict = "within" if final <= budget else "OVER"
        print(
            f"  {name[:-3]:13s}: {final / 1e6:7.1f} MB at the end, peak {peak / 1e6:7.1f} MB, budget"
            f" {budget / 1e6:6.1f} MB ({verdict})"
        )
    print(f"  (server log and folders in {out['cache_dir'].parent})")


if __name__ == "__main__":
    main()
