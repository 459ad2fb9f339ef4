"""The webhook transport: one signed POST per attempt (:mod:`delivery.webhooks` signs it)."""

from __future__ import annotations

import time
from typing import Any

import httpx

from delivery import webhooks
from delivery.destinations import Route
from delivery.records import Delivery

USER_AGENT = "hotline-96010-delivery/1"


class Http:
    """The drains' HTTP client, made on first use: feed-only and stream destinations never pay
    for one (TLS context and all: about 60 ms of CPU, the CA bundle loaded). One per worker
    process and timeout (:func:`shared`), kept from one drain job to the next."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._client: httpx.Client | None = None

    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout, follow_redirects=False)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


_SHARED: dict[float, Http] = {}


def shared(timeout: float) -> Http:
    """This process's client for ``timeout`` (a worker runs its jobs one after another; the
    connections it keeps alive are checked by httpx before they are used again)."""
    http = _SHARED.get(timeout)
    if http is None:
        http = _SHARED[timeout] = Http(timeout)
    return http


def send(client: httpx.Client, route: Route, delivery: Delivery, doc: dict[str, Any],
          timeout: float) -> str | None:
    assert route.webhook is not None
    raw = webhooks.body(delivery.key, delivery.destination, doc)
    headers = webhooks.sign(route.webhook.secret, raw, delivery.key, int(time.time()))
    headers["User-Agent"] = USER_AGENT
    try:
        with client.stream("POST", route.webhook.url, content=raw, headers=headers) as response:
            if 200 <= response.status_code < 300:
                return None
            said = b""
            for chunk in response.iter_bytes():
                said += chunk
                if len(said) >= 200:
                    break
    except httpx.TimeoutException:
        return f"webhook: no answer within {timeout:g} s"
    except httpx.HTTPError as exc:
        return f"webhook: {type(exc).__name__}: {exc}"
    text = said[:200].decode("utf-8", "replace").strip()
    return f"webhook: HTTP {response.status_code}" + (f": {text}" if text else "")
