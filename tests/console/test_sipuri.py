"""The softphone's SIP domain check agrees with JsSIP's own URI parser (run by node from the
bundle's node_modules), so the console refuses at start-up what the browser would refuse later;
the default domain parses."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from console.config import DEFAULT_SIP_DOMAIN, ConsoleConfig
from console.sipuri import sip_host_problem

REPO = Path(__file__).resolve().parents[2]
SOFTPHONE = REPO / "console" / "softphone"

GOOD = [DEFAULT_SIP_DOMAIN, "96010.invalid", "console.example", "localhost", "pbx-1.gov.cn",
        "127.0.0.1", "10.0.0.7", "[::1]"]
BAD = ["96010", "", "1.2.3", "999.1.1.1", "96010.123", "-a.example", "a-.example", "a..b",
       "has space", "a@b", "[zz]", "x" * 254, "a.b/c", "example.12a", "example.com."]


def jssip_parses(hosts: list[str]) -> dict[str, bool]:
    """For each host: does ``JsSIP.URI.parse('sip:op-alice@' + host)`` return a URI?"""
    node = shutil.which("node")
    assert node, "node is not installed: run 'make deps'"
    assert (SOFTPHONE / "node_modules" / "jssip").is_dir(), "run 'make softphone'"
    script = ("const JsSIP = require('jssip'); const hosts = JSON.parse(process.argv[1]);"
              "const out = {}; for (const h of hosts) {"
              " out[h] = JsSIP.URI.parse('sip:op-alice@' + h) !== undefined; }"
              "process.stdout.write(JSON.stringify(out));")
    done = subprocess.run([node, "-e", script, json.dumps(hosts)], cwd=SOFTPHONE,
                          capture_output=True, text=True, timeout=60, check=True)
    result: dict[str, bool] = json.loads(done.stdout)
    return result


def test_the_default_parses_in_jssip_and_96010_does_not() -> None:
    parsed = jssip_parses([DEFAULT_SIP_DOMAIN, "96010"])
    assert parsed == {DEFAULT_SIP_DOMAIN: True, "96010": False}
    assert ConsoleConfig(secret="s" * 32).sip_domain == DEFAULT_SIP_DOMAIN


@pytest.mark.parametrize("host", GOOD)
def test_hosts_accepted(host: str) -> None:
    assert sip_host_problem(host) is None


@pytest.mark.parametrize("host", BAD)
def test_hosts_refused(host: str) -> None:
    assert sip_host_problem(host)


def test_the_check_agrees_with_jssip() -> None:
    """Every host this check accepts, JsSIP accepts too (it may be laxer: never the other way
    round matters, since the check refuses)."""
    parsed = jssip_parses(GOOD + [h for h in BAD if h])
    assert all(parsed[h] for h in GOOD), parsed
    # JsSIP refuses the all-digit ones and the malformed ones we refuse
    for host in ("96010", "1.2.3", "96010.123", "-a.example", "a..b", "has space", "[zz]",
                 "example.com.", "999.1.1.1", "example.12a"):
        assert parsed[host] is False, host


def test_the_console_refuses_a_bad_domain_naming_the_setting() -> None:
    with pytest.raises(ValueError, match="HOTLINE_CONSOLE_SIP_DOMAIN '96010' is neither"):
        ConsoleConfig(secret="s" * 32, sip_domain="96010")
