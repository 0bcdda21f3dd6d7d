"""The `hotline` console script: parses the command line and hands off to each feature.

Subcommands import their feature lazily so `hotline staff` does not pay for the SIP stack.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hotline.config import ConfigError, HotlineConfig, load_config


def _config_from(args: argparse.Namespace) -> HotlineConfig:
    overrides: dict[str, Any] = {}
    for option, dotted in (
        ("sip_host", "sip.host"),
        ("sip_port", "sip.port"),
        ("web_host", "web.host"),
        ("web_port", "web.port"),
        ("database", "database.url"),
    ):
        value = getattr(args, option, None)
        if value is not None:
            overrides[dotted] = value
    return load_config(args.config, environ=os.environ, overrides=overrides)


def _serve(args: argparse.Namespace) -> int:
    from hotline.app import run_service

    config = _config_from(args)
    try:
        asyncio.run(run_service(config))
    except KeyboardInterrupt:
        pass
    return 0


def _prompts(args: argparse.Namespace, rest: list[str]) -> int:
    from prompts.build import main as build_main

    # The brand and hotline number come from the config unless given on the command line,
    # so a rebuild regenerates exactly the prompts that name them (issue 4).
    settings = _config_from(args).prompts
    defaults = [
        ("--brand-zh", settings.brand_zh),
        ("--brand-en", settings.brand_en),
        ("--hotline", settings.hotline_number),
    ]
    if settings.directory is not None:
        defaults.append(("--out", str(settings.directory)))
    for option, value in defaults:
        if not any(arg == option or arg.startswith(option + "=") for arg in rest):
            rest = [*rest, option, value]
    return int(build_main(rest))


def _report(args: argparse.Namespace, rest: list[str]) -> int:
    from hotline.report import run_report

    config = _config_from(args)
    return int(run_report(rest, database_url=config.database.url))


def _sim(args: argparse.Namespace, rest: list[str]) -> int:
    from sim.cli import sim_main

    return int(sim_main(rest))


def _staff(args: argparse.Namespace, rest: list[str]) -> int:
    from sim.cli import staff_main

    return int(staff_main(rest))


def _db_upgrade(args: argparse.Namespace) -> int:
    from hotline.db.migrate import upgrade

    config = _config_from(args)
    upgrade(config.database.url)
    print(f"database at {config.database.url} is at the latest schema")
    return 0


def _check_config(args: argparse.Namespace) -> int:
    config = _config_from(args)
    print(config.model_dump_json(indent=2))
    return 0


# Subcommands whose own parser takes the rest of the command line.
_PASSTHROUGH = {"prompts": _prompts, "report": _report, "sim": _sim, "staff": _staff}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hotline", description="Hotline call handling, IVR and ACD service"
    )
    parser.add_argument("--config", type=Path, default=None, help="YAML config file")
    parser.add_argument("--database", default=None, help="database URL (overrides config)")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the SIP, IVR, ACD and web service")
    serve.add_argument("--sip-host", default=None)
    serve.add_argument("--sip-port", type=int, default=None)
    serve.add_argument("--web-host", default=None)
    serve.add_argument("--web-port", type=int, default=None)
    serve.set_defaults(handler=_serve)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="migrate to the latest schema").set_defaults(
        handler=_db_upgrade
    )
    commands.add_parser("config", help="print the effective configuration").set_defaults(
        handler=_check_config
    )
    for name, helptext in (
        ("prompts", "prompt catalogue tools: `hotline prompts build`"),
        ("report", "SPEC-Q2 metrics from the database: --from --to --queue [--csv]"),
        ("sim", "simulate the ACD on virtual time (or --live against a service)"),
        ("staff", "Erlang C / Erlang A staffing"),
    ):
        commands.add_parser(name, help=helptext, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    try:
        if args.command in _PASSTHROUGH:
            return _PASSTHROUGH[args.command](args, rest)
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        return int(args.handler(args))
    except ConfigError as exc:
        print(f"hotline: configuration error:\n{exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
