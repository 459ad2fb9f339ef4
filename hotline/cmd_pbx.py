"""CLI command ``pbx``: the local Asterisk of ``make run`` in the foreground (hotline/pbx.py);
``hotline run`` starts it as one of its programs when ``HOTLINE_PBX`` is on."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import time
from types import FrameType
from typing import Any

from hotline.context import CliContext
from hotline.errors import CliError
from hotline.invocation import runnable
from hotline.pbx import Pbx, PbxError, problem, version
from hotline.pbx_config import PbxConfigError


class _Stop(Exception):
    """SIGTERM: stop the PBX and exit 0."""


def endpoints_line(pbx: Pbx) -> str:
    listed = pbx.rx("pjsip show endpoints").stdout
    operators = sorted({word for line in listed.splitlines() for word in line.split()
                        if word.startswith("op-")})
    where = pbx.local.operators
    if not operators:
        return (f"operators' endpoints: none yet in {where} "
                "(add one: hotline operator add NAME)")
    return f"operators' endpoints: {', '.join(operators)} (from {where})"


def _pbx(ctx: CliContext, _: argparse.Namespace) -> int:
    settings = ctx.settings
    why = problem(settings)
    if why is not None:
        raise CliError(f"no PBX: {why}")
    # SIGTERM (hotline run stopping, or its death) ends the wait below like Ctrl-C does: by an
    # exception in the main thread (a threading.Event set from a signal handler can deadlock
    # against the wait it interrupts).
    def on_term(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise _Stop

    signal.signal(signal.SIGTERM, on_term)
    pbx = Pbx(settings)
    print(f"PBX: {version(settings.asterisk_root)} from {settings.asterisk_root}", flush=True)
    try:
        pbx.start()
        seconds = pbx.wait_booted()
        local = pbx.local
        print(f"PBX ready in {seconds:.1f} s: 96010 at sip:96010@127.0.0.1:{local.sip_port} "
              f"(udp), AMI 127.0.0.1:{local.ami_port}, softphone "
              f"ws://127.0.0.1:{local.http_port}/ws; Asterisk's log {pbx.output}", flush=True)
        print(runnable(endpoints_line(pbx)), flush=True)
        print(runnable('call it: hotline call --key 3 --say "东四北大街的路灯坏了三天了"'),
              flush=True)
        while pbx.proc is not None and pbx.proc.poll() is None:
            time.sleep(0.5)
        print(f"PBX: Asterisk exited:\n{pbx.tail()}", flush=True)
        return 1
    except (_Stop, KeyboardInterrupt):
        return 0
    except (PbxError, PbxConfigError) as exc:
        raise CliError(f"PBX: {exc}") from None
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C does not cut the stop
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        pbx.stop()
        print("PBX stopped", flush=True)


def _call(ctx: CliContext, args: argparse.Namespace) -> int:
    from console.ami import AmiConfig
    from hotline.call import CallError, CallPlan, ResidentCall

    settings = ctx.settings
    logging.getLogger("console.ami").setLevel(logging.WARNING)  # its connect lines are noise here
    if not settings.ami_username or settings.ami_secret is None:
        raise CliError("hotline call needs HOTLINE_AMI_USERNAME and HOTLINE_AMI_SECRET "
                       "(run: hotline dev-setup)")
    try:
        plan = CallPlan(key=args.key, say=args.say, caller=args.caller,
                        wait_operator=args.wait_operator)
        ami = AmiConfig(settings.ami_host, settings.ami_port, settings.ami_username,
                        settings.ami_secret.get_secret_value(), action_timeout=10)
        call = ResidentCall(ami, settings.resolved_redis_url, ctx.store,
                            settings.data_dir / "calls", lambda line: print(line, flush=True))
        outcome = asyncio.run(call.run(plan))
    except CallError as exc:
        raise CliError(str(exc)) from None
    ivr = outcome.vars
    print(f"call ended: the IVR leg's AGI {ivr.get('agistatus') or '?'}, action "
          f"{ivr.get('ivr_action') or '-'}, hangup cause {ivr.get('hangupcause') or '?'}")
    print(f"what the resident heard: {outcome.heard}")
    ticket = outcome.ticket
    if ticket is None:
        print(f"no ticket for call {outcome.ref} (see 'hotline run' output)")
        return 1
    audio = ", ".join(a.url for a in ticket.attachments) or "no audio"
    print(f"ticket {ticket.number}: {ticket.kind.value}, {ticket.status.value}; {audio}")
    if ticket.transcript is not None:
        print(f"transcript ({ticket.transcript.model}): {ticket.transcript.text}")
    else:
        print("transcript: pending (the transcribe job adds it)")
    print(f"open it: http://{settings.http_host}:{settings.http_port}/console/tickets/"
          f"{ticket.number}")
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "call", help="call 96010 through the local PBX as a resident (espeak-ng speech)",
        description="A resident's call from the terminal: AMI Originate of a Local channel into "
        "the production dialplan (from-carrier, 96010) of the PBX 'make run' starts; the "
        "resident presses --key, says --say (Mandarin by espeak-ng) after the beep and '#'. "
        "Prints what the IVR did, the live transcript and the ticket.")
    p.add_argument("--key", default="3",
                   help="the menu key: 1 咨询 2 求助 3 投诉 4 举报 5 建议, 9 progress, 0 operator "
                   "(default 3)")
    p.add_argument("--say", default="东四北大街的路灯坏了三天了",
                   help="what the resident says after the beep (Mandarin text)")
    p.add_argument("--from", dest="caller", default="13800138000",
                   help="the caller's number (default 13800138000)")
    p.add_argument("--wait-operator", action="store_true",
                   help="keep talking, then hold the line (up to 15 min) for an operator to "
                   "take the call over on the board")
    p.set_defaults(handler=_call)

    p = sub.add_parser(
        "pbx", help="the local Asterisk 22 (the tests' root) with asterisk-conf/ for this machine",
        description="Start the local PBX in the foreground: the Asterisk 22 root built by "
        "scripts/asterisk-root.sh, asterisk-conf/ rendered for the local folders and the "
        "generated AMI secret, the operators' endpoints loaded. Ctrl-C stops it. "
        "'hotline run' starts it too when HOTLINE_PBX=true (hotline dev-setup sets it).")
    p.set_defaults(handler=_pbx)
