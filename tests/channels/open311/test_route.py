"""Open311 GeoReport v2 over HTTP on a real store: every endpoint in XML and JSON against the
open311/schema-validation schemas, the jurisdiction and api_key rules, POST as an intake
channel (idempotent, placed like any ticket), and what a public answer never shows."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from channels.open311.config import UNCLASSIFIED
from tests.channels.open311.conftest import (
    FORMATS,
    INSIDE,
    OUTSIDE,
    J,
    both,
    created,
    error_of,
    key,
    post,
    public_text,
)
from tickets.apikeys import Scope
from tickets.model import Channel, Status
from tickets.store import Store

VENDING = "urban.street-vending"
AGENCY = "东城区城市管理综合行政执法局"
REPORT = {"service_code": VENDING, "lat": str(INSIDE[0]), "long": str(INSIDE[1]),
          "description": "胡同口流动摊贩占道经营，联系我 13800138000 或 a@b.cn",
          "first_name": "小明", "last_name": "王", "phone": "13800138000",
          "email": "wang@example.com", "device_id": "phone-1"}


def count(store: Store) -> int:
    return len(store.feed(0, 10_000))


# -- discovery and services ----------------------------------------------------------------

def test_discovery(client: TestClient) -> None:
    xml, data = both(client, "discovery", None)
    assert data["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert data["endpoints"][0]["url"] == "https://96010.example/open311/v2"
    assert data["endpoints"][0]["formats"] == ["text/xml", "application/json"]
    assert [f.text for f in xml.findall("endpoints/endpoint/formats/format")] == \
        ["text/xml", "application/json"]


def test_services_from_the_catalogue(client: TestClient) -> None:
    services, _ = both(client, "services", "services")
    by_code = {s["service_code"]: s for s in services}
    assert by_code[VENDING]["service_name"] == "占道经营、流动摊贩"
    assert by_code[VENDING]["type"] == "realtime" and by_code[VENDING]["metadata"] is True
    assert by_code[VENDING]["group"] and by_code[VENDING]["keywords"]
    assert UNCLASSIFIED in by_code and len(services) > 50


@pytest.mark.parametrize("code", [VENDING, UNCLASSIFIED])
def test_service_definition(client: TestClient, code: str) -> None:
    definition, _ = both(client, f"services/{code}", "service-definition")
    assert definition["service_code"] == code
    kind = next(a for a in definition["attributes"] if a["code"] == "kind")
    assert {v["name"] for v in kind["values"]} == {"咨询", "求助", "投诉", "举报", "建议"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_service_is_404(client: TestClient, fmt: str) -> None:
    r = client.get(f"/open311/v2/services/no.such-thing.{fmt}", params=J)
    assert "no.such-thing" in error_of(r, 404)


# -- jurisdiction --------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("path", ["services", "requests", "servicerequestupdates",
                                  f"services/{VENDING}"])
def test_jurisdiction_missing_400_unknown_404(client: TestClient, fmt: str, path: str) -> None:
    assert "jurisdiction_id" in error_of(client.get(f"/open311/v2/{path}.{fmt}"), 400)
    r = client.get(f"/open311/v2/{path}.{fmt}", params={"jurisdiction_id": "elsewhere"})
    error_of(r, 404)


def test_unknown_format_is_404(client: TestClient) -> None:
    error_of(client.get("/open311/v2/services.html", params=J), 404)


# -- POST requests ---------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_post_needs_an_intake_key(client: TestClient, store: Store, fmt: str) -> None:
    assert "api_key" in error_of(post(client, fmt, REPORT), 403)
    error_of(post(client, fmt, {**REPORT, "api_key": "hk_000000000000_forged"}), 403)
    read_only = key(store, Scope.read, Scope.events)
    assert "intake" in error_of(post(client, fmt, {**REPORT, "api_key": read_only}), 403)
    assert count(store) == 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_creates_a_ticket_placed_like_any_other(client: TestClient, store: Store,
                                                     intake_key: str, fmt: str) -> None:
    r = post(client, fmt, {**REPORT, "api_key": intake_key, "attribute[kind]": "complaint",
                           "media_url": "https://photos.example/1.jpg"})
    assert r.status_code == 201
    answer = created(r)
    number = answer["service_request_id"]
    assert answer["token"] == number and number in answer["service_notice"]
    ticket = store.get(number)
    assert ticket.channel is Channel.api and ticket.status is Status.received
    assert ticket.category == VENDING and ticket.kind.value == "complaint"
    assert ticket.location is not None and ticket.location.lat == INSIDE[0]
    assert ticket.citizen.phone == "+8613800138000" and ticket.citizen.name == "王小明"
    assert ticket.attachments[0].url == "https://photos.example/1.jpg"
    (row,), _ = both(client, f"requests/{number}", "requests")
    assert row["service_code"] == VENDING and row["status"] == "open"
    assert row["lat"] == INSIDE[0] and row["long"] == INSIDE[1]
    assert row["media_url"] == "https://photos.example/1.jpg"
    assert row["description"].startswith("胡同口流动摊贩占道经营")


def test_public_answers_never_show_the_reporter(client: TestClient, intake_key: str) -> None:
    number = created(post(client, "xml", {**REPORT, "api_key": intake_key}))[
        "service_request_id"]
    said = public_text(client, number)
    assert number in said
    for secret in ("13800138000", "8613800138000", "王小明", "小明", "wang@example.com",
                   "a@b.cn", "phone-1"):
        assert secret not in said


def test_agency_is_the_department_name(client: TestClient, store: Store,
                                       intake_key: str) -> None:
    number = created(post(client, "json", {**REPORT, "api_key": intake_key}))[
        "service_request_id"]
    store.change(number, lambda t, seq, at: t.model_copy(update={"department": AGENCY}))
    (row,), _ = both(client, f"requests/{number}", "requests")
    assert row["agency_responsible"] == AGENCY


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_retried_post_makes_one_ticket(client: TestClient, store: Store, intake_key: str,
                                         fmt: str) -> None:
    body = {**REPORT, "api_key": intake_key}
    first = post(client, fmt, body, headers={"Idempotency-Key": "req-77"})
    again = post(client, fmt, body, headers={"Idempotency-Key": "req-77"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert created(first)["service_request_id"] == created(again)["service_request_id"]
    # FixMyStreet's own id of the report is a client reference too
    fms = {**body, "attribute[fixmystreet_id]": "4711"}
    assert created(post(client, fmt, fms))["service_request_id"] == \
        created(post(client, fmt, fms))["service_request_id"]
    # another device with the same reference is another request
    other = post(client, fmt, {**body, "device_id": "phone-2"},
                 headers={"Idempotency-Key": "req-77"})
    assert other.status_code == 201
    assert count(store) == 3


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_service_code_is_refused_and_nothing_written(
        client: TestClient, store: Store, intake_key: str, fmt: str) -> None:
    r = post(client, fmt, {**REPORT, "api_key": intake_key, "service_code": "no.such"})
    assert "no.such" in error_of(r, 400)
    assert count(store) == 0


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("change", "word"), [
    ({"lat": None, "long": None}, "location"),
    ({"long": None}, "lat and long"),
    ({"lat": "91"}, "lat"),
    ({"lat": "nan"}, "lat"),
    ({"media_url": "javascript:alert(1)"}, "media_url"),
    ({"attribute[kind]": "nonsense"}, "attribute[kind]"),
    ({"description": "x\x00y"}, "NUL"),  # the app's guard, in Open311's error shape
    ({"description": "x\x01y"}, "description"),
])
def test_bad_posts_are_400(client: TestClient, store: Store, intake_key: str, fmt: str,
                           change: dict[str, str | None], word: str) -> None:
    body = {k: v for k, v in {**REPORT, **change, "api_key": intake_key}.items()
            if v is not None}
    assert word in error_of(post(client, fmt, body), 400)
    assert count(store) == 0


def test_address_alone_is_a_location(client: TestClient, store: Store,
                                     intake_key: str) -> None:
    body = {"service_code": UNCLASSIFIED, "address_string": "东四十条35号",
            "description": "楼道灯坏了", "api_key": intake_key}
    answer = created(post(client, "json", body))
    ticket = store.get(answer["service_request_id"])
    assert ticket.category is None and ticket.location is not None
    assert ticket.location.address == "东四十条35号"
    assert "分类" in answer["service_notice"]


def test_outside_the_district_still_a_ticket_for_the_center(
        client: TestClient, store: Store, intake_key: str) -> None:
    body = {**REPORT, "lat": str(OUTSIDE[0]), "long": str(OUTSIDE[1]), "api_key": intake_key}
    answer = created(post(client, "xml", body))
    assert "不在本区" in answer["service_notice"] and "中心" in answer["service_notice"]
    assert store.get(answer["service_request_id"]).location.lat == OUTSIDE[0]  # type: ignore[union-attr]


HOSTILE = '<b>&amp;"\'</b>]]>井盖 丢失 & <!-- --> 🙂'


@pytest.mark.parametrize("fmt", FORMATS)
def test_xml_special_characters_and_chinese_in_every_field(
        client: TestClient, store: Store, intake_key: str, fmt: str) -> None:
    body = {"service_code": VENDING, "api_key": intake_key, "address_string": HOSTILE,
            "description": HOSTILE, "first_name": HOSTILE, "last_name": HOSTILE,
            "attribute[note]": HOSTILE, "attribute[grid]": HOSTILE, "device_id": HOSTILE,
            "account_id": HOSTILE, "attribute[client_ref]": HOSTILE}
    number = created(post(client, fmt, body))["service_request_id"]
    (row,), _ = both(client, f"requests/{number}", "requests")
    assert row["address"] == HOSTILE
    assert row["description"].startswith(HOSTILE) and f"note: {HOSTILE}" in row["description"]
    assert row["address_id"] == HOSTILE[:64]
    requests, _ = both(client, "requests", "requests")
    assert [r["service_request_id"] for r in requests] == [number]


# -- tokens --------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_tokens(client: TestClient, store: Store, intake_key: str, fmt: str) -> None:
    answer = created(post(client, fmt, {**REPORT, "api_key": intake_key}))
    r = client.get(f"/open311/v2/tokens/{answer['token']}.{fmt}", params=J)
    assert r.status_code == 200
    assert answer["service_request_id"] in r.text
    error_of(client.get(f"/open311/v2/tokens/9999999999.{fmt}", params=J), 404)
    ticket_id = store.get(answer["service_request_id"]).id
    error_of(client.get(f"/open311/v2/tokens/{ticket_id}.{fmt}", params=J), 404)
