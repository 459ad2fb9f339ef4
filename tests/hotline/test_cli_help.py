"""Every command explains itself: a description and examples in its ``--help``, each example a
command line the parser accepts, spelled as it can be run here — and the hints the CLI prints
are runnable too (:mod:`hotline.invocation`)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from hotline import invocation
from hotline.cli import build_parser
from hotline.cli_help import EXAMPLES, walk
from tests.hotline.gateway import base_env, hotline

PATHS = [path for path, _, _ in walk(build_parser()) if path]


@pytest.mark.parametrize("path", PATHS, ids=[" ".join(p) for p in PATHS])
def test_every_command_has_a_description_and_examples_the_parser_accepts(
    path: tuple[str, ...],
) -> None:
    parser = build_parser()
    found = {p: child for p, child, _ in walk(parser)}[path]
    assert found.description, path
    assert found.epilog and "examples:\n" in found.epilog, path
    start = invocation.prefix()
    for line in found.epilog.split("examples:\n", 1)[1].splitlines():
        words = shlex.split(line)
        assert " ".join(words[: len(shlex.split(start))]) == start, line
        args = words[len(shlex.split(start)):]
        assert tuple(args[: len(path)]) == path, line
        if args[len(path):] or not any(p[: len(path)] == path and len(p) > len(path)
                                       for p in PATHS):
            build_parser().parse_args(args)  # an example that does not parse is a defect


def test_the_catalogue_names_only_real_commands() -> None:
    assert set(EXAMPLES) <= {" ".join(p) for p in PATHS}


def test_apikey_create_help_is_its_own(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "hotline"
    done = subprocess.run([str(script), "apikey", "create", "--help"], env=base_env(tmp_path),
                          cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.startswith(f"usage: {script} apikey create ")
    assert "--scope SCOPE" in done.stdout and "--out OUT" in done.stdout
    assert "revoke" not in done.stdout.split("examples:")[0]
    assert f"  {script} apikey create --name erp --scope intake,read,events" in done.stdout


def test_prefix_is_the_command_as_it_can_be_run(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    script = bin_dir / "hotline"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    python = bin_dir / "python"
    monkeypatch.chdir(tmp_path)
    # the script, not on the PATH: its path from the working folder
    assert invocation.prefix(str(script), str(python), "/usr/bin") == "venv/bin/hotline"
    # on the PATH: its bare name
    assert invocation.prefix(str(script), str(python), f"/usr/bin:{bin_dir}") == "hotline"
    # python -m hotline with the script beside that Python
    assert invocation.prefix("/x/hotline/__main__.py", str(python), "/usr/bin") == (
        "venv/bin/hotline")
    # python -m hotline without a script: the module form
    elsewhere = tmp_path / "py" / "python3"
    assert invocation.prefix("-m", str(elsewhere), "") == "py/python3 -m hotline"
    monkeypatch.chdir("/")
    assert invocation.prefix(str(script), str(python), "") == str(script)


def test_runnable_rewrites_commands_only() -> None:
    invocation.know(["migrate", "operator", "run"])
    text = "run 'hotline migrate' first; see: hotline operator list; the hotline: x; hotline"
    assert invocation.runnable(text, ".venv/bin/hotline") == (
        "run '.venv/bin/hotline migrate' first; see: .venv/bin/hotline operator list; the "
        "hotline: x; hotline")
    assert invocation.runnable(text, "hotline") == text
    assert invocation.runnable("/opt/hotline migrate", "x") == "/opt/hotline migrate"


def test_a_hint_in_a_real_process_is_runnable(tmp_path: Path) -> None:
    """The console script, not on the PATH, run from the project folder as README says."""
    env = base_env(tmp_path)
    env["PATH"] = os.defpath
    script = Path(sys.executable).parent / "hotline"
    done = subprocess.run([str(script), "apikey", "list"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert f"run '{script} migrate' first" in done.stderr
    module = subprocess.run(hotline("apikey", "list"), env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60, check=False)
    assert f"run '{script} migrate' first" in module.stderr
