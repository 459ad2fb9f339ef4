"""Every route of the app, hostile input, never a 5xx (issue 9: "unauthenticated input must
never reach a 500; a test sweeps every route with hostile values").

Two generators, both through ASGI in this process (no network, no server):

* **schemathesis** over the app's own OpenAPI document: every operation, values that fit the
  schema and (where the schema constrains anything) values that break it, anonymous and with
  a valid API key, and the ticket routes once more aimed at a ticket that exists.
* **hypothesis** for what the schema does not describe or describes as an opaque body: the
  Twilio webhook (form bodies, signed and not), WeChat (any query string, any XML-ish body,
  correctly signed plaintext and AES pushes whose fields are hostile), the web form
  (``GET|POST /report``: any query, any fields, hand-built multipart with hostile file parts,
  with and without a valid CSRF cookie and token), media and static names, the ops and
  documentation pages, unknown paths and methods.

Every answer must be below 500; a 4xx must be the documented JSON error
``{"error": {"code", "message"}}`` (the web form may answer with an HTML page instead). An
exception escaping the app is a 500 as well (uvicorn would answer 500): it fails the test with
the request that caused it. Examples are derandomized, so a run is reproducible; the counts
keep the whole module to a minute or two. SQLite throughout, PostgreSQL (which refuses NUL in
text) for the JSON intake, the ticket routes and NUL through every channel.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import itertools
import json
import struct
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from xml.sax.saxutils import escape

import defusedxml.ElementTree as SafeET
import pytest
import requests
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from schemathesis.config import SchemathesisConfig
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode
from schemathesis.generation.case import Case
from schemathesis.python.asgi import ASGIClient, get_client, shutdown_lifespans

from channels.twilio_sms import verify
from channels.webform import csrf
from channels.wechat import envelope, signature
from channels.wechat.xmlsafe import parse_fields
from hotline.app import create_app
from hotline.settings import Settings
from tests.channels.webform import images
from tests.conftest import make_store
from tests.support.services import PostgresServer
from tickets import apikeys, media
from tickets.apikeys import Scope
from tickets.store import Store

pytestmark = pytest.mark.slow

WEB_SECRET = "hostile-sweep-web-secret-0123456789abcdef"
TWILIO_TOKEN = "5eed5eed5eed5eed5eed5eed5eed5eed"
PUBLIC_URL = "https://hotline.example.gov.cn"
WECHAT_TOKEN = "sweep-wechat-token"
WECHAT_APP_ID = "wx0123456789abcdef"
# A fixed EncodingAESKey (43 characters of base64, as hotline.devsetup.wechat_aes_key makes
# them), so the sweep is the same on every run.
WECHAT_AES_KEY = base64.b64encode(hashlib.sha256(b"96010 hostile sweep").digest()).decode()[:43]
METRICS_TOKEN = "hostile-sweep-metrics-token-0123456789abcdef"
UNLIMITED = "1000000/minute"  # the rate limiter runs (hostile keys reach it) but never refuses

# The whole OpenAPI document; a route added to the schema fails the coverage test until the
# sweep knows whether schemathesis can make invalid values for it.
OPERATIONS = (
    "GET /api/v1/tickets",
    "GET /api/v1/tickets/{ticket_id}",
    "POST /api/v1/tickets/{ticket_id}/events",
    "GET /api/v1/media/{name}",
    "POST /api/v1/intake",
    "POST /channels/twilio/sms",
    "POST /channels/twilio/status",
    "GET /channels/wechat",
    "POST /channels/wechat",
    "GET /healthz",
    "GET /readyz",
    "GET /open311/v2/discovery.{fmt}",
    "GET /open311/v2/services.{fmt}",
    "GET /open311/v2/services/{code}.{fmt}",
    "GET /open311/v2/requests.{fmt}",
    "POST /open311/v2/requests.{fmt}",
    "GET /open311/v2/requests/{number}.{fmt}",
    "GET /open311/v2/tokens/{token}.{fmt}",
    "GET /open311/v2/servicerequestupdates.{fmt}",
    "POST /open311/v2/servicerequestupdates.{fmt}",
)
# Operations whose schema constrains something (schemathesis cannot make an invalid
# unconstrained string or an invalid empty request: that is Unsatisfiable, not a pass).
NEGATIVE = frozenset({"GET /api/v1/tickets", "POST /api/v1/tickets/{ticket_id}/events",
                      "POST /api/v1/intake"})
KEYED = frozenset(label for label in OPERATIONS if " /api/v1/" in label)
ON_TICKET = frozenset(label for label in OPERATIONS if "{ticket_id}" in label)

SCHEMA_EXAMPLES = 30
ANONYMOUS_EXAMPLES = 10  # anonymous calls stop at the key check
POSTGRES_EXAMPLES = 20
SUPPRESSED = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
              HealthCheck.large_base_example]


def sweep(examples: int) -> settings:
    """Reproducible (derandomized, no example database), no deadline: the machine is shared."""
    return settings(max_examples=examples, derandomize=True, database=None, deadline=None,
                    suppress_health_check=SUPPRESSED, print_blob=False)


# -- the gateway under test -------------------------------------------------------------------
@dataclass
class Gateway:
    app: FastAPI
    client: ASGIClient  # a requests.Session that calls the app in-process
    store: Store
    settings: Settings
    schema: schemathesis.BaseSchema
    token: str  # an API key with every scope
    read_token: str  # an API key with the read scope only
    ticket_id: str
    ticket_number: str
    media_name: str


def gateway_settings(data_dir: Path) -> Settings:
    return Settings(
        env="development", data_dir=data_dir, web_secret=WEB_SECRET,
        twilio_auth_token=TWILIO_TOKEN, public_url=PUBLIC_URL, wechat_token=WECHAT_TOKEN,
        wechat_aes_key=WECHAT_AES_KEY, wechat_app_id=WECHAT_APP_ID, wechat_mode="compatible",
        rate_limit_sender=UNLIMITED, rate_limit_web=UNLIMITED, rate_limit_api=UNLIMITED,
        photo_workers=1, metrics_token=METRICS_TOKEN, _env_file=None)


def _repaired(document: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with the intake body's ``$defs`` moved to ``components``.

    ``tickets/api.py`` embeds ``IntakeIn.model_json_schema()`` whole, whose references read
    ``#/$defs/Citizen``: inside the OpenAPI document they point nowhere (see
    :func:`test_openapi_references_resolve`), and schemathesis could then make no request body
    at all. The sweep repairs its own copy so the intake is swept whatever the document says.
    """
    doc = copy.deepcopy(document)
    components = doc.setdefault("components", {}).setdefault("schemas", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            for name, definition in node.pop("$defs", {}).items():
                components.setdefault(name, walk(definition))
            return {key: (value.replace("#/$defs/", "#/components/schemas/")
                          if key == "$ref" and isinstance(value, str) else walk(value))
                    for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return walk(doc)  # type: ignore[no-any-return]


@contextmanager
def open_gateway(data_dir: Path, database_url: str) -> Iterator[Gateway]:
    config = gateway_settings(data_dir)
    store = make_store(database_url)
    app = create_app(config, store=store, redis_url="")
    _, token = apikeys.create(store.db, "sweep-all", frozenset(Scope))
    _, read_token = apikeys.create(store.db, "sweep-read", frozenset({Scope.read}))
    schema = schemathesis.openapi.from_dict(_repaired(app.openapi()), config=SchemathesisConfig())
    schema.app = app  # what from_asgi does: cases are sent to the app in-process
    client = get_client(app)  # type: ignore[arg-type]  # FastAPI is an ASGI app
    try:
        with client:  # starts the app's lifespan (feed notifier, photo workers)
            seeded = client.post("/api/v1/intake", headers={"Authorization": f"Bearer {token}"},
                                 json={"channel_ref": "sweep-seed", "text": "井盖丢失",
                                       "kind": "complaint"})
            assert seeded.status_code == 201, seeded.text
            saved = media.save_bytes(config.media_path, images.jpeg(), "image/jpeg")
            yield Gateway(app=app, client=client, store=store, settings=config, schema=schema,
                          token=token, read_token=read_token, ticket_id=seeded.json()["id"],
                          ticket_number=seeded.json()["number"],
                          media_name=saved.url.rsplit("/", 1)[-1])
    finally:
        shutdown_lifespans()  # the app's lifespan: photo workers, notifier, limiter
        store.db.dispose()


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    data_dir = tmp_path_factory.mktemp("sweep-sqlite")
    with open_gateway(data_dir, f"sqlite:///{data_dir / 'hotline.sqlite3'}") as gateway:
        yield gateway


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory, postgres: PostgresServer) -> Iterator[Gateway]:
    with open_gateway(tmp_path_factory.mktemp("sweep-pg"), postgres.create_database()) as gw:
        yield gw


# -- sending and judging ------------------------------------------------------------------------
def describe(method: str, url: str, kwargs: Mapping[str, Any]) -> str:
    parts = [f"{method} {url[:400]}"]
    for name in ("headers", "params", "cookies", "json"):
        if kwargs.get(name):
            parts.append(f"{name}={kwargs[name]!r:.600}")
    if kwargs.get("data") is not None:
        parts.append(f"body={kwargs['data']!r:.800}")
    return "\n  ".join(parts)


def send(gw: Gateway, method: str, url: str, **kwargs: Any) -> requests.Response:
    """One request; an exception escaping the app (which uvicorn answers with 500) fails with
    the request that caused it."""
    gw.client.cookies.clear()  # no cookie carried over from an earlier example
    kwargs.setdefault("allow_redirects", False)
    try:
        return gw.client.request(method, url, timeout=120, **kwargs)
    except requests.RequestException:
        raise  # the test's own request could not be sent: a bug of the sweep, not of the app
    except Exception as exc:
        raise AssertionError("an exception escaped the app (a 500 behind uvicorn) for\n  "
                             + describe(method, url, kwargs)) from exc


def judge(response: requests.Response | schemathesis.Response, *,
          html_ok: bool = False) -> None:
    """Below 500; a 4xx carries the JSON error shape (or, where allowed, an HTML page)."""
    request = response.request
    what = f"{request.method} {str(request.url)[:400]} body={request.body!r:.600}"
    assert response.status_code < 500, (
        f"{response.status_code} for {what}\n  answer: {response.text[:1000]}")
    if response.status_code < 400 or request.method == "HEAD":
        return
    headers = {name.lower(): value for name, value in response.headers.items()}
    content_type = headers.get("content-type", "")
    if isinstance(content_type, list):  # schemathesis keeps every value of a header
        content_type = content_type[0] if content_type else ""
    if html_ok and content_type.startswith("text/html"):
        assert "<html" in response.text, what
        return
    if str(request.url).split("?", 1)[0].split("/", 3)[-1].startswith("open311/") and \
            _open311_error(response.content, content_type):
        return
    assert content_type.startswith("application/json"), (
        f"{response.status_code} with {content_type!r} for {what}: {response.text[:300]}")
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, (what, body)
    error = body["error"]
    assert isinstance(error, dict), (what, body)
    assert isinstance(error.get("code"), str) and isinstance(error.get("message"), str), (
        what, body)


def _open311_error(body: bytes, content_type: str) -> bool:
    """Open311 answers its errors as the spec's document: ``[{"code", "description"}]`` or
    ``<errors><error><code/><description/></error></errors>`` (strictly parsed)."""
    if content_type.startswith("text/xml"):
        root = SafeET.fromstring(body, forbid_dtd=True)
        return bool(root.tag == "errors" and root.findtext("error/code")
                    and root.findtext("error/description"))
    if content_type.startswith("application/json"):
        data = json.loads(body)
        return (isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict)
                and isinstance(data[0].get("code"), int)
                and isinstance(data[0].get("description"), str))
    return False


_serial = itertools.count(1)  # fresh MessageSids, MsgIds, nonces: examples file, not repeat


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- hostile values -----------------------------------------------------------------------------
HOSTILE_WORDS = (
    "", " ", "\x00", "a\x00b", "\x00" * 8, "\x01\x02\x1b[31m\x7f", "\t\r\n", "\r\n\r\n",
    "\u202e\u200b\ufeff\u2028", "²³", "٣٤٥", "１２３", "𝟘𝟙𝟚", "9" * 20, str(2**63), str(2**64),
    str(-(2**63) - 1), "-1", "-0", "+1", "0x1f", "1_000", "1e309", "-1e309", "NaN", "nan",
    "Infinity", "-inf", "9" * 309, "9" * 4301, "1." + "0" * 5000, "' OR '1'='1",
    "\"; DROP TABLE tickets; --", "<script>alert(1)</script>", "]]><x>", "<![CDATA[", "&#0;",
    "&lt;&amp;", "{{7*7}}", "${jndi:ldap://x/a}", "../../../../etc/passwd", "..\\..\\win.ini",
    "%00", "%", "%zz", "%ff%fe", "\\", "\"", "'", "😀" * 64, "中" * 3000, "a" * 70_000,
    "+8613800138000", "13800138000", "+86 138 0013 8000 ext 9", "hk_x_y", "null", "true", "[]",
    "{}", "0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59", "KIND_COMPLAINT",
    "PROGRESS", "complaint",
)
hostile_text: st.SearchStrategy[str] = st.one_of(
    st.sampled_from(HOSTILE_WORDS),
    st.text(max_size=24),
    st.integers().map(str),
    st.floats().map(repr),
    st.text(st.characters(max_codepoint=0x7F), max_size=12),
)
# what a header (or a cookie) can carry through a real HTTP server: latin-1, no controls
header_text: st.SearchStrategy[str] = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=60).map(str.strip)
cookie_text: st.SearchStrategy[str] = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=";,\\\""),
    max_size=80)


def query_of(pairs: Sequence[tuple[str, str]]) -> str:
    """An encoded query string that requests sends as it is (only unreserved and %XX)."""
    return urlencode(pairs, quote_via=quote, safe="")


def queries(names: Sequence[str]) -> st.SearchStrategy[list[tuple[str, str]]]:
    return st.lists(st.tuples(st.sampled_from(names) | hostile_text, hostile_text), max_size=6)


ACCEPTS = ("*/*", "text/html,application/xhtml+xml", "application/json", "")


# -- the OpenAPI operations: schemathesis --------------------------------------------------------
def _short_wait(case: Case[Any]) -> None:
    """The feed long-polls up to ``wait`` seconds (≤ 30, schema-valid): a sweep has no time
    for that, so a valid wait is cut to a few milliseconds (what it reaches stays the same)."""
    query = case.query
    if not isinstance(query, dict) or "wait" not in query:
        return
    try:
        wait = float(query["wait"])
    except (TypeError, ValueError, OverflowError):
        return
    if 0.005 < wait <= 30:
        query["wait"] = 0.005


def run_operation(gw: Gateway, label: str, mode: GenerationMode, headers: dict[str, str],
                  examples: int, path_parameters: dict[str, str] | None = None) -> None:
    method, path = label.split(" ", 1)
    operation = gw.schema[path][method]
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

    @sweep(examples)
    @given(case=strategy)
    def one(case: Case[Any]) -> None:
        _short_wait(case)
        gw.client.cookies.clear()
        try:
            response = case.call(session=gw.client, headers=headers, timeout=120)
        except requests.RequestException:
            raise
        except Exception as exc:
            raise AssertionError("an exception escaped the app (a 500 behind uvicorn) for\n  "
                                 + case.as_curl_command(headers=headers)) from exc
        # schemathesis' own check (status < 500), then ours (the error shape)
        case.validate_response(response, checks=[schemathesis.checks.not_a_server_error],
                               headers=headers)
        judge(response)

    one()


def test_the_sweep_covers_every_operation_of_the_schema(gw: Gateway) -> None:
    labels = {result.ok().label for result in gw.schema.get_all_operations()
              if isinstance(result, Ok)}
    assert len(labels) == len(list(gw.schema.get_all_operations())), "an invalid operation"
    assert labels == set(OPERATIONS)


def test_openapi_references_resolve(gw: Gateway) -> None:
    """Every ``$ref`` of the served document points at something (a client generating code
    from it, Swagger UI and schemathesis all follow them)."""
    document = gw.client.get("/openapi.json").json()
    dangling = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                target: Any = document
                for part in ref.removeprefix("#/").split("/"):
                    target = target.get(part) if isinstance(target, dict) else None
                if target is None:
                    dangling.add(ref)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    assert not dangling, f"$refs that point nowhere in /openapi.json: {sorted(dangling)}"


SCHEMA_RUNS = [
    pytest.param(label, mode, auth, id=f"{label}-{mode.value}-{auth}")
    for label in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or label in NEGATIVE
    for auth in (("anonymous", "key", "key-on-ticket") if label in ON_TICKET
                 else ("anonymous", "key") if label in KEYED else ("anonymous",))
]


@pytest.mark.parametrize(("label", "mode", "auth"), SCHEMA_RUNS)
def test_schema_operation_never_answers_5xx(gw: Gateway, label: str, mode: GenerationMode,
                                            auth: str) -> None:
    headers = bearer(gw.token) if auth.startswith("key") else {}
    on_ticket = {"ticket_id": gw.ticket_id} if auth == "key-on-ticket" else None
    examples = ANONYMOUS_EXAMPLES if auth == "anonymous" and label in KEYED else SCHEMA_EXAMPLES
    run_operation(gw, label, mode, headers, examples, on_ticket)


POSTGRES_RUNS = [
    pytest.param(label, mode, id=f"{label}-{mode.value}")
    for label in ("POST /api/v1/intake", "POST /api/v1/tickets/{ticket_id}/events",
                  "GET /api/v1/tickets/{ticket_id}", "GET /api/v1/tickets")
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or label in NEGATIVE
]


@pytest.mark.integration
@pytest.mark.parametrize(("label", "mode"), POSTGRES_RUNS)
def test_schema_operation_never_answers_5xx_on_postgresql(pg: Gateway, label: str,
                                                          mode: GenerationMode) -> None:
    run_operation(pg, label, mode, bearer(pg.token), POSTGRES_EXAMPLES)
    if label in ON_TICKET:
        run_operation(pg, label, mode, bearer(pg.token), POSTGRES_EXAMPLES,
                      {"ticket_id": pg.ticket_id})


# -- the JSON intake and events, hand-made hostile bodies (SQLite and PostgreSQL) ---------------
def deep(depth: int, opening: str = "[", closing: str = "]") -> str:
    return opening * depth + closing * depth


INTAKE_BODIES: list[tuple[str, bytes | str, str]] = [
    ("nul in channel_ref", json.dumps({"channel_ref": "a\x00b", "text": "x"}), "application/json"),
    ("nul in text", json.dumps({"channel_ref": "nul-text", "text": "井盖\x00丢失"}),
     "application/json"),
    ("nul in every string", json.dumps({
        "channel_ref": "nul-all", "text": "x\x00", "kind": "help\x00",
        "citizen": {"name": "\x00", "wechat_openid": "o\x00", "phone": "+86\x00"},
        "location": {"address": "\x00", "grid": "\x00", "community": "\x00", "street": "\x00"},
        "attachments": [{"url": "https://x/\x00", "content_type": "image/\x00"}],
        "transcript": {"text": "\x00", "model": "\x00", "engine": "\x00"}}),
     "application/json"),
    ("escaped nul", '{"channel_ref": "esc\\u0000", "text": "x\\u0000y"}', "application/json"),
    ("lone surrogate", '{"channel_ref": "sur\\ud800", "text": "x\\udfff"}', "application/json"),
    ("control characters", json.dumps({"channel_ref": "ctl\x1b", "text": "\x07\x08\x0b\x0c"}),
     "application/json"),
    ("deep array", deep(100_000), "application/json"),
    ("deep object", '{"a":' * 50_000 + "1" + "}" * 50_000, "application/json"),
    ("deep in a field", '{"channel_ref": "deep", "text": ' + deep(20_000) + "}",
     "application/json"),
    ("huge integer", '{"channel_ref": "big", "text": "x", "kind": ' + "9" * 5000 + "}",
     "application/json"),
    ("huge float", '{"channel_ref": "bigf", "text": "x", "location": {"lat": 1e999}}',
     "application/json"),
    ("NaN", '{"channel_ref": "nan", "text": "x", "location": {"lat": NaN, "lon": Infinity}}',
     "application/json"),
    ("year 1 east of UTC", json.dumps({"channel_ref": "y1", "text": "x",
                                       "received_at": "0001-01-01T00:00:00+23:59"}),
     "application/json"),
    ("year 9999 west of UTC", json.dumps({"channel_ref": "y9999", "text": "x",
                                          "received_at": "9999-12-31T23:59:59-23:59"}),
     "application/json"),
    ("leap second", json.dumps({"channel_ref": "leap", "text": "x",
                                "received_at": "2016-12-31T23:59:60Z"}), "application/json"),
    ("far future", json.dumps({"channel_ref": "future", "text": "x",
                               "received_at": "9999-12-31T23:59:59Z"}), "application/json"),
    ("far past", json.dumps({"channel_ref": "past", "text": "x",
                             "received_at": "0001-01-01T00:00:00Z"}), "application/json"),
    ("duplicate keys", '{"channel_ref": "dup", "channel_ref": "dup2", "text": "x"}',
     "application/json"),
    ("not utf-8", b'{"channel_ref": "\xff\xfe", "text": "x"}', "application/json"),
    ("utf-16", json.dumps({"channel_ref": "u16", "text": "x"}).encode("utf-16"),
     "application/json"),
    ("bom", b"\xef\xbb\xbf" + json.dumps({"channel_ref": "bom", "text": "x"}).encode(),
     "application/json"),
    ("empty", b"", "application/json"),
    ("a string", '"just a string"', "application/json"),
    ("null", "null", "application/json"),
    ("form body", "channel_ref=x&text=y", "application/x-www-form-urlencoded"),
    ("multipart without boundary", "--x\r\n", "multipart/form-data"),
    ("text/plain", json.dumps({"channel_ref": "plain", "text": "x"}), "text/plain"),
    ("odd content type", json.dumps({"channel_ref": "odd", "text": "x"}),
     "application/json; charset=ebcdic-cp-be"),
    ("max length + 1 ref", json.dumps({"channel_ref": "r" * 181, "text": "x"}),
     "application/json"),
    ("max length ref", json.dumps({"channel_ref": "中" * 180, "text": "x" * 20_000}),
     "application/json"),
    ("21 attachments", json.dumps({"channel_ref": "att", "text": "x", "attachments": [
        {"url": "https://x", "content_type": "image/jpeg"}] * 21}), "application/json"),
    ("negative size", json.dumps({"channel_ref": "neg", "text": "x", "attachments": [
        {"url": "https://x", "content_type": "image/jpeg", "size": -(2**70)}]}),
     "application/json"),
    ("body over the limit", json.dumps({"channel_ref": "large", "text": "x" * 2_000_000}),
     "application/json"),
]
EVENT_BODIES: list[tuple[str, str]] = [
    ("nul in actor", json.dumps({"actor": "a\x00", "note": "x"})),
    ("nul in note", json.dumps({"actor": "a", "note": "x\x00y"})),
    ("nul in every field", json.dumps({
        "actor": "\x00", "event_id": "\x00", "note": "\x00", "category": "\x00",
        "department": "\x00", "reason": "\x00", "status": "rejected"})),
    ("nul in merged_into", json.dumps({"actor": "a", "status": "merged", "merged_into": "\x00"})),
    ("merged into itself by number", "MERGE_SELF"),
    ("huge priority", '{"actor": "a", "priority": ' + "9" * 5000 + "}"),
    ("NaN priority", '{"actor": "a", "priority": NaN}'),
    ("deep", deep(100_000)),
    ("evaluation with nul", json.dumps({"actor": "a", "status": "evaluated", "evaluation": {
        "score": 5, "channel": "sms", "comment": "\x00"}})),
    ("event id reused", json.dumps({"actor": "a", "note": "n", "event_id": "e" * 100})),
]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def either(request: pytest.FixtureRequest) -> Gateway:
    gateway: Gateway = request.getfixturevalue("gw" if request.param == "sqlite" else "pg")
    return gateway


@pytest.mark.parametrize(("name", "body", "content_type"), INTAKE_BODIES,
                         ids=[name for name, _, _ in INTAKE_BODIES])
def test_json_intake_refuses_hostile_bodies_without_5xx(either: Gateway, name: str,
                                                         body: bytes | str,
                                                         content_type: str) -> None:
    for headers in ({}, bearer(either.read_token), bearer(either.token)):
        judge(send(either, "POST", "/api/v1/intake", data=body,
                   headers={**headers, "Content-Type": content_type}))


@pytest.mark.parametrize(("name", "body"), EVENT_BODIES, ids=[n for n, _ in EVENT_BODIES])
def test_events_refuse_hostile_bodies_without_5xx(either: Gateway, name: str, body: str) -> None:
    if body == "MERGE_SELF":
        body = json.dumps({"actor": "a", "status": "merged",
                           "merged_into": either.ticket_number})
    for ticket in (either.ticket_id, either.ticket_number, "\x00", "0" * 32, "%00"):
        for headers in ({}, bearer(either.token)):
            judge(send(either, "POST", f"/api/v1/tickets/{quote(ticket, safe='')}/events",
                       data=body, headers={**headers, "Content-Type": "application/json"}))


@pytest.mark.parametrize("after", ["-1", str(2**63 - 1), str(2**63), str(2**64), "9" * 400,
                                   "9" * 5000, "1e3", "NaN", "\x00", "²", "٣"])
def test_feed_refuses_hostile_after_without_5xx(either: Gateway, after: str) -> None:
    for wait in ("0", "NaN", "inf", "-0", "1e-320", "9" * 400):
        judge(send(either, "GET", "/api/v1/tickets?" + query_of(
            [("after", after), ("limit", "1"), ("wait", wait)]), headers=bearer(either.token)))


@pytest.mark.parametrize("ticket", ["\x00", "a\x00b", "0" * 32, "0" * 31 + "\x00", "9" * 5000,
                                    "²" * 10, "%", "..", "中" * 100])
def test_ticket_and_media_names_with_nul_without_5xx(either: Gateway, ticket: str) -> None:
    for headers in ({}, bearer(either.read_token)):
        judge(send(either, "GET", f"/api/v1/tickets/{quote(ticket, safe='')}", headers=headers))
        judge(send(either, "GET", f"/api/v1/media/{quote(ticket, safe='')}", headers=headers))


# -- Twilio SMS -----------------------------------------------------------------------------------
TWILIO_FIELDS = ("MessageSid", "SmsSid", "AccountSid", "From", "To", "Body", "NumMedia",
                 "MediaUrl0", "MediaContentType0", "MediaUrl1", "MediaContentType1", "FromCity",
                 "NumSegments", "SmsStatus", "ApiVersion")
twilio_value: st.SearchStrategy[str] = st.one_of(
    hostile_text, st.sampled_from(("SM" + "a" * 32, "+8613800138000", "+8613900139000",
                                   "0", "1", "2", "10", "11", "-1", "https://api.twilio.com/x",
                                   "http://169.254.169.254/latest", "file:///etc/passwd",
                                   "image/jpeg", "Y", "N", "1 ", "一", "5", "好")))


@st.composite
def twilio_forms(draw: st.DrawFn) -> dict[str, str]:
    """A message webhook (new MessageSid each time) with some fields hostile or added."""
    form = {"MessageSid": f"SM{next(_serial):032d}", "AccountSid": "AC" + "1" * 32,
            "From": "+8613800138000", "To": "+8610096010", "Body": "路灯坏了", "NumMedia": "0"}
    for name in draw(st.sets(st.sampled_from(sorted(form)), max_size=3)):
        form[name] = draw(twilio_value)
    for name in draw(st.lists(st.sampled_from(TWILIO_FIELDS) | hostile_text, max_size=4)):
        form[name] = draw(twilio_value)
    return form


@sweep(100)
@given(form=twilio_forms(), how=st.sampled_from(["signed"] * 4 + ["unsigned", "forged", "raw"]),
       query=st.one_of(st.just([]), queries(("a", "b"))), raw=st.binary(max_size=300),
       content_type=st.sampled_from(["application/x-www-form-urlencoded",
                                     "multipart/form-data", "text/plain", "", "application/json"]))
def test_twilio_sms_never_answers_5xx(gw: Gateway, form: dict[str, str], how: str,
                                      query: list[tuple[str, str]], raw: bytes,
                                      content_type: str) -> None:
    qs = query_of(query)
    url = verify.PATH + (f"?{qs}" if qs else "")
    headers: dict[str, str] = {}
    if how == "raw":
        headers = {"Content-Type": content_type, "X-Twilio-Signature": "x"}
        judge(send(gw, "POST", url, data=raw, headers=headers))
        return
    if how == "signed":
        signed = verify.signed_url(PUBLIC_URL, verify.PATH, qs)
        headers["X-Twilio-Signature"] = verify.sign(TWILIO_TOKEN, signed, form)
    elif how == "forged":
        headers["X-Twilio-Signature"] = base64.b64encode(b"\x00" * 20).decode()
    judge(send(gw, "POST", url, data=form, headers=headers))


# -- WeChat ---------------------------------------------------------------------------------------
WECHAT_QUERY = ("signature", "timestamp", "nonce", "echostr", "openid", "encrypt_type",
                "msg_signature")
wechat_query_value: st.SearchStrategy[str] = st.one_of(
    hostile_text, st.sampled_from(("aes", "AES", "raw", "none", "1700000000", "0")),
    st.integers().map(str),
    st.builds(lambda: str(int(time.time()))))


@sweep(100)
@given(query=st.lists(st.tuples(st.sampled_from(WECHAT_QUERY) | hostile_text,
                                wechat_query_value), max_size=8),
       body=st.binary(max_size=200) | hostile_text.map(str.encode),
       method=st.sampled_from(["GET", "POST"]))
def test_wechat_any_query_never_answers_5xx(gw: Gateway, query: list[tuple[str, str]],
                                            body: bytes, method: str) -> None:
    qs = query_of(query)
    judge(send(gw, method, f"/channels/wechat?{qs}", data=body if method == "POST" else None,
               headers={"Content-Type": "text/xml"}))


WECHAT_FIELDS = ("ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId",
                 "Event", "EventKey", "Latitude", "Longitude", "Precision", "Location_X",
                 "Location_Y", "Scale", "Label", "PicUrl", "MediaId", "Format", "Recognition",
                 "Title", "Description", "Url", "ThumbMediaId", "Ticket", "ScanCodeInfo",
                 "SendLocationInfo", "SendPicsInfo", "Encrypt", "MsgDataId", "Idx")
MSG_TYPES = ("text", "image", "voice", "video", "shortvideo", "location", "link", "event",
             "file", "miniprogrampage", "", "TEXT", "Event")
EVENTS = ("subscribe", "unsubscribe", "LOCATION", "CLICK", "VIEW", "SCAN", "scancode_push",
          "scancode_waitmsg", "pic_sysphoto", "pic_weixin", "location_select",
          "TEMPLATESENDJOBFINISH", "view_miniprogram", "")
xml_value: st.SearchStrategy[str] = st.one_of(
    hostile_text, st.sampled_from(MSG_TYPES + EVENTS),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats().map(repr), st.sampled_from(("253402300799", "253402300800", "99999999999999",
                                            "-62135596801", "KIND_COMPLAINT", "PROGRESS")))


def xml_field(name: str, value: str, how: str) -> str:
    if how == "cdata":
        return f"<{name}><![CDATA[{value}]]></{name}>"
    if how == "raw":  # whatever the value holds, markup included
        return f"<{name}>{value}</{name}>"
    if how == "nested":
        return f"<{name}><a>{escape(value)}</a><b><c>{escape(value)}</c></b></{name}>"
    return f"<{name}>{escape(value)}</{name}>"


@st.composite
def wechat_xml(draw: st.DrawFn) -> str:
    """A WeChat-shaped push whose fields (and sometimes its shape) are hostile."""
    fields: dict[str, str] = {
        "ToUserName": "gh_96010demo", "FromUserName": "oSweep" + str(next(_serial)),
        "CreateTime": str(int(time.time())), "MsgType": draw(st.sampled_from(MSG_TYPES)),
        "Content": "路灯坏了", "MsgId": str(next(_serial) + 10**15),
    }
    if fields["MsgType"].lower() == "event":
        fields["Event"] = draw(st.sampled_from(EVENTS))
    for name in draw(st.lists(st.sampled_from(WECHAT_FIELDS) | hostile_text.filter(
            lambda s: s.isidentifier()), max_size=8)):
        fields[name] = draw(xml_value)
    for name in draw(st.sets(st.sampled_from(sorted(fields)), max_size=2)):
        del fields[name]
    how = draw(st.lists(st.sampled_from(["text", "cdata", "raw", "nested"]),
                        min_size=len(fields), max_size=len(fields)))
    inner = "".join(xml_field(n, v, h) for (n, v), h in zip(fields.items(), how, strict=True))
    shape = draw(st.sampled_from(["plain", "plain", "plain", "declared", "attributes",
                                  "namespace", "comment", "duplicate", "many", "gbk"]))
    if shape == "declared":
        return f'<?xml version="1.0" encoding="utf-8"?>\n<xml>{inner}</xml>'
    if shape == "attributes":
        return f'<xml a="1" b="&lt;">{inner}</xml>'
    if shape == "namespace":
        return f'<xml xmlns="urn:x"><x:a xmlns:x="urn:y">1</x:a>{inner}</xml>'
    if shape == "comment":
        return f"<!-- x --><xml><?pi data?>{inner}<!-- y --></xml>"
    if shape == "duplicate":
        return f"<xml>{inner}{inner}</xml>"
    if shape == "many":
        return "<xml>" + inner + "".join(f"<F{i}>{i}</F{i}>" for i in range(80)) + "</xml>"
    if shape == "gbk":
        return f'<?xml version="1.0" encoding="GBK"?><xml>{inner}</xml>'
    return f"<xml>{inner}</xml>"


def wechat_body(xml: str) -> bytes:
    if xml.startswith('<?xml version="1.0" encoding="GBK"?>'):
        return xml.encode("gbk", "replace")
    return xml.encode("utf-8")


def signed_query(timestamp: str, nonce: str, **extra: str) -> str:
    pairs = [("signature", signature.digest(WECHAT_TOKEN, timestamp, nonce)),
             ("timestamp", timestamp), ("nonce", nonce), ("openid", "oSweep"), *extra.items()]
    return query_of(pairs)


@sweep(100)
@given(xml=wechat_xml(), nonce=st.text(st.characters(codec="ascii"), max_size=20))
def test_wechat_signed_plaintext_pushes_never_answer_5xx(gw: Gateway, xml: str,
                                                         nonce: str) -> None:
    now = str(int(time.time()))
    query = signed_query(now, f"{nonce}{next(_serial)}")
    judge(send(gw, "POST", f"/channels/wechat?{query}", data=wechat_body(xml),
               headers={"Content-Type": "text/xml; charset=utf-8"}))


DOCTYPES = (
    b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;'
    b'&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><xml><Content>&c;'
    b"</Content></xml>",
    b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b"<xml><Content>&x;</Content></xml>",
    b'<!DOCTYPE xml SYSTEM "http://127.0.0.1:1/dtd"><xml/>',
    b"<xml>" + b"<a>" * 20_000 + b"</a>" * 20_000 + b"</xml>",
    b"<xml>" + b"<a/>" * 100_000 + b"</xml>",
    b"<xml><Content>" + b"&amp;" * 100_000 + b"</Content></xml>",
    b"\xef\xbb\xbf<xml><ToUserName>a</ToUserName></xml>",
    b"<xml><Encrypt>" + b"A" * 100_000 + b"</Encrypt></xml>",
    b"<xml><Encrypt>!!!not base64!!!</Encrypt></xml>",
    b"<xml><Encrypt></Encrypt></xml>",
    b"<XML/>", b"<xml", b"\x00", b"",
)


@pytest.mark.parametrize("body", DOCTYPES, ids=range(len(DOCTYPES)))
def test_wechat_xml_bombs_and_odd_documents_never_answer_5xx(gw: Gateway, body: bytes) -> None:
    now = str(int(time.time()))
    for extra in ({}, {"encrypt_type": "aes"}):
        nonce = f"bomb{next(_serial)}"
        query = signed_query(now, nonce, **extra)
        if extra:
            encrypted = body.split(b"<Encrypt>")[1].split(b"</Encrypt>")[0].decode() if (
                b"<Encrypt>" in body) else ""
            query += "&" + query_of([("msg_signature", signature.digest(
                WECHAT_TOKEN, now, nonce, encrypted))])
        judge(send(gw, "POST", f"/channels/wechat?{query}", data=body,
                   headers={"Content-Type": "text/xml"}))


@sweep(75)
@given(xml=wechat_xml(), app_id=st.sampled_from([WECHAT_APP_ID, WECHAT_APP_ID, "wxother", ""]),
       tamper=st.sampled_from(["none", "none", "signature", "ciphertext", "outer"]))
def test_wechat_signed_encrypted_pushes_never_answer_5xx(gw: Gateway, xml: str, app_id: str,
                                                         tamper: str) -> None:
    now = str(int(time.time()))
    nonce = f"aes{next(_serial)}"
    mode = envelope.SafeMode(WECHAT_TOKEN, WECHAT_AES_KEY, app_id)
    sealed = envelope.seal(mode, wechat_body(xml).decode("utf-8", "replace"), now, nonce)
    encrypted = parse_fields(sealed.encode())["Encrypt"]
    if tamper == "ciphertext":
        encrypted = encrypted[:-8] + "AAAAAAA="
    msg_signature = signature.digest(WECHAT_TOKEN, now, nonce, encrypted)
    if tamper == "signature":
        msg_signature = "0" * 40
    outer = f"<xml><ToUserName>gh_96010demo</ToUserName><Encrypt>{encrypted}</Encrypt></xml>"
    if tamper == "outer":
        outer = f"<xml><Encrypt>{encrypted}</Encrypt><Encrypt>x</Encrypt>{xml[5:]}"
    query = signed_query(now, nonce, encrypt_type="aes", msg_signature=msg_signature)
    judge(send(gw, "POST", f"/channels/wechat?{query}", data=outer.encode(),
               headers={"Content-Type": "text/xml"}))


# -- the web form ----------------------------------------------------------------------------------
FORM_FIELDS = ("kind", "description", "phone", "name", "address", "lat", "lon", "grid",
               "consent", "share_photo_location", "csrf", "photos")
GOOD_FORM = {"kind": "complaint", "description": "幸福路12号门口井盖丢失", "phone": "",
             "name": "王女士", "address": "幸福路12号"}
form_value: st.SearchStrategy[str] = st.one_of(
    hostile_text, st.sampled_from(("complaint", "help", "unknown", "on", "ON", "1", "yes",
                                   "39.9", "116.4", "91", "-181", "DC-01-02", "DC0101")))


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` × ``height`` and carries almost no data (a pixel bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def _jpeg_claiming(width: int, height: int) -> bytes:
    """A small real JPEG whose SOF0 header is rewritten to declare ``width`` × ``height``."""
    data = bytearray(images.jpeg(16, 16))
    sof = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def _saved(image: Image.Image, fmt: str, **options: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **options)
    return buf.getvalue()


PHOTO_KINDS = ("jpeg", "jpeg-gps", "jpeg-gps-no-refs", "jpeg-gps-nonsense", "jpeg-rotated",
               "jpeg-odd-orientation", "jpeg-truncated", "jpeg-claims-60mp", "png", "png-alpha",
               "png-palette", "png-16mp", "png-over-16mp", "png-bomb", "gif", "bmp", "webp",
               "tiff", "ico", "text", "empty", "zeros")
SWEPT_PHOTOS = tuple(kind for kind in PHOTO_KINDS if kind != "png-16mp")  # that one: once


@cache
def photo(kind: str) -> bytes:
    """A hostile or odd photo by name (made once; the big ones only when first drawn)."""
    makers: dict[str, Any] = {
        "jpeg": lambda: images.jpeg(),
        "jpeg-gps": lambda: images.jpeg(gps=images.GPS_BEIJING),
        "jpeg-gps-no-refs": lambda: images.jpeg(gps={2: (39.0, 54.0, 15.0),
                                                     4: (116.0, 23.0, 30.0)}),
        "jpeg-gps-nonsense": lambda: images.jpeg(gps={1: "Q", 2: (720.0, 90.0, 3600.0),
                                                      3: "?", 4: (0.0, 0.0, 0.0)}),
        "jpeg-rotated": lambda: images.jpeg(orientation=6),
        "jpeg-odd-orientation": lambda: images.jpeg(orientation=9),
        "jpeg-truncated": lambda: images.jpeg()[:600],
        "jpeg-claims-60mp": lambda: _jpeg_claiming(10_000, 6_000),
        "png": lambda: images.png(),
        "png-alpha": lambda: images.png(alpha=True),
        "png-palette": lambda: _saved(Image.new("P", (8, 8)), "PNG", transparency=0),
        "png-16mp": lambda: _saved(Image.new("RGB", (4000, 4000), (9, 9, 9)), "PNG"),
        "png-over-16mp": lambda: _png_header_only(4001, 4000),
        "png-bomb": lambda: _png_header_only(60_000, 60_000),
        "gif": lambda: _saved(Image.new("P", (8, 8)), "GIF"),
        "bmp": lambda: _saved(Image.new("RGB", (8, 8)), "BMP"),
        "webp": lambda: _saved(Image.new("RGB", (8, 8)), "WEBP"),
        "tiff": lambda: _saved(Image.new("RGB", (8, 8)), "TIFF"),
        "ico": lambda: _saved(Image.new("RGB", (16, 16)), "ICO"),
        "text": lambda: images.FAKE_IMAGE,
        "empty": lambda: b"",
        "zeros": lambda: b"\x00" * 4096,
    }
    data: bytes = makers[kind]()
    return data


@dataclass(frozen=True)
class Part:
    name: str
    value: bytes
    filename: str | None = None
    content_type: str | None = None


def _param(value: str, polite: bool) -> bytes:
    """A header parameter as browsers write it (quotes and newlines escaped) or raw."""
    if polite:
        value = value.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
    return value.encode("utf-8", "surrogatepass")


def multipart(parts: Sequence[Part], boundary: str, *, polite: bool, ending: bool) -> bytes:
    out = bytearray()
    for part in parts:
        out += f"--{boundary}\r\n".encode()
        out += b'Content-Disposition: form-data; name="' + _param(part.name, polite) + b'"'
        if part.filename is not None:
            out += b'; filename="' + _param(part.filename, polite) + b'"'
        out += b"\r\n"
        if part.content_type is not None:
            out += b"Content-Type: " + _param(part.content_type, True) + b"\r\n"
        out += b"\r\n" + part.value + b"\r\n"
    if ending:
        out += f"--{boundary}--\r\n".encode()
    return bytes(out)


@st.composite
def form_parts(draw: st.DrawFn) -> list[Part]:
    fields = dict(GOOD_FORM) if draw(st.integers(0, 4)) else {}
    for name in draw(st.lists(st.sampled_from(FORM_FIELDS) | hostile_text, max_size=4)):
        fields[name] = draw(form_value)
    parts = [Part(name, value.encode("utf-8", "surrogatepass")) for name, value in fields.items()]
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        data = draw(st.sampled_from(SWEPT_PHOTOS).map(photo) | st.binary(max_size=300))
        parts.append(Part(
            draw(st.sampled_from(["photos", "photos", "photos", "other", ""])), data,
            filename=draw(st.sampled_from(["p.jpg", "照片.png", ""]) | hostile_text | st.none()),
            content_type=draw(st.sampled_from(["image/jpeg", "image/png", "text/html",
                                               "application/octet-stream"]) | header_text
                              | st.none())))
    return parts


@st.composite
def csrf_pair(draw: st.DrawFn) -> tuple[str | None, str | None]:
    """(cookie nonce, form token): valid, mismatched, expired, from the future, or garbage."""
    how = draw(st.sampled_from(["valid"] * 5 + ["none", "wrong-cookie", "expired",
                                "future", "garbage", "token-only", "bad-signature"]))
    nonce = csrf.new_nonce()
    now = int(time.time())
    submission = csrf.new_submission_id()
    token = csrf.issue(WEB_SECRET, nonce, submission, now)
    if how == "none":
        return None, None
    if how == "wrong-cookie":
        return csrf.new_nonce(), token
    if how == "expired":
        return nonce, csrf.issue(WEB_SECRET, nonce, submission, now - 3 * 24 * 3600)
    if how == "future":
        return nonce, csrf.issue(WEB_SECRET, nonce, submission, 999_999_999_999)
    if how == "garbage":
        return draw(cookie_text), draw(hostile_text)
    if how == "token-only":
        return None, token
    if how == "bad-signature":
        return nonce, token[:-4] + "AAAA"
    return nonce, token


# Starlette never closes the spooled file of a multipart file part that the body ends inside
# (no closing boundary): it is freed with the request, with a ResourceWarning. Upstream, and
# not an answer the resident sees; see the sweep's report.
UNTERMINATED_PART = ("ignore:Exception ignored in. <function SpooledTemporaryFile.__del__"
                     ":pytest.PytestUnraisableExceptionWarning")


@pytest.mark.filterwarnings(UNTERMINATED_PART)
@sweep(80)
@given(parts=form_parts(), pair=csrf_pair(),
       encoding=st.sampled_from(["multipart", "multipart", "multipart", "urlencoded", "raw",
                                 "impolite", "truncated", "no-boundary", "wrong-type"]),
       accept=st.sampled_from(ACCEPTS), cut=st.integers(min_value=0, max_value=2000),
       query=st.one_of(st.just([]), queries(("grid",))))
def test_web_form_post_never_answers_5xx(gw: Gateway, parts: list[Part],
                                         pair: tuple[str | None, str | None], encoding: str,
                                         accept: str, cut: int,
                                         query: list[tuple[str, str]]) -> None:
    nonce, token = pair
    if token is not None:
        parts = [*parts, Part("csrf", token.encode("utf-8", "surrogatepass"))]
    headers = {"Accept": accept}
    if nonce is not None:
        headers["Cookie"] = f"{csrf.COOKIE_NAME}={nonce}"
    boundary = "sweep" + hashlib.sha256(repr(parts).encode()).hexdigest()[:16]
    if encoding == "urlencoded":
        body = urlencode([(p.name, p.value) for p in parts if p.filename is None]).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif encoding == "raw":
        body = b"".join(p.value for p in parts)[:cut]
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    else:
        body = multipart(parts, boundary, polite=encoding != "impolite",
                         ending=encoding != "truncated")
        if encoding == "truncated":
            body = body[:max(0, len(body) - cut)]
        headers["Content-Type"] = {
            "no-boundary": "multipart/form-data",
            "wrong-type": "application/json",
        }.get(encoding, f"multipart/form-data; boundary={boundary}")
    qs = query_of(query)
    judge(send(gw, "POST", "/report" + (f"?{qs}" if qs else ""), data=body, headers=headers),
          html_ok=True)



def valid_token() -> tuple[str, str]:
    """(cookie nonce, form token) as GET /report would hand them out."""
    nonce = csrf.new_nonce()
    return nonce, csrf.issue(WEB_SECRET, nonce, csrf.new_submission_id(), int(time.time()))


@sweep(100)
@given(changes=st.dictionaries(st.sampled_from(FORM_FIELDS[:-2]), form_value, min_size=1,
                               max_size=3),
       photos=st.lists(st.sampled_from(SWEPT_PHOTOS), max_size=2),
       encoding=st.sampled_from(["multipart", "urlencoded"]), accept=st.sampled_from(ACCEPTS))
def test_web_form_fields_with_a_valid_token_never_answer_5xx(
        gw: Gateway, changes: dict[str, str], photos: list[str], encoding: str,
        accept: str) -> None:
    """A genuine page (valid cookie and token, well-formed body) whose fields are hostile:
    what reaches validation, the photo workers and the store."""
    nonce, token = valid_token()
    fields = {**GOOD_FORM, **changes, "csrf": token}
    headers = {"Accept": accept, "Cookie": f"{csrf.COOKIE_NAME}={nonce}"}
    if encoding == "urlencoded":
        judge(send(gw, "POST", "/report", data=fields, headers=headers), html_ok=True)
        return
    parts = [Part(k, v.encode("utf-8", "surrogatepass")) for k, v in fields.items()]
    parts += [Part("photos", photo(kind), f"{kind}.jpg", "image/jpeg") for kind in photos]
    headers["Content-Type"] = "multipart/form-data; boundary=sweepfields"
    judge(send(gw, "POST", "/report", data=multipart(parts, "sweepfields", polite=True,
                                                     ending=True), headers=headers),
          html_ok=True)

@sweep(60)
@given(query=queries(("grid", "csrf", "lang")), cookie=st.none() | cookie_text,
       accept=st.sampled_from(ACCEPTS))
def test_web_form_page_never_answers_5xx(gw: Gateway, query: list[tuple[str, str]],
                                         cookie: str | None, accept: str) -> None:
    headers = {"Accept": accept}
    if cookie is not None:
        headers["Cookie"] = f"{csrf.COOKIE_NAME}={cookie}; other={cookie}"
    judge(send(gw, "GET", f"/report?{query_of(query)}", headers=headers), html_ok=True)


@sweep(50)
@given(name=st.sampled_from(["webform.css", "webform.js", "form.html", "..%2Fpages.py"])
       | hostile_text, etag=st.none() | header_text, method=st.sampled_from(["GET", "HEAD"]))
def test_web_form_static_files_never_answer_5xx(gw: Gateway, name: str, etag: str | None,
                                                method: str) -> None:
    headers = {"If-None-Match": etag} if etag is not None else {}
    judge(send(gw, method, f"/report/static/{quote(name, safe='%')}", headers=headers),
          html_ok=True)


def test_web_form_photo_sizes_at_the_limits(gw: Gateway) -> None:
    """The large cases once each, with a valid token (the sweep draws them only now and then):
    a 16 MP PNG (decoded), just over 16 MP, a 60 MP JPEG header, a pixel bomb, four at once."""
    for kinds in (["png-16mp"], ["png-over-16mp"], ["jpeg-claims-60mp"], ["png-bomb"],
                  ["jpeg-gps-no-refs"], ["png-16mp", "png-bomb", "jpeg-claims-60mp", "jpeg"]):
        nonce, token = valid_token()
        fields = {**GOOD_FORM, "csrf": token, "share_photo_location": "on"}
        parts = [Part(k, v.encode()) for k, v in fields.items()]
        parts += [Part("photos", photo(kind), f"{kind}.img", "image/png") for kind in kinds]
        judge(send(gw, "POST", "/report", data=multipart(parts, "b0undary", polite=True,
                                                         ending=True),
                   headers={"Content-Type": "multipart/form-data; boundary=b0undary",
                            "Cookie": f"{csrf.COOKIE_NAME}={nonce}",
                            "Accept": "text/html"}), html_ok=True)


# -- media, ops, documentation, unknown paths and methods -----------------------------------------
@sweep(60)
@given(name=st.sampled_from(["GOOD", "GOOD.", "GOOD/..", "../hotline.sqlite3", "hotline.sqlite3",
                             "%2e%2e%2fhotline.sqlite3", "." * 70, "a" * 64 + ".jpg"])
       | hostile_text, key=st.sampled_from(["none", "read", "all", "garbage"]),
       garbage=header_text, range_=st.none() | st.sampled_from(
           ["bytes=0-0", "bytes=-1", "bytes=99999999999999999999-", "bytes=5-1", "bytes=0-1,2-3",
            "bytes=" + ",".join(["0-0"] * 500), "items=1-2"]) | header_text)
def test_media_never_answers_5xx(gw: Gateway, name: str, key: str, garbage: str,
                                 range_: str | None) -> None:
    name = name.replace("GOOD", gw.media_name)
    headers = {"none": {}, "read": bearer(gw.read_token), "all": bearer(gw.token),
               "garbage": {"Authorization": garbage, "X-API-Key": garbage}}[key]
    if range_ is not None:
        headers = {**headers, "Range": range_}
    judge(send(gw, "GET", f"/api/v1/media/{quote(name, safe='%')}", headers=headers))


KNOWN_PATHS = ("/healthz", "/readyz", "/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect",
               "/metrics", "/open311/v2/requests.xml", "/open311/v2/services.json",
               "/report", "/report/static/webform.css", "/channels/wechat",
               "/channels/twilio/sms", "/api/v1/intake", "/api/v1/tickets", "/api/v1/media/x",
               "/api/v1/tickets/x/events", "/", "/api", "/api/v1", "/api/v2/tickets",
               "/channels", "/static", "/favicon.ico", "/.env", "/admin")
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT",
           "PROPFIND", "BREW", "get")


@sweep(100)
@given(path=st.sampled_from(KNOWN_PATHS) | st.lists(hostile_text.filter(bool), min_size=1,
                                                    max_size=4).map(
           lambda segments: "/" + "/".join(quote(s, safe="") for s in segments)),
       suffix=st.sampled_from(["", "", "/", "/x", "%00", "/..", ";a=b", "%2F.."]),
       method=st.sampled_from(METHODS), query=st.one_of(st.just([]), queries(("a",))),
       headers=st.dictionaries(st.sampled_from(["Accept", "Content-Type", "Authorization",
                                                "X-Api-Key", "Origin", "X-Forwarded-For",
                                                "Accept-Encoding", "Cookie", "Range",
                                                "If-None-Match", "Host"]), header_text,
                               max_size=4),
       body=st.none() | st.binary(max_size=200))
def test_any_path_and_method_never_answers_5xx(gw: Gateway, path: str, suffix: str, method: str,
                                               query: list[tuple[str, str]],
                                               headers: dict[str, str],
                                               body: bytes | None) -> None:
    qs = query_of(query)
    if "Host" in headers and not headers["Host"]:
        del headers["Host"]
    judge(send(gw, method, path + suffix + (f"?{qs}" if qs else ""), data=body,
               headers=headers), html_ok=path.startswith("/report"))


# -- Open311 ----------------------------------------------------------------------------------
OPEN311_FIELDS = ("jurisdiction_id", "api_key", "service_code", "lat", "long", "address_string",
                  "description", "media_url", "device_id", "account_id", "first_name",
                  "last_name", "phone", "email", "attribute[kind]", "attribute[grid]",
                  "attribute[client_ref]", "attribute[fixmystreet_id]", "service_request_id",
                  "status", "update_id", "updated_datetime", "start_date", "end_date", "page",
                  "page_size")
OPEN311_PATHS = ("requests", "servicerequestupdates", "services", "discovery",
                 "requests/GOOD", "tokens/GOOD", "services/unclassified")


open311_calls = dict(
    path=st.sampled_from(OPEN311_PATHS), fmt=st.sampled_from(["xml", "json", "html", ""]),
    method=st.sampled_from(["GET", "POST"]), valid=st.booleans(),
    fields=st.lists(st.tuples(st.sampled_from(OPEN311_FIELDS) | hostile_text, hostile_text),
                    max_size=8))


@sweep(100)
@given(**open311_calls)
def test_open311_never_answers_5xx(gw: Gateway, path: str, fmt: str, method: str,
                                   valid: bool, fields: list[tuple[str, str]]) -> None:
    """Any fields, hostile or missing, with and without a valid key and body."""
    open311_call(gw, path, fmt, method, valid, fields)


@pytest.mark.integration
@sweep(40)
@given(**open311_calls)
def test_open311_never_answers_5xx_on_postgresql(pg: Gateway, path: str, fmt: str, method: str,
                                                 valid: bool, fields: list[tuple[str, str]]
                                                 ) -> None:
    open311_call(pg, path, fmt, method, valid, fields)


def open311_call(either: Gateway, path: str, fmt: str, method: str, valid: bool,
                 fields: list[tuple[str, str]]) -> None:
    base = [("api_key", either.token), ("service_code", "unclassified"),
            ("address_string", "东四十条35号"), ("service_request_id", either.ticket_number),
            ("status", "OPEN")] if valid else []
    pairs = base + fields
    url = f"/open311/v2/{path.replace('GOOD', either.ticket_number)}.{fmt}"
    if method == "GET":
        judge(send(either, "GET", f"{url}?{query_of(pairs)}"))
    else:
        judge(send(either, "POST", url, data=query_of(pairs),
                   headers={"Content-Type": "application/x-www-form-urlencoded"}))


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/docs", "/redoc", "/openapi.json",
                                  "/docs/oauth2-redirect"])
def test_ops_and_documentation_pages_answer(gw: Gateway, path: str) -> None:
    response = send(gw, "GET", path + "?" + query_of([("\x00", "\x00"), ("a", "9" * 5000)]))
    judge(response)
    assert response.status_code == 200, response.text


# -- NUL and control characters through every channel ---------------------------------------------
CONTROL = ("\x00", "a\x00b", "\x01", "\x1b[0m", "\x7f", "\x0b\x0c")


def control_requests(gw: Gateway, value: str) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(what, method, url, request arguments) carrying ``value`` in one field each."""
    serial = next(_serial)
    sms_url = verify.signed_url(PUBLIC_URL, verify.PATH)
    for field in ("MessageSid", "From", "To", "Body", "MediaUrl0", "MediaContentType0"):
        form = {"MessageSid": f"SMctl{serial}{field}", "From": "+8613800138000",
                "Body": "路灯坏了", "NumMedia": "0"}
        if field.startswith("Media"):
            form.update(NumMedia="1", MediaUrl0="https://api.twilio.com/m",
                        MediaContentType0="image/jpeg")
        form[field] = form.get(field, "x") + value + "x"
        yield (f"signed SMS, {field}", "POST", verify.PATH, {
            "data": form, "headers": {"X-Twilio-Signature": verify.sign(TWILIO_TOKEN, sms_url,
                                                                        form)}})
    for field in ("description", "name", "address", "phone", "grid", "kind", "lat"):
        nonce, token = valid_token()
        fields = {**GOOD_FORM, "csrf": token}
        fields[field] = fields.get(field, "") + value + "x"
        yield (f"web form (valid token), {field}", "POST", "/report", {
            "data": fields, "headers": {"Cookie": f"{csrf.COOKIE_NAME}={nonce}",
                                        "Accept": "text/html"}})
    # XML cannot carry these characters, raw or as character references: a 400 is right
    for raw in (value, "".join(f"&#{ord(c)};" for c in value)):
        now = str(int(time.time()))
        xml = (f"<xml><ToUserName>gh</ToUserName><FromUserName>o{raw}</FromUserName>"
               f"<CreateTime>{now}</CreateTime><MsgType>text</MsgType>"
               f"<Content>x{raw}</Content><MsgId>{serial}</MsgId></xml>")
        yield ("signed WeChat push", "POST",
               f"/channels/wechat?{signed_query(now, f'ctl{next(_serial)}')}",
               {"data": xml.encode(), "headers": {"Content-Type": "text/xml"}})
    now = str(int(time.time()))
    location = (f"<xml><ToUserName>gh</ToUserName><FromUserName>oCtl{serial}</FromUserName>"
                f"<CreateTime>{now}</CreateTime><MsgType>event</MsgType><Event>LOCATION</Event>"
                "<Latitude>39.9</Latitude><Longitude>116.4</Longitude>"
                "<Precision>NaN</Precision></xml>")
    yield ("signed WeChat LOCATION, Precision NaN", "POST",
           f"/channels/wechat?{signed_query(now, f'ctl{next(_serial)}')}",
           {"data": location.encode(), "headers": {"Content-Type": "text/xml"}})
    for field in ("channel_ref", "text"):
        body = {"channel_ref": f"ctl{serial}", "text": "x"}
        body[field] += value
        yield (f"JSON intake, {field}", "POST", "/api/v1/intake",
               {"json": body, "headers": bearer(gw.token)})
    yield ("event note", "POST", f"/api/v1/tickets/{gw.ticket_id}/events",
           {"json": {"actor": "a", "note": value}, "headers": bearer(gw.token)})
    for field in ("description", "address_string", "attribute[note]", "device_id"):
        form = {"api_key": gw.token, "service_code": "unclassified", "address_string": "x"}
        form[field] = form.get(field, "x") + value
        yield (f"Open311 POST requests, {field}", "POST", "/open311/v2/requests.xml",
               {"data": form})
    quoted = quote(value, safe="")
    yield ("media name", "GET", f"/api/v1/media/{quoted}", {"headers": bearer(gw.token)})
    yield ("ticket id", "GET", f"/api/v1/tickets/{quoted}", {"headers": bearer(gw.token)})
    yield ("ticket id of an event", "POST", f"/api/v1/tickets/{quoted}/events",
           {"json": {"actor": "a", "note": "n"}, "headers": bearer(gw.token)})


@pytest.mark.parametrize("value", CONTROL, ids=[repr(c) for c in CONTROL])
def test_control_characters_through_every_channel(either: Gateway, value: str) -> None:
    """One field at a time, every channel; all failures are listed together."""
    failures = []
    for what, method, url, arguments in control_requests(either, value):
        try:
            judge(send(either, method, url, **arguments), html_ok=url == "/report")
        except AssertionError as exc:
            cause = exc.__cause__
            failures.append(f"{what}: {type(cause).__name__ + ': ' if cause else ''}"
                            f"{str(cause or exc).splitlines()[0][:200]}")
    assert not failures, f"{len(failures)} requests with {value!r} got a 5xx:\n" + "\n".join(
        failures)
