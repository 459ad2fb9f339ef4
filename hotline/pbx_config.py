"""``asterisk-conf/`` rendered for the local PBX of ``make run`` / ``hotline pbx``.

The production files are copied unchanged except for what only this machine knows: where
Asterisk keeps its state (``<data dir>/asterisk/var``), the folders it shares with the gateway at
the same path (prompts, spool, recordings), the generated AMI secret, the ports, the carrier
(here: anything on 127.0.0.1, so ``hotline call`` reaches 96010) and the operators' endpoints
file ``hotline operator`` writes. Every edit must find the line it replaces: when
``asterisk-conf/`` changes shape, rendering stops with a message instead of running a PBX with
a placeholder in it. One extra file, ``extensions-local.conf``, holds ``hotline call``'s
simulated caller.
"""

from __future__ import annotations

import re
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "asterisk-conf"
MOUNT = "/etc/asterisk-hotline"  # where the rendered folder appears inside the root
PBX_ID = "local"


class PbxConfigError(RuntimeError):
    pass


@dataclass(frozen=True)
class Local:
    """What the rendering needs to know about this machine."""

    state_dir: Path  # Asterisk's own writable folders go under it
    prompts: Path
    spool: Path
    operators: Path  # pjsip-operators.conf written by `hotline operator`
    ami_user: str
    ami_secret: str
    ami_port: int
    agi_host: str
    agi_port: int
    sip_port: int
    http_port: int


# `hotline call` (hotline/call.py). Its IVR leg enters through hotline-call-in, which notes the
# leg's outcome in ${CALL_RESULT} (key=value lines) when it hangs up; the caller runs
# CALL_SCRIPT (steps "OP:ARG" separated by ^: wait, dtmf, play), then stays on the line
# CALL_HOLD seconds (so that an operator can take the call over), recording what it hears
# into CALL_HEAR; it notes its own end in ${CALL_RESULT}.caller.
CALLER = """\
; `hotline call` (hotline/call.py): a resident's call from the terminal, through from-carrier.
[hotline-call-in]
exten => _X.,1,Set(CHANNEL(hangup_handler_push)=hotline-call-done,s,1())
 same => n,Goto(from-carrier,${EXTEN},1)

[hotline-call-done]
exten => s,1,GotoIf($["${CALL_RESULT}" = ""]?end)
 same => n,Set(FILE(${CALL_RESULT}${ARG1},,,al,u)=unique_id=${UNIQUEID})
 same => n,Set(FILE(${CALL_RESULT}${ARG1},,,al,u)=agistatus=${AGISTATUS})
 same => n,Set(FILE(${CALL_RESULT}${ARG1},,,al,u)=ivr_action=${IVR_ACTION})
 same => n,Set(FILE(${CALL_RESULT}${ARG1},,,al,u)=ticket_id=${TICKET_ID})
 same => n,Set(FILE(${CALL_RESULT}${ARG1},,,al,u)=queuestatus=${QUEUESTATUS})
 same => n,Set(FILE(${CALL_RESULT}${ARG1},,,al,u)=hangupcause=${HANGUPCAUSE})
 same => n,Set(FILE(${CALL_RESULT}${ARG1},,,al,u)=done=1)
 same => n(end),Return()

[hotline-caller]
exten => s,1,Set(CHANNEL(hangup_handler_push)=hotline-call-done,s,1(.caller))
 same => n,ExecIf($["${CALL_HEAR}" != ""]?MixMonitor(${CALL_HEAR}))
 same => n(loop),Set(STEP=${SHIFT(CALL_SCRIPT,^)})
 same => n,GotoIf($["${STEP}" = ""]?hold,1)
 same => n,Set(ARG=${CUT(STEP,:,2-)})
 same => n,Goto(op-${CUT(STEP,:,1)},1)
exten => op-wait,1,Wait(${ARG})
 same => n,Goto(s,loop)
exten => op-dtmf,1,SendDTMF(${ARG},250,100)
 same => n,Goto(s,loop)
exten => op-play,1,Playback(${ARG})
 same => n,Goto(s,loop)
exten => hold,1,Wait(${CALL_HOLD})
 same => n,Hangup(16)
"""


# The residents' web phone (/phone, HOTLINE_PHONE_PAGE): a WebRTC endpoint without
# registration or password that can call 96010 and nothing else — a public line, like the
# number itself. Browsers reach it by user name (sip:resident-web@…), so endpoint
# identification tries the user name before the source address.
RESIDENT_ENDPOINT = """\
; the residents' web phone (/phone): calls 96010 only (context from-web-resident)
[resident-web]
type = endpoint
context = from-web-resident
disallow = all
allow = opus,ulaw
webrtc = yes
direct_media = no
allow_subscribe = no
language = zh
"""
RESIDENT_DIALPLAN = """\
; the residents' web phone (/phone, pjsip endpoint resident-web): 96010 and nothing else
[from-web-resident]
exten => 96010,1,Set(CALLERID(name)=网页电话)
 same => n,Goto(from-carrier,96010,1)
exten => _X.,1,Hangup(21)
"""


def _sub(text: str, pattern: str, replacement: str, what: str) -> str:
    out, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    if count == 0:
        raise PbxConfigError(f"asterisk-conf/{what}: no line matches {pattern!r}; "
                             "hotline/pbx_config.py must follow the change")
    return out


def _globals(text: str, values: Mapping[str, str]) -> str:
    for key, value in values.items():
        text = _sub(text, rf"^{key}\s*=.*$", f"{key} = {value}", "hotline-globals.conf")
    return text


def edits(local: Local) -> dict[str, list[tuple[str, str]]]:
    """Per file: (pattern, replacement) pairs, applied in order."""
    state = local.state_dir
    dirs = {"astcachedir": state / "cache", "astetcdir": Path(MOUNT),
            "astvarlibdir": state / "lib", "astdbdir": state / "lib", "astkeydir": state / "lib",
            "astspooldir": state / "spool", "astrundir": state / "run",
            "astlogdir": state / "log"}
    return {
        "asterisk.conf": [(rf"^{name}\s*=>.*$", f"{name} => {path}")
                          for name, path in dirs.items()],
        "manager.conf": [(r"^port\s*=.*$", f"port = {local.ami_port}"),
                         (r"^\[hotline\]$", f"[{local.ami_user}]"),
                         (r"^secret\s*=\s*changeme\s*$", f"secret = {local.ami_secret}")],
        "ari.conf": [(r"^password\s*=\s*changeme\s*$",
                      f"password = {secrets.token_urlsafe(24)}")],
        "http.conf": [(r"^bindport\s*=.*$", f"bindport = {local.http_port}")],
        "pjsip.conf": [
            (r"^endpoint_identifier_order = ip,username$",
             "endpoint_identifier_order = username,ip"),
            (r"^bind = 0\.0\.0\.0:5060$", f"bind = 127.0.0.1:{local.sip_port}"),
            # the carrier is whatever calls from this machine (hotline call, SIPp)
            (r"^match = 192\.0\.2\.10$", "match = 127.0.0.1"),
            (r"^qualify_frequency = 60$", "qualify_frequency = 0"),
            (r'^#tryinclude "pjsip-operators\.conf"$', f'#tryinclude "{local.operators}"'),
        ],
        "extensions.conf": [(r'^#include "extensions-96010\.conf"$',
                             '#include "extensions-96010.conf"\n#include "extensions-local.conf"')],
    }


def render(local: Local, target: Path, source: Path = SOURCE) -> None:
    """Write the rendered configuration into ``target`` (replacing what was there)."""
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(source.glob("*.conf"))}
    for name, pairs in edits(local).items():
        if name not in files:
            raise PbxConfigError(f"asterisk-conf/{name} is missing")
        for pattern, replacement in pairs:
            files[name] = _sub(files[name], pattern, replacement, name)
    files["hotline-globals.conf"] = _globals(files["hotline-globals.conf"], {
        "PBX_ID": PBX_ID, "GATEWAY": _agi(local), "AGI_PORT": str(local.agi_port),
        "PROMPTS": str(local.prompts), "SPOOL": str(local.spool)})
    files["extensions-local.conf"] = CALLER + "\n" + RESIDENT_DIALPLAN
    files["pjsip.conf"] += "\n" + RESIDENT_ENDPOINT
    for leftover in ("changeme",):
        found = [n for n, text in files.items()
                 if re.search(rf"^[^;]*=\s*{leftover}\s*$", text, flags=re.MULTILINE)]
        if found:
            raise PbxConfigError(f"a placeholder is left in {', '.join(found)}")
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    target.chmod(0o700)  # the AMI secret is in it
    for name, text in files.items():
        (target / name).write_text(text, encoding="utf-8")
    for sub in ("cache", "lib", "spool", "run", "log"):
        (local.state_dir / sub).mkdir(parents=True, exist_ok=True)


def _agi(local: Local) -> str:
    return "127.0.0.1" if local.agi_host in ("0.0.0.0", "") else local.agi_host  # noqa: S104
