"""Small pure parts of the flow: caller numbers, menu, status speech, read-back, recordings."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.caller import caller_e164, is_withheld
from ivr.menu import Action, choose
from ivr.readback import digit_prompts
from ivr.record_file import ended_by, recorded_seconds, wav_path
from ivr.status_speech import status_prompts, valid_number
from ivr.wavinfo import wav_info
from tests.ivr.fake_asterisk import write_tone
from tickets.model import Kind, Status


@pytest.mark.parametrize(("raw", "pres", "e164"), [
    ("13800138000", "0", "+8613800138000"),
    ("8613800138000", "0", "+8613800138000"),
    ("+86 138 0013 8000", "0", "+8613800138000"),
    ("010-65123456", "0", "+861065123456"),
    ("13800138000", "32", None),
    ("13800138000", "35", None),
    ("13800138000", "1", "+8613800138000"),  # screened, allowed
    ("13800138000", "", "+8613800138000"),
    ("anonymous", "0", None),
    ("", "0", None),
    ("12", "0", None),
    ("abc", "0", None),
])
def test_caller_e164(raw: str, pres: str, e164: str | None) -> None:
    assert caller_e164(raw, pres) == e164


def test_withheld() -> None:
    assert is_withheld("32") and is_withheld("33") and not is_withheld("0")
    assert not is_withheld("x")


def test_menu() -> None:
    assert [choose(d).kind for d in "12345"] == [  # type: ignore[union-attr]
        Kind.consultation, Kind.help, Kind.complaint, Kind.report, Kind.suggestion]
    assert choose("9").action is Action.status  # type: ignore[union-attr]
    assert choose("0").action is Action.operator  # type: ignore[union-attr]
    assert choose("6") is None and choose("*") is None and choose("") is None


def test_status_and_numbers() -> None:
    assert status_prompts(Status.in_progress) == ("status_is", "status/in_progress")
    assert status_prompts(Status.merged, Status.in_progress) == (
        "status_is", "status/merged", "merged_status_is", "status/in_progress")
    assert status_prompts(Status.merged) == ("status_is", "status/merged")
    assert valid_number("2611260001") and not valid_number("261126000")
    assert valid_number("26112610000")  # the 10,000th ticket of a day has 11 digits
    assert not valid_number("2" * 17) and not valid_number("26112600*1")
    assert digit_prompts("2601") == ["digits/2", "digits/6", "digits/0", "digits/1"]


def test_recording_end_and_length(tmp_path: Path) -> None:
    assert ended_by(200, "dtmf", 35, 3.0, 120) == "dtmf"
    assert ended_by(200, "hangup", -1, 3.0, 120) == "hangup"
    assert ended_by(200, "", -1, 3.0, 120) == "hangup"
    assert ended_by(511, "", 0, 0.0, 120) == "hangup"
    assert ended_by(200, "timeout", 0, 10.0, 120) == "silence"
    assert ended_by(200, "timeout", 0, 119.8, 120) == "timeout"
    assert wav_path(tmp_path / "1764.42") == tmp_path / "1764.42.wav"
    assert wav_path(tmp_path / "a.wav") == tmp_path / "a.wav"
    assert recorded_seconds(tmp_path / "missing") == 0.0
    (tmp_path / "bad.wav").write_bytes(b"RIFF nonsense")
    assert recorded_seconds(tmp_path / "bad.wav") == 0.0
    write_tone(tmp_path / "ok.wav", 1.25)
    assert recorded_seconds(tmp_path / "ok") == pytest.approx(1.25)
    info = wav_info(tmp_path / "ok.wav")
    assert 5000 < info.rms < 6000 and info.peak <= 8000  # 8000 * sqrt(1/2)
