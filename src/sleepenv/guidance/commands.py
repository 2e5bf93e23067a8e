"""What Home Assistant asks of a bedroom: its switches, its buttons and the habit buttons.

`GuidanceRunner` (`runner.py`) routes each command topic here. A command is checked
against what its entity can send, acted on by the bedroom's engine, and a retained one is
cleared instead. The Guidance and Guests switches are saved so that they survive a restart.
A habit entity of the bedroom (`habits:`, polled by the Home Assistant backend) presses its
habit button through the same path as the button itself.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sleepenv.clock import Clock
from sleepenv.config.settings import Settings
from sleepenv.guidance import discovery as gd
from sleepenv.guidance import switches
from sleepenv.guidance.core.guidance import Decision, Guidance
from sleepenv.mqtt.intake import Intake, clip
from sleepenv.rejection import Rejection

if TYPE_CHECKING:
    from sleepenv.guidance.runner import EveningListener, Outbox

# The runner's logger: these lines were always the runner's, and log set-ups filter on it.
log = logging.getLogger("sleepenv.guidance.runner")

COMMANDS = {
    "guidance": ("ON", "OFF"),
    "guests": ("ON", "OFF"),
    "start_wind_down": (gd.PRESS,),
    "snooze": (gd.PRESS,),
    **dict.fromkeys(gd.HABIT_BUTTONS, (gd.PRESS,)),
}
COMMAND_MAX_BYTES = 64


class CommandHandling:
    """The runner's command side: checks, switches, buttons, habits, retained commands.

    A mixin of `GuidanceRunner`, which sets the attributes and implements `apply` and
    `publish_states`.
    """

    settings: Settings
    clock: Clock
    engines: dict[str, Guidance]
    intake: Intake
    outbox: Outbox
    evenings: EveningListener | None
    switches_path: Path | None

    def apply(self, room: str, decision: Decision) -> None:
        """Send a decision's actions, log its reasons, publish changed states."""
        raise NotImplementedError

    def publish_states(self, room: str, *, force: bool = False) -> None:
        """Queue the bedroom's entity states and attributes that changed."""
        raise NotImplementedError

    def load_switches(self) -> None:
        """Turn the Guidance and Guests switches back to what they were when saved."""
        if self.switches_path is not None:
            switches.load(self.switches_path, self.engines)

    def _save_switches(self) -> None:
        if self.switches_path is None:
            return
        try:
            switches.save(self.switches_path, self.engines)
        except OSError as exc:
            log.warning("cannot save the guidance switches to %s: %s", self.switches_path, exc)

    def _clear_retained_command(self, topic: str, payload: bytes) -> None:
        """Ignore a retained command and delete it, so it is not replayed at every connect."""
        if not payload:
            return
        self.intake.reject(
            "command", topic, Rejection("retained_command", "commands act only when sent")
        )
        self.outbox.state(topic, b"")

    def _command(self, room: str, key: str, payload: bytes, now: float) -> None:
        if not payload:  # our own clearing of a retained command coming back
            return
        engine = self.engines[room]
        text = payload[:COMMAND_MAX_BYTES].decode(errors="replace").strip().upper()
        if len(payload) > COMMAND_MAX_BYTES or text not in COMMANDS.get(key, ()):
            detail = f"expected {' or '.join(COMMANDS.get(key, ()))}, got {clip(payload)!r}"
            topic = gd.command_topic(self.settings.mqtt, room, key)
            self.intake.reject("command", topic, Rejection("bad_command", detail))
            return
        log.info("bedroom %s: %s %s from Home Assistant", room, key, text)
        if key == "guidance" and text in ("ON", "OFF"):
            self.apply(room, engine.set_enabled(is_enabled=text == "ON", now=now))
            self._save_switches()
        elif key == "guests" and text in ("ON", "OFF"):
            self.apply(room, engine.set_paused(is_paused=text == "ON", now=now))
            self._save_switches()
        elif key == "start_wind_down" and text == gd.PRESS:
            self.apply(room, engine.start_wind_down(now))
        elif key == "snooze" and text == gd.PRESS:
            self.apply(room, engine.snooze(now))
        elif key in gd.HABIT_BUTTONS and text == gd.PRESS:
            self._habit(room, gd.HABIT_BUTTONS[key], now)

    def on_ha_habit(self, room: str, habit: str, entity_id: str) -> None:
        """A habit's Home Assistant entity counted as a press: as if its button was pressed."""
        log.info("bedroom %s: %s from Home Assistant entity %s", room, habit, entity_id)
        self._habit(room, habit, self.clock.now())

    def on_ha_rejection(self, entity_id: str, rejection: Rejection) -> None:
        """A habit entity's answer that could not be used: counted, logged rate-limited."""
        self.intake.reject("habit entity", entity_id, rejection)

    def _habit(self, room: str, habit: str, now: float) -> None:
        """A habit reported with its button: kept for the insights, answered in the Note."""
        if self.evenings is not None:
            self.evenings.on_habit(room, habit, now)
        tz = self.engines[room].config.tz
        local = datetime.fromtimestamp(now, tz).strftime("%H:%M")
        log.info("bedroom %s: %s", room, self.engines[room].habit_noted(habit, now, local, now))
        self.publish_states(room)
