"""``GET|POST /report`` through the real app and the real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from PIL import ExifTags, Image

from channels.deps import install
from channels.texts import texts
from channels.webform import csrf
from channels.webform.config import WebformConfig
from channels.webform.imaging import PhotoWorkers
from channels.webform.route import router
from hotline.app import create_app
from hotline.settings import Settings
from tests.channels.webform import images
from tickets import apikeys, httperrors
from tickets.apikeys import Scope
from tickets.model import Channel, Kind
from tickets.ratelimit import RateLimiter
from tickets.store import Store

SECRET = "web-secret-for-tests-0123456789abcdef"
HTML = {"accept": "text/html,application/xhtml+xml"}
FIELDS = {"kind": "complaint", "description": "幸福路12号门口井盖丢失，晚上很危险",
          "phone": "138 0013 8000", "consent": "on", "name": "王女士",
          "address": "幸福路12号"}

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def settings(tmp_path: Path, **over: Any) -> Settings:
    return Settings(env="development", data_dir=tmp_path, web_secret=SECRET,
                    _env_file=None, **over)


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    return settings(tmp_path).media_path


async def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                             base_url="http://testserver", headers=HTML)


@pytest.fixture
async def client(store: Store, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings(tmp_path), store=store, redis_url="")
    async with await client_for(app) as c:
        yield c


def token_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


async def fresh_token(client: httpx.AsyncClient, query: str = "") -> str:
    r = await client.get("/report" + query)
    assert r.status_code == 200, r.text
    return token_of(r.text)


def number_of(page: str) -> str:
    found = re.search(r'id="ticket-number">(\d{10,})<', page)  # 11+ digits past 9,999 a day
    assert found, page
    return found.group(1)


def photo_files(*photos: bytes) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("photos", (f"p{i}.jpg", data, "image/jpeg")) for i, data in enumerate(photos)]


def media_files(media_dir: Path) -> list[Path]:
    return sorted(media_dir.glob("*")) if media_dir.exists() else []


def tickets(store: Store) -> list[Any]:
    return store.feed(0, 100)


async def post(client: httpx.AsyncClient, token: str, fields: dict[str, str] | None = None,
               files: list[Any] | None = None) -> httpx.Response:
    data = {**(FIELDS if fields is None else fields), "csrf": token}
    # An empty file part, as a browser sends when no photo is chosen.
    return await client.post("/report", data=data,
                             files=files or [("photos", ("", b"", "application/octet-stream"))])


# -- the page -------------------------------------------------------------------------------
async def test_form_page_is_chinese_mobile_first_and_locked_down(
        client: httpx.AsyncClient) -> None:
    r = await client.get("/report")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in r.text and 'name="viewport"' in r.text
    for label in ("咨询", "求助", "投诉", "举报", "建议"):
        assert label in r.text
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    # The empty form may be kept for the back button (same token → same ticket); pages with
    # what the resident typed are not stored. The form posts to another URL than the page's,
    # as a POST to a URL evicts the browser's cached copy of it.
    assert r.headers["cache-control"] == "private, no-cache"
    assert 'action="/report?submit=1"' in r.text
    assert re.findall(r"<script(?![^>]*\bsrc=)", r.text) == []  # no inline script
    assert " style=" not in r.text and "<style" not in r.text
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/report" in cookie
    assert token_of(r.text)


async def test_photo_limits_shown_follow_the_body_limit(client: httpx.AsyncClient,
                                                        store: Store, tmp_path: Path) -> None:
    page = (await client.get("/report")).text  # default HOTLINE_MAX_UPLOAD_BYTES: 4 × 8 MiB fit
    assert "最多 4 张，每张不超过 8 MB。" in page
    small = create_app(settings(tmp_path, max_upload_bytes=1024 * 1024), store=store,
                       redis_url="")
    async with await client_for(small) as c:
        page = (await c.get("/report")).text
    budget = 1024 * 1024 - 64 * 1024
    assert f'data-max-bytes="{budget}" data-max-total="{budget}"' in page
    assert "最多 4 张，合计不超过 0.9 MB。" in page
    roomy = create_app(settings(tmp_path, max_upload_bytes=40 * 1024 * 1024), store=store,
                       redis_url="")
    async with await client_for(roomy) as c:
        page = (await c.get("/report")).text
    assert f'data-max-bytes="{8 * 1024 * 1024}" data-max-total=""' in page
    assert "最多 4 张，每张不超过 8 MB。" in page
    mid = create_app(settings(tmp_path, max_upload_bytes=20 * 1024 * 1024), store=store,
                     redis_url="")
    async with await client_for(mid) as c:
        page = (await c.get("/report")).text
    assert "最多 4 张，每张不超过 8 MB，合计不超过 19 MB。" in page


async def test_grid_cell_is_prefilled_and_shown_by_name(client: httpx.AsyncClient) -> None:
    r = await client.get("/report?grid=DC-DS-0101")
    assert 'id="grid-name">东四街道 · 东四三条社区 · 东四三条第一网格<' in r.text
    assert 'id="grid-code">DC-DS-0101<' in r.text
    assert '<input type="hidden" name="grid" value="DC-DS-0101">' in r.text
    bad = await client.get("/report", params={"grid": '"><script>alert(1)</script>'})
    assert bad.status_code == 200
    assert "网格编号无效" in bad.text and 'name="grid"' not in bad.text
    assert "<script>alert" not in bad.text


async def test_an_unknown_grid_code_is_refused_not_shown_as_valid(
        client: httpx.AsyncClient, store: Store) -> None:
    """Well formed, but no cell of places.yaml (an old poster, a typo)."""
    page = await client.get("/report?grid=DC-DS-9999")
    assert page.status_code == 200
    assert "网格编号无效" in page.text
    assert "DC-DS-9999" not in page.text and 'name="grid"' not in page.text
    token = await fresh_token(client)
    refused = await post(client, token, {**FIELDS, "grid": "DC-DS-9999"})
    assert refused.status_code == 422
    assert "网格编号无效，请重新扫描二维码" in refused.text
    assert store.feed(0, 10) == []  # nothing filed


async def test_static_assets(client: httpx.AsyncClient) -> None:
    page = (await client.get("/report")).text
    js = re.search(r'src="(/report/static/webform\.js\?v=[0-9a-f]+)"', page)
    css = re.search(r'href="(/report/static/webform\.css\?v=[0-9a-f]+)"', page)
    assert js and css
    r = await client.get(js.group(1))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert "geolocation" in r.text and r.headers["x-content-type-options"] == "nosniff"
    again = await client.get(js.group(1), headers={"if-none-match": r.headers["etag"]})
    assert again.status_code == 304
    assert (await client.get(css.group(1))).headers["content-type"].startswith("text/css")
    for name in ("nope.js", "..%2Fpages.py", "form.html"):
        missing = await client.get(f"/report/static/{name}")
        assert missing.status_code == 404


# -- a good report ----------------------------------------------------------------------------
async def test_report_with_a_shared_gps_photo_becomes_one_ticket(
        client: httpx.AsyncClient, store: Store, media_dir: Path) -> None:
    token = await fresh_token(client, "?grid=DC-DS-0101")
    fields = {**FIELDS, "grid": "DC-DS-0101", "share_photo_location": "on"}
    r = await post(client, token, fields, photo_files(images.jpeg(gps=images.GPS_BEIJING)))
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    number = number_of(r.text)
    assert "96010" in r.text and "按 <strong>9</strong>" in r.text
    assert "+86138****8000" in r.text and "13800138000" not in r.text

    ticket = store.get(number)
    assert ticket.channel is Channel.web and ticket.channel_ref == token.split(".")[0]
    assert ticket.kind is Kind.complaint and ticket.text == FIELDS["description"]
    assert ticket.citizen.phone == "+8613800138000" and ticket.citizen.consent_to_contact
    assert ticket.citizen.name == "王女士"
    assert ticket.location is not None
    assert ticket.location.address == "幸福路12号" and ticket.location.grid == "DC-DS-0101"
    assert (ticket.location.lat, ticket.location.lon) == images.BEIJING
    [attachment] = ticket.attachments
    assert attachment.content_type == "image/jpeg"
    [saved] = media_files(media_dir)
    assert attachment.url == f"/api/v1/media/{saved.name}" and saved.suffix == ".jpg"
    with Image.open(saved) as image:
        exif = image.getexif()
    assert set(exif) == {ExifTags.IFD.GPSInfo}  # the camera make/model are gone

    # Back office fetches the photo by the attachment URL (read scope).
    _, key = apikeys.create(store.db, "back office", frozenset({Scope.read}))
    fetched = await client.get(attachment.url, headers={"authorization": f"Bearer {key}"})
    assert fetched.status_code == 200 and fetched.content == saved.read_bytes()
    assert fetched.headers["content-type"] == "image/jpeg"


async def test_photo_location_is_stripped_unless_shared(
        client: httpx.AsyncClient, store: Store, media_dir: Path) -> None:
    token = await fresh_token(client)
    fields = {k: v for k, v in FIELDS.items() if k != "address"}
    r = await post(client, token, fields, photo_files(images.jpeg(gps=images.GPS_BEIJING),
                                                      images.png()))
    assert r.status_code == 200, r.text
    ticket = store.get(number_of(r.text))
    assert ticket.location is None
    assert len(ticket.attachments) == 2
    for path in media_files(media_dir):
        with Image.open(path) as image:
            assert dict(image.getexif()) == {}


async def test_browser_position_and_minimal_urlencoded_form(
        client: httpx.AsyncClient, store: Store) -> None:
    token = await fresh_token(client)
    r = await client.post("/report", data={"csrf": token, "kind": "suggestion",
                                           "description": "建议增加公交班次",
                                           "lat": "31.230416", "lon": "121.473701"})
    assert r.status_code == 200, r.text
    ticket = store.get(number_of(r.text))
    assert ticket.kind is Kind.suggestion and ticket.citizen.phone is None
    assert ticket.location is not None
    assert (ticket.location.lat, ticket.location.lon) == (31.230416, 121.473701)


async def test_the_same_page_sent_again_shows_the_same_ticket(
        client: httpx.AsyncClient, store: Store) -> None:
    token = await fresh_token(client)
    first = await post(client, token)
    again = await post(client, token)
    assert number_of(again.text) == number_of(first.text)
    assert "已经提交过" in again.text and "已经提交过" not in first.text
    assert len(tickets(store)) == 1


async def test_a_double_click_sent_three_times_at_once_makes_one_ticket(
        client: httpx.AsyncClient, store: Store, media_dir: Path) -> None:
    token = await fresh_token(client)
    photo = images.jpeg()
    responses = await asyncio.gather(*(post(client, token, files=photo_files(photo))
                                       for _ in range(3)))
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert len({number_of(r.text) for r in responses}) == 1
    assert len(tickets(store)) == 1
    assert len(media_files(media_dir)) == 1  # content-addressed: one file


async def test_two_pages_make_two_tickets(client: httpx.AsyncClient, store: Store) -> None:
    first = await post(client, await fresh_token(client))
    second = await post(client, await fresh_token(client))
    assert number_of(first.text) != number_of(second.text)
    assert len(tickets(store)) == 2


# -- refused input: a page with messages, nothing stored --------------------------------------
async def test_invalid_fields_are_shown_next_to_the_fields_with_the_input_kept(
        client: httpx.AsyncClient, store: Store, media_dir: Path) -> None:
    token = await fresh_token(client)
    fields = {"kind": "", "description": "<b>井盖</b>丢了", "phone": "12345",
              "name": "李", "address": "东街"}
    r = await post(client, token, fields, photo_files(images.jpeg()))
    assert r.status_code == 422 and r.headers["cache-control"] == "no-store"
    assert 'id="err-kind">请选择诉求类型<' in r.text
    assert 'id="err-phone">电话号码格式不正确' in r.text
    assert "&lt;b&gt;井盖&lt;/b&gt;丢了</textarea>" in r.text
    assert 'value="12345"' in r.text and 'value="东街"' in r.text
    assert "照片需要重新选择" in r.text
    assert token_of(r.text).split(".")[0] == token.split(".")[0]  # same submission id
    assert tickets(store) == [] and media_files(media_dir) == []

    fixed = await post(client, token_of(r.text), {**FIELDS})
    assert fixed.status_code == 200
    assert store.get(number_of(fixed.text)).channel_ref == token.split(".")[0]


async def test_text_posing_as_a_photo_is_refused(
        client: httpx.AsyncClient, store: Store, media_dir: Path) -> None:
    token = await fresh_token(client)
    files = [("photos", ("ok.jpg", images.jpeg(), "image/jpeg")),
             ("photos", ("evil.jpg", images.FAKE_IMAGE, "image/jpeg"))]
    r = await post(client, token, files=files)
    assert r.status_code == 422
    assert 'id="err-photos">第 2 张照片：文件不是可识别的图片' in r.text
    assert tickets(store) == [] and media_files(media_dir) == []


async def test_more_than_four_photos_are_refused(client: httpx.AsyncClient,
                                                 store: Store) -> None:
    token = await fresh_token(client)
    r = await post(client, token, files=photo_files(*[images.png()] * 5))
    assert r.status_code == 422 and "最多上传 4 张照片" in r.text
    assert tickets(store) == []


async def test_a_photo_over_the_configured_limit_is_refused(
        store: Store, tmp_path: Path) -> None:
    app = FastAPI()
    httperrors.install(app)
    app.state.store = store
    app.state.limiter = RateLimiter({})
    photos = PhotoWorkers(1)
    install(app, webform=WebformConfig(media_dir=tmp_path / "m", csrf_secret=SECRET,
                                       max_photo_bytes=100_000), photos=photos)
    app.include_router(router)
    try:
        async with await client_for(app) as c:
            token = await fresh_token(c)
            r = await post(c, token, files=photo_files(images.noisy_jpeg(150_000)))
            assert r.status_code == 422 and "每张照片不能超过 97 KB" in r.text
            assert "data-max-bytes=\"100000\"" in r.text
    finally:
        photos.close()
    assert tickets(store) == [] and not (tmp_path / "m").exists()


async def test_a_body_over_the_limit_is_413_and_nothing_is_stored(
        store: Store, tmp_path: Path) -> None:
    app = create_app(settings(tmp_path, max_upload_bytes=200_000), store=store, redis_url="")
    async with await client_for(app) as c:
        token = await fresh_token(c)
        r = await post(c, token, files=photo_files(images.noisy_jpeg(300_000)))
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"
    assert tickets(store) == [] and media_files(settings(tmp_path).media_path) == []


@pytest.mark.parametrize("content_type", ["multipart/form-data",
                                          "multipart/form-data; boundary=abc"])
async def test_malformed_multipart_is_400(client: httpx.AsyncClient, store: Store,
                                          content_type: str) -> None:
    await fresh_token(client)
    body = b"--abc\r\nbroken header\r\n\r\nx\r\n--abc--\r\n"
    r = await client.post("/report", content=body, headers={"content-type": content_type})
    assert r.status_code == 400 and "格式不正确" in r.text and "<html" in r.text
    as_api = await client.post("/report", content=body,
                               headers={"content-type": content_type, "accept": "*/*"})
    assert as_api.status_code == 400
    assert as_api.json()["error"]["message"].startswith("malformed form body")
    assert tickets(store) == []


async def test_json_is_415(client: httpx.AsyncClient, store: Store) -> None:
    r = await client.post("/report", json={"description": "x"}, headers={"accept": "*/*"})
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"
    assert tickets(store) == []


# -- CSRF -------------------------------------------------------------------------------------
async def test_a_post_without_the_cookie_is_refused(
        client: httpx.AsyncClient, store: Store, tmp_path: Path) -> None:
    token = await fresh_token(client)
    client.cookies.clear()
    r = await post(client, token)
    assert r.status_code == 403 and "页面校验失败" in r.text
    assert FIELDS["description"] in r.text  # the resident's text is kept
    assert tickets(store) == []
    retry = await post(client, token_of(r.text))  # the new page (and cookie) works
    assert retry.status_code == 200 and len(tickets(store)) == 1


@pytest.mark.parametrize("token", ["", "forged", "a" * 22 + ".1790000000." + "b" * 43])
async def test_forged_or_missing_tokens_are_refused(client: httpx.AsyncClient, store: Store,
                                                    token: str) -> None:
    await fresh_token(client)
    r = await post(client, token)
    assert r.status_code == 403
    assert tickets(store) == []


async def test_a_token_from_another_browser_is_refused(
        store: Store, tmp_path: Path) -> None:
    app = create_app(settings(tmp_path), store=store, redis_url="")
    async with await client_for(app) as attacker, await client_for(app) as victim:
        stolen = await fresh_token(attacker)
        await fresh_token(victim)
        r = await post(victim, stolen)
    assert r.status_code == 403 and tickets(store) == []


def expired_token(client: httpx.AsyncClient, submission_id: str) -> str:
    """A genuine token for this browser's cookie, issued two days ago."""
    nonce = client.cookies.get(csrf.COOKIE_NAME)
    assert nonce
    return csrf.issue(SECRET, nonce, submission_id, int(time.time()) - 2 * 24 * 3600)


async def test_an_expired_page_is_shown_again_with_the_text_kept(
        client: httpx.AsyncClient, store: Store) -> None:
    await fresh_token(client)
    r = await post(client, expired_token(client, csrf.new_submission_id()))
    assert r.status_code == 403 and "页面已过期" in r.text
    assert FIELDS["description"] in r.text
    assert tickets(store) == []
    assert (await post(client, token_of(r.text))).status_code == 200


async def test_an_expired_page_that_was_filed_shows_its_ticket(
        client: httpx.AsyncClient, store: Store) -> None:
    token = await fresh_token(client)
    number = number_of((await post(client, token)).text)
    r = await post(client, expired_token(client, token.split(".")[0]))
    assert r.status_code == 200 and number_of(r.text) == number and "已经提交过" in r.text
    assert len(tickets(store)) == 1


async def test_a_streamed_body_over_the_limit_is_413_and_nothing_is_stored(
        store: Store, tmp_path: Path) -> None:
    app = create_app(settings(tmp_path, max_upload_bytes=200_000), store=store, redis_url="")
    async with await client_for(app) as c:
        token = await fresh_token(c)
        request = c.build_request("POST", "/report", data={**FIELDS, "csrf": token},
                                  files=photo_files(images.noisy_jpeg(300_000)))
        body = request.read()

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
            for start in range(0, len(body), 16_384):
                yield body[start:start + 16_384]

        r = await c.post("/report", content=chunks(),
                         headers={"content-type": request.headers["content-type"]})
    assert r.status_code == 413
    assert tickets(store) == [] and media_files(settings(tmp_path).media_path) == []


async def test_without_a_secret_the_form_is_503(store: Store, tmp_path: Path) -> None:
    app = create_app(Settings(env="development", data_dir=tmp_path,
                              _env_file=None), store=store, redis_url="")
    async with await client_for(app) as c:
        for r in (await c.get("/report"), await c.post("/report", data=FIELDS)):
            assert r.status_code == 503
            assert "HOTLINE_WEB_SECRET" in r.json()["error"]["message"]
    assert tickets(store) == []



# -- found from outside (issue 9) -------------------------------------------------------------
GPS_WITHOUT_REFS: dict[int, object] = {2: (39.0, 54.0, 15.0), 4: (116.0, 23.0, 30.0)}


async def test_a_gps_photo_without_north_east_refs_shared_makes_a_ticket(
        client: httpx.AsyncClient, store: Store, media_dir: Path) -> None:
    """Before: copying the GPS tags into the re-encoded photo looked up the N/S and E/W
    reference tags that some cameras leave out → KeyError → 500, the report lost."""
    token = await fresh_token(client)
    fields = {**FIELDS, "share_photo_location": "on"}
    r = await post(client, token, fields, photo_files(images.jpeg(gps=GPS_WITHOUT_REFS)))
    assert r.status_code == 200, r.text
    ticket = store.get(number_of(r.text))
    assert ticket.location is not None
    assert (ticket.location.lat, ticket.location.lon) == images.BEIJING  # north, east assumed
    [saved] = media_files(media_dir)
    with Image.open(saved) as image:
        gps = image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert set(gps) == {2, 4}


def limited_settings(tmp_path: Path) -> Settings:
    return settings(tmp_path, rate_limit_web="3/minute")


async def test_one_address_over_its_limit_gets_429_and_others_do_not(
        store: Store, tmp_path: Path) -> None:
    app = create_app(limited_settings(tmp_path), store=store, redis_url="")
    async with await client_for(app) as c:
        for _ in range(3):
            assert (await post(c, await fresh_token(c))).status_code == 200
        token = await fresh_token(c)  # the page itself is not limited
        page = await post(c, token)
        assert page.status_code == 429 and page.headers["content-type"].startswith("text/html")
        assert texts().web.rate_limited in page.text
        as_api = await c.post("/report", data={**FIELDS, "csrf": token},
                              headers={"accept": "application/json"})
        assert as_api.status_code == 429
        assert as_api.json()["error"]["code"] == "too_many_requests"
    assert len(tickets(store)) == 3
    other = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("10.1.2.3", 5000)),
                              base_url="http://testserver", headers=HTML)
    async with other:
        r = await post(other, await fresh_token(other))
        assert r.status_code == 200, r.text
    assert len(tickets(store)) == 4


async def test_the_default_web_limit_refuses_the_21st_report_in_a_minute(
        client: httpx.AsyncClient, store: Store) -> None:
    """HOTLINE_RATE_LIMIT_WEB defaults to 20 a minute per address (before: 200 back-to-back
    posts from one client were all accepted)."""
    statuses = [(await post(client, await fresh_token(client))).status_code for _ in range(21)]
    assert statuses == [200] * 20 + [429]
    assert len(tickets(store)) == 20
