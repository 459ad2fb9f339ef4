"""10,000 requests in ``requests.xml``: paged (at most ``page_size`` ≤ 1000 rows per answer,
one indexed query per page), every request exactly once across the pages, memory bounded by
the page and not by the store."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime, timedelta

from starlette.testclient import TestClient

from tests.channels.open311.conftest import J, error_of
from tests.channels.open311.schemas import parse_xml, validate, xml_as_json
from tickets.jobs import no_jobs
from tickets.model import Channel, Intake, Location
from tickets.store import Store, _Submission

TOTAL = 10_000


def fill(store: Store) -> None:
    """TOTAL tickets over the last 80 days, written in one transaction through the store's
    own batch insert (what a group commit of submits does)."""
    now = datetime.now(UTC)
    with store.db.write() as conn:
        for start in range(0, TOTAL, 500):
            store._insert_batch(conn, [_Submission(Intake(
                channel=Channel.api, channel_ref=f"bulk-{i}",
                received_at=now - timedelta(minutes=11 * i + 1),
                text=f"第{i}号诉求 <&> 井盖", category="urban.street-vending",
                location=Location(lat=39.9, lon=116.4)), no_jobs)
                for i in range(start, start + 500)])


def test_ten_thousand_requests_page_by_page(client: TestClient, store: Store) -> None:
    fill(store)
    seen: list[str] = []
    peaks = []
    page = 1
    while True:
        tracemalloc.start()
        r = client.get("/open311/v2/requests.xml",
                       params={**J, "page_size": "1000", "page": str(page)})
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert r.status_code == 200, r.text[:300]
        rows = xml_as_json(r.content, "requests")
        if not rows:
            break
        validate("requests", rows)
        assert len(rows) <= 1000
        seen += [row["service_request_id"] for row in rows]
        page += 1
    assert page == 11 and len(seen) == TOTAL and len(set(seen)) == TOTAL
    # newest first across the pages
    assert seen[0] == store.find_by_ref("api", "bulk-0").number  # type: ignore[union-attr]
    assert seen[-1] == store.find_by_ref("api", f"bulk-{TOTAL - 1}").number  # type: ignore[union-attr]
    # a page's memory is that of its 1000 rows (a few MB), not the store's 10,000
    assert max(peaks) < 48 * 1024 * 1024, peaks
    # the default page is small, and no client can ask for everything at once
    assert len(parse_xml(client.get("/open311/v2/requests.xml", params=J).content)) == 100
    error_of(client.get("/open311/v2/requests.xml", params={**J, "page_size": "10000"}), 400)
