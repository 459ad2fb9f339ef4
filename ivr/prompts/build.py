"""Build placeholder prompts from ``texts.json``: espeak-ng (voice ``cmn``) + sox → 8 kHz mono
16-bit WAV, the format Asterisk plays without transcoding on a slin/ulaw/alaw call.

A manifest (``.generated.json``) remembers the text and sha256 of each file made here. A file
whose hash no longer matches was replaced by a person (recorded audio) and is never overwritten;
a prompt whose text did not change is not rebuilt, so ``make prompts`` is quick when run again.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ivr.prompts.catalog import BEEP, PROMPT_TEXTS

MANIFEST = ".generated.json"
VOICE = "cmn"
SPEED = 190  # words per minute; espeak's default 175 is slow for Mandarin menus
SOX_OUT = ["-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer"]


class BuildError(RuntimeError):
    pass


@dataclass
class BuildReport:
    built: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept_human: list[str] = field(default_factory=list)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        raise BuildError(f"{name} is not installed (Debian package: {name}); run 'make deps'")
    return exe


def _run(args: list[str]) -> None:
    done = subprocess.run(args, capture_output=True, check=False)
    if done.returncode != 0:
        raise BuildError(f"{' '.join(args[:2])} failed: {done.stderr.decode(errors='replace')}")


def _speak(text: str, target: Path, tmp: Path) -> None:
    raw = tmp / "raw.wav"
    _run([_tool("espeak-ng"), "-v", VOICE, "-s", str(SPEED), "-w", str(raw), text])
    # espeak's own leading/trailing silence trimmed, a short fixed pause added, 8 kHz
    _run([_tool("sox"), str(raw), *SOX_OUT, str(target), "silence", "1", "0.02", "0.5%",
          "reverse", "silence", "1", "0.02", "0.5%", "reverse", "pad", "0.05", "0.15"])


def speak(text: str, target: Path) -> None:
    """``text`` spoken by espeak-ng into ``target`` (the prompts' WAV format), at call time
    (the callback call reads the unit's reply this way). The text goes through a file, never
    the command line (a reply starting with ``-`` is no option); ``target`` appears by an
    atomic rename, so Asterisk never plays half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".speak-", dir=target.parent) as tmpdir:
        tmp = Path(tmpdir)
        source = tmp / "text.txt"
        source.write_text(text, encoding="utf-8")
        raw = tmp / "raw.wav"
        _run([_tool("espeak-ng"), "-v", VOICE, "-s", str(SPEED), "-w", str(raw),
              "-f", str(source)])
        partial = tmp / "out.wav"
        _run([_tool("sox"), str(raw), *SOX_OUT, str(partial), "pad", "0.05", "0.15"])
        partial.chmod(0o644)
        os.replace(partial, target)


def _beep(target: Path) -> None:
    _run([_tool("sox"), "-n", *SOX_OUT, str(target), "synth", "0.35", "sine", "1000", "vol", "0.5"])


def build_prompts(out: Path, *, force: bool = False) -> BuildReport:
    """Build what is missing or changed in ``out``; safe to run from several processes at
    once (a lock file serializes them, and every file appears by an atomic rename)."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build_locked(out, force)


def _build_locked(out: Path, force: bool) -> BuildReport:
    manifest_path = out / MANIFEST
    try:
        manifest: dict[str, dict[str, str]] = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        manifest = {}
    report = BuildReport()
    wanted = {**PROMPT_TEXTS, BEEP: "<1000 Hz tone>"}
    with tempfile.TemporaryDirectory(prefix=".build-", dir=out) as tmpdir:
        tmp = Path(tmpdir)
        for name, text in wanted.items():
            target = out / f"{name}.wav"
            entry = manifest.get(name)
            if target.exists():
                ours = entry is not None and entry.get("sha256") == _sha256(target)
                if not ours:
                    report.kept_human.append(name)
                    continue
                if not force and entry is not None and entry.get("text") == text:
                    report.unchanged.append(name)
                    continue
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = tmp / "out.wav"
            if name == BEEP:
                _beep(partial)
            else:
                _speak(text, partial, tmp)
            partial.chmod(0o644)
            os.replace(partial, target)
            manifest[name] = {"text": text, "sha256": _sha256(target)}
            report.built.append(name)
        if report.built or not manifest_path.exists():
            staged = tmp / MANIFEST
            staged.write_text(json.dumps(manifest, ensure_ascii=False, indent=1,
                                         sort_keys=True))
            os.replace(staged, manifest_path)
    return report
