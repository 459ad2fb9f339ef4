"""hotline call's plan and the resident's steps for the dialplan (pure parts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.call import TALK_WAIT, CallError, CallPlan, script


def test_a_message_is_key_wait_speak_and_hash() -> None:
    steps = script(CallPlan(key="3", say="路灯坏了"), Path("/d/calls/x-says.wav"))
    assert steps == f"wait:2^dtmf:3^wait:{TALK_WAIT}^play:/d/calls/x-says^dtmf:#"


def test_waiting_for_an_operator_does_not_end_the_message() -> None:
    steps = script(CallPlan(key="4", say="井盖丢了", wait_operator=True), Path("/d/x.wav"))
    assert steps.endswith("^play:/d/x") and "#" not in steps


def test_keys_without_a_message() -> None:
    assert script(CallPlan(key="9", say=None), None) == "wait:2^dtmf:9^wait:8"


@pytest.mark.parametrize(("values", "why"), [({"key": "12"}, "--key"), ({"key": "#"}, "--key"),
                                             ({"key": "3", "say": " "}, "--say"),
                                             ({"key": "3", "caller": "abc"}, "--from")])
def test_bad_plans_are_refused(values: dict[str, str], why: str) -> None:
    with pytest.raises(CallError, match=why):
        CallPlan(**{"say": "x", **values})  # type: ignore[arg-type]
