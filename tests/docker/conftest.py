"""Fixtures for the container tests: podman, and the image built from the working tree."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BASE_IMAGE = os.environ.get("SLEEPENV_BASE_IMAGE", "localhost/sleepenv-base:bookworm")
TAG = "localhost/sleepenv:test"
ADDON_TAG = "localhost/sleepenv-addon:test"


def podman_path() -> str:
    """Path of podman; fails in CI (and by default), skips only when asked to locally."""
    podman = shutil.which("podman")
    if podman is not None:
        return podman
    if os.environ.get("SLEEPENV_SKIP_CONTAINER") == "1" and not os.environ.get("CI"):
        pytest.skip("podman missing and SLEEPENV_SKIP_CONTAINER=1")
    pytest.fail("podman is not installed: run scripts/podman-setup (.ci/ship-checks does)")


def run(*argv: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command, keeping its output for the failure message."""
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        pytest.fail(f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def image() -> str:
    """The service image, built once per session from the working tree."""
    podman = podman_path()
    if run(podman, "image", "exists", BASE_IMAGE, check=False).returncode != 0:
        # Idempotent and quick when done; about a minute the first time.
        run(str(ROOT / "scripts/podman-setup"), timeout=900)
    env = {**os.environ, "BASE_IMAGE": BASE_IMAGE, "CONTAINER_ENGINE": podman}
    proc = subprocess.run(
        [str(ROOT / "scripts/build-image"), TAG],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env=env,
    )
    if proc.returncode != 0:
        pytest.fail(f"image build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return TAG


@pytest.fixture(scope="session")
def addon_image(image: str) -> str:
    """The add-on image (docker/addon/Dockerfile) on top of the service image."""
    run(
        podman_path(), "build", "--format", "docker", "--build-arg", f"BUILD_FROM={image}",
        "-t", ADDON_TAG, str(ROOT / "docker/addon"),
    )  # fmt: skip
    return ADDON_TAG
