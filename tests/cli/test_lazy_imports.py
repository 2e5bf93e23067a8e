"""`sleepenv run` loads what the service needs, not every command's tools; help is unchanged."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from sleepenv.cli.main import build_parser

# Modules of other commands: the simulator (demo's profiles), the evaluation (evaluate's
# detectors) and platformdirs (only when no data dir is configured).
NOT_FOR_RUN = ("sleepenv.sim", "sleepenv.evaluation", "platformdirs")

# What `sleepenv run` imports before it reads its config, in a fresh interpreter.
PROBE = """
import sys
from sleepenv.cli.main import build_parser
build_parser().parse_args(["run", "--config", "x.yaml"])
import sleepenv.bootstrap
print("\\n".join(sorted(sys.modules)))
"""


def _loaded(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


def test_run_imports_neither_the_simulator_nor_the_evaluation() -> None:
    loaded = _loaded(PROBE)
    assert "sleepenv.bootstrap" in loaded  # the probe did load the service
    found = sorted(m for m in loaded if m.startswith(NOT_FOR_RUN))
    assert found == []


def test_the_probe_sees_the_simulator_when_demo_checks_a_profile() -> None:
    # The same probe notices these modules when a command does load them.
    loaded = _loaded(PROBE.replace('"run", "--config", "x.yaml"', '"demo", "--profile", "noisy"'))
    assert "sleepenv.sim.profiles" in loaded


def _help(*argv: str) -> str:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return str(sub.choices[argv[0]].format_help())


def test_help_still_lists_the_profiles_and_detectors() -> None:
    from sleepenv.evaluation.report import DETECTOR_CHOICES  # noqa: PLC0415
    from sleepenv.sim.profiles import PROFILES  # noqa: PLC0415

    assert "--profile {" + ",".join(sorted(PROFILES)) + "}" in _help("demo")
    assert "--detector {" + ",".join(DETECTOR_CHOICES) + "}" in _help("evaluate")


@pytest.mark.parametrize(
    ("argv", "value"),
    [(["demo", "--profile", "bogus"], "bogus"), (["evaluate", "--detector", "nope"], "nope")],
)
def test_an_unknown_choice_is_refused_with_the_allowed_ones(
    argv: list[str], value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"invalid choice: '{value}' (choose from " in err


def test_known_choices_parse() -> None:
    args = build_parser().parse_args(["demo", "--profile", "noisy"])
    assert args.profile == "noisy"
    args = build_parser().parse_args(["evaluate", "--detector", "both"])
    assert args.detector == "both"
