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


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--ram-budget", "inf"], "--ram-budget"),
        (["--ram-budget", "nan"], "--ram-budget"),
        (["--ram-budget", "0"], "--ram-budget"),
        (["--ram-budget", "lots"], "--ram-budget"),
        (["--result-cache-gb", "inf"], "--result-cache-gb"),
        (["--result-cache-gb", "-1"], "--result-cache-gb"),
        (["--gpu-budget", "nan"], "--gpu-budget"),
        (["--gpu-budget", "inf"], "--gpu-budget"),
    ],
)
def test_budgets_must_be_finite_positive_numbers(argv, words, capsys):
    with pytest.raises(SystemExit) as err:
        build_parser().parse_args(argv)
    assert err.value.code == 2
    message = capsys.readouterr().err
    assert words in message and "finite" in message and argv[1] in message


@pytest.mark.parametrize("port", ["0", "65536", "-1", "http", "1e3"])
def test_port_outside_1_to_65535_is_refused(port, capsys):
    with pytest.raises(SystemExit) as err:
        build_parser().parse_args(["--port", port])
    assert err.value.code == 2
    message = capsys.readouterr().err
    assert "--port" in message and "1" in message and "65535" in message


def test_valid_flags_are_kept():
    args = build_parser().parse_args(["--port", "65535", "--device", "CUDA:1", "--result-cache-gb", "0.5"])
    assert args.port == 65535 and args.device == "cuda:1" and args.result_cache_gb == 0.5
    for device in ("auto", "cpu", "cuda", "cuda:0", "mps"):
        assert build_parser().parse_args(["--device", device]).device == device


@pytest.mark.parametrize("device", ["gpu", "cuda:", "cuda:x", "cuda:-1", "tpu", ""])
def test_unknown_device_is_refused(device, capsys):
    with pytest.raises(SystemExit) as err:
        build_parser().parse_args(["--device", device])
    assert err.value.code == 2
    message = capsys.readouterr().err
    assert "--device" in message and "auto, cpu, cuda, cuda:N, mps" in message


@pytest.fixture
def no_server(monkeypatch):
    """``main`` must stop before building anything: building the services fails the test instead of serving."""
    import studio.services

    def refuse(*_args, **_kwargs):
        raise AssertionError("main() went on to build the services")

    monkeypatch.setattr(studio.services, "build_services", refuse)


@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_cuda_without_a_gpu_is_a_one_line_error(device, monkeypatch, capsys, no_server):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit) as err:
        main(["--device", device])
    assert err.value.code == 2
    message = capsys.readouterr().err
    assert "--device" in message and "no CUDA GPU" in message and "Traceback" not in message


def test_cuda_index_past_the_gpus_is_refused(monkeypatch, capsys, no_server):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(SystemExit) as err:
        main(["--device", "cuda:1"])
    assert err.value.code == 2
    assert "cuda:1" in capsys.readouterr().err


def test_mps_without_apple_gpu_is_refused(monkeypatch, capsys, no_server):
    import torch

    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(SystemExit) as err:
        main(["--device", "mps"])
    assert err.value.code == 2
    assert "--device" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "-2", "two"])
def test_queue_caps_must_be_whole_numbers_from_1(value, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--max-jobs-per-visitor", value])
    assert "--max-jobs-per-visitor" in capsys.readouterr().err


def test_auth_is_repeatable_one_user_each():
    args = build_parser().parse_args(["--auth", "ann:a", "--auth", "bob:b"])
    assert args.auth == [("ann", "a"), ("bob", "b")]


def test_admin_must_be_a_login_user(capsys):
    for argv in (["--admin", "ann"], ["--auth", "bob:pw", "--admin", "ann"]):
        with pytest.raises(SystemExit) as err:
            main(argv)
        assert err.value.code == 2
        assert "--admin ann: not a --auth user" in capsys.readouterr().err


def test_disk_budget_flags_become_settings(tmp_path, monkeypatch):
    monkeypatch.delenv("GRADIO_TEMP_DIR", raising=False)
    args = build_parser().parse_args(
        ["--cache-dir", str(tmp_path), "--outputs-gb", "0.5", "--gradio-temp-gb", "0.25", "--temp-age-min", "2"]
    )
    s = settings_from(args)
    assert (s.outputs_gb, s.gradio_temp_gb, s.temp_age_min) == (0.5, 0.25, 2)
    assert s.gradio_temp_dir == tmp_path / "gradio" and s.delete_cache == (120, 120)
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "mine"))
    assert settings_from(args).gradio_temp_dir == tmp_path / "mine"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--outputs-gb", "0"])
