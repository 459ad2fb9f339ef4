"""The ticket JSON Schema, generated from the model (committed as `tickets/ticket.schema.json`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tickets.model import Ticket

SCHEMA_FILE = Path(__file__).with_name("ticket.schema.json")


def ticket_json_schema() -> dict[str, Any]:
    schema = Ticket.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://96010.example/schemas/ticket-v1.json"
    return schema
