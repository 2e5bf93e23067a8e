"""The SQLite store's connection and its faults; `bed/store.py` adds the tables' reads and writes.

Storage faults never stop the service. A database that cannot be opened at start-up is
a StorageError with one clear sentence (the caller exits with it). Later, a write that
fails (disk full, read-only, a broken file) is kept in memory, in order, and retried by
`retry()` until the disk is back; `problem` says what is wrong meanwhile, and the
memory it takes is bounded (`MAX_BUFFERED_WRITES`, the oldest go first and are counted).
A database file deleted or replaced under us is noticed by `check_file()`.

Inside `batch()` the plain writes (one statement each: events) share one transaction,
committed when the batch ends, before anything the caller does next (the service
publishes the events only after its turn of the event loop): one commit for the few
events of the messages handled together instead of one each. Any other write commits
the batch first, so the order of writes stays as it was.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

from sleepenv.bed import store_schema

# The store's log lines keep the name they had before the split into modules.
log = logging.getLogger("sleepenv.bed.store")

# About two nights of events and levels of a busy bed; beyond it the oldest writes go.
MAX_BUFFERED_WRITES: Final = 100_000

Write = Callable[[sqlite3.Connection], object]


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


class StoreBase:
    """An open SQLite database whose failing writes are buffered and retried.

    Subclasses write through `_write` and read from `_db` (see the module docstring).
    """

    def __init__(self, path: Path) -> None:
        """Open (and create) the database at `path`; StorageError if that is impossible."""
        self.path = path
        self.problem: str | None = None  # why writes are being buffered, None while fine
        self.writes_lost = 0  # buffered writes dropped for want of memory
        self._pending: dict[object, Write] = {}
        self._serial = 0
        self._batch_depth = 0  # inside `batch()`
        self._batched: list[tuple[object, Write]] = []  # in the open transaction, in order
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
            store_schema.create(db)
        except BaseException:
            db.close()
            raise
        st = self.path.stat()
        self._identity = (st.st_dev, st.st_ino)
        return db

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Plain writes inside share one transaction, committed at the end (see the
        module docstring); batches may nest (the outermost commits)."""
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            if self._batch_depth == 0:
                self._commit_batch()

    def _write(self, op: Write, key: object = None, *, is_plain: bool = False) -> object:
        """Run a write now, or buffer it while the store is failing; None when buffered.

        A keyed write replaces a buffered one with the same key (only the latest
        checkpoint or night total matters) and moves to the end, keeping the order.
        A plain write (one statement, no transaction of its own) joins the open batch.
        """
        if key is None:
            self._serial += 1
            key = self._serial
        if is_plain and self._batch_depth and self.problem is None and not self._is_detached:
            return self._write_batched(key, op)
        self._commit_batch()
        if self.problem is None and not self._is_detached:
            try:
                return op(self._db)
            except sqlite3.Error as exc:
                self._fail(f"cannot write to the database {self.path}: {exc}")
        self._buffer([(key, op)])
        return None

    def _write_batched(self, key: object, op: Write) -> object:
        """Run a plain write in the batch's transaction (begun by the first)."""
        db = self._db
        try:
            if not self._batched:
                db.execute("BEGIN")
            result = op(db)
        except sqlite3.Error as exc:
            self._abandon_batch(exc, [(key, op)])
            return None
        self._batched.append((key, op))
        return result

    def _commit_batch(self) -> None:
        """Commit the batch's writes so far; buffer them when that fails."""
        if not self._batched:
            return
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._abandon_batch(exc, [])
            return
        self._batched.clear()

    def _abandon_batch(self, exc: sqlite3.Error, more: list[tuple[object, Write]]) -> None:
        """Roll the batch back and keep its writes (and `more`) in memory, in order."""
        with contextlib.suppress(sqlite3.Error):
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
        self._fail(f"cannot write to the database {self.path}: {exc}")
        self._buffer([*self._batched, *more])
        self._batched.clear()

    def _buffer(self, writes: list[tuple[object, Write]]) -> None:
        """Keep writes in memory for `retry`, the oldest dropped beyond the bound."""
        for key, op in writes:
            self._pending.pop(key, None)
            self._pending[key] = op
        while len(self._pending) > MAX_BUFFERED_WRITES:
            del self._pending[next(iter(self._pending))]
            self.writes_lost += 1

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
        self._commit_batch()
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

    def close(self) -> None:
        """Close the connection (committing an open batch)."""
        self._commit_batch()
        self._db.close()
