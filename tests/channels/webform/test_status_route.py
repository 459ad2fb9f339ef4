"""``GET /status``: a resident reads a ticket's progress by its number (the status only, on
SQLite and PostgreSQL); a malformed or unknown number is a 4xx page saying so."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from hotline.app import create_app
from hotline.settings import Settings
from tests.support.intakes import intake
from tickets.model import Channel, Status
from tickets.store import Mutation, Store


def client(store: Store, tmp_path: Path, **over: str) -> TestClient:
    settings = Settings(_env_file=None, env="development", data_dir=tmp_path, **over)
    return TestClient(create_app(settings, store=store, redis_url=""))


def test_a_ticket_shows_its_status_and_nothing_else(store: Store, tmp_path: Path) -> None:
    ticket = store.submit(intake("r-1", "幸福路12号井盖丢失，我的电话13800138000",
                                 channel=Channel.web)).ticket
    with client(store, tmp_path) as c:
        answer = c.get("/status", params={"number": f" {ticket.number} "})
    assert answer.status_code == 200
    assert "已受理，正在登记。" in answer.text and ticket.number in answer.text
    assert "井盖" not in answer.text and "13800138000" not in answer.text
    assert answer.headers["content-security-policy"].startswith("default-src 'none'")


def test_a_merged_ticket_shows_the_one_it_joined(store: Store, tmp_path: Path) -> None:
    first = store.submit(intake("m-1", "路灯不亮", channel=Channel.web)).ticket
    second = store.submit(intake("m-2", "路灯还是不亮", channel=Channel.web)).ticket

    def becomes(status: Status, **more: object) -> Mutation:
        return lambda t, seq, at: t.model_copy(update={"status": status, "seq": seq,
                                                       "updated_at": at, **more})

    store.change(second.id, becomes(Status.merged, merged_into=first.id))
    store.change(first.id, becomes(Status.dispatched))
    with client(store, tmp_path) as c:
        answer = c.get("/status", params={"number": second.number})
    assert answer.status_code == 200
    assert "已与相同事项合并办理。" in answer.text
    assert first.number in answer.text and "已派遣到承办单位。" in answer.text


def test_bad_and_unknown_numbers(store: Store, tmp_path: Path) -> None:
    with client(store, tmp_path) as c:
        empty = c.get("/status")
        bad = c.get("/status", params={"number": "12<script>"})
        unknown = c.get("/status", params={"number": "2001010001"})
    assert empty.status_code == 200 and 'name="number"' in empty.text
    assert bad.status_code == 400 and "10 到 16 位数字" in bad.text
    assert "<script>" not in bad.text and "12&lt;script&gt;" in bad.text
    assert unknown.status_code == 404 and "没有找到这个工单号" in unknown.text


def test_lookups_are_rate_limited_per_address(store: Store, tmp_path: Path) -> None:
    ticket = store.submit(intake("l-1", "路灯不亮", channel=Channel.web)).ticket
    with client(store, tmp_path, rate_limit_web="2/minute") as c:
        codes = [c.get("/status", params={"number": ticket.number}).status_code
                 for _ in range(3)]
    assert codes == [200, 200, 429]
