"""Clients of the primary that Sentinel names, which close the Sentinels' connections with
their own (redis-py's ``master_for`` client leaves those open when it is closed)."""

from __future__ import annotations

from typing import Any

from redis import Redis
from redis.asyncio import Redis as AsyncRedis


class SentinelPrimary(Redis):
    """A ``master_for`` client; :meth:`close` also closes the Sentinels' clients."""

    sentinel_clients: list[Redis]

    def close(self) -> None:
        super().close()
        for client in getattr(self, "sentinel_clients", []):
            client.close()


class AsyncSentinelPrimary(AsyncRedis):
    """The asyncio twin: :meth:`aclose` also closes the Sentinels' clients."""

    sentinel_clients: list[AsyncRedis]

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        for client in getattr(self, "sentinel_clients", []):
            await client.aclose()


def attach(client: Any, sentinels: list[Any]) -> None:
    client.sentinel_clients = list(sentinels)
