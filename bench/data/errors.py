"""The data layer's error type: a problem the user can fix, told in one line (the CLI prints it and exits 2); and
the one kind of it that is a property of the data, not a mistake (a dataset too small for a split)."""
from __future__ import annotations

from ..errors import UserError


class DataError(UserError):
    """A problem the user can fix; str(e) is ONE line that names the fix."""

    def __init__(self, message: str):
        # Keep the one-line promise even when a message embeds a multi-line library error.
        super().__init__(" ".join(str(message).split()))


class TooSmallToSplit(DataError):
    """The data has too few rows of some class for the split asked for: its runs are `skipped` rows with this
    reason (bench.protocol.load_split), as for a method that cannot handle the data, not an error."""


def first_line(e: BaseException) -> str:
    """The first line of a library's error, to quote inside a DataError."""
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__
