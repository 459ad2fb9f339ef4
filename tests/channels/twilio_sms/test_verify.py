"""Known answers for Twilio signatures: twilio's own vector, the public-URL rule."""

from __future__ import annotations

from channels.twilio_sms.verify import PATH, is_valid, sign, signed_url

# The example from Twilio's webhook-security documentation and twilio-python's tests.
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_PARAMS = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234",
              "From": "+14158675309", "To": "+18005551212"}
DOC_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_documented_vector() -> None:
    assert sign("12345", DOC_URL, DOC_PARAMS) == DOC_SIGNATURE
    assert is_valid("12345", DOC_URL, DOC_PARAMS, DOC_SIGNATURE)


def test_one_changed_byte_in_a_field_is_refused() -> None:
    assert not is_valid("12345", DOC_URL, {**DOC_PARAMS, "Digits": "1235"}, DOC_SIGNATURE)


def test_extra_field_is_refused() -> None:
    assert not is_valid("12345", DOC_URL, {**DOC_PARAMS, "Body": "x"}, DOC_SIGNATURE)


def test_wrong_token_and_missing_signature_are_refused() -> None:
    assert not is_valid("12346", DOC_URL, DOC_PARAMS, DOC_SIGNATURE)
    assert not is_valid("12345", DOC_URL, DOC_PARAMS, "")
    assert not is_valid("", DOC_URL, DOC_PARAMS, DOC_SIGNATURE)


def test_signed_url_is_public_url_path_and_query() -> None:
    assert signed_url("https://gw.example.cn/") == "https://gw.example.cn" + PATH
    assert signed_url("https://gw.example.cn/hotline", PATH, "a=1") == (
        "https://gw.example.cn/hotline/channels/twilio/sms?a=1")


def test_signature_for_the_internal_url_does_not_pass_for_the_public_one() -> None:
    params = {"MessageSid": "SM1", "Body": "hi"}
    internal = sign("tok", "http://127.0.0.1:8096" + PATH, params)
    assert not is_valid("tok", signed_url("https://gw.example.cn"), params, internal)
