"""The driver's requests are what the gateway's own checks accept: Twilio's signature (over
the public URL) and WeChat's safe-mode envelope; and the answers are read as acknowledgements
only when they name a ticket."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlsplit

from bench.chaos import channels as ch
from bench.chaos.secrets import PUBLIC_URL, fresh
from channels.twilio_sms.verify import sign
from channels.wechat import envelope
from channels.wechat.xmlsafe import parse_fields


def test_sms_is_signed_as_twilio_signs() -> None:
    creds = fresh()
    intake = ch.Intake(0, ch.Kind.sms, "0a0b0c0d")
    req = ch.sms(creds, intake)
    form = dict(parse_qsl(req.body.decode()))
    assert form["MessageSid"] == intake.key and len(intake.key) == 34
    assert req.headers["X-Twilio-Signature"] == sign(creds.twilio_token, PUBLIC_URL + req.path,
                                                     form)


def test_wechat_push_opens_with_the_gateways_safe_mode() -> None:
    creds = fresh()
    intake = ch.Intake(1, ch.Kind.wechat, "0a0b0c0d")
    req = ch.wechat(creds, intake, 1_800_000_000)
    query = dict(parse_qsl(urlsplit(req.path).query))
    mode = envelope.SafeMode(creds.wechat_token, creds.wechat_aes_key, creds.wechat_app_id)
    fields = parse_fields(req.body)
    xml = envelope.open_envelope(mode, fields, query["msg_signature"], query["timestamp"],
                                 query["nonce"], time.time(), 300).decode()
    assert f"<MsgId>{intake.key}</MsgId>" in xml and intake.openid in xml


def test_acknowledgements() -> None:
    assert ch.acknowledged(ch.Kind.sms, 200, "<Message>工单号2612080001。</Message>") == (
        "2612080001")
    assert ch.acknowledged(ch.Kind.sms, 200, ch.DELAYED) == "later"
    assert ch.acknowledged(ch.Kind.sms, 503, "2612080001") is None
    assert ch.acknowledged(ch.Kind.web, 200, "<form>2612080001</form>") is None
    assert ch.acknowledged(ch.Kind.api, 201, '{"number": "2612080002"}') == "2612080002"
    assert ch.acknowledged(ch.Kind.open311, 201,
                           '[{"service_request_id": "2612080003"}]') == "2612080003"
    assert ch.ref_tail("open311:k1:chaos-device:chaos-1-5") == "chaos-1-5"
