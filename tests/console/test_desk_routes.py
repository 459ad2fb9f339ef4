"""The street and department desks (console/desk_routes.py) in the real app on SQLite and
PostgreSQL: a desk sees its unit's tickets only (another unit's number answers 404 like a
number that does not exist), the worklist puts overdue tickets first and pages, the actions
go through the events path (the history and the feed show them), two people acting on the
same ticket (one wins, the other is told who did what), sending back, the extension that a
supervisor answers, and the district center's pages closed to desks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from console.people import People, Role
from hotline.app import create_app
from tests.console.conftest import PASSWORD
from tests.console.test_ticket_routes import HTML, csrf_of, settings
from tests.support.routed import routed
from tickets.model import HistoryKind, Status
from tickets.store import Store

NOW = datetime.now(UTC)


def log_in(client: TestClient, login: str) -> None:
    page = client.get("/console/login", headers=HTML)
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    answer = client.post("/console/login", headers=HTML, follow_redirects=False,
                         data={"login": login, "password": PASSWORD, "csrf": token.group(1),
                               "next": "/console/"})
    assert answer.status_code == 303, answer.text


@pytest.fixture
def staff(people: People) -> None:
    people.add("ds", "东四街道", Role.street, PASSWORD, units=["DS"])
    people.add("ds2", "东四街道二", Role.street, PASSWORD, units=["DS"])
    people.add("dhm", "东华门街道", Role.street, PASSWORD, units=["DHM"])
    people.add("boss", "李四", Role.supervisor, PASSWORD)


@pytest.fixture
def app_client(store: Store, tmp_path: Path, staff: None) -> Iterator[TestClient]:
    with TestClient(create_app(settings(tmp_path), store=store, redis_url="")) as c:
        yield c


def client_for(store: Store, tmp_path: Path, login: str) -> TestClient:
    c = TestClient(create_app(settings(tmp_path), store=store, redis_url=""))
    c.__enter__()
    log_in(c, login)
    return c


def numbers_on(html: str) -> list[str]:
    return re.findall(r'class="desk-row[^"]*" data-number="(\d+)"', html)


def form(page: str, action: str, **values: str) -> dict[str, str]:
    seq = re.search(r'name="seq" value="(\d+)"', page)
    ref = re.search(r'name="ref" value="([0-9a-f]+)"', page)
    assert seq and ref
    return {"csrf": csrf_of(page), "seq": seq.group(1), "ref": ref.group(1),
            "action": action, **values}


def test_a_desk_sees_its_own_tickets_overdue_first(app_client: TestClient, store: Store,
                                                    tmp_path: Path) -> None:
    old_late = routed(store, "a1", ["street:DS"], at=NOW - timedelta(hours=5))
    new = routed(store, "a2", ["street:DS"], at=NOW - timedelta(minutes=10))
    newer_late = routed(store, "a3", ["street:DS"], at=NOW - timedelta(hours=3))
    theirs = routed(store, "b1", ["street:DHM"], at=NOW, street="DHM")
    log_in(app_client, "ds")
    home = app_client.get("/console/", headers=HTML, follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "/console/desk"
    page = app_client.get("/console/desk", headers=HTML)
    assert page.status_code == 200
    assert numbers_on(page.text) == [newer_late.number, old_late.number, new.number]
    assert page.text.count("badge late") == 2
    # another street's ticket: 404, exactly as for a number nobody has
    theirs_page = app_client.get(f"/console/desk/tickets/{theirs.number}", headers=HTML)
    nobody = app_client.get("/console/desk/tickets/2612319999", headers=HTML)
    assert theirs_page.status_code == nobody.status_code == 404
    assert theirs.text not in theirs_page.text and theirs.number not in theirs_page.text.replace(
        f"/console/desk/tickets/{theirs.number}", "")
    # the center's pages are closed to a desk, whatever the number
    for path in ("/console/inbox", f"/console/tickets/{theirs.number}",
                 "/console/tickets/2612319999", "/console/supervision"):
        assert app_client.get(path, headers=HTML).status_code == 403, path
    # and a center person is no desk
    boss = client_for(store, tmp_path, "boss")
    assert boss.get("/console/desk", headers=HTML).status_code == 403
    boss.__exit__(None, None, None)


def test_the_worklist_pages(app_client: TestClient, store: Store) -> None:
    for i in range(53):
        routed(store, f"p{i}", ["street:DS"], at=NOW - timedelta(minutes=i))
    log_in(app_client, "ds")
    first = app_client.get("/console/desk", headers=HTML)
    second = app_client.get("/console/desk?page=2", headers=HTML)
    assert len(numbers_on(first.text)) == 50 and len(numbers_on(second.text)) == 3
    assert not set(numbers_on(first.text)) & set(numbers_on(second.text))
    assert "1 / 2" in first.text


def test_acknowledge_note_and_resolve_through_the_events_path(app_client: TestClient,
                                                              store: Store) -> None:
    t = routed(store, "r1", ["street:DS"], at=NOW)
    log_in(app_client, "ds")
    url = f"/console/desk/tickets/{t.number}"
    page = app_client.get(url, headers=HTML).text
    assert 'id="act-resolve"' not in page  # acknowledge first
    done = app_client.post(url, headers=HTML, data=form(page, "acknowledge"),
                           follow_redirects=False)
    assert done.status_code == 303
    assert store.get(t.id).status is Status.in_progress
    page = app_client.get(url, headers=HTML).text
    assert "已签收" in page
    refused = app_client.post(url, headers=HTML, data=form(page, "resolve", text="  "))
    assert refused.status_code == 422 and "答复" in refused.text
    assert store.get(t.id).status is Status.in_progress
    page = app_client.get(url, headers=HTML).text
    app_client.post(url, headers=HTML, data=form(page, "note", text="已到现场查看"))
    page = app_client.get(url, headers=HTML).text
    ok = app_client.post(url, headers=HTML, data=form(page, "resolve", text="路灯已修复"),
                         follow_redirects=False)
    assert ok.status_code == 303
    final = store.get(t.id)
    assert final.status is Status.resolved
    assert [(h.actor, h.status, h.note) for h in final.history[-3:]] == [
        ("street:DS/ds", Status.in_progress, "签收"), ("street:DS/ds", None, "已到现场查看"),
        ("street:DS/ds", Status.resolved, "路灯已修复")]
    # the same history is what back office reads from the feed
    assert store.feed(t.seq, 10)[-1].history == final.history
    # the same form sent twice acts once
    again = app_client.post(url, headers=HTML, data=form(page, "resolve", text="路灯已修复"),
                            follow_redirects=False)
    assert again.status_code == 303 and store.get(t.id) == final


def test_two_people_at_once_one_wins_the_other_sees_why(store: Store, tmp_path: Path,
                                                        staff: None) -> None:
    t = routed(store, "c1", ["street:DS"], at=NOW)
    a, b = client_for(store, tmp_path, "ds"), client_for(store, tmp_path, "ds2")
    url = f"/console/desk/tickets/{t.number}"
    page_a, page_b = a.get(url, headers=HTML).text, b.get(url, headers=HTML).text
    assert a.post(url, headers=HTML, data=form(page_a, "send_back", text="不属于本街道"),
                  follow_redirects=False).status_code == 303
    lost = b.post(url, headers=HTML, data=form(page_b, "acknowledge"))
    # sent back: the ticket left the street, so the second person finds it gone
    assert lost.status_code == 404
    t2 = routed(store, "c2", ["street:DS"], at=NOW)
    url = f"/console/desk/tickets/{t2.number}"
    page_a, page_b = a.get(url, headers=HTML).text, b.get(url, headers=HTML).text
    assert a.post(url, headers=HTML, data=form(page_a, "acknowledge"),
                  follow_redirects=False).status_code == 303
    lost = b.post(url, headers=HTML, data=form(page_b, "note", text="我也来"))
    assert lost.status_code == 409
    assert "street:DS/ds" in lost.text and "任务处理" in lost.text
    assert [h.note for h in store.get(t2.id).history].count("我也来") == 0
    a.__exit__(None, None, None)
    b.__exit__(None, None, None)


def test_send_back_goes_to_the_center(app_client: TestClient, store: Store) -> None:
    t = routed(store, "s1", ["street:DS"], at=NOW)
    log_in(app_client, "ds")
    url = f"/console/desk/tickets/{t.number}"
    page = app_client.get(url, headers=HTML).text
    assert app_client.post(url, headers=HTML, data=form(page, "send_back", text=""),
                           ).status_code == 422
    answer = app_client.post(url, headers=HTML, data=form(page, "send_back", text="非本辖区"),
                             follow_redirects=False)
    assert answer.headers["location"] == "/console/desk?done=sent_back"
    back = store.get(t.id)
    assert back.status is Status.registered and back.routing is not None
    assert back.routing.destinations == []
    assert back.history[-1].kind is HistoryKind.sent_back and back.history[-1].note == "非本辖区"
    assert t.number not in numbers_on(app_client.get("/console/desk", headers=HTML).text)


def test_an_extension_is_asked_for_and_answered(app_client: TestClient, store: Store) -> None:
    t = routed(store, "e1", ["street:DS"], at=NOW)
    log_in(app_client, "ds")
    url = f"/console/desk/tickets/{t.number}"
    page = app_client.get(url, headers=HTML).text
    wanted = (NOW + timedelta(days=5)).astimezone(store.tz).strftime("%Y-%m-%dT%H:%M")
    past = (NOW - timedelta(days=1)).astimezone(store.tz).strftime("%Y-%m-%dT%H:%M")
    assert app_client.post(url, headers=HTML, data=form(page, "extension", text="需采购配件",
                                                        deadline=past)).status_code == 422
    assert app_client.post(url, headers=HTML, data=form(page, "extension", text="需采购配件",
                                                        deadline=wanted),
                           follow_redirects=False).status_code == 303
    asked = store.get(t.id)
    assert asked.history[-1].kind is HistoryKind.extension_requested
    assert asked.routing is not None and asked.routing.resolve_by == t.routing.resolve_by  # type: ignore[union-attr]
    assert "延期申请待区中心审批" in app_client.get(url, headers=HTML).text


def test_a_big_loop_ticket_shows_every_unit_and_who_answered(store: Store, tmp_path: Path,
                                                              people: People) -> None:
    people.add("health", "卫健委", Role.department, PASSWORD, units=["dept.health"])
    people.add("ds", "东四街道", Role.street, PASSWORD, units=["DS"])
    t = routed(store, "big1", ["street:DS", "dept:dept.health"], at=NOW)
    ds, health = client_for(store, tmp_path, "ds"), client_for(store, tmp_path, "health")
    url = f"/console/desk/tickets/{t.number}"
    assert t.number in numbers_on(health.get("/console/desk", headers=HTML).text)
    page = ds.get(url, headers=HTML).text
    assert ds.post(url, headers=HTML, data=form(page, "acknowledge"),
                   follow_redirects=False).status_code == 303
    # the department acknowledges too: a note, the status machine is not asked twice
    page = health.get(url, headers=HTML).text
    involved = page.split('id="ticket-involved"')[1].split("</section>")[0]
    assert re.search(r'data-unit="street:DS"><td>[^<]*</td><td>已签收</td><td>未答复', involved)
    assert re.search(r'data-unit="dept:dept.health"><td>[^<]*（本单位）</td><td>未签收', involved)
    assert health.post(url, headers=HTML, data=form(page, "acknowledge"),
                       follow_redirects=False).status_code == 303
    page = health.get(url, headers=HTML).text
    assert 'id="act-acknowledge"' not in page
    assert health.post(url, headers=HTML, data=form(page, "resolve", text="已联系社区医院"),
                       follow_redirects=False).status_code == 303
    final = store.get(t.id)
    assert final.status is Status.resolved
    assert [(h.actor, h.status) for h in final.history[-3:]] == [
        ("street:DS/ds", Status.in_progress), ("dept:dept.health/health", None),
        ("dept:dept.health/health", Status.resolved)]
    involved = ds.get(url, headers=HTML).text.split('id="ticket-involved"')[1]
    assert re.search(r'data-unit="dept:dept.health"><td>[^<]*</td><td>已签收</td><td>已答复',
                     involved)
    for c in (ds, health):
        c.__exit__(None, None, None)


def test_photos_of_the_work(app_client: TestClient, store: Store) -> None:
    from tests.console.test_ticket_routes import PNG

    t = routed(store, "ph1", ["street:DS"], at=NOW)
    theirs = routed(store, "ph2", ["street:DHM"], at=NOW, street="DHM")
    log_in(app_client, "ds")
    page = app_client.get(f"/console/desk/tickets/{t.number}", headers=HTML).text
    data = {"csrf": csrf_of(page), "ref": "p1", "number": t.number, "text": "维修前"}
    files = [("photo", ("a.png", PNG, "image/png"))]
    assert app_client.post("/console/desk/photos", headers=HTML, data=data,
                           files=[("photo", ("a.png", b"GIF89a", "image/png"))]
                           ).status_code == 422
    ok = app_client.post("/console/desk/photos", headers=HTML, data=data, files=files,
                         follow_redirects=False)
    assert ok.status_code == 303
    app_client.post("/console/desk/photos", headers=HTML, data=data, files=files)  # resent
    after = store.get(t.id)
    assert [a.content_type for a in after.attachments] == ["image/png"]
    assert [h.note for h in after.history].count("维修前") == 1
    assert after.history[-1].actor == "street:DS/ds"
    assert app_client.post("/console/desk/photos", headers=HTML,
                           data={**data, "number": theirs.number, "ref": "p2"},
                           files=files).status_code == 404
    assert store.get(theirs.id).attachments == []
