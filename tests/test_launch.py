from __future__ import annotations

import argparse

import pytest

from studio.launch import build_parser, main, parse_auth, settings_from


def test_auth_parsing():
    assert parse_auth("ann:s3cret:x") == ("ann", "s3cret:x")
    for bad in ("ann", ":pw", "ann:"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_auth(bad)


def test_share_without_auth_is_refused(capsys):
    with pytest.raises(SystemExit) as err:
        main(["--share"])
    assert err.value.code == 2
    assert "--auth" in capsys.readouterr().err


def test_flags_become_settings(tmp_path):
    args = build_parser().parse_args(
        ["--cache-dir", str(tmp_path), "--ram-budget", "3", "--gpu-budget", "0.5", "--model-dir", str(tmp_path)]
    )
    s = settings_from(args)
    assert s.cache_dir == tmp_path and s.ram_budget_gb == 3 and s.gpu_budget_fraction == 0.5
    assert s.model_dirs == (tmp_path,)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--gpu-budget", "3"])
