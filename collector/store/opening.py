"""Opening the queuepulse database: for writing (created, checked, brought up to date) or
for reading (read-only, never changing a byte of it).

Every way a file can be unusable (not SQLite, damaged, locked, from a newer queuepulse, not
writable) becomes one :class:`~collector.errors.UserError` that names the file and the fix,
before anything is written.

Reading commands (``report``, ``top --db``, ``check``) open the file read-only and never
migrate it. A database in WAL mode that no program has open has no ``-wal`` file; it is
opened ``immutable``, so reading it creates no ``-wal``/``-shm`` files beside it (which a
reader may not even be allowed to, in the service's state directory). While the service
runs, its ``-wal`` and ``-shm`` exist and a plain read-only connection shares them.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from collector.errors import UserError
from collector.store.schema import known_migrations, migrations
from collector.user_files import describe, head, is_sqlite, removed_on_failure

COMPANIONS = ("-wal", "-shm", "-journal")
"""The files SQLite keeps beside a database while it is in use."""
_LOCK_WAIT_S = 5.0
"""How long opening waits for another program's write lock before it refuses the file,
naming the lock: a migration or an import finishes its transaction within that, and a
lock held longer is one the user has to end."""


def advice(error: sqlite3.Error, path: str, option: str = "database.path") -> str:
    """What to do about an error SQLite raised on ``path`` (named by ``option``)."""
    name = getattr(error, "sqlite_errorname", "")
    text = str(error).lower()
    if "locked" in text or "busy" in text:
        return f"another program holds a write lock on {path}; close it (or its transaction)"
    if name == "SQLITE_READONLY_DIRECTORY":
        return (f"its write-ahead log needs {path}-shm, which cannot be created in a folder "
                "you may not write: run this as the user queuepulse runs as")
    if "readonly" in text or "read-only" in text:
        return f"queuepulse may not write {path}: check the file's and its directory's owner"
    if "full" in text:
        return f"the disk holding {path} is full: free space or lower retention_days"
    if "unable to open" in text:
        return f"check {option}: the folder of {path} must exist and be writable"
    if name in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or "malformed" in text:
        return (f"the file is damaged: restore a backup, or save what is readable with "
                f"sqlite3 {path} .recover")
    return f"check {path} with: sqlite3 {path} 'PRAGMA integrity_check'"


def unusable(path: str, error: sqlite3.Error, option: str = "--db") -> UserError:
    """The one-line error for a database SQLite refuses to work with."""
    return UserError(f"cannot use database {path} ({error}): {advice(error, path, option)}.")


def _refuse_non_sqlite(path: Path, option: str) -> None:
    try:
        start = head(path)
    except FileNotFoundError:
        return
    except OSError as error:
        raise UserError(f"cannot read {path} ({error.strerror}). Check the path and that "
                        "you may read it.") from error
    if start and not is_sqlite(start):
        raise UserError(f"{path} is not a SQLite database: it is {describe(start)}. Give "
                        f"{option} the queuepulse database (the file database.path names).")


def _refuse_newer_schema(db: Database, path: str, option: str) -> None:
    known = set(known_migrations())
    unknown = [m.name for m in migrations.applied(db) if m.name not in known]
    if unknown:
        raise UserError(f"{path} was written by a newer queuepulse (its schema has migration "
                        f"{unknown[0]}, which this version does not know). Upgrade queuepulse, "
                        f"or give {option} another file.")


def _top_level(text: str) -> list[str]:
    """The comma-separated items of ``text`` that are not inside parentheses."""
    items, depth, start = [], 0, 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(text[start:index].strip())
            start = index + 1
    return [*items, text[start:].strip()]


_INDEX_SQL = re.compile(r"\sON\s+\S+\s*\((?P<keys>.*)\)(\s+WHERE\s+(?P<where>.*))?$",
                        re.IGNORECASE | re.DOTALL)


def _edges(db: Database) -> Iterator[str]:
    """Queries that read the first and the last entry of every table and index: the pages
    from each root to both ends of it, where new rows go."""
    objects = db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master "
                         "WHERE type IN ('table', 'index') AND rootpage > 0").fetchall()
    for kind, name, table, sql in objects:
        if kind == "table":
            yield from (f'SELECT * FROM "{name}" ORDER BY rowid {way} LIMIT 1'
                        for way in ("ASC", "DESC"))
            continue
        parts = _INDEX_SQL.search(sql) if sql else None
        if parts is None:  # a primary key's or a unique constraint's: plain columns
            column = db.execute("SELECT name FROM pragma_index_info(?)", [name]).fetchone()[0]
            key = f'"{column}"'
            where = ""
        else:
            key = _top_level(parts["keys"])[0]
            where = f" WHERE {parts['where']}" if parts["where"] else ""
        yield from (f'SELECT 1 FROM "{table}" INDEXED BY "{name}"{where} '
                    f"ORDER BY {key} {way} LIMIT 1" for way in ("ASC", "DESC"))


def _refuse_damage(db: Database, path: str) -> None:
    # not PRAGMA quick_check, which reads every page (seconds for a year of history): the
    # schema, and each table and index from its root to both ends, where new rows go and
    # today's are read; a damaged file found later would make the daemon look healthy
    # while every commit fails
    try:
        for query in _edges(db):
            db.execute(query).fetchall()
    except sqlite3.DatabaseError as error:
        problem = " ".join(str(error).split())
        raise UserError(f"{path} is damaged ({problem}). Restore a backup, or save what is "
                        f"readable with: sqlite3 {path} .recover | sqlite3 new.sqlite"
                        ) from error


def open_database(path: str, *, option: str = "--db") -> Database:
    """Open (creating if needed) a queuepulse database for writing, schema up to date.

    Refuses, without changing the file, one that is not SQLite, is damaged, was written by
    a newer queuepulse, or that another program holds a write lock on. ``option`` is how
    the user named the file (``--db``, ``database.path``), for the message.
    """
    _refuse_non_sqlite(Path(path), option)
    try:
        db = Database(sqlite3.connect(path, timeout=_LOCK_WAIT_S))
    except sqlite3.Error as error:
        raise unusable(path, error, option) from error
    try:
        _refuse_newer_schema(db, path, option)
        _refuse_damage(db, path)
        # take the write lock once now: a file locked by another program is refused at
        # start, not found out at the first commit
        db.execute("BEGIN IMMEDIATE")
        db.execute("ROLLBACK")
        db.execute("PRAGMA journal_mode=WAL")
        migrations.apply(db)
    except sqlite3.Error as error:
        db.close()
        raise unusable(path, error, option) from error
    except BaseException:
        db.close()
        raise
    return db


def _held(db: Database, path: str, option: str) -> Iterator[Database]:
    """Hand ``db`` to a ``with`` block, then close it; an SQLite error in the block becomes
    one readable line."""
    try:
        yield db
    except sqlite3.Error as error:
        raise unusable(path, error, option) from error
    finally:
        db.close()


@contextmanager
def writing(path: str, *, option: str = "--db") -> Iterator[Database]:
    """The database open for writing in a ``with`` block; closed afterwards.

    An error SQLite raises in the block becomes one readable line; when the block fails,
    a database the block created is deleted, so a failed command leaves no empty file.
    """
    with removed_on_failure(Path(path), COMPANIONS):
        yield from _held(open_database(path, option=option), path, option)


def in_use(path: str) -> bool:
    """Whether a program may have the database open (its ``-wal`` or ``-journal`` exists)."""
    return any(Path(path + suffix).exists() for suffix in ("-wal", "-journal"))


def open_for_reading(path: str, *, option: str = "--db") -> Database:
    """Open an existing queuepulse database read-only; its schema is left as it is."""
    file = Path(path)
    if not file.is_file():
        raise UserError(f"no database at {path}. Give {option} the file 'queuepulse run' "
                        "writes (database.path in the config), or 'queuepulse replay' or "
                        "'import-queue-log' wrote.")
    _refuse_non_sqlite(file, option)
    uri = file.resolve().as_uri() + ("?mode=ro" if in_use(path) else "?immutable=1")
    try:
        db = Database(sqlite3.connect(uri, uri=True))
        tables = db.table_names()
    except sqlite3.Error as error:
        raise unusable(path, error, option) from error
    if "calls" not in tables:
        db.close()
        raise UserError(f"{path} is not a queuepulse database (it has no calls table). "
                        f"Check {option}: give the file database.path names.")
    return db


@contextmanager
def reading(path: str, *, option: str = "--db") -> Iterator[Database]:
    """The database open read-only in a ``with`` block; an SQLite error in the block is
    one readable line."""
    yield from _held(open_for_reading(path, option=option), path, option)
