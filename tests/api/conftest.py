"""One studio server for the text-side API tests: a tiny Llama folder and a tiny GGUF in --model-dir, an API key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.app.conftest import start_server, stop_server
from tests.generators.text.gguf_helpers import write_tiny_gguf
from tests.generators.text.helpers import save_tiny_llama

KEY = "test-key-123"


@pytest.fixture(scope="session")
def text_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("api-text-server")
    save_tiny_llama(tmp / "models" / "tiny-llama")
    write_tiny_gguf(tmp / "models" / "tiny.F32.gguf")  # listed and served when llama.cpp is installed
    proc, url = start_server(tmp, "--model-dir", str(tmp / "models"), "--api-key", KEY)
    yield url
    stop_server(proc)
