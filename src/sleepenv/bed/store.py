"""SQLite store (WAL): every event, per-night totals, sensor cursors and counters.

Also each bedroom's screen minutes, night factors, habit presses, evening records (for
the chart) and its evening so far (the factor recorder's, for a restart). The tables are
in `bed/store_schema.py`; opening the file, and buffering and retrying the writes that
fail while the disk is away, in `bed/store_base.py` (whose docstring says how faults are
met).
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
from typing import Final

from sleepenv.bed.core.model import (
    CLASS_VALUES,
    MovementClass,
    MovementEvent,
    NightSummary,
    RestingMinute,
    SourceKind,
)
from sleepenv.bed.store_base import MAX_BUFFERED_WRITES, StorageError, StoreBase, Write
from sleepenv.bed.store_schema import SCHEMA

__all__ = ["MAX_BUFFERED_WRITES", "SCHEMA", "StorageError", "Store", "Write"]

log = logging.getLogger(__name__)

_INSERT_EVENT: Final = (
    "INSERT OR IGNORE INTO events (bed_id, night, sensor, onset_ms, offset_ms, peak,"
    " class, side, source, has_posture_change, is_truncated, is_lower_bound, strength,"
    " active_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


# A source's value as stored (see model.CLASS_VALUES: a member's .value is slow on 3.11).
_SOURCE_VALUES = {s: s.value for s in SourceKind}


class Store(StoreBase):
    """A small synchronous SQLite store; every write commits (events inside `batch()`
    at its end, before what they changed is published or acknowledged), so a SIGKILL
    loses nothing.

    Writes that fail are buffered in memory and retried (see `bed/store_base.py`).
    """

    def add_event(self, bed_id: str, night: str, event: MovementEvent) -> bool:
        """Store an event; False when the same sensor already has one at that onset.

        True while buffered: the tracker's own de-duplication covers a running service.
        Inside `batch()` it is committed with the batch.
        """
        row = (
            bed_id,
            night,
            event.sensor,
            round(event.onset * 1000),
            round(event.offset * 1000),
            event.peak,
            CLASS_VALUES[event.cls],
            event.side,
            _SOURCE_VALUES[event.source],
            int(event.has_posture_change),
            int(event.is_truncated),
            int(event.is_lower_bound),
            event.strength,
            None if event.active_seconds is None else round(event.active_seconds * 1000),
        )
        inserted = self._write(
            lambda db: db.execute(_INSERT_EVENT, row).rowcount == 1, is_plain=True
        )
        return inserted is not False

    def relabel_night(self, bed_id: str, night: str, events: list[MovementEvent]) -> None:
        """Make a night's stored events match its final labels, in one transaction.

        Events absent from `events` (glitches, the weaker sensor's copy of a movement on a
        two-sensor bed) are deleted; the others get their final class and side.
        """
        keep = {(e.sensor, round(e.onset * 1000)): e for e in events}

        def relabel(db: sqlite3.Connection) -> None:
            with db:
                db.execute("BEGIN")
                rows = db.execute(
                    "SELECT sensor, onset_ms FROM events WHERE bed_id=? AND night=?",
                    (bed_id, night),
                ).fetchall()
                for sensor, onset_ms in rows:
                    event = keep.get((sensor, onset_ms))
                    if event is None:
                        db.execute(
                            "DELETE FROM events WHERE bed_id=? AND sensor=? AND onset_ms=?",
                            (bed_id, sensor, onset_ms),
                        )
                    else:
                        db.execute(
                            "UPDATE events SET class=?, side=? WHERE bed_id=? AND sensor=?"
                            " AND onset_ms=?",
                            (event.cls.value, event.side, bed_id, sensor, onset_ms),
                        )

        self._write(relabel, ("relabel", bed_id, night))

    def events(self, bed_id: str, night: str) -> list[MovementEvent]:
        """A night's events in time order."""
        rows = self._db.execute(
            "SELECT sensor, onset_ms, offset_ms, peak, class, side, source, has_posture_change,"
            " is_truncated, is_lower_bound, strength, active_ms FROM events"
            " WHERE bed_id=? AND night=?"
            " ORDER BY onset_ms",
            (bed_id, night),
        )
        return [
            MovementEvent(
                onset=r[1] / 1000,
                offset=r[2] / 1000,
                peak=r[3],
                cls=MovementClass(r[4]),
                source=SourceKind(r[6]),
                sensor=r[0],
                side=r[5],
                has_posture_change=bool(r[7]),
                is_truncated=bool(r[8]),
                is_lower_bound=bool(r[9]),
                strength=r[10],
                active_seconds=None if r[11] is None else r[11] / 1000,
            )
            for r in rows
        ]

    def save_night(self, summary: NightSummary) -> None:
        """Insert or replace a night's totals."""
        row = (
            summary.bed_id,
            summary.night,
            summary.start,
            summary.end,
            json.dumps(summary.counts, sort_keys=True),
            summary.sleep_onset,
            summary.plm_index,
            summary.rejected,
            summary.waking_jerks,
            json.dumps([list(s) for s in summary.in_bed_spans]) if summary.in_bed_spans else None,
            summary.wake,
        )
        self._write(
            lambda db: db.execute(
                "INSERT OR REPLACE INTO nights (bed_id, night, start, end, counts, sleep_onset,"
                " plm_index, rejected, waking_jerks, in_bed_spans, wake)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                row,
            ),
            ("night", summary.bed_id, summary.night),
        )

    def nights(self, bed_id: str | None = None, limit: int = 14) -> list[NightSummary]:
        """The most recent nights first, for one bed or all."""
        query = (
            "SELECT bed_id, night, start, end, counts, sleep_onset, plm_index, rejected,"
            " waking_jerks, in_bed_spans, wake FROM nights"
        )
        args: tuple[object, ...] = ()
        if bed_id is not None:
            query += " WHERE bed_id=?"
            args = (bed_id,)
        query += " ORDER BY night DESC, bed_id LIMIT ?"
        rows = self._db.execute(query, (*args, limit)).fetchall()
        return [
            NightSummary(
                bed_id=r[0],
                night=r[1],
                start=r[2],
                end=r[3],
                counts=json.loads(r[4]),
                sleep_onset=r[5],
                plm_index=r[6],
                rejected=r[7],
                waking_jerks=r[8],
                in_bed_spans=_spans(r[9]),
                wake=r[10],
            )
            for r in rows
        ]

    def add_levels(self, bed_id: str, night: str, levels: list[RestingMinute]) -> None:
        """Per-minute resting levels of a night (occupancy is read from them after a restart)."""
        rows = [(bed_id, night, m.t, m.level, m.rhythm) for m in levels]

        def add(db: sqlite3.Connection) -> None:
            with db:
                db.executemany(
                    "INSERT OR REPLACE INTO levels (bed_id, night, t, level, rhythm)"
                    " VALUES (?,?,?,?,?)",
                    rows,
                )

        self._write(add)

    def levels(self, bed_id: str, night: str) -> list[RestingMinute]:
        """A night's per-minute resting levels, oldest first."""
        rows = self._db.execute(
            "SELECT t, level, rhythm FROM levels WHERE bed_id=? AND night=? ORDER BY t",
            (bed_id, night),
        ).fetchall()
        return [
            RestingMinute(float(t), float(level), None if rhythm is None else float(rhythm))
            for t, level, rhythm in rows
        ]

    def forget_levels(self, bed_id: str, keep_night: str) -> None:
        """Drop every night's levels but `keep_night`'s: only a running night needs them."""
        self._write(
            lambda db: db.execute(
                "DELETE FROM levels WHERE bed_id=? AND night<>?", (bed_id, keep_night)
            )
        )

    def checkpoint(self, bed_id: str, cursors: dict[str, float], counters: dict[str, int]) -> None:
        """Save sensor cursors and counters in one transaction."""
        cursor_rows = [(bed_id, k, t) for k, t in cursors.items()]
        counter_rows = [(bed_id, k, v) for k, v in counters.items()]

        def save(db: sqlite3.Connection) -> None:
            with db:
                db.execute("BEGIN")
                db.executemany("INSERT OR REPLACE INTO cursors VALUES (?,?,?)", cursor_rows)
                db.executemany("INSERT OR REPLACE INTO counters VALUES (?,?,?)", counter_rows)

        self._write(save, ("checkpoint", bed_id))

    def save_screen_minutes(self, room: str, evening: str, minutes: float) -> None:
        """Minutes a screen was on in the no-screen window (and after) on one evening."""
        self._write(
            lambda db: db.execute(
                "INSERT OR REPLACE INTO screen_minutes VALUES (?,?,?)", (room, evening, minutes)
            ),
            ("screen", room, evening),
        )

    def screen_minutes(self, room: str, limit: int = 14) -> dict[str, float]:
        """Screen minutes per evening, newest first."""
        rows = self._db.execute(
            "SELECT evening, minutes FROM screen_minutes WHERE room=? ORDER BY evening DESC"
            " LIMIT ?",
            (room, limit),
        )
        return {r[0]: r[1] for r in rows}

    def save_factors(self, room: str, evening: str, factors: dict[str, object]) -> None:
        """What preceded one evening's night in a bedroom (habits, room, schedule), as the
        JSON object the insights read back; a later save for the same evening replaces it."""
        text = json.dumps(factors, sort_keys=True)
        self._write(
            lambda db: db.execute(
                "INSERT OR REPLACE INTO night_factors VALUES (?,?,?)", (room, evening, text)
            ),
            ("factors", room, evening),
        )

    def factors(self, room: str, limit: int = 60) -> dict[str, dict[str, object]]:
        """Each stored evening's factors for a bedroom, newest first (unreadable rows, from
        a damaged file, are left out)."""
        rows = self._db.execute(
            "SELECT evening, factors FROM night_factors WHERE room=? ORDER BY evening DESC LIMIT ?",
            (room, limit),
        )
        out: dict[str, dict[str, object]] = {}
        for evening, text in rows:
            try:
                value = json.loads(text)
            except ValueError:
                continue
            if isinstance(value, dict):
                out[evening] = value
        return out

    def save_bedroom(self, room: str, evening: str, record: dict[str, object]) -> None:
        """One evening's bedroom as the night chart draws it (room temperatures, phases,
        screens, caffeine), as a JSON object; a later save for the same evening replaces it."""
        text = json.dumps(_finite(record), sort_keys=True, allow_nan=False)
        self._write(
            lambda db: db.execute(
                "INSERT OR REPLACE INTO night_bedroom VALUES (?,?,?)", (room, evening, text)
            ),
            ("bedroom", room, evening),
        )

    def bedroom(self, room: str, evening: str) -> dict[str, object] | None:
        """The bedroom record of one evening, None when none is stored (or unreadable)."""
        row = self._db.execute(
            "SELECT record FROM night_bedroom WHERE room=? AND evening=?", (room, evening)
        ).fetchone()
        return None if row is None else _json_object(row[0])

    def save_running_evening(self, room: str, state: dict[str, object]) -> None:
        """A bedroom's evening so far (what the factor recorder keeps until the night
        ends), as a JSON object, so that a restart resumes it; replaces the last one."""
        text = json.dumps(_finite(state), sort_keys=True, allow_nan=False)
        self._write(
            lambda db: db.execute(
                "INSERT OR REPLACE INTO evening_running VALUES (?,?)", (room, text)
            ),
            ("running evening", room),
        )

    def running_evening(self, room: str) -> dict[str, object] | None:
        """The bedroom's evening so far as last saved, None when none is (or unreadable:
        the evening then starts afresh rather than stopping the service)."""
        try:
            row = self._db.execute(
                "SELECT state FROM evening_running WHERE room=?", (room,)
            ).fetchone()
        except sqlite3.Error as exc:
            log.warning("cannot read %s's evening so far from %s: %s", room, self.path, exc)
            return None
        return None if row is None else _json_object(row[0])

    def rooms_with_factors(self) -> list[str]:
        """The bedrooms that have factors stored for any evening."""
        rows = self._db.execute("SELECT DISTINCT room FROM night_factors ORDER BY room")
        return [r[0] for r in rows]

    def add_press(self, room: str, habit: str, at: float) -> None:
        """A habit reported at `at` ("Had caffeine", "Exercised"); the same press twice is
        kept once."""
        self._write(
            lambda db: db.execute(
                "INSERT OR IGNORE INTO habit_presses VALUES (?,?,?)", (room, habit, at)
            )
        )

    def presses(self, room: str, since: float) -> list[tuple[str, float]]:
        """(habit, at) of the bedroom's presses from `since` on, oldest first."""
        rows = self._db.execute(
            "SELECT habit, at FROM habit_presses WHERE room=? AND at>=? ORDER BY at",
            (room, since),
        )
        return [(r[0], r[1]) for r in rows]

    def cursors(self, bed_id: str) -> dict[str, float]:
        """Per-sensor time of the last sample admitted before the last checkpoint."""
        rows = self._db.execute("SELECT sensor, t FROM cursors WHERE bed_id=?", (bed_id,))
        return {r[0]: r[1] for r in rows}

    def counters(self, bed_id: str) -> dict[str, int]:
        """Counters saved at the last checkpoint."""
        rows = self._db.execute("SELECT key, value FROM counters WHERE bed_id=?", (bed_id,))
        return {r[0]: r[1] for r in rows}


def _finite(value: object) -> object:
    """`value` with every NaN or infinity (no JSON number) made null, at any depth."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _spans(text: str | None) -> tuple[tuple[float, float], ...]:
    """Stored in-bed stretches; none when not stored (or unreadable: shown as unknown)."""
    if not text:
        return ()
    try:
        return tuple((float(a), float(b)) for a, b in json.loads(text))
    except (ValueError, TypeError):
        return ()


def _json_object(text: str) -> dict[str, object] | None:
    """A stored JSON object, None when the text is not one (an unreadable row)."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
