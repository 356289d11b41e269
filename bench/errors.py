"""The one base of every error a user can cause (a name, a file, a setting, a damaged store).

The command line prints such an error as one line and exits with code 2; it catches this base alone, so it
need not import the modules (and their heavy libraries) that raise the errors.
"""


class UserError(Exception):
    """A problem the user can fix; str(e) is one line naming the fix."""
