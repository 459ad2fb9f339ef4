"""The pure parts of bench/call_burst.py: statistics, the admission log, audio facts, /proc."""

from __future__ import annotations

import math
import wave
from pathlib import Path

from bench.__main__ import benchmarks
from bench.call_burst import (
    AudioFacts,
    audio_facts,
    cpu_seconds,
    parse_admission,
    pcm_of,
    render,
    stats,
    status_kb,
    whole_message,
)

RATE = 8000


def tone(seconds: float, amplitude: int = 8000) -> list[int]:
    return [int(amplitude * math.sin(2 * math.pi * 440 * i / RATE))
            for i in range(int(seconds * RATE))]


def quiet(seconds: float) -> list[int]:
    return [0] * int(seconds * RATE)


def test_stats_nearest_rank() -> None:
    values = [float(v) for v in range(1, 21)]  # 1..20
    assert stats(values) == {"n": 20, "min": 1.0, "p50": 11.0, "p95": 19.0, "max": 20.0}
    assert stats([0.5]) == {"n": 1, "min": 0.5, "p50": 0.5, "p95": 0.5, "max": 0.5}
    assert stats([]) == {"n": 0, "min": None, "p50": None, "p95": None, "max": None}


AGI_LOG = """\
2025-01-01 INFO transcription.live: live transcriber on 127.0.0.1:4574 (live capacity 2 streams)
2025-01-01 WARNING transcription.live: call testpbx/1700.3: live recognition full (2 of 2 streams busy); recorded for the batch transcriber (1 of 3 calls since start)
2025-01-01 INFO transcription.live: live message testpbx/1700.1 ended by dtmf after 7.4 s (live transcript)
2025-01-01 INFO transcription.live: live message testpbx/1700.3 ended by silence after 9.0 s (batch transcript)
2025-01-01 WARNING transcription.recognizers: live recognition of stream 7 dropped (recognizer 0 is 21 s behind): the batch job will transcribe the call
"""  # noqa: E501 - log lines as written


def test_parse_admission_reads_the_log_lines_of_hotline_agi() -> None:
    admission = parse_admission(AGI_LOG)
    assert admission.refused == ["testpbx/1700.3"]
    assert admission.ended == {"testpbx/1700.1": ("dtmf", 7.4, "live"),
                               "testpbx/1700.3": ("silence", 9.0, "batch")}
    assert admission.dropped == 1
    assert parse_admission("") == parse_admission("nothing here\n")


def write(path: Path, samples: list[int]) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(b"".join(s.to_bytes(2, "little", signed=True) for s in samples))
    return path


def test_audio_facts_of_a_wav(tmp_path: Path) -> None:
    facts = audio_facts(*pcm_of(write(tmp_path / "a.wav", quiet(1) + tone(3) + quiet(1))))
    assert facts.seconds == 5.0
    assert facts.sound_seconds == 3.0
    assert abs(facts.head_rms - 4000) < 5  # the first 2 s: 1 s of quiet, 1 s of tone
    assert abs(facts.rms - 8000 / math.sqrt(2)) < 5


def test_a_message_that_began_late_is_not_whole() -> None:
    spoken = audio_facts(tone(6), RATE)
    assert whole_message(audio_facts(quiet(0.5) + tone(6) + quiet(0.5), RATE), spoken)
    # the recording began after the caller had started: the last half of the message
    assert not whole_message(audio_facts(tone(3), RATE), spoken)
    # as long, but the first seconds are silence and the end is missing
    assert not whole_message(audio_facts(quiet(3) + tone(3), RATE), spoken)
    assert not whole_message(AudioFacts(0.0, 0.0, 0.0, 0.0), spoken)


def test_proc_parsing() -> None:
    # /proc/PID/stat: a command name with spaces and parentheses must not shift the fields
    stat = "1234 (python (x) y) S 77 1234 1234 0 -1 4194560 1 0 0 0 250 150 0 0 20 0 1 0 5"
    assert cpu_seconds(stat, 100) == (77, 4.0)
    assert status_kb("Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n", "VmRSS") == 1024
    assert status_kb("Pss:   512 kB\n", "Pss") == 512
    assert status_kb("", "VmRSS") == 0


def test_render_writes_one_row_per_run() -> None:
    run = {"callers": 5, "mode": "live", "kept": 5, "whole": 5,
           "kept_seconds": stats([6.5, 6.6]), "spoken_seconds": 6.07,
           "hash_to_ticket_s": stats([0.2, 0.3]), "hash_to_transcript_s": stats([]),
           "transcripts_within_goal": 0, "transcript_live": 0, "transcript_batch": 0,
           "cpu_seconds": {"asterisk": 1.0, "agi": 2.0, "worker": 3.0},
           "peak_rss_mb": {"asterisk": 60.0, "agi": 500.0, "worker": 600.0},
           "machine": {"load_before": 1.0, "load_after": 2.0, "busy_share": 0.5}}
    text = render({"setup": "setup", "runs": [run], "notes": ["a note"]})
    row = [line for line in text.splitlines() if line.startswith("| 5 |")]
    assert row == ["| 5 | live | 5 / 5 | 5 | 6.5 / 6.07 | 0.2 / 0.3 / 0.3 | – | 0 / 5 | 0 / 0 "
                   "| 1.0 / 2.0 / 3.0 | 60.0 / 500.0 / 600.0 | 1.0 → 2.0, 50 % |"]
    assert text.rstrip().endswith("a note")


def test_python_m_bench_knows_every_benchmark() -> None:
    names = benchmarks()
    assert "call_burst" in names and "transcription" in names
    assert "common" not in names and "__main__" not in names
