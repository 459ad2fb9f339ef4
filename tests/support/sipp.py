"""Real SIP calls into the test Asterisk from SIPp (Debian ``sip-tester``, 3.6.1, pcap play).

    pcap_ms = write_caller_pcap(work / "caller.pcap", [Silence(1), read_wav_8k(wav),
                                                       Digits("1#")])
    result = sipp_call(ast.sip_port, pcap=work / "caller.pcap", hold_ms=pcap_ms + 2000,
                       caller_id="13800138000", workdir=work)
    assert result.ok, result.output

The scenario (``tests/support/sipp_scenarios/uac_pcap.xml``) INVITEs 96010 at
127.0.0.1:SIP_PORT, offers A-law/µ-law and RFC 4733 events, plays the pcap, then hangs up
after ``hold_ms`` — or accepts the BYE when the IVR hangs up first. The test Asterisk's
``carrier`` endpoint matches 127.0.0.1 by address (no auth, ``dtmf_mode = rfc4733``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from tests.support.asterisk import free_udp_port

SCENARIO = Path(__file__).resolve().parent / "sipp_scenarios" / "uac_pcap.xml"
REGISTER = Path(__file__).resolve().parent / "sipp_scenarios" / "uac_register.xml"
STATUS = re.compile(r"^SIP/2\.0 (\d{3}) ", re.M)
REALM = re.compile(r"^WWW-Authenticate:\s*Digest\s+(?:.*?[\s,])?realm=\"([^\"]*)\"", re.M | re.I)
CALLER = re.compile(r"^\+?[0-9]{1,20}$")


@dataclass(frozen=True)
class SippResult:
    returncode: int
    output: str
    hung_up_by_ivr: bool

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def scenario_xml(*, caller_id: str, pcap: Path, hold_ms: int, codec: str = "pcma",
                 proxy: bool = False) -> str:
    if not CALLER.match(caller_id):
        raise ValueError(f"caller id must be digits: {caller_id!r}")
    text = SCENARIO.read_text()
    if proxy:  # ACK and BYE to the answering Asterisk, routed through the proxy
        text = text.replace("@DIALOG_URI@", "[next_url]").replace("@ROUTE@", "\n      [routes]")
    else:
        text = (text.replace("@DIALOG_URI@", "sip:[service]@[remote_ip]:[remote_port]")
                .replace("@ROUTE@", ""))
    return (text.replace("@CALLER@", caller_id)
            .replace("@PCAP@", quoteattr(str(pcap.resolve())))
            .replace("@HOLD_MS@", str(int(hold_ms)))
            .replace("@PAYLOADS@", "8 0" if codec == "pcma" else "0 8"))


def sipp_call(sip_port: int, *, pcap: Path, hold_ms: int, workdir: Path,
              caller_id: str = "13800138000", number: str = "96010", codec: str = "pcma",
              timeout: float = 120.0, proxy: bool = False) -> SippResult:
    """Place one call and wait for it to end (``sipp -m 1``). ``codec`` is the pcap's codec
    (``pcma`` or ``pcmu``), offered first. ``proxy``: ``sip_port`` is a SIP proxy (Kamailio)
    that record-routes, not the Asterisk itself."""
    if codec not in ("pcma", "pcmu"):
        raise ValueError(f"codec must be pcma or pcmu: {codec!r}")
    exe = shutil.which("sipp")
    if exe is None:
        raise RuntimeError("sipp is not installed (Debian package sip-tester)")
    workdir.mkdir(parents=True, exist_ok=True)
    scenario = workdir / "uac_pcap.xml"
    scenario.write_text(scenario_xml(caller_id=caller_id, pcap=pcap, hold_ms=hold_ms,
                                      codec=codec, proxy=proxy))
    media_port = free_udp_port() & ~1 or 40000
    done = subprocess.run(
        [exe, f"127.0.0.1:{sip_port}", "-sf", str(scenario), "-s", number, "-m", "1",
         "-l", "1", "-i", "127.0.0.1", "-p", str(free_udp_port()), "-mi", "127.0.0.1",
         "-mp", str(media_port), "-t", "u1", "-nostdin", "-timeout", f"{int(timeout)}s",
         "-timeout_error", "-trace_err", "-trace_msg", "-message_file",
         str(workdir / "sipp-messages.log"), "-error_file", str(workdir / "sipp-errors.log")],
        cwd=workdir, capture_output=True, text=True, timeout=timeout + 30, check=False,
    )
    messages = workdir / "sipp-messages.log"
    log = messages.read_text(errors="replace") if messages.exists() else ""
    errors = workdir / "sipp-errors.log"
    output = "\n".join(filter(None, [done.stdout[-4000:], done.stderr[-4000:],
                                     errors.read_text(errors="replace") if errors.exists()
                                     else ""]))
    return SippResult(done.returncode, output, hung_up_by_ivr="BYE sip:" in _received(log))


def _received(log: str) -> str:
    """The messages SIPp received (its message log marks them 'message received')."""
    parts = log.split("----------------------------------------------- ")
    return "\n".join(p for p in parts if "message received" in p[:200])


@dataclass(frozen=True)
class Registration:
    returncode: int
    output: str
    statuses: list[int]  # the status codes Asterisk answered, in order
    realms: list[str]  # the realms of its digest challenges

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.statuses[-1:] == [200]


def sipp_register(sip_port: int, *, user: str, password: str, workdir: Path,
                  local_ip: str = "127.0.0.2", timeout: float = 30.0) -> Registration:
    """REGISTER as ``user`` once, answering Asterisk's digest challenge with ``password`` (as
    a desk phone does; ``tests/support/sipp_scenarios/uac_register.xml``). ``local_ip`` is
    another loopback address than 127.0.0.1, which the test Asterisk matches to the carrier
    by address."""
    exe = shutil.which("sipp")
    if exe is None:
        raise RuntimeError("sipp is not installed (Debian package sip-tester)")
    workdir.mkdir(parents=True, exist_ok=True)
    messages, errors = workdir / "sipp-messages.log", workdir / "sipp-errors.log"
    for path in (messages, errors):
        path.unlink(missing_ok=True)
    done = subprocess.run(
        [exe, f"127.0.0.1:{sip_port}", "-sf", str(REGISTER), "-s", user, "-au", user,
         "-ap", password, "-m", "1", "-l", "1", "-i", local_ip, "-p", str(free_udp_port()),
         "-t", "u1", "-nostdin", "-timeout", f"{int(timeout)}s", "-timeout_error",
         "-trace_err", "-trace_msg", "-message_file", str(messages), "-error_file",
         str(errors)],
        cwd=workdir, capture_output=True, text=True, timeout=timeout + 30, check=False,
    )
    log = messages.read_text(errors="replace") if messages.exists() else ""
    output = "\n".join(filter(None, [done.stdout[-4000:], done.stderr[-4000:],
                                     errors.read_text(errors="replace") if errors.exists()
                                     else ""]))
    received = _received(log)
    statuses = [int(code) for code in STATUS.findall(received)]
    return Registration(done.returncode, output, statuses, REALM.findall(received))
