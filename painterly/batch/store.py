"""The job store: one SQLite file in OUTDIR (WAL journal, every change one transaction) that
records each job's inputs' hashes, settings, state, attempts, last error, timings, output, and the
lease of the driver running it. Every attempt is logged too, so a test or a user can check that no
job was done twice.

States: ``pending`` -> ``running`` (claimed by one driver, with a lease it renews) -> ``done`` or
``failed`` (or back to ``pending`` for another try). A job left ``running`` by a dead driver goes
back to ``pending`` when the next driver starts (its attempt is not counted: the job did not
fail)."""

from __future__ import annotations

import contextlib
import functools
import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from painterly.errors import UserError

from .outputs import DATABASE_NAME
from .owner import is_dead
from .plan import Job, hash_file

STATES = ("pending", "running", "done", "failed")
SCHEMA_VERSION = "1"
BUSY_TIMEOUT_S = 60.0
MAX_ERROR_CHARS = 300

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    output TEXT PRIMARY KEY,            -- file name in OUTDIR
    key TEXT NOT NULL,                  -- sha256 over the inputs' hashes and the settings
    content TEXT NOT NULL,
    styles TEXT NOT NULL,               -- JSON list
    inputs TEXT NOT NULL,               -- JSON: content hashes of every input file
    settings TEXT NOT NULL,             -- canonical JSON of all TransferOptions fields
    options TEXT NOT NULL,              -- JSON: the options given (what is sent to a worker)
    state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,                         -- one line: why the last attempt failed
    owner TEXT,                         -- driver holding the job while running
    lease_until REAL,                   -- the owner renews it; expired: anyone may take over
    worker TEXT,                        -- where the last attempt ran
    created REAL NOT NULL,
    started REAL,                       -- last attempt's start (unix time)
    finished REAL,
    seconds REAL                        -- the worker's time for the result
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state);
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY,
    output TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    owner TEXT NOT NULL,
    worker TEXT,
    started REAL NOT NULL,
    finished REAL,
    outcome TEXT,                       -- NULL while running; done/failed/retry/abandoned/released
    error TEXT
);
CREATE INDEX IF NOT EXISTS attempts_output ON attempts (output);
CREATE TABLE IF NOT EXISTS files (      -- content hashes of input files, by size and mtime
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL
);
"""


def one_line(text: str) -> str:
    """An error as one line of at most MAX_ERROR_CHARS characters."""
    line = " ".join(str(text).split())
    return line if len(line) <= MAX_ERROR_CHARS else line[:MAX_ERROR_CHARS - 3] + "..."


class JobStore:
    """The jobs of one OUTDIR. Use from one thread; several processes may share the file."""

    def __init__(self, outdir: str | Path, *, create: bool = True):
        self.outdir = Path(outdir)
        self.path = self.outdir / DATABASE_NAME
        self._hashed: list[tuple[str, int, int, str]] = []
        if not create and not self.path.is_file():
            raise UserError(f"no batch in {outdir}: {DATABASE_NAME} not found")
        try:
            self.db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            if _tables(self.db).items() - _our_tables().items():  # before a byte is changed
                self.db.close()
                raise UserError(f"{self.path} is not a painterly job store (it holds tables of "
                                "another program): move it away, or choose another OUTDIR")
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(SCHEMA)  # idempotent (IF NOT EXISTS)
            with self.transaction():
                version = self.db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
                if version is None:
                    self.db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
                elif version[0] != SCHEMA_VERSION:
                    raise UserError(f"{self.path} was written by another version of painterly "
                                    f"(schema {version[0]}, this one reads {SCHEMA_VERSION})")
            self.db.execute("CREATE TEMP TABLE IF NOT EXISTS planned (output TEXT PRIMARY KEY)")
        except sqlite3.DatabaseError as error:
            raise UserError(f"cannot use the job store {self.path}: {error}") from None

    def close(self) -> None:
        self.db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE: it waits for other writers up front)."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # planning
    def hash_file(self, path: Path) -> str:
        """The file's sha256, from the cache while its size and mtime are unchanged (new ones
        are stored by the next :meth:`sync`)."""
        stat = path.stat()
        resolved = str(path.resolve())
        row = self.db.execute("SELECT size, mtime_ns, sha256 FROM files WHERE path=?",
                              (resolved,)).fetchone()
        if row is not None and (row["size"], row["mtime_ns"]) == (stat.st_size, stat.st_mtime_ns):
            return row["sha256"]
        digest = hash_file(path)
        self._hashed.append((resolved, stat.st_size, stat.st_mtime_ns, digest))
        return digest

    def sync(self, jobs: Iterable[Job]) -> tuple[int, int]:
        """Insert new jobs, reset those whose key changed, and remember which jobs this run
        planned (the others in the file are left alone). Returns (new, changed)."""
        new = changed = 0
        now = time.time()
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)", self._hashed)
            self._hashed.clear()
            db.execute("DELETE FROM planned")
            for job in jobs:
                db.execute("INSERT INTO planned VALUES (?)", (job.output,))
                row = db.execute("SELECT key FROM jobs WHERE output=?", (job.output,)).fetchone()
                values = (job.key, job.content, json.dumps(list(job.styles)),
                          json.dumps(job.inputs, sort_keys=True), job.settings,
                          json.dumps(_jsonable(job.options), sort_keys=True))
                state, error = ("failed", one_line(job.problem)) if job.problem else \
                    ("pending", None)
                if row is None:
                    new += 1
                    db.execute("INSERT INTO jobs (key, content, styles, inputs, settings, options,"
                               " output, state, error, created) VALUES (?,?,?,?,?,?,?,?,?,?)",
                               (*values, job.output, state, error, now))
                elif row["key"] != job.key:
                    changed += 1
                    db.execute("UPDATE jobs SET key=?, content=?, styles=?, inputs=?, settings=?,"
                               " options=?, state=?, error=?, attempts=0, owner=NULL,"
                               " lease_until=NULL, started=NULL, finished=NULL, seconds=NULL"
                               " WHERE output=?", (*values, state, error, job.output))
        return new, changed

    def recover(self, max_attempts: int, output_complete: Callable[[str, str], bool],
                output_exists: Callable[[str], bool]) -> tuple[int, int, int, int]:
        """Before a run, for the planned jobs: take over jobs of dead drivers (or expired
        leases), marking done those whose output was already written (``output_complete(output,
        key)``); redo done jobs whose output is gone; give failed jobs with attempts left another
        try (not those that failed before they could run: a bad input). Returns (taken_over,
        completed, missing_outputs, retried)."""
        now = time.time()
        taken_over = completed = missing = 0
        with self.transaction() as db:
            running = db.execute("SELECT j.output, j.key, j.owner, j.lease_until FROM jobs j "
                                 "JOIN planned USING (output) WHERE j.state='running'").fetchall()
            for row in running:
                if not (is_dead(row["owner"]) or (row["lease_until"] or 0) < now):
                    continue
                taken_over += 1
                if output_complete(row["output"], row["key"]):
                    completed += 1
                    db.execute("UPDATE jobs SET state='done', error=NULL, owner=NULL, "
                               "lease_until=NULL, finished=? WHERE output=?", (now, row["output"]))
                    self._close_attempt(db, row["output"], "done", None, now)
                else:
                    db.execute("UPDATE jobs SET state='pending', attempts=max(attempts-1, 0), "
                               "owner=NULL, lease_until=NULL WHERE output=?", (row["output"],))
                    self._close_attempt(db, row["output"], "abandoned",
                                        "the driver running it stopped", now)
            done = db.execute("SELECT j.output FROM jobs j JOIN planned USING (output) "
                              "WHERE j.state='done'").fetchall()
            for row in done:
                if not output_exists(row["output"]):
                    missing += 1
                    db.execute("UPDATE jobs SET state='pending', attempts=0, "
                               "error='output file was missing: done again' WHERE output=?",
                               (row["output"],))
            retried = db.execute(
                "UPDATE jobs SET state='pending' WHERE state='failed' AND attempts>0 AND "
                "attempts<? AND output IN (SELECT output FROM planned)", (max_attempts,)).rowcount
        return taken_over, completed, missing, retried

    def pending(self) -> list[str]:
        """Planned jobs waiting to run, in the order they were planned."""
        return [row[0] for row in self.db.execute(
            "SELECT j.output FROM planned p JOIN jobs j USING (output) WHERE j.state='pending' "
            "ORDER BY p.rowid")]

    # running
    def claim(self, output: str, owner: str, lease_s: float) -> int | None:
        """Take a pending job for ``owner``; its attempt number, or None if another driver has
        it or it is no longer pending."""
        now = time.time()
        with self.transaction() as db:
            row = db.execute("UPDATE jobs SET state='running', attempts=attempts+1, owner=?, "
                             "lease_until=?, started=?, finished=NULL, worker=NULL "
                             "WHERE output=? AND state='pending' RETURNING attempts",
                             (owner, now + lease_s, now, output)).fetchone()
            if row is None:
                return None
            db.execute("INSERT INTO attempts (output, attempt, owner, started) VALUES (?,?,?,?)",
                       (output, row[0], owner, now))
            return row[0]

    def job(self, output: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM jobs WHERE output=?", (output,)).fetchone()

    def set_worker(self, output: str, owner: str, worker: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE jobs SET worker=? WHERE output=? AND owner=?",
                       (worker, output, owner))
            db.execute("UPDATE attempts SET worker=? WHERE output=? AND owner=? AND "
                       "outcome IS NULL", (worker, output, owner))

    def renew(self, owner: str, lease_s: float) -> None:
        """Extend the leases of all jobs ``owner`` is running (the heartbeat)."""
        with self.transaction() as db:
            db.execute("UPDATE jobs SET lease_until=? WHERE owner=? AND state='running'",
                       (time.time() + lease_s, owner))

    def complete(self, output: str, owner: str, seconds: float) -> bool:
        """Mark done (after its output was written); False if ``owner`` no longer holds it."""
        now = time.time()
        with self.transaction() as db:
            updated = db.execute("UPDATE jobs SET state='done', error=NULL, owner=NULL, "
                                 "lease_until=NULL, finished=?, seconds=? WHERE output=? AND "
                                 "owner=? AND state='running'",
                                 (now, seconds, output, owner)).rowcount
            if updated:
                self._close_attempt(db, output, "done", None, now, owner)
            return bool(updated)

    def fail(self, output: str, owner: str, error: str, *, retry: bool,
             max_attempts: int) -> str | None:
        """Record a failed attempt: back to ``pending`` when ``retry`` and attempts are left,
        else ``failed``. Returns the new state (None if ``owner`` no longer holds the job)."""
        now = time.time()
        error = one_line(error)
        with self.transaction() as db:
            row = db.execute("SELECT attempts FROM jobs WHERE output=? AND owner=? AND "
                             "state='running'", (output, owner)).fetchone()
            if row is None:
                return None
            state = "pending" if retry and row["attempts"] < max_attempts else "failed"
            db.execute("UPDATE jobs SET state=?, error=?, owner=NULL, lease_until=NULL, "
                       "finished=? WHERE output=?", (state, error, now, output))
            self._close_attempt(db, output, "retry" if state == "pending" else "failed", error,
                                now, owner)
            return state

    def release(self, owner: str) -> int:
        """Give back every job ``owner`` is running (an interrupted run): pending again, the
        attempt not counted."""
        now = time.time()
        with self.transaction() as db:
            outputs = [row[0] for row in db.execute(
                "SELECT output FROM jobs WHERE owner=? AND state='running'", (owner,))]
            for output in outputs:
                db.execute("UPDATE jobs SET state='pending', attempts=max(attempts-1, 0), "
                           "owner=NULL, lease_until=NULL WHERE output=?", (output,))
                self._close_attempt(db, output, "released", "the run was interrupted", now,
                                    owner)
            return len(outputs)

    @staticmethod
    def _close_attempt(db: sqlite3.Connection, output: str, outcome: str, error: str | None,
                       now: float, owner: str | None = None) -> None:
        db.execute("UPDATE attempts SET finished=?, outcome=?, error=? WHERE id=(SELECT max(id) "
                   "FROM attempts WHERE output=? AND outcome IS NULL"
                   + (" AND owner=?" if owner else "") + ")",
                   (now, outcome, error, output, *((owner,) if owner else ())))

    # reading
    def counts(self, planned_only: bool = False) -> dict[str, int]:
        """Jobs by state (all four states present)."""
        join = " JOIN planned USING (output)" if planned_only else ""
        found = dict(self.db.execute(f"SELECT state, count(*) FROM jobs{join} GROUP BY state"))
        return {state: found.get(state, 0) for state in STATES}

    def failures(self, planned_only: bool = False) -> list[sqlite3.Row]:
        join = " JOIN planned USING (output)" if planned_only else ""
        return self.db.execute(f"SELECT output, attempts, error FROM jobs{join} "
                               "WHERE state='failed' ORDER BY output").fetchall()

    def jobs(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM jobs ORDER BY output").fetchall()

    def attempts(self, output: str | None = None) -> list[sqlite3.Row]:
        where, values = ("WHERE output=?", (output,)) if output else ("", ())
        return self.db.execute(f"SELECT * FROM attempts {where} ORDER BY id", values).fetchall()

    def mean_seconds(self) -> float | None:
        """The workers' mean time per done job."""
        row = self.db.execute("SELECT avg(seconds) FROM jobs WHERE state='done' AND "
                              "seconds IS NOT NULL").fetchone()
        return row[0]


def _tables(db: sqlite3.Connection) -> dict[str, tuple[str, ...]]:
    """The database's own tables and their columns."""
    names = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table' "
                                          "AND name NOT LIKE 'sqlite_%'")]
    return {name: tuple(row[0] for row in db.execute("SELECT name FROM pragma_table_info(?)",
                                                     (name,))) for name in names}


@functools.cache
def _our_tables() -> dict[str, tuple[str, ...]]:
    """The tables and columns of :data:`SCHEMA`."""
    db = sqlite3.connect(":memory:")
    try:
        db.executescript(SCHEMA)
        return _tables(db)
    finally:
        db.close()


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
