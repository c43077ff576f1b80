"""What stops a command before it can do its work."""

from __future__ import annotations


class OperatorError(Exception):
    """A reason the bot cannot start or a command cannot run, in one line that says what
    to do about it: the command prints it as it is and exits with status 2."""
