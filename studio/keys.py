"""The server's own secret key: made once on first start, kept in the cache folder, readable by the owner only.

It names output folders (``studio/outputs.py``) so they cannot be guessed, and it never leaves the server: nothing
sends it to a browser, and no folder the studio serves holds it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

KEY_FILE = "server-key"
KEY_BYTES = 32
# Beside it, the key Gradio's BrowserState encrypts the History with in the browser (``studio/ui/history.py``): it
# is handed to every page, so it is no secret, but no route serves the file either.
BROWSER_STATE_FILE = "browser-state-secret"


def server_key(cache_dir: Path) -> bytes:
    """The key in ``cache_dir/server-key``, made (owner-only) if it is missing or unreadable as one."""
    path = cache_dir / KEY_FILE
    with contextlib.suppress(OSError, ValueError):
        key = bytes.fromhex(path.read_text().strip())
        if len(key) == KEY_BYTES:
            return key
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    tmp = path.with_name(f".{KEY_FILE}-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key.hex())
    try:
        os.link(tmp, path)  # never replaces a key another process made first
    except FileExistsError:
        key = bytes.fromhex(path.read_text().strip())  # that one wins
    finally:
        os.unlink(tmp)
    return key
