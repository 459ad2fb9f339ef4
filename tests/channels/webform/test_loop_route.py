"""The resident's own status page (``/status/<id>/<mac>``, SQLite and PostgreSQL): an
unguessable link, the two questions as buttons with CSRF, answers recorded once."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.testclient import TestClient

from channels.webform.statuslink import mac, path, valid
from hotline.app import create_app
from hotline.settings import Settings
from tests.support.intakes import intake
from tickets.events import TicketEvent, apply_event
from tickets.model import Channel, Satisfaction, Status, Ticket
from tickets.store import Store

SECRET = "loop-web-secret-0123456789abcdef0123456789"


def client(store: Store, tmp_path: Path) -> TestClient:
    settings = Settings(_env_file=None, env="development", data_dir=tmp_path,
                        web_secret=SECRET)
    return TestClient(create_app(settings, store=store, redis_url=""))


def resolved(store: Store) -> Ticket:
    t = store.submit(intake("w-1", "小区门口路灯不亮", channel=Channel.web)).ticket
    for status in (Status.registered, Status.dispatched, Status.in_progress, Status.resolved):
        e = TicketEvent(actor="street:DS", status=status, note="路灯已修复")
        t = store.change(t.id, lambda c, s, a, e=e: apply_event(c, e, s, a))
    return t


def form_of(html: str) -> dict[str, str]:
    token = re.search(r'name="csrf" value="([^"]+)"', html)
    question = re.search(r'name="question" value="([^"]+)"', html)
    assert token and question, html
    return {"csrf": token.group(1), "question": question.group(1)}


def test_link_is_unguessable() -> None:
    ticket_id = "a" * 32
    assert valid(SECRET, ticket_id, mac(SECRET, ticket_id))
    assert not valid(SECRET, ticket_id, mac("another secret", ticket_id))
    assert not valid(SECRET, "b" * 32, mac(SECRET, ticket_id))
    assert not valid(SECRET, ticket_id, "x" * 22)


def test_answers_with_buttons(store: Store, tmp_path: Path) -> None:
    t = resolved(store)
    link = path(SECRET, t.id)
    with client(store, tmp_path) as c:
        page = c.get(link)
        assert page.status_code == 200
        assert t.number in page.text and "路灯已修复" in page.text
        assert "已解决" in page.text and 'value="2"' in page.text
        assert page.headers["content-security-policy"].startswith("default-src 'none'")
        first = form_of(page.text)
        assert first["question"] == "solved"
        done = c.post(link, data={**first, "answer": "1"}, follow_redirects=False)
        assert done.status_code == 303
        again = c.post(link, data={**first, "answer": "1"}, follow_redirects=False)
        assert again.status_code == 303  # the same form twice answers once
        page = c.get(done.headers["location"])
        assert "已收到您的答复" in page.text and "满意" in page.text
        second = form_of(page.text)
        assert second["question"] == "satisfaction"
        c.post(link, data={**second, "answer": "2"}, follow_redirects=False)
        final = c.get(link)
    assert 'name="question"' not in final.text
    ticket = store.get(t.id)
    assert ticket.status is Status.evaluated and ticket.evaluation is not None
    assert ticket.evaluation.satisfaction is Satisfaction.basically_satisfied
    assert ticket.evaluation.channel is Channel.web
    answered = [h for h in ticket.history if h.kind and h.kind.value == "answered"]
    assert len(answered) == 2


def test_refusals(store: Store, tmp_path: Path) -> None:
    t = resolved(store)
    link = path(SECRET, t.id)
    with client(store, tmp_path) as c:
        assert c.get(f"/status/{t.id}/{'A' * 22}").status_code == 404
        assert c.get(f"/status/{t.number}/{mac(SECRET, t.id)}").status_code == 404
        page = c.get(link)
        fields = form_of(page.text)
        forged = c.post(link, data={**fields, "csrf": "x.1.y", "answer": "1"})
        assert forged.status_code == 403
        bad = c.post(link, data={**fields, "answer": "7"})
        assert bad.status_code == 400 and bad.json()["error"]["message"]
    assert store.get(t.id).status is Status.resolved


def test_the_form_shows_the_link(store: Store, tmp_path: Path) -> None:
    with client(store, tmp_path) as c:
        form = c.get("/report", headers={"accept": "text/html"})
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token
        r = c.post("/report?submit=1", headers={"accept": "text/html"},
                   data={"kind": "complaint", "description": "路灯不亮", "address": "东四北大街",
                         "csrf": token.group(1)},
                   files=[("photos", ("", b"", "application/octet-stream"))])
    assert r.status_code == 200, r.text
    [ticket] = store.feed(0, 10)
    assert f'href="{path(SECRET, ticket.id)}"' in r.text
