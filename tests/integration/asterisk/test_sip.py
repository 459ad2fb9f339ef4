"""A real SIP call from SIPp into the production dialplan: the carrier endpoint matched by
address, caller id from the INVITE, RFC 4733 digits and G.711 speech from one generated pcap
reaching the AGI (a test-only FastAGI stub stands in for the gateway)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.spool import format as spool
from ivr.wavinfo import wav_info
from tests.integration.asterisk.agi_stub import AgiStub
from tests.integration.asterisk.audio import short_fallback_prompts, speech
from tests.integration.conftest import AsteriskFactory
from tests.support.rtp_pcap import Digits, Silence, read_wav_8k, write_caller_pcap
from tests.support.services import free_port
from tests.support.sipp import sipp_call

pytestmark = [pytest.mark.integration, pytest.mark.asterisk]


@pytest.mark.parametrize("codec", ["pcma", "pcmu"])
def test_sipp_call_digits_and_speech_reach_the_agi(
    asterisk_factory: AsteriskFactory, tmp_path: Path, codec: str,
) -> None:
    shared = tmp_path / "shared"
    recording = shared / "recordings" / "sip-message"
    recording.parent.mkdir(parents=True)
    wav = speech(tmp_path / "caller" / "speech.wav", "there is water leaking in the street")
    wav = wav.with_suffix(".wav")
    pcap = tmp_path / "caller" / "caller.pcap"
    pcap_ms = write_caller_pcap(
        pcap, [Silence(1.0), Digits("5"), Silence(0.5), read_wav_8k(wav), Silence(0.5),
               Digits("#"), Silence(1.0)], codec=codec)
    commands = ["ANSWER", "WAIT FOR DIGIT 15000",
                f'RECORD FILE {recording} wav "#" 20000 0', "HANGUP"]
    port = free_port()
    with AgiStub(port, commands) as stub:
        ast = asterisk_factory(agi_port=port, shared_dir=shared)
        result = sipp_call(ast.sip_port, pcap=pcap, hold_ms=pcap_ms + 5000,
                           workdir=tmp_path / "sipp", caller_id="13800138000", codec=codec)
        assert stub.sessions and stub.sessions[0].closed.wait(10)
    assert result.ok, result.output
    assert result.hung_up_by_ivr
    session = stub.sessions[0]
    assert session.env["agi_callerid"] == "13800138000"
    assert session.env["agi_network_script"] == "96010?secret="  # no AGI_SECRET set
    assert session.env["agi_channel"].startswith("PJSIP/carrier-")
    replies = dict(session.replies)
    assert replies["WAIT FOR DIGIT 15000"] == f"200 result={ord('5')}"
    assert replies[commands[2]].startswith(f"200 result={ord('#')} (dtmf)")
    info = wav_info(recording.with_suffix(".wav"))
    assert info.duration > 1.0 and info.dbfs > -40


def test_sip_call_while_the_gateway_is_down_is_spooled(
    asterisk_factory: AsteriskFactory, tmp_path: Path,
) -> None:
    """Nothing on the AGI port: a real SIP caller hears the apology, speaks, falls silent —
    silence ends the recording, Asterisk hangs up, the spool holds the message."""
    shared = tmp_path / "shared"
    prompts = short_fallback_prompts(shared / "prompts")
    wav = speech(tmp_path / "caller" / "speech.wav", "the bus stop roof is broken")
    wav = wav.with_suffix(".wav")
    pcap = tmp_path / "caller" / "caller.pcap"
    pcap_ms = write_caller_pcap(pcap, [Silence(2.0), read_wav_8k(wav), Silence(6.0)])
    ast = asterisk_factory(shared_dir=shared, prompts_dir=prompts)
    result = sipp_call(ast.sip_port, pcap=pcap, hold_ms=pcap_ms + 10000,
                       workdir=tmp_path / "sipp", caller_id="13912345678")
    assert result.ok, result.output
    assert result.hung_up_by_ivr  # silence ended the message, not the caller
    [sidecar] = ast.spool_entries()
    fields = spool.parse_sidecar(sidecar.read_text())
    assert fields["caller"] == "13912345678" and fields["reason"] == "gateway-down"
    assert "ended" in fields
    info = wav_info(sidecar.with_suffix(".wav"))
    assert info.dbfs > -40 and info.duration < pcap_ms / 1000
