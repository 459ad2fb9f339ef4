"""The Redis stream transport: one ``XADD`` per attempt to the destination's stream, with the
delivery key in the entry (the receiver's idempotency key)."""

from __future__ import annotations

import json
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

from delivery.destinations import Route
from delivery.records import Delivery


def send(redis: Redis, route: Route, delivery: Delivery, doc: dict[str, Any],
          maxlen: int) -> str | None:
    assert route.stream is not None
    fields = {"delivery": delivery.key, "destination": delivery.destination,
              "ticket": json.dumps(doc, ensure_ascii=False, separators=(",", ":"))}
    try:
        redis.xadd(route.stream, fields, maxlen=maxlen, approximate=True)  # type: ignore[arg-type]
    except RedisError as exc:
        return f"stream: {type(exc).__name__}: {exc}"
    return None
