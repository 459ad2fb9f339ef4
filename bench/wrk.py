"""wrk (Debian's ``wrk``) as the load generator: a closed loop of C connections for D seconds.

Fixed requests (``GET /``) go as they are; a list of distinct requests (each a new ticket: a
signed webhook, a JSON intake with its own ``channel_ref``) is written beforehand as raw HTTP
to a file that a small Lua script hands out, each request once per wrk thread's share, so no
request is repeated (a repeat would take the store's cheap idempotent path). The result says
when the list ran out (``wrapped``): the run sent repeats and its figure is not a fair one.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

LUA = """\
-- raw HTTP requests, each ended by a NUL byte; thread k takes requests k+1, k+1+n, ...
local requests = {}
local threads = {}
counter = 0
available = 0

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(args[1], "rb"))
  local data = f:read("*a")
  f:close()
  local all = {}
  for raw in string.gmatch(data, "([^%z]+)%z") do all[#all + 1] = raw end
  for i = id + 1, #all, tonumber(args[2]) do requests[#requests + 1] = all[i] end
  available = #requests
end

function request()
  counter = counter + 1
  return requests[((counter - 1) % #requests) + 1]
end

function done(summary, latency, reqs)
  for _, t in ipairs(threads) do
    io.write(string.format("hotline-sent %d of %d\\n", t:get("counter"), t:get("available")))
  end
end
"""

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_DURATION = re.compile(r"([\d.]+)(us|ms|s|m)\b")


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    wrapped: bool


def available() -> bool:
    return shutil.which("wrk") is not None


def raw_request(method: str, path: str, host: str, headers: Mapping[str, str],
                body: bytes = b"") -> bytes:
    """One HTTP/1.1 request as sent on a keep-alive connection."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in headers.items()
              if k.lower() not in ("host", "content-length", "connection")]
    lines += [f"Content-Length: {len(body)}", "", ""]
    raw = "\r\n".join(lines).encode() + body
    if b"\0" in raw:
        raise ValueError("a request may not contain a NUL byte (the separator of the file)")
    return raw


def _ms(text: str) -> float:
    m = _DURATION.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    return round(float(m.group(1)) * _UNITS_MS[m.group(2)], 2)


def parse(output: str) -> WrkResult:
    """The figures of ``wrk --latency`` (with or without :data:`LUA`'s ``hotline-sent`` lines)."""
    pct = {m.group(1): _ms(m.group(2))
           for m in re.finditer(r"^\s+(50|90|99)(?:\.0+)?%\s+(\S+)\s*$", output, re.M)}
    done = re.search(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m)", output, re.M)
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    if done is None or rps is None or len(pct) < 3:
        raise ValueError(f"unexpected wrk output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                     output)
    sent = [(int(a), int(b)) for a, b in re.findall(r"hotline-sent (\d+) of (\d+)", output)]
    return WrkResult(
        requests=int(done.group(1)),
        seconds=round(_ms(done.group(2) + done.group(3)) / 1000, 2),
        rps=round(float(rps.group(1)), 1),
        p50_ms=pct["50"], p90_ms=pct["90"], p99_ms=pct["99"],
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(x) for x in sock.groups()) if sock else 0,
        wrapped=any(n > total for n, total in sent),
    )


def run(url: str, *, connections: int, seconds: float, threads: int = 1,
        requests: Sequence[bytes] = (), workdir: Path | None = None,
        timeout_s: int = 30) -> WrkResult:
    """``wrk`` against ``url`` (its host and port; the path of each request is in
    ``requests``, or ``url``'s own path for a fixed GET)."""
    exe = shutil.which("wrk")
    if exe is None:
        raise RuntimeError("wrk is not installed: run 'make deps'")
    threads = max(1, min(threads, connections))
    cmd = [exe, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
           f"--timeout={timeout_s}s", "--latency"]
    if requests:
        if workdir is None:
            raise ValueError("requests need a workdir for wrk's request file")
        script = workdir / "requests.lua"
        script.write_text(LUA, encoding="utf-8")
        data = workdir / "requests.bin"
        data.write_bytes(b"".join(r + b"\0" for r in requests))
        cmd += ["-s", str(script), url, "--", str(data), str(threads)]
    else:
        cmd.append(url)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                         timeout=seconds + timeout_s + 30)
    return parse(out.stdout)
