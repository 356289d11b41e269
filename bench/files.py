"""Writing a file bench owns (the run lock, a report's files) without following a symbolic link planted at its
path: writing through one would overwrite whatever it points at, or create a file outside the folder.

Such a path is refused with one line rather than replaced: the link may be the user's on purpose.
O_NOFOLLOW is the guarantee (a check beforehand could race with the link's creation); the standard library
has no "write text, never through a link" call, hence these few lines.
"""
from __future__ import annotations

import errno
import os
from pathlib import Path

from .errors import UserError


class LinkRefused(UserError):
    """A file bench writes is a symbolic link."""

    def __init__(self, path: Path):
        super().__init__(f"{path} is a symbolic link, and bench never writes through one (it would change the "
                         "file it points at): remove the link and run the same command again")


def refuse_link(path: Path) -> None:
    """For files another library opens (SQLite's database and journal): refuse a link before it does."""
    if Path(path).is_symlink():
        raise LinkRefused(Path(path))


def open_nofollow(path: Path, flags: int) -> int:
    """os.open with O_NOFOLLOW: a link at `path` is refused (LinkRefused), a dangling one too."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise LinkRefused(Path(path)) from None
        raise


def write_file(path: Path, content: str | bytes) -> None:
    """Path.write_text / write_bytes, never through a link."""
    data = content.encode() if isinstance(content, str) else content
    with os.fdopen(open_nofollow(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), "wb") as out:
        out.write(data)
