"""The Train tab's example data: Fashion-MNIST (Debian's dataset-fashion-mnist) and Twemoji, as data checks."""

from __future__ import annotations

import pytest

from studio.training.data_check import DataError
from studio.training.examples import FASHION_DIR, example_data


@pytest.mark.skipif(not FASHION_DIR.is_dir(), reason="dataset-fashion-mnist is not installed (scripts/install.sh)")
def test_fashion_mnist() -> None:
    report = example_data("fashion-mnist", limit=12)
    assert report.images.shape == (12, 64, 64, 3)
    assert report.captions[:2] == ["ankle boot", "t-shirt"]  # the first two training labels are 9 and 0
    assert report.images[:, 0, 0].min() > 200, "clothes are drawn dark on white, like the other pictures"
    assert "MIT" in report.source and len(report.manifest_hash) == 64


def test_twemoji_and_unknown_names() -> None:
    report = example_data("twemoji", limit=5)
    assert report.usable == 5 and all(report.captions)
    with pytest.raises(DataError, match="not one of"):
        example_data("imagenet")
