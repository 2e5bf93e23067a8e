"""Where a test Home Assistant comes from: scripts/ha-env, and its configuration.yaml."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from .transport import HomeAssistantError

REPO_ROOT = Path(__file__).resolve().parents[2]
HA_ENV_SCRIPT = REPO_ROOT / "scripts" / "ha-env"


@dataclass(frozen=True, slots=True)
class Installation:
    """Where `scripts/ha-env` put a Home Assistant: a chroot (`root`) or a host venv."""

    kind: str  # "chroot" or "venv"
    root: Path | None
    hass: str  # path of the hass executable, as seen inside the chroot if there is one
    version: str
    frontend: str = ""  # the home-assistant-frontend version installed ("" when none is)

    @classmethod
    def from_env_output(cls, text: str) -> Installation:
        """Parse the KEY=VALUE lines `scripts/ha-env` prints."""
        values = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
        root = values.get("ROOT", "")
        return cls(
            kind=values["KIND"],
            root=Path(root) if root else None,
            hass=values["HASS"],
            version=values["VERSION"],
            frontend=values.get("FRONTEND", ""),
        )

    def command(self, *args: str) -> list[str]:
        """The argv that runs `hass *args` in this installation."""
        if self.root is None:
            return [self.hass, *args]
        return ["chroot", str(self.root), self.hass, *args]


def build_installation(*, floor: bool = False, timeout_seconds: float = 1800.0) -> Installation:
    """Build (or reuse from the cache) a Home Assistant with `scripts/ha-env` and describe it."""
    argv = [str(HA_ENV_SCRIPT), *(["--floor"] if floor else [])]
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout_seconds, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise HomeAssistantError(f"{' '.join(argv)} took over {timeout_seconds} s") from exc
    if proc.returncode != 0:
        raise HomeAssistantError(
            f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}"
        )
    return Installation.from_env_output(proc.stdout)


def config_yaml(
    port: int, config_dir_inside: str, frontend_dir_inside: str | None, extra_yaml: str
) -> str:
    """configuration.yaml for a headless instance; paths as hass sees them.

    With `frontend_dir_inside` None, Home Assistant serves its real frontend (the installed
    home-assistant-frontend package) instead of an empty development repo.
    """
    # Without the home-assistant-frontend package Home Assistant would fall into recovery
    # mode (0.0.0.0:8123, no config entries); an empty development repo satisfies it.
    frontend = (
        "frontend:\n"
        if frontend_dir_inside is None
        else f"frontend:\n  development_repo: {frontend_dir_inside}\n"
    )
    return f"""\
homeassistant:
  name: sleepenv test
  latitude: 52.3731
  longitude: 4.8922
  elevation: 0
  unit_system: metric
  time_zone: Europe/Amsterdam
  currency: EUR
  country: NL
  language: en

http:
  server_host: 127.0.0.1
  server_port: {port}

api:
websocket_api:

{frontend}
recorder:
  db_url: sqlite:///{config_dir_inside}/home-assistant_v2.db
  commit_interval: 1

logger:
  default: warning
  logs:
    homeassistant.components.mqtt: info
    homeassistant.bootstrap: info
    homeassistant.setup: info

{extra_yaml}
"""
