"""Taking a call over from the IVR, on the real Asterisk 22 harness, through the console's own
HTTP routes (``hotline serve``), with ``hotline agi --transcribe live`` (the real Vosk model)
answering the call and a SIPp desk phone as the operator's device.

A resident presses 1 and speaks; the operator's board stream shows the call and its live
transcript as it grows; the operator clicks "take over" (``POST /console/calls/<id>/takeover``);
Asterisk moves the call into ``operators-96010`` with ``TICKET_ID``; the operator's desk phone
rings, answers and is bridged with the resident; the FastAGI session ends cleanly with the
ticket draft kept (and what the resident said so far on it); the screen-pop reaches that
operator's stream only. Then Asterisk stops: the board says the link is down, the takeover
answers 503, and the link comes back by itself when Asterisk is up again.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ivr.wavinfo import wav_info
from tests.integration.console.takeover_rig import ConsoleRig, SseEvent, console_rig
from tests.support.ami import Message
from tests.support.asterisk import wav_complete
from tests.support.services import require_root, wait_until
from tests.transcription.speech import WORDS, words_pcm, write_wav
from tickets import media
from tickets.masking import mask_phone
from tickets.model import Channel, Kind

pytestmark = [pytest.mark.integration, pytest.mark.asterisk, pytest.mark.slow]

CALLER = "13800138000"
MASKED = mask_phone("+86" + CALLER)  # +86138****8000


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleRig]:
    require_root()
    base = tmp_path_factory.mktemp("console-takeover")
    with console_rig(base, logins=["alice", "bob"], transcribe="live") as running:
        # about ten seconds of Korean words (the installed model is Korean)
        write_wav(running.shared / "caller" / "words.wav",
                  words_pcm(base / "espeak", WORDS * 3, gap=0.6))
        yield running


def _said(event: SseEvent) -> str:
    return str(event.data.get("text", "")) + str(event.data.get("partial", ""))


def _chan_var(event: Message, name: str) -> str | None:
    for line in event.get("ChanVariable", "").split("\n"):
        key, _, value = line.partition("=")
        if key == name:
            return value
    return None


def test_takeover_lands_in_the_queue_and_pops_the_ticket(rig: ConsoleRig) -> None:
    alice = rig.log_in("alice")
    bob = rig.log_in("bob")
    board = alice.open_page()
    other = bob.open_page()
    snapshot = board.wait_for(lambda e: e.name == "snapshot", 10)
    assert snapshot.data["link"]["ami"] is True or board.wait_for(
        lambda e: e.name == "link" and e.data["ami"] is True, 20)

    # alice joins the queue from the console (AMI QueueAdd of her desk phone)
    joined = alice.post("/console/queue/login")
    assert joined.status_code == 200, joined.text
    assert joined.json()["interface"] == "PJSIP/op-alice"
    board.wait_for(lambda e: e.name == "queue" and any(
        m["login"] == "alice" and m["state"] == "available"
        for m in e.data["queue"]["members"]), 10)

    with rig.ast.ami_session(events=True, timeout=60) as ami:
        call = rig.call(caller_id=CALLER, timeout=150, script=[
            ("wait", "2"), ("dtmf", "1"), ("wait", "13"),
            ("play", str(rig.shared / "caller" / "words"))])

        # the board shows the call (masked caller, no number), then it records ...
        shown = board.wait_for(lambda e: e.name == "call" and e.data["call"]["caller"] == MASKED,
                               20)
        topic = shown.data["call"]["id"]
        assert CALLER not in str(shown.data) and "Local/" not in str(shown.data)
        board.wait_for(lambda e: e.name == "call" and e.data["call"]["id"] == topic
                       and e.data["call"]["step"] == "record", 30)
        # ... and its live transcript grows while the resident speaks
        first = board.wait_for(lambda e: e.name == "transcript" and e.data["id"] == topic
                               and _said(e) != "", 30)
        grown = board.wait_for(lambda e: e.name == "transcript" and e.data["id"] == topic
                               and _said(e) != "" and _said(e) != _said(first),
                               20, after=board.events.index(first) + 1)
        assert grown.data["final"] is False

        # the take-over button
        taken = alice.post(f"/console/calls/{topic}/takeover")
        assert taken.status_code == 200, taken.text
        ticket: dict[str, Any] = taken.json()["ticket"]
        assert taken.json()["redirected"] is True
        again = bob.post(f"/console/calls/{topic}/takeover")  # a second click: same ticket
        assert again.status_code in (200, 410), again.text
        if again.status_code == 200:
            assert again.json()["ticket"] == ticket and again.json()["redirected"] is False

        # Asterisk: the call joins operators-96010 with TICKET_ID, alice's phone answers and
        # is bridged with the resident
        join = ami.wait_event(lambda m: m.get("Event") == "QueueCallerJoin"
                              and m.get("Queue") == "operators-96010", 20)
        assert _chan_var(join, "TICKET_ID") == ticket["id"], join
        connect = ami.wait_event(lambda m: m.get("Event") == "AgentConnect"
                                 and m.get("Queue") == "operators-96010", 30)
        assert connect["Interface"] == "PJSIP/op-alice", connect
        assert connect["Channel"] == join["Channel"]
        assert _chan_var(connect, "TICKET_ID") == ticket["id"], connect
        operator_leg = connect["DestChannel"]
        assert operator_leg.startswith("PJSIP/op-alice-")
        entered: dict[str, str] = {}
        while set(entered) != {join["Channel"], operator_leg}:
            bridge = ami.wait_event(lambda m: m.get("Event") == "BridgeEnter"
                                    and m.get("Channel") in (join["Channel"], operator_leg), 10)
            entered[bridge["Channel"]] = bridge["BridgeUniqueid"]
        assert len(set(entered.values())) == 1, entered  # one bridge, both legs

    # the screen-pop reaches alice's page with the ticket, and nobody else's
    pop = board.wait_for(lambda e: e.name == "screenpop", 15)
    assert pop.data["ticket"] == ticket
    assert pop.data["url"] == f"/console/tickets/{ticket['number']}"
    assert pop.data["call"] == topic  # its transcript keeps arriving on the stream
    # the call left the IVR because it was taken over (not "hangup")
    gone = board.wait_for(lambda e: e.name == "call_gone" and e.data["id"] == topic, 15)
    assert gone.data["why"] == "takeover", gone.data
    board.wait_for(lambda e: e.name == "queue" and any(
        m["login"] == "alice" and m["state"] == "talking"
        for m in e.data["queue"]["members"]), 10)
    assert not [e for e in other.events if e.name == "screenpop"]

    # the operator hangs up; the resident's call ends
    rig.hang_up_operators()
    result = call.join(60)
    assert result.ivr_action == "operator" and result.ticket_id == ticket["id"], result

    # the FastAGI session ended without error; the draft is kept with who took it over and
    # what the resident said before the takeover
    wait_until(lambda: "taken over by an operator" in rig.agi_log.read_text(), timeout=20)
    agi_log = rig.agi_log.read_text(errors="replace")
    assert "Traceback" not in agi_log and " ERROR " not in agi_log, agi_log[-4000:]
    draft = rig.store.find_by_ref(Channel.voice.value, result.ref)
    assert draft is not None and draft.id == ticket["id"]
    assert draft.kind is Kind.consultation and draft.citizen.phone == "+86" + CALLER
    assert [h.actor for h in draft.history if h.note == "话务员接管来电"] == [
        "operator:alice"], draft.history

    def recorded() -> bool:
        found = rig.store.get(ticket["id"])
        return any(a.content_type == "audio/wav" for a in found.attachments)

    wait_until(recorded, timeout=30)
    [audio] = rig.store.get(ticket["id"]).attachments
    wav = media.resolve(rig.base / "data" / "media", audio.url.rsplit("/", 1)[1])
    assert wav is not None and wav_complete(wav)
    said = wav_info(wav)
    assert said.duration > 1.0 and said.rms > 300, said  # the resident's words before it
    # the recording was stopped with the takeover, not left running into the operator's talk
    assert "did not finish" not in agi_log, agi_log[-4000:]
    serve_log = rig.serve_log.read_text(errors="replace")
    assert "Traceback" not in serve_log, serve_log[-4000:]


def test_board_shows_the_asterisk_link_down_and_back(rig: ConsoleRig) -> None:
    alice = rig.operators.get("alice") or rig.log_in("alice")
    board = alice.open_page()
    snapshot = board.wait_for(lambda e: e.name == "snapshot", 10)
    assert snapshot.data["link"] == {"ami": True, "live": True}

    mark = len(board.events)
    rig.ast.stop()
    board.wait_for(lambda e: e.name == "link" and e.data["ami"] is False, 20, after=mark)
    refused = alice.post("/console/queue/pause", {"reason": "break"})
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "ami_down"
    assert alice.client.get("/console/board.json").json()["link"]["ami"] is False

    # Asterisk stays away until the link has retried three times (0.5 s, 1 s, 2 s, ...):
    # waited for in the log, not for a fixed time (a loaded machine once saw one try in 4 s)
    tries = re.compile(r"cannot connect .*; next try in ([0-9.]+) s")
    deadline = time.monotonic() + 60
    while len(tries.findall(rig.serve_log.read_text(errors="replace"))) < 3:
        assert time.monotonic() < deadline, rig.serve_log.read_text(errors="replace")[-4000:]
        time.sleep(0.2)
    mark = len(board.events)
    rig.ast.start()  # the same ports: the gateway's settings name them
    board.wait_for(lambda e: e.name == "link" and e.data["ami"] is True, 60, after=mark)
    # reconnected: actions work again and the queue is read afresh (nobody in it)
    joined = alice.post("/console/queue/login")
    assert joined.status_code == 200, joined.text
    serve_log = rig.serve_log.read_text(errors="replace")
    assert "connection lost; reconnecting" in serve_log
    # while Asterisk was away the link retried with a growing delay (0.5 s, 1 s, 2 s, ...)
    delays = [float(d) for d in tries.findall(serve_log)]
    assert len(delays) >= 3 and delays[0] == 0.5, delays
    assert all(b == min(a * 2, 30.0) for a, b in itertools.pairwise(delays)), delays
    assert "Traceback" not in serve_log, serve_log[-4000:]


def test_wrong_topics_are_refused(rig: ConsoleRig) -> None:
    alice = rig.operators.get("alice") or rig.log_in("alice")
    unknown = alice.post("/console/calls/00000000-0000-0000-0000-000000000000/takeover")
    assert unknown.status_code == 410, unknown.text
    assert unknown.json()["error"]["code"] == "call_gone"
    no_csrf = alice.client.post("/console/calls/00000000-0000-0000-0000-000000000000/takeover")
    assert no_csrf.status_code == 403
