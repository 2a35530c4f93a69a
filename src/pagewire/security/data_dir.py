"""The data directory is pagewire's alone: 0700, and the embedded database's files 0600.

SQLite creates its ``-wal`` and ``-shm`` files with the mode of the database file,
so creating that file 0600 before SQLite opens it covers all three. A data
directory or database made by an earlier version (0755, 0644) is tightened at the
next start. The processes' umask (``pagewire``'s commands set 077) covers what they
write later: blobs, results, scratch files.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from pagewire.settings import Settings

log = logging.getLogger("pagewire")

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
# Key files the data directory may hold (portal signing key, encryption keys).
KEY_FILES = ("secret_key", "encryption_keys")


def private_data_dir(settings: Settings, database_file: Path | None) -> None:
    """Create the data directory (0700) and the database file, if the database is one
    (0600), or tighten them."""
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    _tighten(data_dir, PRIVATE_DIR)
    for name in KEY_FILES:
        _tighten(data_dir / name, PRIVATE_FILE)
    if database_file is None:
        return
    database = database_file
    if not database.parent.is_dir():
        return  # SQLite reports the missing directory itself
    os.close(os.open(database, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE))
    for file in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        _tighten(file, PRIVATE_FILE)


def _tighten(path: Path, mode: int) -> None:
    """chmod ``path`` to ``mode`` if others may read it; a path we may not chmod (another
    owner's mount point) is logged, not fatal."""
    try:
        current = path.stat().st_mode & 0o777
    except FileNotFoundError:
        return
    if current & ~mode:
        try:
            path.chmod(mode)
        except PermissionError:
            log.warning(
                "cannot restrict %s to %o (it is %o): others may read it", path, mode, current
            )
