"""Reviewed YAML with line numbers: a wrong entry is reported as ``file:line: what is wrong``.

:func:`load` returns the data (safe types only) and an index from each value's path — a tuple
of keys and list positions, as pydantic reports error locations — to its line, so a validation
error points a reviewer at the exact line of the file they edited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

Loc = tuple[str | int, ...]


class ConfigError(ValueError):
    """One or more problems, each ``file:line: message``."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class YamlFile:
    path: Path
    data: Any
    lines: dict[Loc, int]

    def line_of(self, loc: Loc) -> int:
        """The line of ``loc``, or of its nearest enclosing value."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(loc[:end])
            if line is not None:
                return line
        return 1

    def where(self, loc: Loc) -> str:
        return f"{self.path}:{self.line_of(loc)}"

    def error(self, loc: Loc, message: str) -> str:
        return f"{self.where(loc)}: {message}"

    def validation_problems(self, exc: ValidationError, prefix: Loc = ()) -> list[str]:
        problems = []
        for e in exc.errors():
            loc = (*prefix, *(p for p in e["loc"] if isinstance(p, str | int)))
            shown = ".".join(str(p) for p in loc) or "(top)"
            problems.append(self.error(loc, f"{shown}: {e['msg']}"))
        return problems


_STANDARD_TAGS: dict[type[yaml.Node], str] = {yaml.MappingNode: "tag:yaml.org,2002:map",
                                              yaml.SequenceNode: "tag:yaml.org,2002:seq"}


def _walk(node: yaml.Node, loc: Loc, lines: dict[Loc, int],
          constructor: yaml.constructor.SafeConstructor) -> Any:
    lines[loc] = node.start_mark.line + 1
    standard = _STANDARD_TAGS.get(type(node))
    if standard is not None and node.tag != standard:
        # what yaml.safe_load refuses (a !!python/... tag on a list or a mapping)
        raise yaml.constructor.ConstructorError(
            None, None, f"could not determine a constructor for the tag {node.tag!r}",
            node.start_mark)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = constructor.construct_object(key_node, deep=True)
            if key in out:
                raise yaml.constructor.ConstructorError(
                    None, None, f"{key!r} is given twice in this mapping", key_node.start_mark)
            if isinstance(key, str | int):
                out[key] = _walk(value_node, (*loc, key), lines, constructor)
            else:
                out[key] = constructor.construct_object(value_node, deep=True)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(item, (*loc, i), lines, constructor) for i, item in enumerate(node.value)]
    try:
        return constructor.construct_object(node, deep=True)
    except ValueError as exc:  # a scalar that looks like a date but is none (2026-13-45)
        raise yaml.constructor.ConstructorError(None, None, str(exc), node.start_mark) from None


def load(path: Path) -> YamlFile:
    """Parse ``path``; :class:`ConfigError` for a missing file or bad YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read it ({exc.strerror})"]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise ConfigError([f"{path}:{line}: not valid YAML ({getattr(exc, 'problem', exc)})"]) \
            from None
    lines: dict[Loc, int] = {}
    try:
        data = {} if node is None else _walk(node, (), lines, yaml.SafeLoader(""))
    except (yaml.YAMLError, ValueError) as exc:  # an unknown tag, a key twice, a bad date
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise ConfigError([f"{path}:{line}: not valid here ({getattr(exc, 'problem', exc)})"]) \
            from None
    return YamlFile(path, data, lines)
