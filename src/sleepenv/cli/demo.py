"""`sleepenv demo`: a synthetic night through a local broker and the real service."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from sleepenv.cli.common import setup_logging
from sleepenv.cli.types import (
    LOG_LEVELS,
    MIN_DEMO_HOURS,
    SIM_PROFILES,
    add_lazy_choice,
    demo_hours,
    positive_float,
    tcp_port,
)

# Not sleepenv.demo.morning's constants: --help must not import the demo.
DEFAULT_OUT = "sleepenv-demo"
CHART_FILE = "night-chart.png"


def add_parser(sub: Any) -> None:
    """The demo command and its options."""
    demo = sub.add_parser(
        "demo",
        help="play a synthetic night; needs no hardware and no config",
        description="Play a compressed synthetic night through a local MQTT broker and the "
        "real service, with a simulated bedroom's guidance; then its morning, until the "
        "service closes the night, stores it and draws its chart (Home Assistant's image "
        f"of last night), which the demo saves as DIR/{CHART_FILE} and names at the end.",
    )
    demo.add_argument(
        "--speed",
        type=positive_float,
        default=1000.0,
        help="simulated seconds per real second (default 1000: 8 h in ~30 s)",
    )
    demo.add_argument("--seed", type=int, default=1, help="which synthetic night (default 1)")
    demo.add_argument(
        "--hours",
        type=demo_hours,
        default=8.0,
        help=f"length of the night, at least {MIN_DEMO_HOURS:g} (default 8)",
    )
    add_lazy_choice(
        demo,
        "--profile",
        SIM_PROFILES,
        default="clean",
        help="synthetic sleeper (default clean)",
    )
    demo.add_argument(
        "--keep-running",
        action="store_true",
        help="leave broker and service up afterwards (Ctrl-C to stop)",
    )
    demo.add_argument(
        "--port",
        type=tcp_port,
        default=None,
        help="port for the demo's own broker; refused if taken (default: a free one)",
    )
    demo.add_argument(
        "--broker",
        choices=("auto", "mosquitto", "amqtt"),
        default="auto",
        help="which local broker: Mosquitto from PATH, else embedded amqtt (default auto)",
    )
    demo.add_argument(
        "--log-level", type=str.upper, choices=LOG_LEVELS, help="log level (default WARNING)"
    )
    demo.add_argument(
        "--no-guidance", action="store_true", help="leave out the simulated bedroom's guidance"
    )
    demo.add_argument(
        "--out",
        metavar="DIR",
        default=DEFAULT_OUT,
        help=f"where the night's chart goes, as {CHART_FILE} (default {DEFAULT_OUT}/ in the "
        "current directory; a chart from an earlier demo there is replaced, and the demo says so)",
    )
    demo.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Play a synthetic night through a local broker and the real service."""
    from sleepenv.demo.run import run_demo  # noqa: PLC0415 - broker and simulator, only for demo

    setup_logging(args.log_level or "WARNING")
    # The embedded broker is chatty at WARNING about its own defaults.
    logging.getLogger("amqtt").setLevel(logging.ERROR)
    logging.getLogger("transitions").setLevel(logging.ERROR)
    return run_demo(args)
