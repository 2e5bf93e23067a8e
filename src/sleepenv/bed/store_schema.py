"""The SQLite store's file format: its tables, and the migration of older databases.

A new column goes in both places: in `SCHEMA` for a new database, and in `migrate` for one
made by an earlier version (`bed/store.py` reads and writes the tables). A new table needs
`SCHEMA` only: `create` runs it at every open, so an earlier version's database gains the
table (empty) the first time this version opens it (night_factors, night_bedroom and
evening_running came so).
"""

from __future__ import annotations

import sqlite3

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
CREATE TABLE IF NOT EXISTS night_bedroom (
    room TEXT NOT NULL,
    evening TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (room, evening)
);
CREATE TABLE IF NOT EXISTS evening_running (
    room TEXT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (room)
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


def create(db: sqlite3.Connection) -> None:
    """Create the tables that are missing, then bring older ones up to date."""
    db.executescript(SCHEMA)
    migrate(db)


def migrate(db: sqlite3.Connection) -> None:
    """Add columns that later versions introduced to a database made by an earlier one."""
    columns = {r[1] for r in db.execute("PRAGMA table_info(events)")}
    if "strength" not in columns:
        db.execute("ALTER TABLE events ADD COLUMN strength REAL NOT NULL DEFAULT 0")
    if "active_ms" not in columns:  # NULL for events stored before: duration used
        db.execute("ALTER TABLE events ADD COLUMN active_ms INTEGER")
    columns = {r[1] for r in db.execute("PRAGMA table_info(levels)")}
    if "rhythm" not in columns:  # NULL for levels stored before: no breathing evidence
        db.execute("ALTER TABLE levels ADD COLUMN rhythm REAL")
    columns = {r[1] for r in db.execute("PRAGMA table_info(nights)")}
    if "waking_jerks" not in columns:  # NULL for nights stored before: not known
        db.execute("ALTER TABLE nights ADD COLUMN waking_jerks INTEGER")
    if "in_bed_spans" not in columns:  # NULL for nights stored before: not known
        db.execute("ALTER TABLE nights ADD COLUMN in_bed_spans TEXT")
        db.execute("ALTER TABLE nights ADD COLUMN wake REAL")
