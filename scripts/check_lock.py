"""Check that requirements.lock still answers pyproject.toml.

Every requirement of the project (its dependencies, every extra, every dependency group) must
be pinned in the lock at a version its specifier admits, and every package the lock pins as a
direct requirement of the project must still be named by pyproject.toml. Otherwise the lock
and the project have drifted apart, and the fix is one command: ``make lock``.

Usage: python scripts/check_lock.py [PYPROJECT] [LOCK]   (exit 1 and one line per problem)
"""

from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

FIX = "run `make lock` to refresh requirements.lock, then `make test`"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")
_VIA = re.compile(r"^\s+#\s+(?:via\s+)?(.+?)\s*$")


@dataclass
class Pin:
    version: Version
    via: list[str] = field(default_factory=list)


def project_requirements(pyproject: dict[str, object]) -> tuple[str, list[Requirement]]:
    """The project's name and every requirement it names, extras and groups included."""
    project = pyproject["project"]
    assert isinstance(project, dict)
    texts: list[str] = list(project.get("dependencies", []))
    for extra in dict(project.get("optional-dependencies", {})).values():
        texts.extend(extra)
    groups = pyproject.get("dependency-groups", {})
    assert isinstance(groups, dict)
    for group in groups.values():
        texts.extend(item for item in group if isinstance(item, str))
    return str(project["name"]), [Requirement(text) for text in texts]


def parse_lock(text: str) -> dict[str, Pin]:
    """``name==version`` entries of a pip-style lock, with the sources of each (``# via``)."""
    pins: dict[str, Pin] = {}
    current: Pin | None = None
    for line in text.splitlines():
        pin = _PIN.match(line)
        if pin:
            current = Pin(Version(pin.group(2)))
            pins[canonicalize_name(pin.group(1))] = current
            continue
        via = _VIA.match(line)
        if current is not None and via and via.group(1) != "via":
            current.via.append(via.group(1))
    return pins


def problems(pyproject_text: str, lock_text: str) -> list[str]:
    """What is wrong between the two files, one sentence each (empty when they agree)."""
    name, requirements = project_requirements(tomllib.loads(pyproject_text))
    pins = parse_lock(lock_text)
    found: list[str] = []
    wanted: set[str] = set()
    for req in requirements:
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        key = canonicalize_name(req.name)
        wanted.add(key)
        pin = pins.get(key)
        if pin is None:
            found.append(f"pyproject.toml asks for {req}, which requirements.lock does not pin")
        elif not req.specifier.contains(pin.version, prereleases=True):
            found.append(
                f"pyproject.toml asks for {req}, "
                f"but requirements.lock pins {req.name}=={pin.version}"
            )
    direct = re.compile(rf"^{re.escape(name)} \(pyproject\.toml(?::\w+)?\)$")
    for key, pin in sorted(pins.items()):
        if key not in wanted and any(direct.match(source) for source in pin.via):
            found.append(
                f"requirements.lock pins {key}=={pin.version} for pyproject.toml, "
                "which no longer asks for it"
            )
    return found


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parent.parent
    pyproject = Path(argv[1]) if len(argv) > 1 else root / "pyproject.toml"
    lock = Path(argv[2]) if len(argv) > 2 else root / "requirements.lock"
    if not lock.exists():
        print(f"{lock} is missing: {FIX}", file=sys.stderr)
        return 1
    found = problems(pyproject.read_text(encoding="utf-8"), lock.read_text(encoding="utf-8"))
    for problem in found:
        print(f"lock check: {problem}", file=sys.stderr)
    if found:
        print(f"lock check: {FIX}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
