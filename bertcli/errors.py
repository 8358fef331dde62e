"""The user-facing error type.

Raise `BertcliError` for anything the user can fix (bad flag value, missing file, unknown column): the
CLI prints its message as one line on stderr and exits with status 2, no traceback (unless --debug).
Anything else is an internal fault and exits with status 1.
"""


class BertcliError(Exception):
    """A problem with the user's input. The message names the problem and the fix, on one line."""


class Interrupted(Exception):
    """Training stopped on SIGINT/SIGTERM after saving a checkpoint; the CLI exits with status 130."""
