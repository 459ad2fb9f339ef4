"""``hotline demo`` against a real ``hotline run``: every channel acknowledges a ticket and the
API ticket walks the whole loop through the events API."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.hotline.gateway import base_env, hotline, start_gateway


@pytest.mark.slow
def test_demo_sends_through_every_channel_and_walks_the_loop(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    setup = subprocess.run(hotline("dev-setup"), env=env, cwd=tmp_path, capture_output=True,
                           text=True, check=False)
    assert setup.returncode == 0, setup.stderr
    gateway = start_gateway(tmp_path, env=env)
    try:
        demo = subprocess.run(hotline("demo", "--url", gateway.url), env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120, check=False)
    finally:
        gateway.stop()
    out = demo.stdout
    assert demo.returncode == 0, out + demo.stderr
    for channel in ("api", "sms", "wechat", "web"):
        assert re.search(rf"^\s+{channel}\s+→ ticket \d{{10}} \(HTTP 20\d\)$", out, re.M), out
    # the router takes each past received: registered (waiting for a person or a delivery),
    # dispatched (delivered) or merged into an open ticket
    routed = re.findall(r"^\s+(\d{10,16}) \[\w+\s*\] (?:\d \S+ )?(?:registered|dispatched|merged)$",
                        out, re.M)
    assert len(set(routed)) >= 4, out
    assert "7 综合评价 evaluated" in out
