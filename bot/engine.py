"""The database under `bot.store`: one small interface, a sqlite file or PostgreSQL.

The store and its neighbours write one SQL dialect, the part sqlite and PostgreSQL share:
`?` placeholders, `INSERT … ON CONFLICT … DO NOTHING | DO UPDATE`, `RETURNING`, `COUNT`,
`COALESCE`. Where the two really differ (reading a JSON list, the schema's column types,
how a transaction takes the write lock) the engine says it its own way.

`INVOICEBOT_DATABASE=postgresql://…` (or `postgres://…`) selects PostgreSQL; anything
else is a sqlite path.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

from sqlite_utils import Database

URL_SCHEMES = ("postgresql://", "postgres://")
_LIBPQ_KEYWORDS = re.compile(r"(^|\s)(host|hostaddr|dbname|user|port|password|service)\s*=")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]+):/")  # not C:/ on Windows


class DatabaseUnavailable(Exception):
    """The database cannot be opened; the message says which and why, in one line."""


def database_problem(database: str) -> str | None:
    """Why `database` is neither a PostgreSQL URL nor a sqlite path, or None.

    A mistyped URL (`postgressql://…`) or libpq's `host=… dbname=…` form would otherwise
    be taken for a sqlite file name, and the bot would start on an empty database.
    """
    if database != database.strip():
        return "remove the spaces around it"
    if is_url(database):
        return None
    if found := _SCHEME.match(database):
        return (
            f"{found[1]}:… is not a database this bot knows: "
            "use postgresql://… or a sqlite file path"
        )
    if _LIBPQ_KEYWORDS.search(database):
        return "write PostgreSQL's address as a URL: postgresql://user:password@host:5432/name"
    return None


class Cursor(Protocol):
    """What a statement gives back, on either engine (DB-API, the common part)."""

    @property
    def rowcount(self) -> int: ...

    @property
    def description(self) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Table(Protocol):
    """What a migration may do to a table: sqlite-utils' own methods, kept on sqlite so
    its schema stays as it was, and the same calls spelled for PostgreSQL."""

    def exists(self) -> bool: ...

    def create(
        self,
        columns: dict[str, Any],
        pk: Any = ...,
        *,
        not_null: Iterable[str] | None = ...,
        defaults: dict[str, Any] | None = ...,
        if_not_exists: bool = ...,
    ) -> object: ...

    def add_column(
        self, col_name: str, col_type: Any = ..., *, not_null_default: Any = ...
    ) -> object: ...

    def create_index(
        self, columns: Iterable[str], index_name: str | None = ..., unique: bool = ...
    ) -> object: ...


class Engine(Protocol):
    kind: str
    shared: bool
    """True when several bot processes may serve this database at once: nothing held
    at start-up (a claim, a lease) can be assumed to be a dead process's."""

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Cursor: ...

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    def transaction(self) -> AbstractContextManager[None]:
        """Everything inside commits together or not at all (nested: a savepoint)."""
        ...

    def claim(self) -> AbstractContextManager[None]:
        """A transaction that holds the write lock before it reads (see `Store.claim`)."""
        ...

    @property
    def in_transaction(self) -> bool: ...

    def table(self, name: str) -> Table: ...

    def json_values(self, expression: str, alias: str) -> str:
        """A FROM item listing the values of a JSON list held in text, as `alias.value`."""
        ...

    def another(self) -> Engine:
        """A second connection to the same database, for a worker thread."""
        ...

    def refused(self, error: Exception) -> bool:
        """Whether `error` is the database refusing the values written (a text it cannot
        store, a constraint), not the database being unreachable or busy: writing the
        same values again can only fail again."""
        ...

    def close(self) -> None: ...


class Rows:
    """A statement's rows, read before its implicit transaction was committed."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._rows = cursor.fetchall()
        self.rowcount = cursor.rowcount
        self.description = cursor.description

    def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class SqliteEngine:
    """A sqlite file in WAL mode, through sqlite-utils; one process serves it."""

    kind = "sqlite"
    shared = False

    def __init__(self, path: Path, *, thread_safe: bool = False) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # No sqlite-utils plugins: one installed beside the bot would get the
            # connection to its payments and credentials, and looking for them reads
            # every installed package's entry points (a few percent of a start).
            connection = sqlite3.connect(path, check_same_thread=not thread_safe)
            self.db = Database(connection, execute_plugins=False)
            self.db.enable_wal()  # reads and writes the file: not a database, read-only
            self.db.execute("PRAGMA busy_timeout = 5000")
            self.db.execute("PRAGMA foreign_keys = ON")
        except (OSError, sqlite3.Error) as error:
            raise DatabaseUnavailable(f"cannot open the sqlite file {path}: {error}") from None

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Cursor:
        conn = self.db.conn
        was_in_transaction = conn.in_transaction
        cursor = self.db.execute(sql, parameters)
        if not was_in_transaction and conn.in_transaction:
            # A write with RETURNING: sqlite-utils leaves it open for its rows to be read.
            rows = Rows(cursor)
            conn.execute("COMMIT")
            return rows
        return cursor

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Plain executemany: the loop over rows runs in C, so it barely holds the GIL."""
        with self.db.atomic():
            self.db.conn.executemany(sql, rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.db.atomic():
            yield

    @contextmanager
    def claim(self) -> Iterator[None]:
        if self.db.conn.in_transaction:
            raise RuntimeError("claim() must not run inside another transaction")
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.conn.rollback()
            raise
        self.db.execute("COMMIT")

    @property
    def in_transaction(self) -> bool:
        return self.db.conn.in_transaction

    def table(self, name: str) -> Table:
        return self.db.table(name)

    def json_values(self, expression: str, alias: str) -> str:
        return f"json_each({expression}) AS {alias}"

    def another(self) -> Engine:
        return SqliteEngine(self.path, thread_safe=True)

    def refused(self, error: Exception) -> bool:
        return isinstance(error, ValueError | sqlite3.DataError | sqlite3.IntegrityError)

    def close(self) -> None:
        self.db.close()


def is_url(database: str | Path) -> bool:
    return isinstance(database, str) and database.startswith(URL_SCHEMES)


def open_engine(database: str | Path) -> Engine:
    """PostgreSQL for a `postgresql://` URL, else the sqlite file at that path."""
    if is_url(database):
        from bot.postgres import PostgresEngine

        return PostgresEngine(str(database))
    return SqliteEngine(Path(database))


def shown(database: str | Path) -> str:
    """The database as it may be printed or logged: a URL without its password."""
    if not is_url(database):
        return str(database)
    from bot.postgres import without_password

    return without_password(str(database))
