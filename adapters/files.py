"""Files that hold secrets or records (keys, databases): the owner's alone."""

from __future__ import annotations

import os
from pathlib import Path


def private_file(path: Path) -> None:
    """Create `path`'s directory (0700) and the file itself (0600) if missing, and make
    both the owner's alone if they exist. SQLite gives its journal files the database
    file's mode, so a database created here stays private."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    path.chmod(0o600)
