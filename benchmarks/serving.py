"""Round trips through a real studio server: a cache hit against Gradio's own floor (a trivial endpoint).

Used by each modality's benchmark: ``cache_hit_vs_floor("terrain", {...})`` starts the studio in-process on a
free port with one extra endpoint that returns its input, warms the cache with one call, then times N calls of
each, interleaved so drift hits both alike, through ``gradio_client`` and through raw HTTP.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _raw_call(url: str, api: str, data: list[Any]) -> None:
    req = urllib.request.Request(
        f"{url}gradio_api/call/{api}",
        data=json.dumps({"data": data}).encode(),
        headers={"Content-Type": "application/json"},
    )
    event = json.loads(urllib.request.urlopen(req, timeout=60).read())["event_id"]
    body = urllib.request.urlopen(f"{url}gradio_api/call/{api}/{event}", timeout=600).read().decode()
    if "event: error" in body:
        raise RuntimeError(body[-500:])


def cache_hit_vs_floor(
    api: str, kwargs: dict[str, Any], n: int = 20, cache_dir: Path | None = None
) -> dict[str, float]:
    """Median seconds of a cache-hit call of ``/api`` and of the trivial ``/floor``, and their ratio."""
    import gradio as gr
    from gradio_client import Client

    from studio.services import build_services
    from studio.settings import Settings
    from studio.ui.app import build_app

    cache_dir = cache_dir or Path(tempfile.mkdtemp(prefix="studio-bench-"))
    services = build_services(Settings(cache_dir=cache_dir))
    demo = build_app(services)
    with demo:
        box = gr.Textbox(visible=False)
        gr.Button(visible=False).click(lambda x: x, box, box, api_name="floor")
    demo.queue(max_size=64, default_concurrency_limit=1)
    port = _free_port()
    demo.launch(
        server_port=port, prevent_thread_lock=True, quiet=True, allowed_paths=[str(services.settings.outputs_dir)]
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        client = Client(url, analytics_enabled=False, verbose=False, download_files=False)
        client.predict(**kwargs, api_name=f"/{api}")  # fill the cache
        info = client.view_api(print_info=False, return_format="dict")["named_endpoints"][f"/{api}"]["parameters"]
        raw = [kwargs.get(p["parameter_name"], p.get("parameter_default")) for p in info]
        times: dict[str, list[float]] = {"client_hit": [], "client_floor": [], "http_hit": [], "http_floor": []}
        for _ in range(n):
            t = time.perf_counter()
            client.predict("x", api_name="/floor")
            times["client_floor"].append(time.perf_counter() - t)
            t = time.perf_counter()
            client.predict(**kwargs, api_name=f"/{api}")
            times["client_hit"].append(time.perf_counter() - t)
            t = time.perf_counter()
            _raw_call(url, "floor", ["x"])
            times["http_floor"].append(time.perf_counter() - t)
            t = time.perf_counter()
            _raw_call(url, api, raw)
            times["http_hit"].append(time.perf_counter() - t)
        med = {k: statistics.median(v) for k, v in times.items()}
        med["client_ratio"] = med["client_hit"] / med["client_floor"]
        med["http_ratio"] = med["http_hit"] / med["http_floor"]
        return med
    finally:
        demo.close()


def report(name: str, med: dict[str, float]) -> None:
    """Print a cache-hit measurement as a small table."""
    print(f"\n{name}: cache-hit round trip vs Gradio's floor (median of interleaved calls)")
    print(
        f"  gradio_client: hit {med['client_hit'] * 1000:7.1f} ms  floor {med['client_floor'] * 1000:7.1f} ms"
        f"  ratio {med['client_ratio']:.2f}x (target <= 1.2x)"
    )
    print(
        f"  raw HTTP     : hit {med['http_hit'] * 1000:7.1f} ms  floor {med['http_floor'] * 1000:7.1f} ms"
        f"  ratio {med['http_ratio']:.2f}x"
    )
