"""How each destination is reached: the back-office feed always, a signed webhook and a Redis
stream when the settings say so.

Destination ids: ``district`` (the district center), ``street:<CODE>`` (a street sub-center,
``street:DS``), ``dept:<department code>`` (``dept:dept.urban-management``). Push transports
come from settings, never from the repository (addresses and secrets):

* ``HOTLINE_WEBHOOKS``: ``{"<id or pattern>": {"url": "https://…", "secret": "…"}}``;
* ``HOTLINE_STREAMS``: ``["<id or pattern>", …]``: tickets are also added to the Redis stream
  ``hotline:dest:<id>`` of the gateway's Redis.

A pattern is ``street:*``, ``dept:*`` or ``*``; an exact id wins over its kind's pattern, which
wins over ``*``. A destination with neither transport is feed-only: the back office pulls it
from ``GET /api/v1/tickets``, and its delivery counts as acknowledged at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError, field_validator

from tickets import rediskeys

DESTINATION_ID = re.compile(r"district|street:[A-Z][A-Z0-9]{0,15}|dept:[a-z0-9][a-z0-9.\-]{0,63}")
PATTERN = re.compile(r"\*|street:\*|dept:\*")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MIN_SECRET = 16
# words that mark a secret copied from an example; and a secret of one or two repeated
# characters ("xxxxxxxxxxxxxxxx") is no secret either
PLACEHOLDER_WORDS = ("changeme", "change-me", "change_me", "placeholder", "example", "secret",
                     "password", "your-", "your_")


class DestinationError(ValueError):
    """A malformed destination id or pattern, or a transport setting that is refused."""


def check_id(destination: str) -> str:
    """``destination`` if it is a well-formed destination id; :class:`DestinationError`."""
    if not DESTINATION_ID.fullmatch(destination):
        raise DestinationError(
            f"'{destination[:80]}' is not a destination id (district, street:<CODE>, "
            "dept:<department code>)")
    return destination


def check_pattern(pattern: str) -> str:
    """An id or a pattern (``street:*``, ``dept:*``, ``*``); :class:`DestinationError`."""
    if PATTERN.fullmatch(pattern):
        return pattern
    try:
        return check_id(pattern)
    except DestinationError:
        raise DestinationError(
            f"'{pattern[:80]}' is neither a destination id (district, street:<CODE>, "
            "dept:<code>) nor a pattern (street:*, dept:*, *)") from None


def _specificity(pattern: str, destination: str) -> int | None:
    """How closely ``pattern`` names ``destination`` (higher wins), None when it does not."""
    if pattern == destination:
        return 2
    if pattern.endswith(":*") and destination.startswith(pattern[:-1]):
        return 1
    if pattern == "*":
        return 0
    return None


def is_placeholder(secret: str) -> bool:
    lowered = secret.lower()
    return len(set(lowered)) <= 2 or any(word in lowered for word in PLACEHOLDER_WORDS)


class WebhookTarget(BaseModel):
    """One ``HOTLINE_WEBHOOKS`` entry: where to POST and the shared signing secret."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    secret: SecretStr

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        host = (parts.hostname or "").lower()
        if not host:
            raise ValueError(f"'{value[:100]}' has no host")
        if parts.username or parts.password:
            raise ValueError("must not carry a user or password (the secret signs)")
        if parts.scheme == "https" or (parts.scheme == "http" and host in LOOPBACK_HOSTS):
            return value
        raise ValueError(f"'{value[:100]}' must be https:// (http:// only to 127.0.0.1 "
                         "or localhost)")

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < MIN_SECRET:
            raise ValueError(f"must be at least {MIN_SECRET} characters")
        return value


def parse_webhooks(raw: Mapping[str, object]) -> dict[str, WebhookTarget]:
    """``HOTLINE_WEBHOOKS`` as decoded JSON → checked targets; one
    :class:`DestinationError` naming the first entry that is wrong."""
    targets: dict[str, WebhookTarget] = {}
    for pattern, value in raw.items():
        check_pattern(pattern)
        try:
            targets[pattern] = (value if isinstance(value, WebhookTarget)
                                else WebhookTarget.model_validate(value))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            message = str(first["msg"]).removeprefix("Value error, ")
            raise DestinationError(f"{pattern}: {where + ': ' if where else ''}{message}") \
                from None
    return targets


def placeholder_problems(webhooks: Mapping[str, WebhookTarget]) -> list[str]:
    """The entries whose secret is a placeholder (refused outside development)."""
    return [f"{pattern}: the secret is a placeholder; set a real one"
            for pattern, target in webhooks.items()
            if is_placeholder(target.secret.get_secret_value())]


@dataclass(frozen=True)
class Webhook:
    url: str
    secret: str = field(repr=False)


@dataclass(frozen=True)
class Route:
    """How one destination is reached now."""

    destination: str
    webhook: Webhook | None
    stream: str | None  # the Redis stream key

    @property
    def transport(self) -> str:
        """``webhook``, ``stream``, ``webhook+stream`` or ``feed`` (no push transport)."""
        used = [name for name, on in (("webhook", self.webhook), ("stream", self.stream)) if on]
        return "+".join(used) or "feed"


@dataclass(frozen=True)
class Destinations:
    """Every destination's transports and how hard delivery tries (one per worker)."""

    webhooks: Mapping[str, Webhook] = field(default_factory=dict)
    streams: tuple[str, ...] = ()
    max_attempts: int = 30  # attempts before a delivery is dead (30: about six hours)
    timeout: float = 10.0  # seconds a webhook may take to answer
    stream_maxlen: int = 100_000  # entries kept per stream (approximately)

    def __post_init__(self) -> None:
        for pattern in [*self.webhooks, *self.streams]:
            check_pattern(pattern)
        if self.max_attempts < 1:
            raise DestinationError("max_attempts must be at least 1")

    @classmethod
    def from_settings(cls, webhooks: Mapping[str, WebhookTarget], streams: Sequence[str], *,
                      max_attempts: int = 30, timeout: float = 10.0) -> Destinations:
        return cls(
            webhooks={p: Webhook(t.url, t.secret.get_secret_value()) for p, t in webhooks.items()},
            streams=tuple(streams), max_attempts=max_attempts, timeout=timeout,
        )

    def route(self, destination: str) -> Route:
        check_id(destination)
        webhook: Webhook | None = None
        best = -1
        for pattern, target in self.webhooks.items():
            rank = _specificity(pattern, destination)
            if rank is not None and rank > best:
                webhook, best = target, rank
        streamed = any(_specificity(p, destination) is not None for p in self.streams)
        stream = rediskeys.destination_stream(destination) if streamed else None
        return Route(destination, webhook, stream)
