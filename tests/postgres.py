"""A throwaway PostgreSQL cluster for the tests: made in a temporary folder, listening on
a free loopback port, without durability (the data dies with the run), stopped at the
end of the session however it ends.

Found on PATH or where Debian's `postgresql` package puts it (`/usr/lib/postgresql/*/bin`).
PostgreSQL refuses to run as root: as root, the cluster runs as the `postgres` user
(Debian's package makes it) or, failing that, `nobody`.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.engine import SqliteEngine
from bot.store import Store

USER = "invoicebot"


def binaries() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, if PostgreSQL is installed."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_owner(command: list[str]) -> tuple[list[str], int | None, int | None]:
    if os.geteuid() != 0:
        return command, None, None
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return command, entry.pw_uid, entry.pw_gid
    raise RuntimeError("running as root and there is no unprivileged user to run PostgreSQL")


def _run(command: list[str], uid: int | None, gid: int | None, log: Path | None = None) -> None:
    """Run a PostgreSQL program; if it fails, say what it and the server's log said."""
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
        user=uid,
        group=gid,
        extra_groups=[] if uid is not None else None,
    )
    if done.returncode != 0:
        server = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
        raise RuntimeError(f"{Path(command[0]).name} failed: {done.stderr.strip()}\n{server}")


@contextmanager
def cluster(bin_dir: Path) -> Iterator[str]:
    """Start a cluster; yield its URL (trust authentication, loopback only); stop it."""
    folder = Path(tempfile.mkdtemp(prefix="invoicebot-pg-"))
    _, uid, gid = _as_owner([])
    if uid is not None:
        os.chown(folder, uid, gid or -1)
    data, port = folder / "data", _free_port()
    started = False
    try:
        _run(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", USER, "--auth=trust",
             "-E", "UTF8", "--no-sync", "--no-instructions"],
            uid, gid,
        )  # fmt: skip
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -k {folder} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        started = True
        _run(
            [str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options,
             "-l", str(folder / "log"), "-w", "-t", "60", "start"],
            uid, gid, folder / "log",
        )  # fmt: skip
        yield f"postgresql://{USER}@127.0.0.1:{port}/postgres"
    finally:
        if started:
            subprocess.run(
                [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                capture_output=True,
                user=uid,
                group=gid,
                extra_groups=[] if uid is not None else None,
            )
        shutil.rmtree(folder, ignore_errors=True)


def stored_bytes(store: Store) -> bytes:
    """Everything the database holds, as one could read it without the secret key: a
    sqlite file's bytes (and its WAL), or every value of every table on PostgreSQL."""
    engine = store.db
    if isinstance(engine, SqliteEngine):
        files = engine.path.parent.glob(engine.path.name + "*")
        return b"".join(path.read_bytes() for path in files)
    tables = engine.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    ).fetchall()
    values = []
    for (table,) in tables:
        for row in engine.execute(f"SELECT * FROM {table}").fetchall():  # noqa: S608
            values += [v if isinstance(v, bytes) else str(v).encode() for v in row]
    return b"\n".join(values)
