"""The committed ticket JSON Schema is the one the model generates."""

from __future__ import annotations

import json

from tickets.schema import SCHEMA_FILE, ticket_json_schema


def test_committed_schema_matches_the_model() -> None:
    committed = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert committed == ticket_json_schema(), (
        "tickets/ticket.schema.json is stale: run 'hotline schema --out tickets/ticket.schema.json'"
    )


def test_schema_names_every_ticket_field() -> None:
    fields = set(ticket_json_schema()["properties"])
    for name in ("id", "number", "seq", "channel", "channel_ref", "received_at", "citizen",
                 "kind", "text", "transcript", "attachments", "location", "category",
                 "department", "loop", "priority", "status", "history", "evaluation",
                 "schema_version"):
        assert name in fields
