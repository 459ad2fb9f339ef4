"""The MMS media job against a real loopback HTTP server standing in for api.twilio.com."""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from channels.conversation import handle
from channels.twilio_sms.config import TwilioConfig
from channels.twilio_sms.media import MediaNotConfigured, fetch_twilio_media
from channels.twilio_sms.verify import PATH, sign, signed_url
from hotline.app import create_app
from hotline.worker import WorkerContext
from tests.channels.twilio_sms.conftest import AUTH_TOKEN, PUBLIC_URL, settings
from tests.support.intakes import intake
from tests.support.services import RedisServer, free_port
from tickets.jobs import path_of, queue_of
from tickets.model import Attachment, Citizen, Intake
from tickets.queues import QueueName
from tickets.redisclient import connect
from tickets.relay import relay_once
from tickets.store import Store
from tickets.worker import ContextWorker

SID, TOKEN = "AC" + "2" * 32, "media-token-123"
PICTURE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
LOOPBACK = frozenset({"127.0.0.1"})


class FakeTwilio(BaseHTTPRequestHandler):
    """``/Media/ME1`` needs basic auth and redirects to ``localhost`` (another origin, like
    Twilio's CDN), which records the Authorization header it got."""

    seen_on_cdn: list[str | None]
    port: int

    def do_GET(self) -> None:
        expected = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
        if self.path.startswith("/Media/"):
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.end_headers()
                return
            self.send_response(307)
            self.send_header("Location", f"http://localhost:{self.port}/cdn{self.path[6:]}")
            self.end_headers()
            return
        self.seen_on_cdn.append(self.headers.get("Authorization"))
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(PICTURE)))
        self.end_headers()
        self.wfile.write(PICTURE)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def twilio_server() -> Iterator[tuple[str, list[str | None]]]:
    port = free_port()
    seen: list[str | None] = []
    handler = type("Handler", (FakeTwilio,), {"seen_on_cdn": seen, "port": port})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", seen
    server.shutdown()
    server.server_close()
    thread.join(5)


def context(store: Store, tmp_path: Path, token: str | None = TOKEN,
            account_sid: str | None = SID) -> WorkerContext:
    """What ``hotline worker`` builds, with loopback standing in for Twilio's hosts."""
    return WorkerContext(store=store, media_dir=tmp_path / "media",
                         twilio=TwilioConfig(account_sid=account_sid, auth_token=token),
                         twilio_media_hosts=LOOPBACK)


def mms(ref: str, url: str) -> Intake:
    return intake(ref, "照片", citizen=Citizen(phone="+8613912345678"),
                  attachments=[Attachment(url=url, content_type="image/png")])


def test_the_job_is_named_by_its_function_and_runs_on_the_media_queue() -> None:
    assert path_of(fetch_twilio_media) == "channels.twilio_sms.media.fetch_twilio_media"
    assert queue_of(fetch_twilio_media) is QueueName.media


def test_fetches_with_basic_auth_and_replaces_the_attachment(
        store: Store, tmp_path: Path, twilio_server: tuple[str, list[str | None]]) -> None:
    base, seen_on_cdn = twilio_server
    url = base + "/Media/ME1"
    ctx = context(store, tmp_path)
    ticket = handle(store, mms("MM1", url)).ticket
    saved_url = fetch_twilio_media(ctx, ticket.id, url, "image/png")
    digest = hashlib.sha256(PICTURE).hexdigest()
    assert saved_url == f"/api/v1/media/{digest}.png"
    assert (ctx.media_dir / f"{digest}.png").read_bytes() == PICTURE
    [a] = store.get(ticket.id).attachments
    assert (a.url, a.sha256, a.size) == (saved_url, digest, len(PICTURE))
    assert seen_on_cdn == [None]  # credentials never left the Twilio origin
    assert fetch_twilio_media(ctx, ticket.id, url, "image/png") == "already fetched"
    assert seen_on_cdn == [None]


def test_follow_up_media_is_found_by_ticket_id(
        store: Store, tmp_path: Path, twilio_server: tuple[str, list[str | None]]) -> None:
    base, _ = twilio_server
    first = handle(store, mms("MM2", base + "/Media/ME2")).ticket
    follow = handle(store, mms("MM3", base + "/Media/ME3"))
    assert follow.ticket.id == first.id
    fetch_twilio_media(context(store, tmp_path), first.id, base + "/Media/ME3", "image/png")
    urls = [a.url for a in store.get(first.id).attachments]
    assert urls[0] == base + "/Media/ME2" and urls[1].startswith("/api/v1/media/")


def test_wrong_credentials_fail_and_change_nothing(
        store: Store, tmp_path: Path, twilio_server: tuple[str, list[str | None]]) -> None:
    base, _ = twilio_server
    ticket = handle(store, mms("MM4", base + "/Media/ME4")).ticket
    with pytest.raises(Exception, match="401"):
        fetch_twilio_media(context(store, tmp_path, token="wrong"), ticket.id,
                           base + "/Media/ME4", "image/png")
    assert store.get(ticket.id).attachments[0].url == base + "/Media/ME4"


def test_credentials_go_only_to_twilio_hosts(store: Store, tmp_path: Path) -> None:
    ticket = handle(store, mms("MM5", "https://evil.example.com/x.png")).ticket
    with pytest.raises(ValueError, match=r"evil\.example\.com"):
        fetch_twilio_media(context(store, tmp_path), ticket.id,
                           "https://evil.example.com/x.png", "image/png")


@pytest.mark.parametrize("sid,token", [(None, TOKEN), (SID, None), (None, None)])
def test_unconfigured_worker_says_which_settings(store: Store, tmp_path: Path,
                                                 sid: str | None, token: str | None) -> None:
    url = "http://127.0.0.1:9/Media/ME6"
    ticket = handle(store, mms("MM6", url)).ticket
    with pytest.raises(MediaNotConfigured, match="HOTLINE_TWILIO_AUTH_TOKEN"):
        fetch_twilio_media(context(store, tmp_path, token=token, account_sid=sid), ticket.id,
                           url, "image/png")
    assert store.get(ticket.id).attachments[0].url == url


def test_webhook_outbox_relay_and_rq_worker_fetch_the_picture(
        store: Store, tmp_path: Path, redis_server: RedisServer,
        twilio_server: tuple[str, list[str | None]]) -> None:
    """The whole path: signed MMS webhook → outbox row → relay → RQ ``media`` queue → job."""
    base, _ = twilio_server
    form = {"MessageSid": "MM9", "From": "+8613912345678", "Body": "井盖丢了",
            "NumMedia": "1", "MediaUrl0": base + "/Media/ME9", "MediaContentType0": "image/png"}
    sig = sign(AUTH_TOKEN, signed_url(PUBLIC_URL), form)
    with TestClient(create_app(settings(tmp_path), store=store, redis_url="")) as client:
        r = client.post(PATH, data=form, headers={"X-Twilio-Signature": sig})
    assert r.status_code == 200, r.text
    redis = connect(redis_server.url)
    assert relay_once(store.db, redis) == 2  # the dispatch job and the media job
    store.db.dispose()  # as ``hotline worker`` does: no pooled connection crosses the fork
    worker = ContextWorker([QueueName.media], connection=redis,
                           context=context(store, tmp_path))
    assert worker.work(burst=True)
    ticket = store.find_by_ref("sms", "MM9")
    assert ticket is not None and ticket.number in r.text
    [a] = ticket.attachments
    assert a.sha256 == hashlib.sha256(PICTURE).hexdigest() and a.url.startswith("/api/v1/media/")
    assert (tmp_path / "media" / a.url.rsplit("/", 1)[1]).read_bytes() == PICTURE
    redis.close()
