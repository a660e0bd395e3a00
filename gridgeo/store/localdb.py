"""A project-local PostgreSQL/PostGIS cluster built from the system binaries.

Without ``GRIDGEO_DATABASE_URL`` gridgeo runs its own cluster:

* data directory ``<home>/pg/data`` (``home`` from :class:`gridgeo.settings.Settings`);
* no TCP listener: the server listens only on a Unix socket in
  ``<home>/pg/run``, so two checkouts each run their own cluster side by side
  without port clashes;
* a superuser and database both named ``gridgeo``, ``trust`` authentication on
  the socket (the socket directory is private to the server's owner), and
  ``CREATE EXTENSION postgis``.

``initdb`` refuses to run as root, so when root runs gridgeo the server runs as
the unprivileged system user ``postgres`` (created by Debian's
``postgresql-common``; ``gridgeo-db`` is created if it is missing). When that
user cannot reach ``<home>`` (for example a checkout under ``/root``), the
cluster lives in ``/var/lib/gridgeo/<hash of home>`` instead.
Every operation is idempotent: ``up`` twice starts one server.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from gridgeo.errors import LocalDatabaseError

DB_NAME = "gridgeo"
DB_USER = "gridgeo"
PORT = 5432
INSTALL_HINT = (
    "install the PostgreSQL server and PostGIS packages, e.g. "
    "`sudo apt-get install postgresql postgresql-{major}-postgis-3` (or run `make setup`)"
)
_SOCKET_PATH_MAX = 100


@dataclass(frozen=True)
class Binaries:
    """Locations of the PostgreSQL server programs of one major version."""

    bindir: Path
    major: int

    def tool(self, name: str) -> str:
        """Return the full path of one server program (``initdb``, ``pg_ctl`` …)."""
        return str(self.bindir / name)


def _major_of(bindir: Path) -> int | None:
    try:
        out = subprocess.run(
            [str(bindir / "postgres"), "-V"], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    match = re.search(r"\(PostgreSQL\)\s+(\d+)", out)
    return int(match.group(1)) if match else None


def _has_postgis(major: int) -> bool:
    return Path(f"/usr/share/postgresql/{major}/extension/postgis.control").is_file()


def find_binaries() -> Binaries:
    """Find the newest PostgreSQL server binaries that have PostGIS installed.

    Returns
    -------
    Binaries
        Directory and major version.

    Raises
    ------
    LocalDatabaseError
        When no server binaries or no PostGIS extension are installed; the
        message names the packages to install.
    """
    candidates: list[Path] = sorted(
        (p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    found: list[Binaries] = []
    for bindir in candidates:
        major = _major_of(bindir)
        if major is not None:
            found.append(Binaries(bindir, major))
    if not found:
        raise LocalDatabaseError(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found: "
            + INSTALL_HINT.format(major="<version>")
        )
    for binaries in found:
        if _has_postgis(binaries.major):
            return binaries
    raise LocalDatabaseError(
        f"PostGIS is not installed for PostgreSQL {found[0].major}: "
        + INSTALL_HINT.format(major=found[0].major)
    )


def _is_root() -> bool:
    return os.geteuid() == 0


def service_user() -> str | None:
    """Return the system user the server runs as when gridgeo runs as root.

    Returns
    -------
    str or None
        ``None`` when not root (the server runs as the calling user).
    """
    if not _is_root():
        return None
    for name in ("postgres", "gridgeo-db"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "gridgeo-db"],
        check=True,
    )
    return "gridgeo-db"


def _runuser() -> str:
    for candidate in (shutil.which("runuser"), "/usr/sbin/runuser", "/sbin/runuser"):
        if candidate and Path(candidate).exists():
            return candidate
    raise LocalDatabaseError("`runuser` (util-linux) is needed to run PostgreSQL as root")


def _reachable_by(user: str, path: Path) -> bool:
    result = subprocess.run(
        [_runuser(), "-u", user, "--", "test", "-x", str(path)], capture_output=True, cwd="/"
    )
    return result.returncode == 0


@dataclass(frozen=True)
class Cluster:
    """Paths and identity of the local cluster belonging to one gridgeo home."""

    root: Path
    owner: str | None

    @property
    def data_dir(self) -> Path:
        """The PostgreSQL data directory."""
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        """The directory holding the server's Unix socket."""
        candidate = self.root / "run"
        if len(str(candidate)) + len("/.s.PGSQL.5432") <= _SOCKET_PATH_MAX:
            return candidate
        digest = hashlib.sha1(str(self.root).encode()).hexdigest()[:12]
        return Path("/tmp") / f"gridgeo-{digest}"

    @property
    def log_file(self) -> Path:
        """The server log."""
        return self.root / "server.log"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the cluster's ``gridgeo`` database."""
        return f"postgresql+psycopg://{DB_USER}@/{DB_NAME}?host={self.socket_dir}&port={PORT}"

    def admin_url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL of another database of the cluster."""
        return f"postgresql+psycopg://{DB_USER}@/{database}?host={self.socket_dir}&port={PORT}"


def cluster_for(home: Path) -> Cluster:
    """Return the cluster that belongs to a gridgeo home directory.

    Parameters
    ----------
    home : pathlib.Path
        The gridgeo state directory.

    Returns
    -------
    Cluster
    """
    home = home.resolve()
    owner = service_user()
    root = home / "pg"
    if owner is not None:
        probe = home
        while not probe.exists():
            probe = probe.parent
        if not _reachable_by(owner, probe):
            digest = hashlib.sha1(str(home).encode()).hexdigest()[:12]
            root = Path("/var/lib/gridgeo") / digest
    return Cluster(root=root, owner=owner)


def _run(cluster: Cluster, args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    command = [_runuser(), "-u", cluster.owner, "--", *args] if cluster.owner else args
    result = subprocess.run(command, capture_output=True, text=True, cwd="/")
    if check and result.returncode != 0:
        raise LocalDatabaseError(
            f"`{' '.join(args[:2])}` failed: {(result.stderr or result.stdout).strip()[-800:]}"
        )
    return result


def _prepare_dirs(cluster: Cluster) -> None:
    for path in (cluster.root, cluster.socket_dir):
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o700)
        if cluster.owner:
            shutil.chown(path, cluster.owner, cluster.owner)


def is_running(cluster: Cluster, binaries: Binaries | None = None) -> bool:
    """Tell whether the cluster's server is running.

    Parameters
    ----------
    cluster : Cluster
    binaries : Binaries, optional
        Found with :func:`find_binaries` when omitted.

    Returns
    -------
    bool
    """
    if not (cluster.data_dir / "PG_VERSION").exists():
        return False
    binaries = binaries or find_binaries()
    result = _run(cluster, [binaries.tool("pg_ctl"), "status", "-D", str(cluster.data_dir)], False)
    return result.returncode == 0


def _configure(cluster: Cluster) -> None:
    conf = cluster.data_dir / "postgresql.auto.conf"
    settings = {
        "listen_addresses": "''",
        "unix_socket_directories": f"'{cluster.socket_dir}'",
        "port": str(PORT),
        "synchronous_commit": "off",
        "shared_buffers": "'256MB'",
        "max_connections": "200",
        "log_min_messages": "warning",
    }
    lines = [f"{key} = {value}\n" for key, value in settings.items()]
    conf.write_text("# written by gridgeo\n" + "".join(lines))
    if cluster.owner:
        shutil.chown(conf, cluster.owner, cluster.owner)


def up(home: Path) -> Cluster:
    """Create (once) and start (if stopped) the local cluster; idempotent.

    Parameters
    ----------
    home : pathlib.Path
        The gridgeo state directory.

    Returns
    -------
    Cluster
        The running cluster; its :attr:`Cluster.url` connects to a database
        with PostGIS enabled.

    Raises
    ------
    LocalDatabaseError
        Missing binaries, or a server that does not start (the message ends
        with the server log's last lines).
    """
    binaries = find_binaries()
    cluster = cluster_for(home)
    _prepare_dirs(cluster)
    if not (cluster.data_dir / "PG_VERSION").exists():
        _run(
            cluster,
            [
                binaries.tool("initdb"),
                "-D",
                str(cluster.data_dir),
                "-U",
                DB_USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
            ],
        )
    _configure(cluster)
    if not is_running(cluster, binaries):
        result = _run(
            cluster,
            [
                binaries.tool("pg_ctl"),
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                str(cluster.data_dir),
                "-l",
                str(cluster.log_file),
            ],
            check=False,
        )
        if result.returncode != 0:
            tail = ""
            if cluster.log_file.exists():
                tail = "\n".join(cluster.log_file.read_text(errors="replace").splitlines()[-8:])
            raise LocalDatabaseError(f"the local PostgreSQL server did not start:\n{tail}")
    _ensure_database(cluster)
    return cluster


def _ensure_database(cluster: Cluster) -> None:
    import psycopg

    conninfo = dict(host=str(cluster.socket_dir), port=PORT, user=DB_USER, autocommit=True)
    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(dbname="postgres", **conninfo) as conn:  # type: ignore[arg-type]
                exists = conn.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)
                ).fetchone()
                if not exists:
                    conn.execute(f'CREATE DATABASE "{DB_NAME}"')
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
    with psycopg.connect(dbname=DB_NAME, **conninfo) as conn:  # type: ignore[arg-type]
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")


def down(home: Path) -> bool:
    """Stop the local cluster's server if it runs.

    Parameters
    ----------
    home : pathlib.Path

    Returns
    -------
    bool
        Whether a running server was stopped.
    """
    cluster = cluster_for(home)
    if not (cluster.data_dir / "PG_VERSION").exists():
        return False
    binaries = find_binaries()
    if not is_running(cluster, binaries):
        return False
    _run(
        cluster, [binaries.tool("pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(cluster.data_dir)]
    )
    return True


def status(home: Path) -> dict[str, object]:
    """Describe the local cluster.

    Parameters
    ----------
    home : pathlib.Path

    Returns
    -------
    dict
        ``initialised``, ``running``, ``data_dir``, ``socket_dir``, ``url``, ``owner``.
    """
    cluster = cluster_for(home)
    initialised = (cluster.data_dir / "PG_VERSION").exists()
    return {
        "initialised": initialised,
        "running": initialised and is_running(cluster),
        "data_dir": str(cluster.data_dir),
        "socket_dir": str(cluster.socket_dir),
        "url": cluster.url,
        "owner": cluster.owner or pwd.getpwuid(os.geteuid()).pw_name,
    }
