"""Where Redis is: one URL for every process, also when Redis Sentinel picks the primary.

A plain deployment names Redis by a redis-py URL (``redis://``, ``rediss://``, ``unix://``).
Behind Sentinel the settings build a URL of this module's own scheme::

    redis+sentinel://[:PRIMARY_PASSWORD@]HOST:PORT,HOST:PORT/SERVICE[?sentinel_password=PW]

(the form the ``limits`` library reads too), so every process and every client factory keeps
passing one string around; :func:`parse` turns it into a :class:`SentinelTarget`.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, quote, unquote, urlsplit

SCHEME = "redis+sentinel"


class BadSentinels(ValueError):
    """A Sentinel list or URL that cannot be used (the message names the fix)."""


@dataclass(frozen=True)
class SentinelTarget:
    sentinels: tuple[tuple[str, int], ...]
    service: str
    password: str | None = None  # the primary's (and replicas') requirepass
    sentinel_password: str | None = None  # the Sentinels' own requirepass

    def url(self) -> str:
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        hosts = ",".join(f"{host}:{port}" for host, port in self.sentinels)
        query = (f"?sentinel_password={quote(self.sentinel_password, safe='')}"
                 if self.sentinel_password else "")
        return f"{SCHEME}://{auth}{hosts}/{quote(self.service, safe='')}{query}"


def parse_sentinels(text: str) -> tuple[tuple[str, int], ...]:
    """``"10.0.0.1:26379,10.0.0.2:26379"`` → ((host, port), ...)."""
    found: list[tuple[str, int]] = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        host, sep, port = item.rpartition(":")
        host = host.strip("[]")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise BadSentinels(f"not a Sentinel address like 10.0.0.1:26379: {item!r}")
        found.append((host, int(port)))
    if not found:
        raise BadSentinels("no Sentinel address given (like 10.0.0.1:26379,10.0.0.2:26379)")
    return tuple(found)


def is_sentinel(url: str) -> bool:
    return url.startswith(SCHEME + "://")


def parse(url: str) -> SentinelTarget:
    """The target a ``redis+sentinel://`` URL names."""
    if not is_sentinel(url):
        raise BadSentinels(f"not a {SCHEME}:// URL")
    rest = url[len(SCHEME) + 3:]
    netloc, _, path_query = rest.partition("/")
    password: str | None = None
    if "@" in netloc:
        auth, netloc = netloc.rsplit("@", 1)
        password = unquote(auth.partition(":")[2]) or None
    path, _, query = path_query.partition("?")
    service = unquote(path.strip("/"))
    if not service:
        raise BadSentinels("the Sentinel URL names no service (the primary's name)")
    given = parse_qs(query).get("sentinel_password")
    sentinel_password = given[0] if given else None
    return SentinelTarget(parse_sentinels(netloc), service, password, sentinel_password)


def hide_passwords(url: str) -> str:
    """``url`` fit for a log or a banner: every password replaced by ``***``."""
    if is_sentinel(url):
        target = parse(url)
        return SentinelTarget(target.sentinels, target.service,
                              "***" if target.password else None,
                              "***" if target.sentinel_password else None).url()
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return parts._replace(netloc=user + host).geturl()
