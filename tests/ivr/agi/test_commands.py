"""Command lines as pyst2 builds them, with our quoting and without pyst2's side effects."""

from __future__ import annotations

import signal

import pytest

from ivr.agi import commands


def test_lines() -> None:
    assert commands.answer() == "ANSWER"
    assert commands.stream_file("/p/greeting", "0123456789*#") == (
        'STREAM FILE "/p/greeting" "0123456789*#" 0')
    assert commands.stream_file("/p/beep") == 'STREAM FILE "/p/beep" "" 0'
    assert commands.wait_for_digit(5000) == "WAIT FOR DIGIT 5000"
    assert commands.get_data("/p/ask", 8000, 10) == 'GET DATA "/p/ask" 8000 10'
    assert commands.record_file("/r/1732.1", "wav", "#", 120000, 4) == (
        'RECORD FILE "/r/1732.1" wav "#" 120000 0 s=4')
    assert commands.set_variable("TICKET_ID", "ab12") == 'SET VARIABLE "TICKET_ID" "ab12"'
    assert commands.get_variable("X") == 'GET VARIABLE "X"'
    assert commands.hangup() == "HANGUP"
    assert commands.exec_app("AudioSocket", "u-1,127.0.0.1:4574") == (
        'EXEC AudioSocket "u-1,127.0.0.1:4574"')


def test_quoting_escapes_and_keeps_utf8() -> None:
    assert commands.set_variable("NOTE", 'say "hi" \\ 你好') == (
        'SET VARIABLE "NOTE" "say \\"hi\\" \\\\ 你好"')
    assert commands.verbose("东城区") == 'VERBOSE "东城区" 1'


@pytest.mark.parametrize("bad", ["a\nHANGUP", "a\rb", "a\x00b"])
def test_line_breaks_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        commands.set_variable("X", bad)
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        commands.stream_file(bad)


def test_no_sighup_handler_and_no_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    before = signal.getsignal(signal.SIGHUP)
    commands.CommandBuilder()
    commands.answer()
    assert signal.getsignal(signal.SIGHUP) is before
    assert capsys.readouterr() == ("", "")
