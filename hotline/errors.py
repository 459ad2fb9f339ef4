"""The one error type of the ``hotline`` command: a message for a person, no traceback."""

from __future__ import annotations


class CliError(Exception):
    """Printed as ``hotline: <message>`` (name the fix), exit status 2."""
