"""The spool's on-disk format: sidecar parsing, ids, times, callers (known answers and
hypothesis), and the gateway's own writer read back by the reader."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from ivr.spool import format as spool
from tests.ivr.spool.samples import SIDE, STEM

# -- pure parts -----------------------------------------------------------------------------

def test_parse_sidecar_known_answer() -> None:
    assert spool.parse_sidecar("a=1\n\nbroken line\nb = x=y \na=2\n=v\n") == {"a": "2",
                                                                           "b": "x=y"}
    fields = spool.parse_sidecar(SIDE)
    assert fields["unique_id"] == "1795705400.1" and fields["ended"] == "1795705439"


def test_unique_id_from_sidecar_then_file_name() -> None:
    assert spool.unique_id_of(STEM, {"unique_id": "abc.7"}) == "abc.7"
    assert spool.unique_id_of(STEM, {}) == "1795705400.1"
    assert spool.unique_id_of(STEM, {"unique_id": "../../etc"}) == "1795705400.1"
    assert spool.unique_id_of("whatever", {"unique_id": "bad id"}) is None


def test_received_at() -> None:
    assert spool.received_at_of(STEM, {"started": "1795705400"}, 0) == datetime.fromtimestamp(
        1795705400, UTC)
    assert spool.received_at_of(STEM, {}, 0) == datetime(2026, 11, 26, 15, 3, 20, tzinfo=UTC)
    assert spool.received_at_of("x", {}, 86400.0) == datetime(1970, 1, 2, tzinfo=UTC)
    # absurd values fall back to the file name, then to the file time
    assert spool.received_at_of(STEM, {"started": "9" * 30}, 0) == datetime(
        2026, 11, 26, 15, 3, 20, tzinfo=UTC)
    assert spool.received_at_of("20261399T999999Z-1.2", {}, 0) == datetime(1970, 1, 1,
                                                                             tzinfo=UTC)


def test_phone_e164_or_anonymous() -> None:
    assert spool.phone_of({"caller": "13800138000"}) == "+8613800138000"
    assert spool.phone_of({"caller": "01065123456"}) == "+861065123456"
    assert spool.phone_of({"caller": ""}) is None
    assert spool.phone_of({"caller": "123"}) is None
    assert spool.phone_of({"caller": "13800138000",
                           "presentation": "prohib_not_screened"}) is None


def test_complete_when_ended_or_stale() -> None:
    assert spool.is_complete({"ended": "1"}, age=0)
    assert not spool.is_complete({}, age=10)
    assert spool.is_complete({}, age=spool.STALE_AFTER)




@given(st.text(max_size=400) | st.builds(
    lambda k, v: f"{k}={v}\n", st.sampled_from(["started", "unique_id", "caller", "ended"]),
    st.text(max_size=40) | st.integers().map(str)))
def test_sidecar_parsing_never_fails_and_ids_stay_safe(text: str) -> None:
    fields = spool.parse_sidecar(text)
    assert all(key and "\n" not in key and "=" not in key for key in fields)
    uid = spool.unique_id_of(text[:60], fields)
    assert uid is None or spool.UNIQUE_ID.match(uid)
    assert uid is None or "/" not in uid
    spool.phone_of(fields)  # never raises
    spool.received_at_of(text[:60], fields, 0.0)




def test_the_gateways_own_entries_read_back(tmp_path: Path) -> None:
    fields = {"unique_id": "1795705400.1", "pbx": "a1b2", "caller": "+8613800138000",
              "presentation": "allowed", "reason": "store-failed", "kind": "help",
              "started": "1795705400", "ended": "1795705439"}
    at = datetime(2026, 11, 26, 15, 3, 20, tzinfo=UTC)
    first = spool.write_entry(tmp_path, b"RIFF-not-really", fields, at)
    second = spool.write_entry(tmp_path, None, fields, at)  # the same call, the same second
    assert first != second
    entries = spool.scan(tmp_path)
    assert [e.fields for e in entries] == [fields, fields]
    assert sorted(e.audio is not None for e in entries) == [False, True]
    assert all(spool.NAME.match(e.stem) for e in entries)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left


def test_a_sidecar_value_cannot_smuggle_a_line() -> None:
    import pytest

    with pytest.raises(ValueError, match="line break"):
        spool.render_sidecar({"caller": "1\nended=1"})
