"""Command-line flags of ``python app.py`` and launching the server with them (analytics off, offline)."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import math
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from studio.cluster.config import add_cluster_flags, config_from
from studio.credentials.identity import IDENTITY_DIR
from studio.keys import BROWSER_STATE_FILE, KEY_FILE
from studio.server.fairness import QueueCaps
from studio.server.operators import Operators
from studio.settings import ROOT, Settings, default_cache_dir

if TYPE_CHECKING:
    from starlette.middleware import Middleware

log = logging.getLogger(__name__)


def offline_environment() -> None:
    """No outbound connection: Gradio analytics and version checks off, Hugging Face libraries offline."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("DO_NOT_TRACK", "1")


def parse_auth(text: str) -> tuple[str, str]:
    """``user:pass`` → (user, pass); raises ``argparse.ArgumentTypeError`` when malformed."""
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise argparse.ArgumentTypeError("--auth takes user:pass (both non-empty)")
    return user, password


DEVICES = "auto, cpu, cuda, cuda:N, mps"
_DEVICE = re.compile(r"auto|cpu|mps|cuda(:[0-9]+)?")


def _number(text: str, allowed: str, low: float, high: float = math.inf, low_open: bool = False) -> float:
    """A finite float from a flag's text within [low, high] (or (low, high]); the message says ``allowed``.

    argparse prefixes the message with the flag's name.
    """
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    too_low = value <= low if low_open else value < low
    if not math.isfinite(value) or too_low or value > high:
        raise argparse.ArgumentTypeError(f"must be {allowed}, got {text!r}")
    return value


def _fraction(text: str) -> float:
    return _number(text, "a fraction of GPU memory: a finite number from 0.05 to 1", 0.05, 1.0)


def _positive(text: str) -> float:
    return _number(text, "a finite positive number", 0.0, low_open=True)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 65535, got {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be from 1 to 65535, got {value}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _device(text: str) -> str:
    value = text.strip().lower()
    if not _DEVICE.fullmatch(value):
        raise argparse.ArgumentTypeError(f"must be one of {DEVICES}, got {text!r}")
    return value


def device_problem(device: str) -> str | None:
    """Why ``device`` cannot be used on this machine, or None if it can (``auto`` always can).

    Imports torch, so ``main`` calls it only after the flags parsed.
    """
    if device in ("auto", "cpu"):
        return None
    import torch

    if device == "mps":
        if not torch.backends.mps.is_available():
            return "--device mps: no Apple GPU (MPS) is available here; use --device cpu or auto"
        return None
    if not torch.cuda.is_available():
        return f"--device {device}: no CUDA GPU is available here (torch sees none); use --device cpu or auto"
    _, _, index = device.partition(":")
    count = torch.cuda.device_count()
    if index and int(index) >= count:
        return f"--device {device}: this machine has {count} CUDA GPU(s), numbered cuda:0 to cuda:{count - 1}"
    return None


def build_parser() -> argparse.ArgumentParser:
    """The flags of ``python app.py``."""
    p = argparse.ArgumentParser(description="Serve the studio (Text, Image, Music, Terrain) in the browser.")
    p.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=7860, help="port, 1-65535 (default 7860)")
    p.add_argument("--share", action="store_true", help="also make a public link (needs --auth)")
    p.add_argument(
        "--auth",
        type=parse_auth,
        action="append",
        default=None,
        metavar="USER:PASS",
        help="require a login (repeatable, one per user)",
    )
    p.add_argument(
        "--admin",
        action="append",
        default=[],
        metavar="USER",
        help="a --auth user who operates the studio: may unload models for everyone (repeatable); without --auth "
        "and --share the operator is whoever browses from this machine",
    )
    p.add_argument(
        "--trainers",
        choices=("operators", "everyone"),
        default="operators",
        help="who may start, stop and resume training runs (they hold the device and their models are listed for "
        "everyone): the operators (default) or every visitor",
    )
    p.add_argument(
        "--api-key",
        action="append",
        default=[],
        metavar="KEY",
        help="require this key (Authorization: Bearer KEY) on the OpenAI /v1 and A1111 /sdapi/v1 APIs "
        "(repeatable); with --auth they also take a USER:PASS login",
    )
    p.add_argument("--share-without-auth", action="store_true", help="allow --share without --auth (anyone can use it)")
    p.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help=f"results, converted models, outputs (default {default_cache_dir()})",
    )
    p.add_argument(
        "--gpu-budget", type=_fraction, default=0.9, help="fraction of GPU memory models may use (default 0.9)"
    )
    p.add_argument("--ram-budget", type=_positive, default=8.0, help="GB of RAM models may use (default 8)")
    p.add_argument(
        "--model-dir", type=Path, action="append", default=[], help="a folder of HF-format models (repeatable)"
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        action="append",
        default=[],
        help="a server folder the Train tab may read training pictures from (repeatable; nothing outside is read)",
    )
    p.add_argument("--device", type=_device, default="auto", help=f"compute device: {DEVICES} (default auto)")
    p.add_argument("--result-cache-gb", type=_positive, default=2.0, help="size of the result cache (default 2 GB)")
    caps = QueueCaps()
    p.add_argument(
        "--max-jobs-per-visitor",
        type=_count,
        default=caps.per_visitor,
        help=f"requests one browser session may have waiting or running (default {caps.per_visitor})",
    )
    p.add_argument(
        "--max-jobs-per-address",
        type=_count,
        default=caps.per_address,
        help=f"requests one client address may have waiting or running (default {caps.per_address}); through "
        "the --share tunnel all visitors may have the tunnel's one address",
    )
    p.add_argument("--outputs-gb", type=_positive, default=5.0, help="size of outputs/, oldest pruned (default 5 GB)")
    p.add_argument("--gradio-temp-gb", type=_positive, default=2.0, help="size of Gradio's temp folder (default 2 GB)")
    p.add_argument("--temp-age-min", type=_positive, default=60.0, help="Gradio deletes its temp files after (60)")
    add_cluster_flags(p)
    p.add_argument(
        "--c2pa-cert",
        type=Path,
        default=None,
        help="your organisation's signing certificate chain (PEM, signer first) for Content Credentials; default: "
        "a certificate this installation makes for itself (verifiers call it untrusted)",
    )
    p.add_argument("--c2pa-key", type=Path, default=None, help="the private key (PEM) of --c2pa-cert")
    p.add_argument(
        "--prompt-policy",
        default=None,
        metavar="FILE",
        help="refuse prompts matching the terms and patterns in FILE ('default': the short built-in list; 'off': "
        "none); default: the built-in list when the studio is shared (--share, or --host not loopback), else off",
    )
    return p


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def prompt_policy_from(args: argparse.Namespace) -> str | None:
    """The ``Settings.prompt_policy`` the flags ask for: on by default when strangers can reach the studio."""
    if args.prompt_policy == "off":
        return None
    if args.prompt_policy is not None:
        return str(args.prompt_policy)
    return "default" if args.share or args.host not in LOOPBACK else None


def settings_from(args: argparse.Namespace) -> Settings:
    """``Settings`` from parsed flags."""
    kwargs = {
        "model_dirs": tuple(args.model_dir),
        "data_dirs": tuple(args.data_dir),
        "device": args.device,
        "gpu_budget_fraction": args.gpu_budget,
        "ram_budget_gb": args.ram_budget,
        "result_cache_gb": args.result_cache_gb,
        "outputs_gb": args.outputs_gb,
        "gradio_temp_gb": args.gradio_temp_gb,
        "temp_age_min": args.temp_age_min,
        "c2pa_cert": args.c2pa_cert,
        "c2pa_key": args.c2pa_key,
        "prompt_policy": prompt_policy_from(args),
    }
    if os.environ.get("GRADIO_TEMP_DIR"):  # the user's choice wins over cache_dir/gradio
        kwargs["gradio_temp"] = Path(os.environ["GRADIO_TEMP_DIR"])
    if args.cache_dir is not None:
        kwargs["cache_dir"] = args.cache_dir
    return Settings(**kwargs)


def blocked_paths(settings: Settings) -> list[str]:
    """Folders and files Gradio must never serve, whatever a handler returns: the studio's code and git folder (the
    working directory Gradio would otherwise allow), and the cache folder's private parts (results, converted models,
    the server's key). Defence in depth: no handler hands out a path from a browser (``studio/outputs.py``)."""
    cache = settings.cache_dir
    private = [ROOT / ".git", ROOT / "studio", ROOT / "tests", ROOT / "scripts", ROOT / ".ci"]
    private += [settings.results_dir, settings.converted_dir, cache / KEY_FILE, cache / BROWSER_STATE_FILE]
    private += [settings.training_dir, cache / IDENTITY_DIR]  # training runs; the Content Credentials signing key
    return [str(p) for p in private]


def front_door(args: argparse.Namespace) -> list[Middleware]:
    """The ASGI middleware in front of Gradio's routes, outermost first."""
    from starlette.middleware import Middleware

    from studio.server.api_keys import ApiKeys
    from studio.server.fairness import QueueFairness
    from studio.server.login_throttle import REFUSAL_SCRIPT, LoginThrottle
    from studio.server.schema_guard import HideSchemaBeforeLogin

    caps = QueueCaps(per_visitor=args.max_jobs_per_visitor, per_address=args.max_jobs_per_address)
    return [
        Middleware(HideSchemaBeforeLogin, script=REFUSAL_SCRIPT),
        Middleware(LoginThrottle),
        Middleware(QueueFairness, caps=caps),
        Middleware(ApiKeys, keys=args.api_key, logins=args.auth or []),
    ]


def main(argv: list[str] | None = None) -> None:
    """Parse flags, build the services and the UI, and serve until interrupted."""
    offline_environment()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.share and args.auth is None and not args.share_without_auth:
        parser.error("--share makes the studio public: give --auth user:pass, or --share-without-auth if you mean it")
    users = {user for user, _ in args.auth or []}
    strangers = sorted(set(args.admin) - users)
    if strangers:
        parser.error(f"--admin {strangers[0]}: not a --auth user (give --auth {strangers[0]}:PASS too)")
    if (args.c2pa_cert is None) != (args.c2pa_key is None):
        parser.error("--c2pa-cert and --c2pa-key go together: give both, or neither for the self-made certificate")
    problem = device_problem(args.device)
    if problem:
        parser.error(problem)
    try:
        cluster = config_from(args)
    except ValueError as exc:
        parser.error(str(exc))
    if cluster is not None and importlib.util.find_spec("ray") is None:
        parser.error("--ray needs Ray Serve, an optional part: pip install -r requirements-cluster.txt")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    settings = settings_from(args)
    # Gradio reads its temp folder from the environment, partly at import: a folder of this studio's own (not the
    # machine-wide /tmp/gradio) is one the janitor may prune without touching another app's files.
    os.environ["GRADIO_TEMP_DIR"] = str(settings.gradio_temp_dir)
    from studio.api import api_routes
    from studio.services import build_services
    from studio.ui.app import CSS, HEAD, build_app, theme

    try:
        services = build_services(settings, cluster)
    except ValueError as exc:  # a bad --c2pa-cert/--c2pa-key or --prompt-policy file
        parser.error(str(exc))
    services.memory.start_idle_reaper()
    operators = Operators.from_flags(
        args.admin, has_auth=args.auth is not None, share=args.share, trainers=args.trainers
    )
    if args.auth is not None and not args.admin:
        log.info("no --admin named: nobody may unload models from the Loaded models panel")
    demo = build_app(services, operators)
    # api_open=False: queued events can only be reached through the queue (and its caps), not /gradio_api/run/.
    demo.queue(max_size=64, default_concurrency_limit=1, api_open=False)
    if args.share:
        log.info("asking for a public link; if no tunnel can be made the studio keeps serving locally")
    janitor = services.janitor
    if janitor is not None:
        janitor.start()
    try:
        demo.launch(
            # The OpenAI and A1111 routes join Gradio's own on its FastAPI app, behind the same front door.
            app_kwargs={"middleware": front_door(args), "routes": api_routes(services)},
            run_history=False,  # the studio keeps its own History; Gradio's page would be one more way in
            server_name=args.host,
            server_port=args.port,
            share=args.share,
            auth=args.auth,
            allowed_paths=[str(services.settings.outputs_dir)],
            blocked_paths=blocked_paths(services.settings),
            max_file_size="50mb",
            theme=theme(),
            css=CSS,
            head=HEAD,
            footer_links=["api", "settings"],
            show_error=True,
        )
    finally:
        if janitor is not None:
            janitor.stop()
