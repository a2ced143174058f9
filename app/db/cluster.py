"""The project's own PostgreSQL 15 + PostGIS cluster on 127.0.0.1 (used when no DATABASE_URL is set).

PostgreSQL refuses to run as root, so when started as root the cluster runs as the ``postgres`` user
and keeps its data under ``/var/lib/postgresql/renewal/<checkout hash>`` (a checkout under /root is not
reachable by that user); otherwise under ``.data/pg`` in the checkout.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from psycopg import sql

from app.settings import PROJECT_ROOT, Settings

PG_MAJOR = 15
APT_PACKAGE = f"postgresql-{PG_MAJOR}-postgis-3"
BINDIR = Path(f"/usr/lib/postgresql/{PG_MAJOR}/bin")
POSTGIS_CONTROL = Path(f"/usr/share/postgresql/{PG_MAJOR}/extension/postgis.control")

# Server settings for a 2-core, 24 GiB machine; a development/test cluster, so commits need not wait
# for the WAL flush (a crash loses at most the last moments, never consistency).
SERVER_OPTIONS = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",
    "max_connections": "200",
    "shared_buffers": "1GB",
    "effective_cache_size": "8GB",
    "work_mem": "64MB",
    "maintenance_work_mem": "512MB",
    "max_wal_size": "4GB",
    "synchronous_commit": "off",
    "random_page_cost": "1.1",
    "jit": "off",
}

Say = Callable[[str], None]


class ClusterError(RuntimeError):
    """The local cluster cannot be installed, initialised or started; the message says why."""


def is_root() -> bool:
    """Whether this process runs as root."""
    return os.geteuid() == 0


def data_dir(settings: Settings) -> Path:
    """Where the cluster keeps its data (see the module docstring)."""
    if settings.pg_data is not None:
        return settings.pg_data.resolve()
    if is_root():
        digest = hashlib.sha1(str(PROJECT_ROOT).encode()).hexdigest()[:12]
        return Path("/var/lib/postgresql/renewal") / digest
    return PROJECT_ROOT / ".data" / "pg"


def _as_owner(cmd: list[str]) -> list[str]:
    """Prefix a command so that it runs as the ``postgres`` user when we are root."""
    return ["runuser", "-u", "postgres", "--", *cmd] if is_root() else cmd


def is_listening(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def ensure_installed(settings: Settings, say: Say) -> None:
    """Install Debian's PostgreSQL 15 + PostGIS 3 when missing and allowed (root or password-less sudo)."""
    if (BINDIR / "initdb").exists() and POSTGIS_CONTROL.exists():
        return
    if not settings.pg_install:
        raise ClusterError(f"{APT_PACKAGE} is not installed and RENEWAL_PG_INSTALL is off")
    prefix: list[str] = []
    if not is_root():
        if shutil.which("sudo") is None or subprocess.run(["sudo", "-n", "true"], check=False).returncode:
            raise ClusterError(
                f"{APT_PACKAGE} is missing; install it (apt-get install {APT_PACKAGE}) or set DATABASE_URL"
            )
        prefix = ["sudo", "-n"]
    say(f"installing {APT_PACKAGE} with apt-get (once)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [*prefix, "apt-get", "install", "-y", "-q", "--no-install-recommends", APT_PACKAGE]
    if subprocess.run(install, env=env, check=False).returncode != 0:
        subprocess.run([*prefix, "apt-get", "update", "-q"], env=env, check=True)
        subprocess.run(install, env=env, check=True)
    if not POSTGIS_CONTROL.exists():
        raise ClusterError(f"{APT_PACKAGE} was installed but {POSTGIS_CONTROL} is still missing")


def _init(pgdata: Path, settings: Settings, say: Say) -> None:
    """Create the data directory and run initdb (superuser ``settings.pg_user``, trust on loopback)."""
    say(f"initialising a PostgreSQL {PG_MAJOR} cluster in {pgdata}")
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    if is_root():
        shutil.chown(pgdata.parent, "postgres", "postgres")
    cmd = [
        str(BINDIR / "initdb"), "-D", str(pgdata), "-U", settings.pg_user, "-A", "trust",
        "-E", "UTF8", "--locale=C.UTF-8",
    ]
    subprocess.run(_as_owner(cmd), check=True, stdout=subprocess.DEVNULL)


def _start(pgdata: Path, settings: Settings, say: Say) -> None:
    """Start the server and wait until it accepts connections."""
    opts = " ".join(f"-c {k}={v!r}" if v == "" else f"-c {k}={v}" for k, v in SERVER_OPTIONS.items())
    logfile = pgdata.parent / f"{pgdata.name}.log"
    cmd = [
        str(BINDIR / "pg_ctl"), "-D", str(pgdata), "-l", str(logfile), "-w", "-t", "60",
        "-o", f"-p {settings.pg_port} {opts}", "start",
    ]
    say(f"starting PostgreSQL on 127.0.0.1:{settings.pg_port} (log: {logfile})")
    if subprocess.run(_as_owner(cmd), check=False, stdout=subprocess.DEVNULL).returncode != 0:
        tail = logfile.read_text(errors="replace")[-2000:] if logfile.exists() else ""
        raise ClusterError(f"PostgreSQL did not start; end of {logfile}:\n{tail}")
    for _ in range(100):
        if is_listening(settings.pg_port):
            return
        time.sleep(0.1)
    raise ClusterError(f"PostgreSQL started but does not listen on {settings.pg_port}")


def admin_connect(settings: Settings) -> psycopg.Connection:
    """An autocommit connection to the ``postgres`` database of the own cluster."""
    return psycopg.connect(
        host="127.0.0.1", port=settings.pg_port, user=settings.pg_user, dbname="postgres",
        autocommit=True, connect_timeout=settings.db_connect_timeout_s,
    )


def ensure_database(settings: Settings, name: str) -> bool:
    """Create database ``name`` in the own cluster when missing; True if it was created."""
    with admin_connect(settings) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


def up(settings: Settings, say: Say = print) -> str:
    """Make sure a database is reachable and return its URL; starts nothing when DATABASE_URL is set."""
    if settings.database_url:
        say("DATABASE_URL is set: using that server, the local cluster is not touched")
        return settings.sqlalchemy_url
    pgdata = data_dir(settings)
    if is_listening(settings.pg_port):
        say(f"reusing the PostgreSQL already listening on 127.0.0.1:{settings.pg_port}")
    else:
        ensure_installed(settings, say)
        if not (pgdata / "PG_VERSION").exists():
            _init(pgdata, settings, say)
        _start(pgdata, settings, say)
    _record_location(pgdata)
    if ensure_database(settings, settings.pg_db):
        say(f"created database {settings.pg_db}")
    return settings.sqlalchemy_url


def _record_location(pgdata: Path) -> None:
    """Leave a pointer in .data/ saying where the cluster's data lives (it may be outside the checkout)."""
    marker = PROJECT_ROOT / ".data" / "pg-location"
    marker.parent.mkdir(exist_ok=True)
    if not marker.exists() or marker.read_text().strip() != str(pgdata):
        marker.write_text(f"{pgdata}\n")


def down(settings: Settings, say: Say = print) -> None:
    """Stop the own cluster if it runs; does nothing when DATABASE_URL is set."""
    if settings.database_url:
        say("DATABASE_URL is set: nothing to stop")
        return
    pgdata = data_dir(settings)
    if not (pgdata / "postmaster.pid").exists():
        say("the local cluster is not running")
        return
    cmd = [str(BINDIR / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"]
    subprocess.run(_as_owner(cmd), check=True, stdout=subprocess.DEVNULL)
    say(f"stopped the cluster in {pgdata}")


def status(settings: Settings) -> dict[str, object]:
    """Where the database is and whether it answers."""
    return {
        "url": settings.sqlalchemy_url,
        "own_cluster": settings.database_url is None,
        "data_dir": None if settings.database_url else str(data_dir(settings)),
        "listening": is_listening(settings.pg_port) if settings.database_url is None else None,
    }
