"""Known-answer tests of the caller pcap writer (tests/support/rtp_pcap.py), and one decode of
a generated file by tshark (a real dissector, not our own reader)."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest

from tests.support import rtp_pcap as rp
from tests.support.sipp import scenario_xml


def test_g711_known_answers() -> None:
    # ITU-T G.711 / Sun reference: zero, full scale, negative full scale, small values.
    assert [rp.linear_to_ulaw(s) for s in (0, 32767, -32768, 1000, -1000)] == [
        0xFF, 0x80, 0x00, 0xCE, 0x4E]
    assert [rp.linear_to_alaw(s) for s in (0, 32767, -32768, 1000, -1000)] == [
        0xD5, 0xAA, 0x2A, 0xFA, 0x7A]
    assert rp.encode_g711(struct.pack("<3h", 0, 32767, -32768), "pcmu") == b"\xff\x80\x00"
    assert rp.encode_g711(struct.pack("<3h", 0, 32767, -32768), "pcma") == b"\xd5\xaa\x2a"


def test_ipv4_checksum_known_answer() -> None:
    header = bytes.fromhex("450000730000400040110000c0a80001c0a800c7")
    assert rp.ipv4_checksum(header) == 0xB861


def test_rtp_and_event_packets_known_answer() -> None:
    packet = rp.rtp_packet(payload_type=101, seq=0x1234, timestamp=0x01020304,
                           ssrc=0x00096010, payload=rp.rfc4733_payload(11, end=True,
                                                                       duration=1280),
                           marker=True)
    assert packet.hex() == "80e5123401020304000960100b8a0500"


def test_pcap_file_layout_known_answer() -> None:
    frames = rp.rtp_frames([rp.Silence(0.02)], codec="pcma")
    data = rp.caller_pcap(frames, first_seq=7, src_port=6000, dst_port=6001,
                          start_usec=1_000_000_500)
    assert data[:24].hex() == "d4c3b2a1020004000000000000000000ffff000001000000"
    record = data[24:40]
    assert struct.unpack("<IIII", record) == (1000, 500, 14 + 20 + 8 + 12 + 160,
                                              14 + 20 + 8 + 12 + 160)
    frame = data[40:]
    assert frame[12:14] == b"\x08\x00"  # IPv4 over Ethernet
    ip = frame[14:34]
    assert rp.ipv4_checksum(ip) == 0  # a valid header sums to zero
    assert struct.unpack("!HHHH", frame[34:42]) == (6000, 6001, 8 + 12 + 160, 0)
    rtp = frame[42:]
    assert rtp[:12].hex() == "8088000700000000" + "00096010"
    assert rtp[12:] == b"\xd5" * 160


def test_one_ssrc_continuous_seq_and_clock() -> None:
    frames = rp.rtp_frames([rp.Silence(0.1), rp.Digits("12", tone_ms=100, gap_ms=40),
                            rp.Speech(b"\0\0" * 400)], codec="pcmu")
    events = [f for f in frames if f.payload_type == rp.PT_EVENT]
    # per digit: 5 packets of duration 160..800, the last (end) sent 3 times
    assert len(events) == 2 * (4 + 3)
    first = events[:7]
    assert {f.timestamp for f in first} == {800}
    assert [struct.unpack("!BBH", f.payload)[2] for f in first] == [160, 320, 480, 640,
                                                                    800, 800, 800]
    assert [f.marker for f in first] == [True] + [False] * 6
    assert [bool(f.payload[1] & 0x80) for f in first] == [False] * 4 + [True] * 3
    second = events[7:]
    assert {f.timestamp for f in second} == {800 + 800 + 320}
    audio = [f for f in frames if f.payload_type == rp.PT_PCMU]
    stamps = [f.timestamp for f in audio]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert audio[0].marker and not any(f.marker for f in audio[1:])
    data = rp.caller_pcap(frames, first_seq=65530)
    seqs, ssrcs = [], set()
    offset = 24
    while offset < len(data):
        length = struct.unpack_from("<I", data, offset + 8)[0]
        rtp = data[offset + 16 + 42: offset + 16 + length]
        seqs.append(struct.unpack_from("!H", rtp, 2)[0])
        ssrcs.add(struct.unpack_from("!I", rtp, 8)[0])
        offset += 16 + length
    assert ssrcs == {0x96010}
    assert seqs == [(65530 + i) & 0xFFFF for i in range(len(frames))]  # wraps around


def test_scenario_refuses_non_digit_caller_ids(tmp_path: Path) -> None:
    xml = scenario_xml(caller_id="13800138000", pcap=tmp_path / "a&b.pcap", hold_ms=1500)
    assert f'play_pcap_audio="{tmp_path}/a&amp;b.pcap"' in xml
    assert 'timeout="1500"' in xml and "sip:13800138000@" in xml
    assert not any(f"@{k}@" in xml for k in ("CALLER", "PCAP", "HOLD_MS", "PAYLOADS"))
    with pytest.raises(ValueError):
        scenario_xml(caller_id="1<script>", pcap=tmp_path / "a.pcap", hold_ms=1)


def test_tshark_decodes_the_stream(tmp_path: Path) -> None:
    path = tmp_path / "caller.pcap"
    rp.write_caller_pcap(path, [rp.Silence(0.04), rp.Digits("#", tone_ms=40)], codec="pcma")
    out = subprocess.run(
        ["tshark", "-r", str(path), "-d", "udp.port==6001,rtp", "-T", "fields",
         "-e", "rtp.seq", "-e", "rtp.p_type", "-e", "rtp.ssrc",
         "-e", "rtpevent.event_id", "-e", "rtpevent.end_of_event"],
        capture_output=True, text=True, check=True,
    ).stdout.split("\n")
    rows = [line.split("\t") for line in out if line]
    assert [r[1] for r in rows] == ["8", "8", "101", "101", "101", "101", "8", "8", "8",
                                    "8", "8", "8", "8", "8", "8", "8"]
    assert {r[2] for r in rows} == {"0x00096010"}
    assert [r[3] for r in rows if r[1] == "101"] == ["11"] * 4
    assert [r[4] for r in rows if r[1] == "101"] == ["0", "1", "1", "1"]
