"""The one error type that is the user's to fix (bad file, bad option), as opposed to a bug."""


class UserError(Exception):
    """A problem with the user's input: shown as one line, exit code 2, no traceback."""
