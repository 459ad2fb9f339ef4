"""docs/alerts.yml and docs/grafana-dashboard.json: the rules load in ``promtool check rules``
(Debian's prometheus package, in the Makefile's DEB_PACKAGES), and every ``hotline_*`` series
they name is one the gateway's /metrics exposes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from hotline.app import create_app
from hotline.settings import Settings
from tests.support.services import RedisServer
from tickets.store import Store

DOCS = Path(__file__).resolve().parents[2] / "docs"
TOKEN = "metrics-token-0123456789abcdef0123456789abcdef"
SUFFIXES = ("", "_total", "_bucket", "_count", "_sum", "_created")


def exprs() -> list[str]:
    rules = yaml.safe_load((DOCS / "alerts.yml").read_text())
    found = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text())
    found += [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    return found


@pytest.mark.skipif(shutil.which("promtool") is None,
                    reason="promtool is not installed: 'make deps' installs Debian's prometheus")
def test_promtool_checks_the_rules() -> None:
    result = subprocess.run(["promtool", "check", "rules", str(DOCS / "alerts.yml")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_series_named_is_exposed(sqlite_store: Store, tmp_path: Path,
                                       redis_server: RedisServer) -> None:
    settings = Settings(env="development", data_dir=tmp_path, metrics_token=TOKEN,
                        _env_file=None)
    from tickets import metrics

    metrics.instruments()  # every instrument made, as a running gateway has them
    app = create_app(settings, store=sqlite_store, redis_url=redis_server.url)
    with TestClient(app) as client:
        text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    exposed = {f.name + s for f in text_string_to_metric_families(text) for s in SUFFIXES}
    named = {m for e in exprs() for m in re.findall(r"\bhotline_[a-z_]+", e)}
    assert named and named <= exposed, sorted(named - exposed)
