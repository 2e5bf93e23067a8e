"""What the command modules share: config loading with exit 2, logging, stopping on signals.

A leaf below `cli/main.py`, `cli/guidance.py` and `cli/report.py`, so that none of them has to
import another command module (and the import graph stays acyclic).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from sleepenv.config.environment import environment_problems
from sleepenv.config.settings import ConfigError, Settings, load_yaml
from sleepenv.config.settings import check as check_settings

EXIT_CONFIG = 2
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)  # a service manager stopping us, and Ctrl-C


def setup_logging(level: str) -> None:
    """Plain, timestamped log lines on stderr."""
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def config_path(args: argparse.Namespace) -> Path | None:
    """The config file from `--config` or SLEEPENV_CONFIG, if either names one."""
    path = getattr(args, "config", None) or os.environ.get("SLEEPENV_CONFIG")
    return Path(path) if path else None


def load_or_exit(path: Path | None) -> Settings:
    """Load and fully check the config, or print every problem and exit 2.

    Every problem in one run: duplicate YAML keys, field errors, cross-field rules (ids,
    topics) and what needs the machine (time zones, TLS files, the data directory).
    """
    from sleepenv.bootstrap import check_environment  # noqa: PLC0415 - the service: ~70 ms off --help

    if path is None:
        return _fail_config(["no config file: pass --config FILE or set SLEEPENV_CONFIG"])
    try:
        data, problems = load_yaml(path)
    except ConfigError as exc:
        _fail_config(exc.problems, path)
    settings, invalid = check_settings(data)
    problems += invalid + environment_problems(data, settings)
    if settings is not None:
        problems += check_environment(settings)
    if problems or settings is None:
        _fail_config(list(dict.fromkeys(problems)), path)  # both env checks name zones
    return settings


def _fail_config(problems: list[str], path: Path | None = None) -> NoReturn:
    where = f" in {path}" if path else ""
    print(f"sleepenv: {len(problems)} config problem(s){where}:", file=sys.stderr)  # noqa: T201
    for line in problems:
        print(f"  - {line}", file=sys.stderr)  # noqa: T201 - a command prints
    raise SystemExit(EXIT_CONFIG)


def on_stop_signal(stop: Callable[[], object]) -> None:
    """Call `stop` in the running event loop on SIGTERM or SIGINT instead of dying at once."""
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop)


def data_dir_for(data_dir: str | None, settings: Settings | None) -> Path:
    """The data directory a command reads: `--data-dir`, else the config's (as the service
    resolves it), else the platform's user data directory."""
    if data_dir:
        return Path(data_dir)
    if settings is not None:
        from sleepenv.bootstrap import data_dir as configured  # noqa: PLC0415 - ~70 ms

        return configured(settings)
    import platformdirs  # noqa: PLC0415 - ~3 ms off --help

    return Path(platformdirs.user_data_dir("sleepenv", appauthor=False))
