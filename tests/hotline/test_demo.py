"""``hotline demo`` against a real ``hotline run``: every channel acknowledges a ticket and the
API ticket walks the whole loop through the events API."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from hotline.cmd_demo import feed_hint
from hotline.demo import API_GRID, WEB_GRID
from router.routerconfig import shipped
from tests.hotline.gateway import base_env, hotline, start_gateway


def test_the_sample_grid_cells_exist_so_the_router_can_place_the_tickets() -> None:
    cells = shipped().places.cells
    assert cells[API_GRID].street == "DS"  # 东四, where the sample's manhole is
    assert cells[WEB_GRID].street == "BXQ"  # 北新桥, the web sample's address


def test_the_feed_hint_runs_as_printed_in_a_shell(tmp_path: Path) -> None:
    key_file = tmp_path / "dev api key"
    key_file.write_text("hk_sample\n")
    line = feed_hint(key_file, "http://127.0.0.1:8096")
    command = line.removeprefix("Feed: ")
    assert command.startswith("curl ") and "hk_sample" not in line
    # the same words with printf instead of curl: what curl would have been given
    shown = subprocess.run(["bash", "-c", "printf '%s\\n' " + command.removeprefix("curl ")],
                           capture_output=True, text=True, check=True).stdout.splitlines()
    assert shown == ["-H", "Authorization: Bearer hk_sample",
                     "http://127.0.0.1:8096/api/v1/tickets?after=0"]


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
    # the API sample names a grid cell: the router places and delivers it by itself
    assert re.search(r"^\s+\d{10} \[api\s*\] 3 指挥派遣 dispatched$", out, re.M), out
    assert "7 综合评价 evaluated" in out and "()" not in out
