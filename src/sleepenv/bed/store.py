"""SQLite store (WAL): every event, per-night totals, sensor cursors and counters.

Storage faults never stop the service. A database that cannot be opened at start-up is
a StorageError with one clear sentence (the caller exits with it). Later, a write that
fails (disk full, read-only, a broken file) is kept in memory, in order, and retried by
`retry()` until the disk is back; `problem` says what is wrong meanwhile, and the
memory it takes is bounded (`MAX_BUFFERED_WRITES`, the oldest go first and are counted).
A database file deleted or replaced under us is noticed by `check_file()`.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Final

from sleepenv.bed.core.model import (
    MovementClass,
    MovementEvent,
    NightSummary,
    RestingMinute,
    SourceKind,
)

log = logging.getLogger(__name__)

# About two nights of events and levels of a busy bed; beyond it the oldest writes go.
MAX_BUFFERED_WRITES: Final = 100_000

Write = Callable[[sqlite3.Connection], object]


_INSERT_EVENT: Final = (
    "INSERT OR IGNORE INTO events (bed_id, night, sensor, onset_ms, offset_ms, peak,"
    " class, side, source, has_posture_change, is_truncated, is_lower_bound, strength,"
    " active_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


class StorageError(Exception):
    """The database cannot be used at all; the message says which file and why."""


def _open_problem(path: Path, exc: Exception) -> str:
    """One sentence about why the database at `path` cannot be opened."""
    if isinstance(exc, OSError):
        return (
            f"cannot create the data directory {path.parent}: {exc.strerror or exc} "
            "(make it writable, or set storage.data_dir to a directory that is)"
        )
    text = str(exc)
    if "not a database" in text or not isinstance(exc, sqlite3.OperationalError):
        return (
            f"{path} is not a sleepenv database ({text}): move the file away (sleepenv "
            "then starts a new one) or set storage.data_dir to another directory"
        )
    return (
        f"cannot open the database {path} ({text}): make its directory writable and "
        "give it free space, or set storage.data_dir to another directory"
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
    in_bed_spans TEXT,
    wake REAL,
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
CREATE TABLE IF NOT EXISTS night_factors (
    room TEXT NOT NULL,
    evening TEXT NOT NULL,
    factors TEXT NOT NULL,
    PRIMARY KEY (room, evening)
);
CREATE TABLE IF NOT EXISTS habit_presses (
    room TEXT NOT NULL,
    habit TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (room, habit, at)
);
CREATE TABLE IF NOT EXISTS counters (
    bed_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (bed_id, key)
);
"""


class Store:
    """A small synchronous SQLite store; every write commits, so a SIGKILL loses nothing.

    Writes that fail are buffered in memory and retried (see the module docstring).
    """

    def __init__(self, path: Path) -> None:
        """Open (and create) the database at `path`; StorageError if that is impossible."""
        self.path = path
        self.problem: str | None = None  # why writes are being buffered, None while fine
        self.writes_lost = 0  # buffered writes dropped for want of memory
        self._pending: dict[object, Write] = {}
        self._serial = 0
        self._identity: tuple[int, int] | None = None
        self._is_detached = False  # closed, to be opened again by `retry`
        try:
            self._db = self._open()
        except (sqlite3.Error, OSError) as exc:
            raise StorageError(_open_problem(path, exc)) from exc

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(SCHEMA)
            self._db = db
            self._migrate()
        except BaseException:
            db.close()
            raise
        st = self.path.stat()
        self._identity = (st.st_dev, st.st_ino)
        return db

    # -- faults -----------------------------------------------------------------------

    def _write(self, op: Write, key: object = None) -> object:
        """Run a write now, or buffer it while the store is failing; None when buffered.

        A keyed write replaces a buffered one with the same key (only the latest
        checkpoint or night total matters) and moves to the end, keeping the order.
        """
        if key is None:
            self._serial += 1
            key = self._serial
        if self.problem is None and not self._is_detached:
            try:
                return op(self._db)
            except sqlite3.Error as exc:
                self._fail(f"cannot write to the database {self.path}: {exc}")
        self._pending.pop(key, None)
        self._pending[key] = op
        while len(self._pending) > MAX_BUFFERED_WRITES:
            del self._pending[next(iter(self._pending))]
            self.writes_lost += 1
        return None

    def _fail(self, problem: str) -> None:
        if self.problem is None:
            log.error(
                "%s; keeping new data in memory and retrying (at most %d writes)",
                problem,
                MAX_BUFFERED_WRITES,
            )
        self.problem = problem

    @property
    def buffered(self) -> int:
        """Writes waiting in memory for the disk to come back."""
        return len(self._pending)

    def retry(self) -> bool:
        """Write what was buffered, in order; True when the store works again."""
        if self._is_detached and not self._reattach():
            return False
        if self.problem is None:
            return True
        while self._pending:
            key = next(iter(self._pending))
            try:
                self._pending[key](self._db)
            except sqlite3.Error as exc:
                self.problem = f"cannot write to the database {self.path}: {exc}"
                return False
            del self._pending[key]
        log.warning(
            "the database %s works again: buffered data written%s",
            self.path,
            f" ({self.writes_lost} oldest writes were dropped for want of memory)"
            if self.writes_lost
            else "",
        )
        self.problem = None
        return True

    def check_file(self) -> str | None:
        """Why the open database file is no longer the one at `path`, or None.

        SQLite keeps writing to a deleted file: without this check every later event
        would vanish silently.
        """
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return f"the database {self.path} was deleted while sleepenv was running"
        except OSError as exc:
            return f"cannot see the database {self.path}: {exc.strerror or exc}"
        if (st.st_dev, st.st_ino) != self._identity:
            return f"the database {self.path} was replaced while sleepenv was running"
        return None

    def reopen(self) -> bool:
        """Open the file at `path` again (a new one if it is gone); False if that fails.

        Whatever could not be written stays buffered for `retry()`, which also retries
        the opening.
        """
        self._db.close()
        self._is_detached = True
        return self.retry()

    def _reattach(self) -> bool:
        try:
            self._db = self._open()
        except (sqlite3.Error, OSError) as exc:
            self._fail(_open_problem(self.path, exc))
            return False
        self._is_detached = False
        return True

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
        if "in_bed_spans" not in columns:  # NULL for nights stored before: not known
            self._db.execute("ALTER TABLE nights ADD COLUMN in_bed_spans TEXT")
            self._db.execute("ALTER TABLE nights ADD COLUMN wake REAL")

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def add_event(self, bed_id: str, night: str, event: MovementEvent) -> bool:
        """Store an event; False when the same sensor already has one at that onset.

        True while buffered: the tracker's own de-duplication covers a running service.
        """
        row = (
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
        )
        inserted = self._write(lambda db: db.execute(_INSERT_EVENT, row).rowcount == 1)
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


def _spans(text: str | None) -> tuple[tuple[float, float], ...]:
    """Stored in-bed stretches; none when not stored (or unreadable: shown as unknown)."""
    if not text:
        return ()
    try:
        return tuple((float(a), float(b)) for a, b in json.loads(text))
    except (ValueError, TypeError):
        return ()
