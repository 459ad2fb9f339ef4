"""The grid worker's phone page (console/grid_routes.py) in the real app on SQLite and
PostgreSQL: a finding (采集) becomes one ticket with provenance grid:<cell> (a resent form
makes no second), photos checked and kept, the worker's cells only; the tasks of the cells,
another cell's ticket 404; an on-site note with a photo through the events path; the cell of
a point; location allowed on these pages only."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shapely.geometry import shape

from console.people import People, Role
from router.routerconfig import CONFIG_DIR
from tests.console.conftest import PASSWORD
from tests.console.test_desk_routes import HTML, client_for
from tests.console.test_ticket_routes import PNG, csrf_of
from tests.support.routed import routed
from tickets.model import Channel
from tickets.store import Store

CELLS = ["DC-DS-0101", "DC-DS-0102"]


def centroid(code: str) -> tuple[float, float]:
    data = json.loads((CONFIG_DIR / "grids.geojson").read_text(encoding="utf-8"))
    feature = next(f for f in data["features"] if f["properties"]["code"] == code)
    point = shape(feature["geometry"]).representative_point()
    return point.y, point.x


def test_report_tasks_and_on_site_notes(store: Store, tmp_path: Path, people: People) -> None:
    people.add("gw", "王网格", Role.grid, PASSWORD, units=CELLS)
    people.add("ds", "东四街道", Role.street, PASSWORD, units=["DS"])
    gw = client_for(store, tmp_path, "gw")
    home = gw.get("/console/", headers=HTML, follow_redirects=False)
    assert home.headers["location"] == "/console/grid"
    page = gw.get("/console/grid/report", headers=HTML)
    assert "geolocation=(self)" in page.headers["permissions-policy"]
    assert "geolocation=()" in gw.get("/console/login").headers["permissions-policy"]
    ref = re.search(r'name="ref" value="([0-9a-f]+)"', page.text)
    assert ref is not None
    lat, lon = centroid("DC-DS-0102")
    data = {"csrf": csrf_of(page.text), "ref": ref.group(1), "text": "井盖缺失",
            "cell": "DC-DS-0102", "lat": f"{lat:.6f}", "lon": f"{lon:.6f}"}
    files = [("photo", ("a.png", PNG, "image/png"))]
    # a file that is no picture, and a cell that is not the worker's: refused, nothing made
    bad = gw.post("/console/grid/report", headers=HTML, data=data,
                  files=[("photo", ("a.png", b"<html>", "image/png"))])
    assert bad.status_code == 422 and "JPEG" in bad.text
    other = gw.post("/console/grid/report", headers=HTML, data={**data, "cell": "DC-DHM-0101"},
                    files=files)
    assert other.status_code == 422
    assert store.current_seq() == 0
    made = gw.post("/console/grid/report", headers=HTML, data=data, files=files,
                   follow_redirects=False)
    assert made.status_code == 303
    number = made.headers["location"].rsplit("=", 1)[1]
    again = gw.post("/console/grid/report", headers=HTML, data=data, files=files,
                    follow_redirects=False)
    assert again.headers["location"] == made.headers["location"]  # one ticket
    ticket = store.get(number)
    assert ticket.channel is Channel.api
    assert ticket.channel_ref == f"grid:DC-DS-0102:{ref.group(1)}"
    assert ticket.location is not None and ticket.location.grid == "DC-DS-0102"
    assert ticket.location.street == "DS" and ticket.location.lat == round(lat, 6)
    assert [a.content_type for a in ticket.attachments] == ["image/png"]

    # the cell of a point, for the page's script
    found = gw.get(f"/console/grid/where?lat={lat}&lon={lon}").json()
    assert found == {"grid": "DC-DS-0102", "name": found["name"], "mine": True}
    assert gw.get("/console/grid/where?lat=0&lon=0").json()["grid"] is None

    # tasks: tickets located in the worker's cells, another cell's is 404
    now = datetime.now(UTC)
    mine = routed(store, "t1", ["street:DS"], at=now - timedelta(hours=5), grid="DC-DS-0101")
    theirs = routed(store, "t2", ["street:DS"], at=now, grid="DC-DS-0201")
    tasks = gw.get("/console/grid", headers=HTML).text
    assert f'data-number="{mine.number}"' in tasks and theirs.number not in tasks
    assert gw.get(f"/console/grid/tasks/{theirs.number}", headers=HTML).status_code == 404
    task = gw.get(f"/console/grid/tasks/{mine.number}", headers=HTML).text
    ref2 = re.search(r'name="ref" value="([0-9a-f]+)"', task)
    assert ref2 is not None
    note = {"csrf": csrf_of(task), "ref": ref2.group(1), "number": mine.number,
            "text": "已到现场，确有积水"}
    assert gw.post("/console/grid/note", headers=HTML, data=note, files=files,
                   follow_redirects=False).status_code == 303
    assert gw.post("/console/grid/note", headers=HTML, data=note, files=files,
                   follow_redirects=False).status_code == 303
    noted = store.get(mine.id)
    assert [h.note for h in noted.history].count("现场：已到现场，确有积水") == 1
    assert noted.history[-1].actor == "grid:DC-DS-0101/gw"
    assert len(noted.attachments) == 1
    refused = gw.post("/console/grid/note", headers=HTML,
                      data={**note, "number": theirs.number})
    assert refused.status_code == 404
    # the desk of the street sees the grid worker's note on its ticket
    ds = client_for(store, tmp_path, "ds")
    assert "现场：已到现场" in ds.get(f"/console/desk/tickets/{mine.number}", headers=HTML).text
    assert ds.get("/console/grid", headers=HTML).status_code == 403
    for c in (gw, ds):
        c.__exit__(None, None, None)
