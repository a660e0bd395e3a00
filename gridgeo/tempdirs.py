"""Temporary directories of imports and exports, and clean-up of abandoned ones.

Each directory is named ``gridgeo-<kind>-<pid>-<random>`` in the system
temporary directory. A process killed while importing cannot remove its
directory; :func:`remove_stale_temp_dirs` (run at API start-up) removes the
directories of processes that no longer exist, and unnamed legacy ones
(``gridgeo-<kind>-<random>``) older than a day.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

KINDS: Final = ("import", "shp", "export", "zip")
_NAME: Final = re.compile(r"^gridgeo-(?:" + "|".join(KINDS) + r")-(?:(\d+)-)?[^/]+$")
LEGACY_MAX_AGE_S: Final = 24 * 3600.0


def make_temp_dir(kind: str) -> Path:
    """Create ``gridgeo-<kind>-<pid>-<random>``; the caller removes it.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    """
    return Path(tempfile.mkdtemp(prefix=f"gridgeo-{kind}-{os.getpid()}-"))


@contextmanager
def temp_dir(kind: str) -> Iterator[Path]:
    """A :func:`make_temp_dir` directory removed on exit (also on errors)."""
    path = make_temp_dir(kind)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OverflowError:
        return False
    return True


def remove_stale_temp_dirs(root: Path | None = None, *, now: float | None = None) -> list[Path]:
    """Remove gridgeo temporary directories left by processes that are gone.

    Parameters
    ----------
    root : pathlib.Path, optional
        Where to look (default: the system temporary directory).
    now : float, optional
        Current time (seconds since the epoch), for the legacy age rule.

    Returns
    -------
    list of pathlib.Path
        The directories removed.
    """
    root = Path(root or tempfile.gettempdir())
    now = time.time() if now is None else now
    removed: list[Path] = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _NAME.match(entry.name)
        if match is None or not entry.is_dir() or entry.is_symlink():
            continue
        pid = match.group(1)
        try:
            if pid is not None:
                stale = not _alive(int(pid))
            else:
                stale = now - entry.stat().st_mtime > LEGACY_MAX_AGE_S
        except OSError:
            continue
        if stale:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed
