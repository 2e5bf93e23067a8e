"""The SQLite store: WAL, duplicates, nights, checkpoints."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sleepenv.bed.core.model import MovementClass, MovementEvent, NightSummary, RestingMinute
from sleepenv.bed.store import Store


def event(onset: float, cls: MovementClass = MovementClass.TWITCH) -> MovementEvent:
    """A small event on sensor `both`."""
    return MovementEvent(onset, onset + 0.3, 4.5, cls, sensor="both")


def test_events_round_trip_and_duplicates_are_refused(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    assert store.add_event("main", "2026-01-05", event(10.0))
    assert store.add_event("main", "2026-01-05", event(20.0, MovementClass.ROLLOVER))
    assert not store.add_event("main", "2026-01-05", event(10.0))
    got = store.events("main", "2026-01-05")
    assert [e.onset for e in got] == [10.0, 20.0]
    assert got[1].cls is MovementClass.ROLLOVER
    assert got[0] == event(10.0)
    assert store.events("other", "2026-01-05") == []
    store.close()


def test_wal_mode_and_data_survive_reopen(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    store.save_night(NightSummary("main", "2026-01-05", 1.0, 2.0, {"twitch": 2}))
    store.checkpoint("main", {"both": 123.4}, {"frames_received": 99})
    store.close()
    mode = sqlite3.connect(tmp_path / "s.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    again = Store(tmp_path / "s.db")
    assert again.cursors("main") == {"both": 123.4}
    assert again.counters("main") == {"frames_received": 99}
    nights = again.nights("main")
    assert nights[0].counts == {"twitch": 2}
    assert nights[0].total_movements == 2


def test_nights_newest_first_and_limited(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    for day in range(1, 6):
        store.save_night(NightSummary("main", f"2026-01-0{day}", 1.0, 2.0, {"twitch": day}))
    store.save_night(NightSummary("main", "2026-01-03", 1.0, 2.0, {"twitch": 30}))
    nights = store.nights("main", limit=3)
    assert [n.night for n in nights] == ["2026-01-05", "2026-01-04", "2026-01-03"]
    assert nights[2].counts == {"twitch": 30}


def test_screen_minutes_round_trip(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    store.save_screen_minutes("bedroom", "2026-11-19", 12.5)
    store.save_screen_minutes("bedroom", "2026-11-20", 3.0)
    store.save_screen_minutes("bedroom", "2026-11-20", 7.5)  # the evening goes on
    store.save_screen_minutes("office", "2026-11-20", 99.0)
    assert store.screen_minutes("bedroom") == {"2026-11-20": 7.5, "2026-11-19": 12.5}
    assert list(store.screen_minutes("bedroom", limit=1)) == ["2026-11-20"]


def test_waking_jerks_round_trip_and_older_databases_gain_the_column(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    # The nights table as an earlier version made it: no waking_jerks column.
    db.execute(
        "CREATE TABLE nights (bed_id TEXT NOT NULL, night TEXT NOT NULL, start REAL NOT NULL,"
        " end REAL, counts TEXT NOT NULL, sleep_onset REAL, plm_index REAL,"
        " rejected INTEGER NOT NULL, PRIMARY KEY (bed_id, night))"
    )
    db.execute("INSERT INTO nights VALUES ('main','2026-01-04',1,2,'{}',NULL,NULL,0)")
    db.commit()
    db.close()
    store = Store(path)
    store.save_night(
        NightSummary(
            "main",
            "2026-01-05",
            1.0,
            20.0,
            {},
            waking_jerks=3,
            in_bed_spans=((2.0, 8.0), (9.5, 19.0)),
            wake=18.0,
        )
    )
    old, new = sorted(store.nights("main"), key=lambda n: n.night)
    assert old.waking_jerks is None  # not known for a night stored before
    assert old.in_bed_spans == ()
    assert old.wake is None
    assert new.waking_jerks == 3
    assert new.in_bed_spans == ((2.0, 8.0), (9.5, 19.0))
    assert new.wake == 18.0


def test_levels_of_the_running_night_round_trip_and_old_ones_are_forgotten(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "s.db")
    m = RestingMinute
    store.add_levels("main", "2026-01-04", [m(10.0, 1.0)])
    store.add_levels("main", "2026-01-05", [m(120.0, 3.5, 4.2), m(60.0, 3.0)])
    store.add_levels("main", "2026-01-05", [m(60.0, 3.0)])  # a replay writes nothing new
    store.add_levels("other", "2026-01-05", [m(60.0, 9.0)])
    assert store.levels("main", "2026-01-05") == [m(60.0, 3.0), m(120.0, 3.5, 4.2)]
    store.forget_levels("main", "2026-01-05")
    assert store.levels("main", "2026-01-04") == []
    assert store.levels("main", "2026-01-05") == [m(60.0, 3.0), m(120.0, 3.5, 4.2)]
    assert store.levels("other", "2026-01-05") == [m(60.0, 9.0)]


def test_night_factors_round_trip_replace_and_survive_reopen(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    store.save_factors("main", "2026-11-01", {"room_celsius": 18.4, "caffeine_late": None})
    store.save_factors("main", "2026-11-02", {"room_celsius": 20.1, "caffeine_late": True})
    store.save_factors("main", "2026-11-02", {"room_celsius": 20.2, "caffeine_late": True})
    store.save_factors("guest", "2026-11-02", {"screen_minutes": 4.0})
    store.close()
    store = Store(tmp_path / "s.db")
    assert store.factors("main") == {
        "2026-11-02": {"room_celsius": 20.2, "caffeine_late": True},
        "2026-11-01": {"room_celsius": 18.4, "caffeine_late": None},
    }
    assert list(store.factors("main", limit=1)) == ["2026-11-02"]
    assert store.factors("attic") == {}


def test_habit_presses_are_kept_once_in_order(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    store.add_press("main", "caffeine", 200.0)
    store.add_press("main", "exercise", 100.0)
    store.add_press("main", "caffeine", 200.0)  # the same press delivered twice
    store.add_press("guest", "caffeine", 150.0)
    assert store.presses("main", since=0.0) == [("exercise", 100.0), ("caffeine", 200.0)]
    assert store.presses("main", since=150.0) == [("caffeine", 200.0)]


def test_a_database_from_before_factors_gains_their_tables(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    Store(path).close()
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE night_factors")
        db.execute("DROP TABLE habit_presses")
    store = Store(path)
    store.save_factors("main", "2026-11-03", {"exercise_late": False})
    assert store.factors("main") == {"2026-11-03": {"exercise_late": False}}


def test_bedroom_records_round_trip_without_nan(tmp_path: Path) -> None:
    from sleepenv.insights.core.bedroom import (  # noqa: PLC0415 - this test only
        MAX_TEMPERATURE_POINTS,
        BedroomNight,
        from_json,
        thin_temperatures,
        to_json,
    )

    store = Store(tmp_path / "s.db")
    start = 1_767_650_400.0
    # A very long night: 36 hours of a thermometer every 30 s, a few NaN among them.
    readings = [(start + 30 * i, 18.0 + (i % 50) / 25) for i in range(36 * 120)]
    readings[100] = (readings[100][0], float("nan"))
    record = BedroomNight(
        target_celsius=18.0,
        temperatures=thin_temperatures(readings, start, start + 36 * 3600),
        wind_down_at=start + 3600,
        no_screen_at=start + 5400,
        lights_out_at=start + 9000,
        screen_on=((start + 6000, start + 6600),),
        caffeine_cutoff_at=start - 8 * 3600,
        caffeine=(start - 3600,),
        wind_down_minutes=90.0,
        overridden_minutes=0.0,
    )
    assert len(record.temperatures) <= MAX_TEMPERATURE_POINTS
    store.save_bedroom("bedroom", "2026-01-05", to_json(record))
    # A record with NaN in it (written by hand, or a bug upstream) is stored without it.
    store.save_bedroom(
        "bedroom", "2026-01-06",
        {"temperatures": [[start, float("nan")], [start + 60, 19.0]], "target_celsius": 18.0,
         "wind_down_at": float("inf")},
    )  # fmt: skip
    store.close()
    again = Store(tmp_path / "s.db")
    doc = again.bedroom("bedroom", "2026-01-05")
    assert doc is not None
    assert from_json(doc) == record
    raw = sqlite3.connect(tmp_path / "s.db").execute(
        "SELECT record FROM night_bedroom WHERE evening='2026-01-06'"
    )
    text = raw.fetchone()[0]
    assert "NaN" not in text
    assert "Infinity" not in text
    other = again.bedroom("bedroom", "2026-01-06")
    assert other is not None
    assert from_json(other).temperatures == ((start + 60, 19.0),)
    assert from_json(other).wind_down_at is None
    assert again.bedroom("bedroom", "2026-01-07") is None
    assert again.bedroom("nursery", "2026-01-05") is None


def test_a_database_from_before_bedroom_records_gains_the_table(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE night_factors (room TEXT NOT NULL, evening TEXT NOT NULL, "
        "factors TEXT NOT NULL, PRIMARY KEY (room, evening))"
    )
    old.execute("INSERT INTO night_factors VALUES ('bedroom', '2026-01-04', '{}')")
    old.commit()
    old.close()
    store = Store(path)
    assert store.bedroom("bedroom", "2026-01-04") is None
    store.save_bedroom("bedroom", "2026-01-04", {"target_celsius": 18.0})
    assert store.bedroom("bedroom", "2026-01-04") == {"target_celsius": 18.0}
    assert store.factors("bedroom") == {"2026-01-04": {}}


def test_events_of_a_batch_are_committed_together_and_in_order(tmp_path: Path) -> None:
    """Inside a batch another reader sees none of its events until the batch ends, or
    until a write of another kind, which commits them first; duplicates are still told."""
    store = Store(tmp_path / "s.db")
    reader = sqlite3.connect(tmp_path / "s.db")

    def seen() -> list[int]:
        return [r[0] for r in reader.execute("SELECT onset_ms FROM events ORDER BY onset_ms")]

    with store.batch():
        assert store.add_event("main", "2026-01-05", event(10.0))
        assert store.add_event("main", "2026-01-05", event(20.0))
        assert not store.add_event("main", "2026-01-05", event(10.0))
        assert [e.onset for e in store.events("main", "2026-01-05")] == [10.0, 20.0]
        assert seen() == []
        store.checkpoint("main", {"both": 20.0}, {"frames_received": 2})
        assert seen() == [10_000, 20_000]
        assert store.add_event("main", "2026-01-05", event(30.0))
        assert seen() == [10_000, 20_000]
    assert seen() == [10_000, 20_000, 30_000]
    assert store.problem is None
    reader.close()
    store.close()


def test_a_batch_that_fails_keeps_every_event_for_the_retry(tmp_path: Path) -> None:
    """A write that fails in the middle of a batch: the events before it in the batch
    are rolled back with it, kept in memory in order and written by the retry."""
    store = Store(tmp_path / "s.db")
    other = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    other.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.onset_ms = 30000"
        " BEGIN SELECT RAISE(ABORT, 'no space left'); END"
    )
    with store.batch():
        for onset in (10.0, 20.0, 30.0, 40.0):
            assert store.add_event("main", "2026-01-05", event(onset))
    assert store.problem is not None
    assert "no space left" in store.problem
    assert store.buffered == 4
    assert other.execute("SELECT count(*) FROM events").fetchone()[0] == 0
    other.execute("DROP TRIGGER refuse")
    assert store.retry()
    assert store.buffered == 0
    assert [e.onset for e in store.events("main", "2026-01-05")] == [10.0, 20.0, 30.0, 40.0]
    other.close()
    store.close()
