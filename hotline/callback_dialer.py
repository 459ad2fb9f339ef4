"""The callback call's dialer: AMI ``Originate`` into ``callback-96010`` over the console's AMI
link (:class:`console.ami.AmiLink`, panoramisk), as the callback job and ``hotline callback``
use it.

One call per connection: connect and log in (``connect_timeout``), send ``Originate`` with
``Async: true`` and wait for its ``OriginateResponse`` (the ring time plus a margin). The
response's ``Reason`` (Asterisk's control frame) says what happened: 4 answered, 5 busy, 3 or 1
no answer, anything else failed. A connection that cannot be made or drops, a login that is
refused or no answer in time is :attr:`~ivr.callback_job.Outcome.ami_down`; an ``Originate``
answered with ``Response: Error`` is :attr:`~ivr.callback_job.Outcome.failed` with Asterisk's
message.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import phonenumbers

from console.ami import AmiConfig, AmiDown, AmiLink, AmiRefused
from hotline.app import ami_config
from hotline.settings import Settings
from ivr.callback_job import CallbackPolicy, CallRequest, Dialed, Outcome

log = logging.getLogger(__name__)

CONTEXT = "callback-96010"
CALLER_ID = '"96010" <96010>'
MARGIN = 15.0  # seconds beyond the ring time for Asterisk's OriginateResponse
REASONS = {"4": Outcome.answered, "5": Outcome.busy, "3": Outcome.no_answer,
           "1": Outcome.no_answer}


def dial_string(template: str, phone: str) -> str:
    """``HOTLINE_CALLBACK_CHANNEL`` filled for ``phone`` (E.164): ``{number}`` the national
    digits (``01065123456``), ``{e164}`` as is."""
    parsed = phonenumbers.parse(phone, None)
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    digits = "".join(c for c in national if c.isdigit())
    return template.format(number=digits, e164=phone)


def outcome_of(response: dict[str, str]) -> Dialed:
    """What an ``OriginateResponse`` event says (pure)."""
    reason = response.get("Reason", "")
    if response.get("Response") == "Success":
        return Dialed(Outcome.answered)
    return Dialed(REASONS.get(reason, Outcome.failed), f"reason {reason or '?'}")


@dataclass(frozen=True)
class AmiDialer:
    """A :class:`~ivr.callback_job.Dialer` over AMI."""

    ami: AmiConfig
    channel: str = "PJSIP/{number}@carrier"  # HOTLINE_CALLBACK_CHANNEL
    ring_seconds: int = 45

    def __call__(self, request: CallRequest) -> Dialed:
        return asyncio.run(self.originate(request))

    def action(self, request: CallRequest) -> dict[str, str | list[str]]:
        return {
            "Action": "Originate", "ActionID": request.action_id,
            "Channel": dial_string(self.channel, request.phone),
            "Context": CONTEXT, "Exten": "s", "Priority": "1", "Async": "true",
            "Timeout": str(self.ring_seconds * 1000), "CallerID": CALLER_ID,
            "Variable": [f"CALLBACK_TICKET={request.ticket_id}"],
        }

    async def originate(self, request: CallRequest) -> Dialed:
        link = AmiLink(self.ami)
        await link.start()
        try:
            if not await link.wait_connected(self.ami.connect_timeout):
                return Dialed(Outcome.ami_down, f"cannot connect to {self.ami.host}:"
                                                f"{self.ami.port}")
            replies = await link.action_list(self.action(request),
                                             seconds=self.ring_seconds + MARGIN)
        except AmiRefused as exc:
            return Dialed(Outcome.failed, f"Asterisk refused: {exc.message}")
        except AmiDown as exc:
            return Dialed(Outcome.ami_down, str(exc))
        finally:
            await link.close()
        responses = [r for r in replies if r.get("Event") == "OriginateResponse"]
        if not responses:
            return Dialed(Outcome.ami_down, "no OriginateResponse")
        return outcome_of(responses[-1])


def dialer_for(settings: Settings) -> AmiDialer | None:
    """The dialer of ``settings`` (None while ``HOTLINE_AMI_USERNAME``/``SECRET`` are unset:
    every attempt is then recorded as AMI down and retried)."""
    ami = ami_config(settings)
    if ami is None:
        return None
    return AmiDialer(ami, settings.callback_channel, settings.callback_ring_seconds)


def policy_for(settings: Settings) -> CallbackPolicy:
    """Attempts, their spacing and the quiet hours (``HOTLINE_QUIET_HOURS``: no callback call
    inside them, whatever the priority — a ringing phone at night is worse than a text)."""
    return CallbackPolicy(attempts=settings.callback_attempts,
                          interval=settings.callback_interval, quiet=settings.quiet)
