"""CLI commands of the `ivr` room."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this room's subcommands (none yet)."""
