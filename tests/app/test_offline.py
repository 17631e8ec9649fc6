"""The studio makes no outbound connection: a server started with none of the offline variables set (app.py sets
its own) is watched by a Python audit hook that records every name lookup and connection to a host that is not
this machine, while a browser-like visitor loads the page and generates an image and a terrain."""

from __future__ import annotations

import os

from tests.app.conftest import start_server

# Runs app.py with an audit hook: any lookup of or connection to a non-loopback host is appended to OUTBOUND.
WATCHED_APP = """
import os, runpy, sys
LOCAL = {"127.0.0.1", "::1", "localhost", "0.0.0.0", None}
def hook(event, args):
    if event in ("socket.getaddrinfo", "socket.connect"):
        host = args[0] if event == "socket.getaddrinfo" else args[1]
        host = host[0] if isinstance(host, tuple) else host
        if isinstance(host, bytes):
            host = host.decode()
        if isinstance(host, str) and host.startswith("/"):
            return  # a Unix socket
        if host not in LOCAL:
            with open(os.environ["OUTBOUND"], "a") as f:
                f.write(f"{event} {host!r}\\n")
sys.addaudithook(hook)
sys.argv = ["app.py", *sys.argv[1:]]
runpy.run_path("app.py", run_name="__main__")
"""

OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "GRADIO_ANALYTICS_ENABLED", "HF_HUB_DISABLE_TELEMETRY")


def test_no_outbound_connection(tmp_path):
    import urllib.request

    from gradio_client import Client

    outbound = tmp_path / "outbound.txt"
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE_VARS}
    env.update(OUTBOUND=str(outbound), PYTHONUNBUFFERED="1")
    proc, url = start_server(tmp_path, program=("-c", WATCHED_APP), env=env)
    try:
        urllib.request.urlopen(url, timeout=30).read()
        client = Client(url, analytics_enabled=False, verbose=False, download_files=False)
        client.predict(prompt="red apple", num_steps=2, seed=1, api_name="/image")  # loads MiniLM + the UNet
        client.predict(prompt="archipelago", size_px=129, seed=1, api_name="/terrain")
    finally:
        proc.terminate()
        proc.wait(20)
    assert not outbound.exists(), outbound.read_text()
