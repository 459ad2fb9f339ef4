"""The supervision page (console/rates_routes.py) in the real app on SQLite and PostgreSQL:
supervisors only; the units' rates and ranking from tickets/rates.py; 督办 recorded in the
history (kind urged), counted, and shown on the unit's desk; an extension granted (the new
deadline in the routing and the history) or refused; CSV of every table; a unit removed from
the configuration leaves its open tickets listed for the center; the chart is inline SVG
without script under the console's CSP."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from console.people import People, Role
from tests.console.conftest import PASSWORD
from tests.console.test_desk_routes import HTML, client_for, form
from tests.console.test_ticket_routes import csrf_of
from tests.support.routed import routed
from tickets.model import HistoryKind, Status
from tickets.store import Store

NOW = datetime.now(UTC)
# The page's population is the tickets received in a local day: every ticket of the test is
# received at one instant and the page asked for that instant's day, so the test holds at any
# hour (CI once ran it at 00:30 Beijing time, when "4 hours ago" was yesterday).
AT = NOW - timedelta(minutes=5)


def staff(people: People) -> None:
    people.add("ds", "东四街道", Role.street, PASSWORD, units=["DS"])
    people.add("boss", "李四", Role.supervisor, PASSWORD)
    people.add("alice", "张三", Role.operator, PASSWORD)


def test_only_supervisors(store: Store, tmp_path: Path, people: People) -> None:
    staff(people)
    for login in ("ds", "alice"):
        c = client_for(store, tmp_path, login)
        assert c.get("/console/rates", headers=HTML).status_code == 403
        assert c.get("/console/rates.csv").status_code == 403
        c.__exit__(None, None, None)


def test_rates_urge_extension_and_csv(store: Store, tmp_path: Path, people: People) -> None:
    staff(people)
    late = routed(store, "u1", ["street:DS"], at=AT, respond_hours=1 / 60)
    fine = routed(store, "u2", ["street:DS"], at=AT)
    gone = routed(store, "u3", ["street:ZZ"], at=AT, street="ZZ")
    day = f"period=day&day={AT.astimezone(store.tz).date().isoformat()}"
    ds = client_for(store, tmp_path, "ds")
    # DS acknowledges the second in time and asks for more time
    url = f"/console/desk/tickets/{fine.number}"
    page = ds.get(url, headers=HTML).text
    ds.post(url, headers=HTML, data=form(page, "acknowledge"))
    page = ds.get(url, headers=HTML).text
    wanted = (NOW + timedelta(days=10)).astimezone(store.tz).strftime("%Y-%m-%dT%H:%M")
    ds.post(url, headers=HTML, data=form(page, "extension", text="需要协调物业",
                                         deadline=wanted))

    boss = client_for(store, tmp_path, "boss")
    page = boss.get(f"/console/rates?{day}&group=street", headers=HTML)
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    html = page.text
    assert "<svg" in html and "<script" not in html.split("<svg", 1)[1].split("</svg>")[0]
    row = re.search(r'<tr data-key="street:DS">(.*?)</tr>', html, re.S)
    assert row is not None
    cells = re.findall(r'<td class="num">([^<]*)</td>', row.group(1))
    # rank 1; 2 tickets; response: u2 in time, u1 past its 1 min respond-by → 50.0%
    assert cells[:3] == ["1", "2", "50.0%"]
    assert re.search(rf'data-number="{late.number}"', html.split('id="rates-overdue"')[1])
    assert "需要协调物业" in html.split('id="rates-extensions"')[1]
    assert gone.number in html.split('id="rates-orphans"')[1]
    # ... and in the center's inbox, first
    alice = client_for(store, tmp_path, "alice")
    inbox = alice.get("/console/inbox", headers=HTML).text
    assert gone.number in inbox.split('id="inbox-orphans"')[1].split("</section>")[0]
    assert late.number not in inbox.split('id="inbox-orphans"')[1].split("</section>")[0]
    alice.__exit__(None, None, None)

    # 督办: recorded, counted, shown on the unit's desk
    token = csrf_of(html)
    urge = {"csrf": token, "seq": str(store.get(late.id).seq), "ref": "r-urge",
            "action": "urge", "text": "请今天办结", "back": f"/console/rates?{day}"}
    answer = boss.post(f"/console/rates/tickets/{late.number}", headers=HTML, data=urge,
                       follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].endswith("done=urge")
    urged = store.get(late.id)
    assert (urged.history[-1].kind, urged.history[-1].actor, urged.history[-1].note) == (
        HistoryKind.urged, "supervisor:boss", "请今天办结")
    desk = ds.get("/console/desk", headers=HTML).text
    assert "督办 1" in desk
    # a stale urge (the seq before) is refused and says who changed it
    stale = boss.post(f"/console/rates/tickets/{late.number}", headers=HTML,
                      data={**urge, "ref": "r-urge-2"})
    assert stale.status_code == 409 and "supervisor:boss" in stale.text

    # the extension granted: the routing's resolve-by moves, the history says so
    current = store.get(fine.id)
    new_deadline = (NOW + timedelta(days=7)).astimezone(store.tz).replace(second=0,
                                                                        microsecond=0)
    grant = {"csrf": token, "seq": str(current.seq), "ref": "r-grant", "action": "grant",
             "deadline": new_deadline.strftime("%Y-%m-%dT%H:%M")}
    assert boss.post(f"/console/rates/tickets/{fine.number}", headers=HTML, data=grant,
                     follow_redirects=False).status_code == 303
    granted = store.get(fine.id)
    assert granted.routing is not None and granted.routing.resolve_by == new_deadline
    assert granted.history[-1].kind is HistoryKind.extension_granted
    assert granted.status is Status.in_progress
    assert "需要协调物业" not in boss.get("/console/rates", headers=HTML).text.split(
        'id="rates-extensions"')[1]

    # CSV of every table
    export = boss.get(f"/console/rates.csv?{day}&group=street&table=rates")
    assert export.headers["content-type"].startswith("text/csv")
    assert "attachment" in export.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["排名", "单位", "工单数", "响应率"]
    assert rows[1][:4] == ["1", "东四街道", "2", "50.0%"]
    overdue = list(csv.reader(io.StringIO(
        boss.get("/console/rates.csv?table=overdue").content.decode("utf-8-sig"))))
    assert overdue[0][0] == "工单编号" and late.number in [r[0] for r in overdue[1:]]
    assert boss.get("/console/rates.csv?table=nope").status_code == 400
    assert boss.get("/console/rates?period=year", headers=HTML).status_code == 400
    for c in (ds, boss):
        c.__exit__(None, None, None)
