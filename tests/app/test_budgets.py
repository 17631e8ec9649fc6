"""Disk budgets through a real server: after many terrain requests outputs/ and Gradio's temp folder stay in budget."""

from __future__ import annotations

import os
import time
from pathlib import Path

from studio.janitor import folder_bytes
from tests.app.conftest import start_server, stop_server

BUDGET_GB = 0.003  # about three 129-pixel terrain results
BUDGET = int(BUDGET_GB * 1024**3)


def _within_budget(folders: list[Path], patience_s: float = 60.0) -> dict[Path, int]:
    """Each folder's bytes once the janitor (nudged after every request) has caught up; gives up after a while."""
    deadline = time.time() + patience_s
    while True:
        sizes = {f: folder_bytes(f) for f in folders}
        if all(n <= BUDGET for n in sizes.values()) or time.time() > deadline:
            return sizes
        time.sleep(0.2)


def test_outputs_and_gradio_temp_stay_within_their_budgets(tmp_path):
    from gradio_client import Client

    env = {k: v for k, v in os.environ.items() if k != "GRADIO_TEMP_DIR"}
    env.update(GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    proc, url = start_server(
        tmp_path,
        "--outputs-gb",
        str(BUDGET_GB),
        "--gradio-temp-gb",
        str(BUDGET_GB),
        "--result-cache-gb",
        "0.01",
        env=env,
    )
    outputs, temp = tmp_path / "cache" / "outputs", tmp_path / "cache" / "gradio"
    try:
        client = Client(url, analytics_enabled=False, verbose=False, download_files=False)
        for seed in range(30):
            client.predict(prompt="gentle green hills", size_px=129, seed=seed, api_name="/terrain")
        assert folder_bytes(temp) > 0, "Gradio's temp folder is not under the cache folder"
        sizes = _within_budget([outputs, temp])
        assert all(n <= BUDGET for n in sizes.values()), sizes
        assert len(list(outputs.iterdir())) < 30
        *_, recipe, status = client.predict(prompt="gentle green hills", size_px=129, seed=99, api_name="/terrain")
        assert recipe["seed"] == 99 and "Generated" in status
    finally:
        stop_server(proc)
