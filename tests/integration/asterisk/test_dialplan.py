"""The production 96010 dialplan on a real Asterisk: the AGI leg, the operator queue contract
and DTMF over Local channels (a test-only FastAGI stub stands in for the gateway)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from ivr.spool import format as spool_format
from tests.integration.asterisk.agi_stub import AgiStub
from tests.integration.asterisk.audio import short_fallback_prompts
from tests.integration.conftest import AsteriskFactory
from tests.support.asterisk import CallResult
from tests.support.services import free_port, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.asterisk]


def test_96010_reaches_the_agi_and_operator_gets_the_ticket(
    asterisk_factory: AsteriskFactory,
) -> None:
    port = free_port()
    commands = ["ANSWER", 'SET VARIABLE TICKET_ID "t-0042"', 'SET VARIABLE IVR_ACTION "operator"']
    with AgiStub(port, commands) as stub:
        ast = asterisk_factory(agi_port=port, agi_secret="c4f1a9e27b3d5f80a6e2c9b1")
        result = ast.call_local(caller_id="13800138000", script=[], timeout=60)
    assert len(stub.sessions) == 1
    env = stub.sessions[0].env
    # the dialplan's AGI_SECRET rides in the script (what ivr.agi.server checks)
    assert env["agi_network_script"] == "96010?secret=c4f1a9e27b3d5f80a6e2c9b1"
    assert env["agi_extension"] == "96010"
    assert env["agi_callerid"] == "13800138000"
    assert env["agi_uniqueid"] == result.unique_id
    assert [reply for _, reply in stub.sessions[0].replies] == [
        "200 result=0", "200 result=1", "200 result=1"]
    assert result.agistatus == "SUCCESS"
    assert result.ivr_action == "operator"
    assert result.ticket_id == "t-0042"
    operators = ast.operator_calls()
    assert len(operators) == 1
    assert operators[0]["ticket_id"] == "t-0042"  # inherited onto the queue member's channel
    assert operators[0]["channel"].startswith("Local/operator@operator-sim")


def test_every_carrier_spelling_of_the_number_reaches_the_flow(
    asterisk_factory: AsteriskFactory,
) -> None:
    port = free_port()
    with AgiStub(port, ["HANGUP"]) as stub:
        ast = asterisk_factory(agi_port=port)
        for number in ("96010", "01096010", "861096010"):
            ast.call_local(exten=number, script=[], timeout=30)
    assert [s.env["agi_extension"] for s in stub.sessions] == ["96010"] * 3


def test_dtmf_from_the_caller_reaches_wait_for_digit(asterisk_factory: AsteriskFactory) -> None:
    port = free_port()
    commands = ["ANSWER", "WAIT FOR DIGIT 10000", "WAIT FOR DIGIT 10000", "HANGUP"]
    with AgiStub(port, commands) as stub:
        ast = asterisk_factory(agi_port=port)
        result = ast.call_local(script=[("wait", "1"), ("dtmf", "3"), ("wait", "0.5"),
                                        ("dtmf", "#")], timeout=60)
    replies = [reply for _, reply in stub.sessions[0].replies]
    assert replies[1:3] == [f"200 result={ord('3')}", f"200 result={ord('#')}"]
    assert result.ivr_action == ""
    assert ast.operator_calls() == []


def test_anonymous_caller_reaches_the_flow(asterisk_factory: AsteriskFactory) -> None:
    port = free_port()
    with AgiStub(port, ["HANGUP"]) as stub:
        ast = asterisk_factory(agi_port=port)
        ast.call_local(caller_id="", script=[], timeout=30)
    assert stub.sessions[0].env["agi_callerid"] in ("anonymous", "unknown")


def test_operator_takeover_by_ami_redirect_leaves_the_agi(
    asterisk_factory: AsteriskFactory,
) -> None:
    """The console's path: AMI Setvar TICKET_ID + Redirect to hotline-96010,operator while the
    flow is blocked in WAIT FOR DIGIT; AGIEXITONHANGUP=yes lets the call leave the AGI."""
    port = free_port()
    with AgiStub(port, ["ANSWER", "WAIT FOR DIGIT 60000"]) as stub:
        ast = asterisk_factory(agi_port=port)
        results: list[CallResult] = []
        caller = threading.Thread(target=lambda: results.append(
            ast.call_local(script=[], timeout=90)))
        caller.start()
        try:
            wait_until(lambda: bool(stub.sessions) and len(stub.sessions[0].replies) == 1,
                       timeout=30)
            channel = stub.sessions[0].env["agi_channel"]
            assert ast.ami({"Action": "Setvar", "Channel": channel, "Variable": "TICKET_ID",
                            "Value": "t-0077"})[0]["Response"] == "Success"
            assert ast.ami({"Action": "Redirect", "Channel": channel,
                            "Context": "hotline-96010", "Exten": "operator",
                            "Priority": "1"})[0]["Response"] == "Success"
        finally:
            caller.join(90)
        assert stub.sessions[0].closed.wait(10)
    assert stub.sessions[0].replies[1] == ("WAIT FOR DIGIT 60000", "200 result=-1")
    [result] = results
    assert result.ticket_id == "t-0077"
    assert [call["ticket_id"] for call in ast.operator_calls()] == ["t-0077"]


def test_nobody_in_the_operator_queue_leaves_a_message(asterisk_factory: AsteriskFactory,
                                                       tmp_path: Path) -> None:
    port = free_port()
    commands = ["ANSWER", 'SET VARIABLE TICKET_ID "0f3c2a"', 'SET VARIABLE IVR_ACTION "operator"']
    with AgiStub(port, commands):
        ast = asterisk_factory(agi_port=port,
                               prompts_dir=short_fallback_prompts(tmp_path / "prompts"),
                               overrides={"queues-96010-members.conf": "; nobody logged in\n"})
        result = ast.call_local(script=[("wait", "2"), ("dtmf", "#"), ("wait", "1")],
                                timeout=60)
    assert result.vars["queuestatus"] == "JOINEMPTY"
    assert ast.operator_calls() == []
    [sidecar] = ast.spool_entries()
    fields = spool_format.parse_sidecar(sidecar.read_text())
    assert fields["reason"] == "queue-joinempty"
    assert fields["ticket_id"] == "0f3c2a"
    assert fields["unique_id"] == result.unique_id
