"""The back-office API over a real store (SQLite and PostgreSQL): auth, intake, feed, events,
and bad input answered with a JSON 4xx while nothing is written."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from hotline.app import create_app
from hotline.settings import Settings
from tickets import apikeys
from tickets.apikeys import Scope
from tickets.store import Store


@pytest.fixture
def client(store: Store, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(env="development", data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]
    app = create_app(settings, store=store, redis_url="")
    with TestClient(app) as c:
        yield c


def token(store: Store, *scopes: Scope, name: str = "test") -> dict[str, str]:
    _, tok = apikeys.create(store.db, name, frozenset(scopes))
    return {"Authorization": f"Bearer {tok}"}


@pytest.fixture
def full(store: Store) -> dict[str, str]:
    return token(store, Scope.intake, Scope.read, Scope.events)


BODY = {"channel_ref": "h-1", "text": "小区门口井盖丢失", "kind": "report",
        "citizen": {"phone": "+8613800138000", "consent_to_contact": True},
        "location": {"address": "东四十条35号", "grid": "DC-0101"}}


def submit(client: TestClient, headers: dict[str, str], **over: Any) -> dict[str, Any]:
    r = client.post("/api/v1/intake", json={**BODY, **over}, headers=headers)
    assert r.status_code in (200, 201), r.text
    return r.json()  # type: ignore[no-any-return]


def error(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


def feed_ids(client: TestClient, headers: dict[str, str]) -> list[str]:
    r = client.get("/api/v1/tickets?after=0", headers=headers)
    return [t["id"] for t in r.json()["tickets"]]


# -- auth ---------------------------------------------------------------------------------

def test_missing_key_is_401(client: TestClient) -> None:
    error(client.get("/api/v1/tickets"), 401)
    error(client.post("/api/v1/intake", json=BODY), 401)


def test_wrong_key_is_401(client: TestClient, full: dict[str, str]) -> None:
    forged = full["Authorization"][:-3] + "xyz"
    error(client.get("/api/v1/tickets", headers={"Authorization": forged}), 401)
    error(client.get("/api/v1/tickets", headers={"Authorization": "Bearer nonsense"}), 401)


def test_missing_scope_is_403(client: TestClient, store: Store) -> None:
    read_only = token(store, Scope.read)
    e = error(client.post("/api/v1/intake", json=BODY, headers=read_only), 403)
    assert "intake" in e["message"]
    intake_only = token(store, Scope.intake, name="other")
    error(client.get("/api/v1/tickets", headers=intake_only), 403)


def test_revoked_key_is_401(client: TestClient, store: Store) -> None:
    key, tok = apikeys.create(store.db, "gone", frozenset({Scope.read}))
    headers = {"Authorization": f"Bearer {tok}"}
    assert client.get("/api/v1/tickets", headers=headers).status_code == 200
    assert apikeys.revoke(store.db, key.id)
    error(client.get("/api/v1/tickets", headers=headers), 401)


def test_x_api_key_header_works(client: TestClient, store: Store) -> None:
    _, tok = apikeys.create(store.db, "hdr", frozenset({Scope.read}))
    assert client.get("/api/v1/tickets", headers={"X-API-Key": tok}).status_code == 200


# -- intake and feed ----------------------------------------------------------------------

def test_intake_then_feed_then_get(client: TestClient, full: dict[str, str]) -> None:
    ack = client.post("/api/v1/intake", json=BODY, headers=full)
    assert ack.status_code == 201
    a = ack.json()
    assert a["created"] is True and a["status"] == "received" and len(a["number"]) == 10
    page = client.get("/api/v1/tickets?after=0&limit=10", headers=full).json()
    [t] = page["tickets"]
    assert t["id"] == a["id"] and page["next"] == t["seq"]
    key_id = full["Authorization"].split("_")[1]
    assert t["channel"] == "api" and t["channel_ref"] == f"{key_id}:h-1"
    assert t["citizen"]["phone"] == "+8613800138000"
    assert t["location"]["grid"] == "DC-0101"
    assert t["schema_version"] == 1
    assert client.get(f"/api/v1/tickets/{a['id']}", headers=full).json() == t
    assert client.get(f"/api/v1/tickets/{a['number']}", headers=full).json() == t
    assert client.get(f"/api/v1/tickets?after={t['seq']}", headers=full).json() == {
        "tickets": [], "next": t["seq"]}


def test_repeat_intake_is_200_with_the_same_ticket(client: TestClient,
                                                   full: dict[str, str]) -> None:
    first = client.post("/api/v1/intake", json=BODY, headers=full)
    again = client.post("/api/v1/intake", json=BODY, headers=full)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and again.json()["created"] is False
    assert len(feed_ids(client, full)) == 1


def test_feed_pages_in_seq_order(client: TestClient, full: dict[str, str]) -> None:
    ids = [submit(client, full, channel_ref=f"p{i}")["id"] for i in range(7)]
    seen: list[str] = []
    after = 0
    while True:
        page = client.get(f"/api/v1/tickets?after={after}&limit=3", headers=full).json()
        if not page["tickets"]:
            break
        seen += [t["id"] for t in page["tickets"]]
        after = page["next"]
    assert seen == ids


def test_long_poll_returns_when_a_ticket_arrives(client: TestClient,
                                                 full: dict[str, str]) -> None:
    result: dict[str, Any] = {}

    def poll() -> None:
        result["r"] = client.get("/api/v1/tickets?after=0&wait=20", headers=full)

    poller = threading.Thread(target=poll)
    poller.start()
    submit(client, full)
    poller.join(25)
    assert not poller.is_alive()
    key_id = full["Authorization"].split("_")[1]
    assert [t["channel_ref"] for t in result["r"].json()["tickets"]] == [f"{key_id}:h-1"]


def test_long_poll_times_out_empty(client: TestClient, full: dict[str, str]) -> None:
    r = client.get("/api/v1/tickets?after=0&wait=0.3", headers=full)
    assert r.json() == {"tickets": [], "next": 0}


# -- events -------------------------------------------------------------------------------

def event(client: TestClient, headers: dict[str, str], tid: str, **body: Any) -> Any:
    return client.post(f"/api/v1/tickets/{tid}/events", json={"actor": "bo", **body},
                       headers=headers)


def test_events_walk_the_loop(client: TestClient, full: dict[str, str]) -> None:
    tid = submit(client, full)["id"]
    for status in ("registered", "dispatched", "in_progress", "resolved", "closed"):
        r = event(client, full, tid, status=status, note=f"to {status}")
        assert r.status_code == 200, r.text
        assert r.json()["status"] == status
    r = event(client, full, tid, status="evaluated",
              evaluation={"score": 5, "comment": "满意", "channel": "sms"})
    t = r.json()
    assert t["status"] == "evaluated" and t["evaluation"]["score"] == 5
    assert [h["status"] for h in t["history"]] == [
        "received", "registered", "dispatched", "in_progress", "resolved", "closed", "evaluated"]
    seqs = [h["seq"] for h in t["history"]]
    assert seqs == sorted(seqs) and t["seq"] == seqs[-1]


def test_illegal_transition_is_409_and_changes_nothing(client: TestClient,
                                                       full: dict[str, str]) -> None:
    tid = submit(client, full)["id"]
    before = client.get(f"/api/v1/tickets/{tid}", headers=full).json()
    e = error(event(client, full, tid, status="closed"), 409)
    assert e["code"] == "illegal_transition"
    assert "'received'" in e["message"] and "'closed'" in e["message"]
    assert client.get(f"/api/v1/tickets/{tid}", headers=full).json() == before


def test_unit_events_send_back_extend_urge_and_stale(client: TestClient,
                                                     full: dict[str, str]) -> None:
    """What a desk does, a unit's own system can report too: the kinds of
    HistoryKind a unit or the supervision reports, the optimistic seq check."""
    tid = submit(client, full)["id"]
    for status in ("registered", "dispatched"):
        assert event(client, full, tid, status=status).status_code == 200
    e = error(event(client, full, tid, status="registered", kind="sent_back"), 422)
    assert "note" in str(e)
    e = error(event(client, full, tid, kind="notified", note="x"), 422)
    e = error(event(client, full, tid, kind="extension_granted"), 422)
    assert "resolve_by" in str(e)
    seen = client.get(f"/api/v1/tickets/{tid}", headers=full).json()["seq"]
    t = event(client, full, tid, kind="extension_granted",
              resolve_by="2026-12-20T10:00:00+08:00", expected_seq=seen).json()
    assert t["routing"]["resolve_by"].startswith("2026-12-20T02:00:00")
    assert t["history"][-1]["kind"] == "extension_granted"
    e = error(event(client, full, tid, kind="urged", note="请尽快", expected_seq=seen), 409)
    assert e["code"] == "stale" and f"now {t['seq']}" in e["message"]
    back = event(client, full, tid, status="registered", kind="sent_back", note="不归我们",
                 expected_seq=t["seq"]).json()
    assert back["status"] == "registered" and back["routing"]["destinations"] == []
    assert back["history"][-1]["kind"] == "sent_back"


def test_event_id_makes_retries_safe(client: TestClient, full: dict[str, str]) -> None:
    tid = submit(client, full)["id"]
    a = event(client, full, tid, status="registered", event_id="e-1").json()
    b = event(client, full, tid, status="registered", event_id="e-1")
    assert b.status_code == 200 and b.json() == a


def test_event_needs_scope_and_consistency(client: TestClient, store: Store,
                                           full: dict[str, str]) -> None:
    tid = submit(client, full)["id"]
    error(event(client, token(store, Scope.read, name="r"), tid, note="x"), 403)
    error(event(client, full, tid, status="rejected"), 422)  # no reason
    error(event(client, full, tid), 422)  # nothing to change
    r = event(client, full, tid, status="rejected", reason="非政府职能事项")
    assert r.json()["reject_reason"] == "非政府职能事项"


def test_notes_and_fields_without_status(client: TestClient, full: dict[str, str]) -> None:
    tid = submit(client, full)["id"]
    t = event(client, full, tid, note="已电话联系", department="城管委", priority=2).json()
    assert t["status"] == "received" and t["department"] == "城管委" and t["priority"] == 2
    assert t["history"][-1]["note"] == "已电话联系"


# -- bad input: a clear JSON 4xx, nothing written -----------------------------------------

def test_unknown_ticket_is_404(client: TestClient, full: dict[str, str]) -> None:
    error(client.get("/api/v1/tickets/" + "f" * 32, headers=full), 404)
    error(event(client, full, "2611260001", note="x"), 404)


def test_malformed_json_is_400(client: TestClient, full: dict[str, str]) -> None:
    r = client.post("/api/v1/intake", content=b'{"channel_ref": "x", "text": ',
                    headers={**full, "Content-Type": "application/json"})
    assert error(r, 400)["code"] == "invalid_json"
    assert feed_ids(client, full) == []


def test_non_utf8_is_400(client: TestClient, full: dict[str, str]) -> None:
    body = '{"channel_ref": "x", "text": "井盖"}'.encode("gbk")
    r = client.post("/api/v1/intake", content=body,
                    headers={**full, "Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert feed_ids(client, full) == []


@pytest.mark.parametrize("bad", [
    {"unexpected": 1},
    {"citizen": {"phone": "13800138000x"}},
    {"citizen": {"phone": "+8613800138000", "openid": "x"}},
    {"kind": "gossip"},
    {"text": ""},
    {"location": {"lat": 123}},
])
def test_schema_violations_are_422(client: TestClient, full: dict[str, str],
                                   bad: dict[str, Any]) -> None:
    e = error(client.post("/api/v1/intake", json={**BODY, **bad}, headers=full), 422)
    assert e["details"]
    assert feed_ids(client, full) == []


def test_oversized_body_is_413(client: TestClient, full: dict[str, str]) -> None:
    big = {**BODY, "text": "x" * (1024 * 1024 + 10)}
    error(client.post("/api/v1/intake", json=big, headers=full), 413)

    def chunks() -> Iterator[bytes]:
        yield b'{"channel_ref": "c", "text": "'
        for _ in range(300):
            yield b"y" * 4096
        yield b'"}'

    r = client.post("/api/v1/intake", content=chunks(),
                    headers={**full, "Content-Type": "application/json"})
    error(r, 413)
    assert feed_ids(client, full) == []


def test_bad_query_is_422(client: TestClient, full: dict[str, str]) -> None:
    error(client.get("/api/v1/tickets?after=-1", headers=full), 422)
    error(client.get("/api/v1/tickets?limit=100000", headers=full), 422)


def test_health_and_docs(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready", "database": "ok"}
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/tickets", "/api/v1/intake", "/api/v1/tickets/{ticket_id}/events"} <= set(
        paths)


# -- defects found from outside (issue 9) -------------------------------------------------

def test_a_key_is_checked_before_the_body_is_read(client: TestClient) -> None:
    r = client.post("/api/v1/intake", content=b'{"channel_ref": ',
                    headers={"Content-Type": "application/json"})
    assert error(r, 401)["code"] == "unauthorized"


def test_nul_and_control_characters_are_422_not_500(client: TestClient,
                                                    full: dict[str, str]) -> None:
    for bad in ({"channel_ref": "a\x00b"}, {"text": "井盖\x00丢失"},
                {"citizen": {"name": "王\x07"}}, {"location": {"address": "东四\x00"}}):
        error(client.post("/api/v1/intake", json={**BODY, **bad}, headers=full), 422)
    tid = submit(client, full)["id"]
    error(event(client, full, tid, note="x\x00"), 422)
    assert len(feed_ids(client, full)) == 1


def test_a_cursor_beyond_64_bits_is_422(client: TestClient, full: dict[str, str]) -> None:
    error(client.get(f"/api/v1/tickets?after={2**63}", headers=full), 422)
    error(client.get(f"/api/v1/tickets?after={10**400}", headers=full), 422)
    assert client.get(f"/api/v1/tickets?after={2**63 - 1}", headers=full).status_code == 200


def test_two_keys_never_share_tickets(client: TestClient, store: Store) -> None:
    """Idempotency is keyed by the key's unique id, and active names are unique."""
    one = token(store, Scope.intake, Scope.read, name="grid-handheld")
    with pytest.raises(apikeys.DuplicateName):
        apikeys.create(store.db, "grid-handheld", frozenset({Scope.intake}))
    other = token(store, Scope.intake, name="city-12345")
    a, b = submit(client, one), submit(client, other)
    assert a["created"] and b["created"] and a["id"] != b["id"]
    assert submit(client, one)["id"] == a["id"]


def test_a_revoked_keys_name_can_be_used_again(store: Store) -> None:
    key, _ = apikeys.create(store.db, "street-dongsi", frozenset({Scope.read}))
    assert apikeys.revoke(store.db, key.id)
    again, _ = apikeys.create(store.db, "street-dongsi", frozenset({Scope.read}))
    assert again.id != key.id


def test_a_ticket_cannot_be_merged_into_itself(client: TestClient,
                                              full: dict[str, str]) -> None:
    first = submit(client, full, channel_ref="m-1")
    second = submit(client, full, channel_ref="m-2")
    for target in (first["id"], first["number"]):
        e = error(event(client, full, first["id"], status="merged", merged_into=target), 422)
        assert "itself" in e["message"]
    error(event(client, full, first["id"], status="merged", merged_into="f" * 32), 422)
    merged = event(client, full, second["id"], status="merged", merged_into=first["id"])
    assert merged.status_code == 200, merged.text
    third = submit(client, full, channel_ref="m-3")
    e = error(event(client, full, third["id"], status="merged", merged_into=second["id"]), 409)
    assert "surviving" in e["message"]


def test_history_cannot_grow_without_bound(client: TestClient, full: dict[str, str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tickets.store.MAX_HISTORY", 4)
    tid = submit(client, full)["id"]
    for i in range(3):
        assert event(client, full, tid, note=f"n{i}").status_code == 200
    e = error(event(client, full, tid, note="one too many"), 409)
    assert e["code"] == "history_full"
    assert len(client.get(f"/api/v1/tickets/{tid}", headers=full).json()["history"]) == 4


def test_an_api_key_over_its_rate_limit_gets_429(store: Store, tmp_path: Path) -> None:
    settings = Settings(env="development", data_dir=tmp_path, rate_limit_api="3/minute",
                        _env_file=None)  # type: ignore[call-arg]
    headers = token(store, Scope.read)
    other = token(store, Scope.read, name="other")
    with TestClient(create_app(settings, store=store, redis_url="")) as c:
        codes = [c.get("/api/v1/tickets", headers=headers).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = c.get("/api/v1/tickets", headers=headers)
        assert error(r, 429)["code"] == "too_many_requests"
        assert r.headers["retry-after"] == "60"
        assert c.get("/api/v1/tickets", headers=other).status_code == 200


def test_unexpected_errors_are_a_json_500(store: Store, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(env="development", data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]
    headers = token(store, Scope.read)

    def broken(*_: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(store, "get", broken)
    with TestClient(create_app(settings, store=store, redis_url=""),
                    raise_server_exceptions=False) as c:
        r = c.get("/api/v1/tickets/" + "a" * 32, headers=headers)
    assert r.status_code == 500
    assert r.json() == {"error": {"code": "internal_error",
                                  "message": "internal error; it has been logged"}}
