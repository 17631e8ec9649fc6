"""The command line: ``python -m studio <command> ...``.

Each command is a module of this package with ``add_parser(subparsers)`` and ``run(args) -> int`` (the exit code);
``COMMANDS`` lists them in the order ``--help`` shows them. A command imports what it needs inside ``run`` so that
``--help`` stays fast and one command's optional dependencies never load for another.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from studio.launch import offline_environment

COMMANDS = ("generate", "models", "train", "verify")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    offline_environment()
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING)
    top = argparse.ArgumentParser(prog="python -m studio", description="The studio from the shell.")
    sub = top.add_subparsers(dest="command", required=True)
    modules = {name: importlib.import_module(f"studio.cli.{name}") for name in COMMANDS}
    for module in modules.values():
        module.add_parser(sub)
    args = top.parse_args(argv)
    return int(modules[args.command].run(args))
