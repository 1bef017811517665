"""PostgreSQL behind `bot.engine.Engine`, through psycopg 3, used synchronously.

Why synchronous: the store's calls are short and run on the event loop thread, as
sqlite's do, and a compare-and-set never awaits in the middle of its transaction; an
async driver (asyncpg, or psycopg's async half) would make every store call a coroutine
for no gain, and a transaction open across an `await` would hold row locks while other
work runs. psycopg 3 is the maintained successor of psycopg2, speaks libpq (URLs,
`PGPASSWORD`, `.pgpass`, TLS settings as everywhere), and prepares repeated statements.

One connection per store, in autocommit: a statement outside `transaction()` commits on
its own, like sqlite's. A connection that broke (the server restarted) is replaced on
the next call; the failed call itself is not retried, since it may have committed.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import psycopg
from psycopg import pq
from psycopg.conninfo import conninfo_to_dict

from bot.engine import Cursor, DatabaseUnavailable, Engine, Table

log = logging.getLogger(__name__)

TYPES: dict[Any, str] = {
    str: "TEXT",
    int: "BIGINT",
    float: "DOUBLE PRECISION",
    bytes: "BYTEA",
    bool: "BIGINT",
}
"""Python types as migrations name them (sqlite-utils' way), as PostgreSQL columns."""

CLAIM_LOCK = int.from_bytes(hashlib.sha256(b"invoicebot.claim").digest()[:8], "big", signed=True)
"""The advisory lock `claim()` holds: the one write lock sqlite's BEGIN IMMEDIATE takes."""

OPEN = frozenset(
    {pq.TransactionStatus.ACTIVE, pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR}
)
"""A transaction is open (a lost connection, UNKNOWN, has none: the next call replaces it)."""

NOT_PORTABLE = re.compile(r"\bINSERT\s+OR\b|\bjson_each\b|\bPRAGMA\b", re.IGNORECASE)


class NotPortable(Exception):
    """SQL only sqlite understands reached PostgreSQL: say it both engines' way."""


@lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """`?` placeholders as psycopg's `%s` (a literal `%` doubled); sqlite-only SQL refused."""
    if NOT_PORTABLE.search(sql):
        raise NotPortable(
            f"not PostgreSQL: {sql[:80]!r} (use ON CONFLICT DO NOTHING, engine.json_values)"
        )
    return sql.replace("%", "%%").replace("?", "%s")


UNREADABLE_URL = "postgresql://… (a URL that cannot be read)"


def without_password(url: str) -> str:
    """The URL as it may be printed: rebuilt from what libpq reads in it, so a password
    is left out wherever it was written (`user:pw@`, `?password=`, unencoded `#` or `/`)."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.Error:
        return UNREADABLE_URL
    params.pop("password", None)
    user, host, port = params.pop("user", ""), params.pop("host", ""), params.pop("port", "")
    dbname = params.pop("dbname", "")
    where = f"{user}@" if user else ""
    where += f"{host}:{port}" if port else str(host)
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"postgresql://{where}/{dbname}" + (f"?{query}" if query else "")


def _unreachable(url: str, error: psycopg.Error) -> DatabaseUnavailable:
    """Why `url` cannot be connected to, in one line that never holds its password."""
    if not isinstance(error, psycopg.OperationalError):  # libpq could not even read it
        return DatabaseUnavailable(
            "the PostgreSQL URL cannot be read (in a password, % # / ? and @ must be "
            "percent-encoded)"
        )
    lines = str(error).strip().splitlines()
    reason = lines[0] if lines else "no answer"
    with contextlib.suppress(psycopg.Error):
        if password := conninfo_to_dict(url).get("password"):
            reason = reason.replace(str(password), "***")
    return DatabaseUnavailable(f"cannot connect to {without_password(url)}: {reason}")


def _literal(value: Any) -> str:
    if isinstance(value, bool | int | float):
        return str(int(value) if isinstance(value, bool) else value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no literal for default {value!r}")


NUL_STANDS_IN = "\ufffd"
"""What a NUL character is stored as: PostgreSQL refuses NUL in text, and sqlite keeps it."""


def _storable(parameters: Sequence[Any]) -> Sequence[Any]:
    """`parameters` with each NUL in a text written as `NUL_STANDS_IN`. A NUL typed after
    /invoices or sent in a provider's JSON otherwise failed its statement, and in an audit
    batch every later row with it; a lookup by such a text finds what was stored for it."""
    if not any(isinstance(value, str) and "\x00" in value for value in parameters):
        return parameters
    return [
        value.replace("\x00", NUL_STANDS_IN) if isinstance(value, str) else value
        for value in parameters
    ]


class PostgresTable:
    """sqlite-utils' table calls that migrations make, written as PostgreSQL DDL.

    A table without an integer key gets a `rowid` column, as every sqlite table has one:
    queries that order by insertion (`ORDER BY rowid`) read the same on both engines.
    """

    def __init__(self, engine: PostgresEngine, name: str) -> None:
        self.engine = engine
        self.name = name

    def exists(self) -> bool:
        row = self.engine.execute("SELECT to_regclass(?) IS NOT NULL", [self.name]).fetchone()
        return bool(row[0])

    def create(
        self,
        columns: dict[str, Any],
        pk: Any = None,
        *,
        not_null: Iterable[str] | None = None,
        defaults: dict[str, Any] | None = None,
        if_not_exists: bool = False,
    ) -> object:
        keys = [pk] if isinstance(pk, str) else list(pk or [])
        required, given = set(not_null or ()), defaults or {}
        lines = []
        for column, kind in columns.items():
            if keys == [column] and kind is int:
                lines.append(f"{column} BIGINT GENERATED BY DEFAULT AS IDENTITY")
                continue
            line = f"{column} {TYPES[kind]}"
            if column in required:
                line += " NOT NULL"
            if column in given:
                line += f" DEFAULT {_literal(given[column])}"
            lines.append(line)
        if not (len(keys) == 1 and columns.get(keys[0]) is int):
            lines.append("rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE")
        if keys:
            lines.append(f"PRIMARY KEY ({', '.join(keys)})")
        exists = "IF NOT EXISTS " if if_not_exists else ""
        self.engine.execute(f"CREATE TABLE {exists}{self.name} ({', '.join(lines)})")
        return self

    def add_column(
        self, col_name: str, col_type: Any = None, *, not_null_default: Any = None
    ) -> object:
        kind = TYPES[col_type or str]
        if not_null_default is not None:
            kind += f" NOT NULL DEFAULT {_literal(not_null_default)}"
        self.engine.execute(f"ALTER TABLE {self.name} ADD COLUMN {col_name} {kind}")
        return self

    def create_index(
        self, columns: Iterable[str], index_name: str | None = None, unique: bool = False
    ) -> object:
        columns = list(columns)
        name = index_name or f"idx_{self.name}_{'_'.join(columns)}"
        kind = "UNIQUE INDEX" if unique else "INDEX"
        self.engine.execute(f"CREATE {kind} {name} ON {self.name} ({', '.join(columns)})")
        return self


class PostgresEngine:
    kind = "postgresql"
    shared = True

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self._conn = self._connect()
        except psycopg.Error as error:
            raise _unreachable(url, error) from None

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.url, autocommit=True)

    def _live(self) -> psycopg.Connection[Any]:
        if self._conn.broken or self._conn.closed:
            log.warning("the PostgreSQL connection was lost; connecting again")
            self._conn = self._connect()
        return self._conn

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Cursor:
        return self._live().execute(translate(sql), _storable(parameters))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        conn = self._live()
        with conn.transaction(), conn.cursor() as cursor:
            cursor.executemany(translate(sql), [_storable(row) for row in rows])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._live().transaction():
            yield

    @contextmanager
    def claim(self) -> Iterator[None]:
        """A transaction holding one advisory lock for all `claim()`s: like sqlite's
        write lock, a second process waits here, then reads what the first committed."""
        if self.in_transaction:
            raise RuntimeError("claim() must not run inside another transaction")
        conn = self._live()
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [CLAIM_LOCK])
            yield

    @property
    def in_transaction(self) -> bool:
        return self._conn.info.transaction_status in OPEN

    def table(self, name: str) -> Table:
        return PostgresTable(self, name)

    def json_values(self, expression: str, alias: str) -> str:
        return f"json_array_elements_text(CAST({expression} AS json)) AS {alias}(value)"

    def another(self) -> Engine:
        return PostgresEngine(self.url)

    def refused(self, error: Exception) -> bool:
        return isinstance(error, ValueError | psycopg.DataError | psycopg.IntegrityError)

    def close(self) -> None:
        self._conn.close()
