"""A real studio server in a subprocess, on a free loopback port, with its own cache folder."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    tmp: Path,
    *extra: str,
    program: tuple[str, ...] = ("app.py",),
    env: dict[str, str] | None = None,
    deadline_s: float = 120.0,
) -> tuple[subprocess.Popen[bytes], str]:
    """``python app.py`` (or ``python *program``) on a free port with its own cache folder; (process, url)."""
    port = free_port()
    if env is None:
        env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    log = open(tmp / "server.log", "wb")  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen(
        [sys.executable, *program, "--port", str(port), "--cache-dir", str(tmp / "cache"), *extra],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + deadline_s
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {(tmp / 'server.log').read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"server did not answer: {(tmp / 'server.log').read_text()[-3000:]}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """End a server started by ``start_server``: terminate, then kill if it has not gone in 10 s."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("studio-server")
    proc, url = start_server(tmp)
    yield url
    stop_server(proc)


@pytest.fixture(scope="session")
def client(server: str):
    from gradio_client import Client

    return Client(server, analytics_enabled=False, verbose=False, download_files=False)
