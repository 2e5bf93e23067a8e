"""SQLite store (WAL): every event, per-night totals, sensor cursors and counters."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from sleepenv.core.model import (
    MovementClass,
    MovementEvent,
    NightSummary,
    RestingMinute,
    SourceKind,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    bed_id TEXT NOT NULL,
    night TEXT NOT NULL,
    sensor TEXT NOT NULL,
    onset_ms INTEGER NOT NULL,
    offset_ms INTEGER NOT NULL,
    peak REAL NOT NULL,
    class TEXT NOT NULL,
    side TEXT NOT NULL,
    source TEXT NOT NULL,
    has_posture_change INTEGER NOT NULL,
    is_truncated INTEGER NOT NULL,
    is_lower_bound INTEGER NOT NULL,
    strength REAL NOT NULL DEFAULT 0,
    active_ms INTEGER,
    PRIMARY KEY (bed_id, sensor, onset_ms)
);
CREATE INDEX IF NOT EXISTS events_by_night ON events (bed_id, night);
CREATE TABLE IF NOT EXISTS nights (
    bed_id TEXT NOT NULL,
    night TEXT NOT NULL,
    start REAL NOT NULL,
    end REAL,
    counts TEXT NOT NULL,
    sleep_onset REAL,
    plm_index REAL,
    rejected INTEGER NOT NULL,
    waking_jerks INTEGER,
    PRIMARY KEY (bed_id, night)
);
CREATE TABLE IF NOT EXISTS levels (
    bed_id TEXT NOT NULL,
    night TEXT NOT NULL,
    t REAL NOT NULL,
    level REAL NOT NULL,
    rhythm REAL,
    PRIMARY KEY (bed_id, night, t)
);
CREATE TABLE IF NOT EXISTS cursors (
    bed_id TEXT NOT NULL,
    sensor TEXT NOT NULL,
    t REAL NOT NULL,
    PRIMARY KEY (bed_id, sensor)
);
CREATE TABLE IF NOT EXISTS screen_minutes (
    room TEXT NOT NULL,
    evening TEXT NOT NULL,
    minutes REAL NOT NULL,
    PRIMARY KEY (room, evening)
);
CREATE TABLE IF NOT EXISTS counters (
    bed_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (bed_id, key)
);
"""


class Store:
    """A small synchronous SQLite store; every write commits, so a SIGKILL loses nothing."""

    def __init__(self, path: Path) -> None:
        """Open (and create) the database at `path`."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Add columns that later versions introduced to a database made by an earlier one."""
        columns = {r[1] for r in self._db.execute("PRAGMA table_info(events)")}
        if "strength" not in columns:
            self._db.execute("ALTER TABLE events ADD COLUMN strength REAL NOT NULL DEFAULT 0")
        if "active_ms" not in columns:  # NULL for events stored before: duration used
            self._db.execute("ALTER TABLE events ADD COLUMN active_ms INTEGER")
        columns = {r[1] for r in self._db.execute("PRAGMA table_info(levels)")}
        if "rhythm" not in columns:  # NULL for levels stored before: no breathing evidence
            self._db.execute("ALTER TABLE levels ADD COLUMN rhythm REAL")
        columns = {r[1] for r in self._db.execute("PRAGMA table_info(nights)")}
        if "waking_jerks" not in columns:  # NULL for nights stored before: not known
            self._db.execute("ALTER TABLE nights ADD COLUMN waking_jerks INTEGER")

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def add_event(self, bed_id: str, night: str, event: MovementEvent) -> bool:
        """Store an event; False when the same sensor already has one at that onset."""
        cur = self._db.execute(
            "INSERT OR IGNORE INTO events (bed_id, night, sensor, onset_ms, offset_ms, peak,"
            " class, side, source, has_posture_change, is_truncated, is_lower_bound, strength,"
            " active_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                bed_id,
                night,
                event.sensor,
                round(event.onset * 1000),
                round(event.offset * 1000),
                event.peak,
                event.cls.value,
                event.side,
                event.source.value,
                int(event.has_posture_change),
                int(event.is_truncated),
                int(event.is_lower_bound),
                event.strength,
                None if event.active_seconds is None else round(event.active_seconds * 1000),
            ),
        )
        return cur.rowcount == 1

    def relabel_night(self, bed_id: str, night: str, events: list[MovementEvent]) -> None:
        """Make a night's stored events match its final labels, in one transaction.

        Events absent from `events` (glitches, the weaker sensor's copy of a movement on a
        two-sensor bed) are deleted; the others get their final class and side.
        """
        keep = {(e.sensor, round(e.onset * 1000)): e for e in events}
        with self._db:
            self._db.execute("BEGIN")
            rows = self._db.execute(
                "SELECT sensor, onset_ms FROM events WHERE bed_id=? AND night=?", (bed_id, night)
            ).fetchall()
            for sensor, onset_ms in rows:
                event = keep.get((sensor, onset_ms))
                if event is None:
                    self._db.execute(
                        "DELETE FROM events WHERE bed_id=? AND sensor=? AND onset_ms=?",
                        (bed_id, sensor, onset_ms),
                    )
                else:
                    self._db.execute(
                        "UPDATE events SET class=?, side=? WHERE bed_id=? AND sensor=?"
                        " AND onset_ms=?",
                        (event.cls.value, event.side, bed_id, sensor, onset_ms),
                    )

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
        self._db.execute(
            "INSERT OR REPLACE INTO nights (bed_id, night, start, end, counts, sleep_onset,"
            " plm_index, rejected, waking_jerks) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                summary.bed_id,
                summary.night,
                summary.start,
                summary.end,
                json.dumps(summary.counts, sort_keys=True),
                summary.sleep_onset,
                summary.plm_index,
                summary.rejected,
                summary.waking_jerks,
            ),
        )

    def nights(self, bed_id: str | None = None, limit: int = 14) -> list[NightSummary]:
        """The most recent nights first, for one bed or all."""
        query = (
            "SELECT bed_id, night, start, end, counts, sleep_onset, plm_index, rejected,"
            " waking_jerks FROM nights"
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
            )
            for r in rows
        ]

    def add_levels(self, bed_id: str, night: str, levels: list[RestingMinute]) -> None:
        """Per-minute resting levels of a night (occupancy is read from them after a restart)."""
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO levels (bed_id, night, t, level, rhythm)"
                " VALUES (?,?,?,?,?)",
                [(bed_id, night, m.t, m.level, m.rhythm) for m in levels],
            )

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
        self._db.execute("DELETE FROM levels WHERE bed_id=? AND night<>?", (bed_id, keep_night))

    def checkpoint(self, bed_id: str, cursors: dict[str, float], counters: dict[str, int]) -> None:
        """Save sensor cursors and counters in one transaction."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO cursors VALUES (?,?,?)",
                [(bed_id, k, t) for k, t in cursors.items()],
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO counters VALUES (?,?,?)",
                [(bed_id, k, v) for k, v in counters.items()],
            )

    def save_screen_minutes(self, room: str, evening: str, minutes: float) -> None:
        """Minutes a screen was on in the no-screen window (and after) on one evening."""
        self._db.execute(
            "INSERT OR REPLACE INTO screen_minutes VALUES (?,?,?)", (room, evening, minutes)
        )

    def screen_minutes(self, room: str, limit: int = 14) -> dict[str, float]:
        """Screen minutes per evening, newest first."""
        rows = self._db.execute(
            "SELECT evening, minutes FROM screen_minutes WHERE room=? ORDER BY evening DESC"
            " LIMIT ?",
            (room, limit),
        )
        return {r[0]: r[1] for r in rows}

    def cursors(self, bed_id: str) -> dict[str, float]:
        """Per-sensor time of the last sample admitted before the last checkpoint."""
        rows = self._db.execute("SELECT sensor, t FROM cursors WHERE bed_id=?", (bed_id,))
        return {r[0]: r[1] for r in rows}

    def counters(self, bed_id: str) -> dict[str, int]:
        """Counters saved at the last checkpoint."""
        rows = self._db.execute("SELECT key, value FROM counters WHERE bed_id=?", (bed_id,))
        return {r[0]: r[1] for r in rows}
