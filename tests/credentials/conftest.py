"""Fixtures of the credentials and checker tests: one kit studio (``tests/kit_helpers.py``) per module."""

from __future__ import annotations

import pytest

from tests.kit_helpers import make_kit


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return make_kit(tmp_path_factory.mktemp("kit"))


@pytest.fixture(scope="module")
def kit_result(kit):
    return kit.generate("kit", kit.check("kit", {"prompt": "a test", "seed": 5}))
