"""README's "Try it" runs word for word: its shell blocks, exactly as written, against a real
``hotline run`` started the way ``make run`` starts it — in a network namespace of its own, so
that the README's ``127.0.0.1:8096`` is this test's private address — from a working folder
holding ``.venv`` (the project's) and ``var/`` (this test's). The phone's blocks (``hotline
call``, which need the PBX) are left to the phone's own end-to-end test."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.services import require_root

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
MARK = "HOTLINE_README_TEST"

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def try_it_blocks(text: str) -> list[str]:
    """The ``sh`` blocks of the "Try it" section, minus the phone's."""
    section = text.split("\n## Try it\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```sh\n(.*?)^```$", section, re.S | re.M)
    return [b for b in blocks if "hotline call" not in b]


def test_the_section_has_the_blocks_this_test_runs() -> None:
    blocks = try_it_blocks(README.read_text(encoding="utf-8"))
    assert blocks[0].strip() == ".venv/bin/hotline demo"
    feed = blocks[1]
    assert "NUMBER=$(" in feed and "/tickets/$NUMBER/events" in feed
    assert not re.search(r"/tickets/\d{10}", feed)  # no number from another day


def driver(blocks: list[str], out: Path) -> str:
    """One bash script: loopback up, ``make run``'s two commands, each block in a shell of its
    own once the gateway answers, then Ctrl-C's signal to ``hotline run``."""
    lines = [
        "set -u",
        "ip link set lo up",
        ".venv/bin/hotline dev-setup > " + shlex.quote(str(out / "dev-setup.log")) + " 2>&1",
        ".venv/bin/hotline router train --out var/router/classifier.joblib > "
        + shlex.quote(str(out / "train.log")) + " 2>&1",
        ".venv/bin/hotline run > " + shlex.quote(str(out / "run.log")) + " 2>&1 &",
        "run=$!",
        "trap 'kill -INT $run 2>/dev/null; wait $run' EXIT",
        "for i in $(seq 240); do curl -sf http://127.0.0.1:8096/readyz >/dev/null && break; "
        "sleep 0.5; done",
    ]
    for i, block in enumerate(blocks):
        script = out / f"block-{i}.sh"
        script.write_text(block, encoding="utf-8")
        result = shlex.quote(str(out / f"block-{i}"))
        lines.append(f"bash {shlex.quote(str(script))} > {result}.out 2> {result}.err; "
                     f"echo $? > {result}.rc")
    return "\n".join(lines) + "\n"


def marked(value: str) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if f"{MARK}={value}".encode() in environ.split(b"\0"):
                found.add(int(entry.name))
    return found


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    require_root("the README runs on 127.0.0.1:8096 of a network namespace (unshare -n)")
    work = tmp_path / "clone"
    work.mkdir()
    (work / ".venv").symlink_to(REPO / ".venv")
    yield work
    for pid in marked(str(work)):
        os.kill(pid, signal.SIGKILL)


def test_try_it_runs_word_for_word(workdir: Path, tmp_path: Path) -> None:
    blocks = try_it_blocks(README.read_text(encoding="utf-8"))
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "driver.sh").write_text(driver(blocks, out), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update({
        MARK: str(workdir),
        # what `make prompts` built in the project; no speech model to load (no call here)
        "HOTLINE_PROMPTS_DIR": str(REPO / "ivr" / "prompts" / "generated"),
        "HOTLINE_LIVE_PROCESSES": "0",
    })
    done = subprocess.run(["unshare", "--net", "bash", str(tmp_path / "driver.sh")], env=env,
                          cwd=workdir, capture_output=True, text=True, timeout=900, check=False)

    def result(i: int) -> tuple[int, str, str]:
        name = out / f"block-{i}"
        return (int((name.with_suffix(".rc")).read_text()), name.with_suffix(".out").read_text(),
                name.with_suffix(".err").read_text())

    log = (out / "run.log").read_text(errors="replace") if (out / "run.log").exists() else ""
    assert done.returncode == 0, done.stderr + log

    rc, demo, err = result(0)
    assert rc == 0, demo + err
    for channel in ("api", "sms", "wechat", "web"):
        assert re.search(rf"^\s+{channel}\s+→ ticket \d{{10}} \(HTTP 20\d\)$", demo, re.M), demo
    assert "7 综合评价 evaluated" in demo, demo

    rc, feed, err = result(1)
    assert rc == 0, feed + err
    assert err == "", err
    # curl prints no newline of its own: the feed pages, then "ticket N", the events answer
    # and the status page's words
    number = re.search(r"ticket (\d{10,16})\n", feed)
    assert number, feed
    answer = feed.split(number.group(0), 1)[1]
    assert answer.endswith("}正在办理中。\n"), answer
    ticket = json.loads(answer.removesuffix("正在办理中。\n"))
    assert ticket["number"] == number.group(1) and ticket["status"] == "in_progress"
    assert ticket["history"][-1]["actor"] == "street:DS"
    assert ticket["location"]["street"] == "DS" and ticket["loop"] == "small"
    assert '"error"' not in feed
    assert "ready: http://127.0.0.1:8096/" in log
