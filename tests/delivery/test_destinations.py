"""How destinations are reached: ids and patterns, the most specific webhook wins, streams, and
the settings that carry them (https only, real secrets outside development)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from delivery.destinations import (
    DestinationError,
    Destinations,
    Webhook,
    WebhookTarget,
    check_id,
    check_pattern,
    is_placeholder,
    parse_webhooks,
)
from hotline.settings import Settings
from hotline.worker import destinations_config

REAL = "k8Jq2vN5xR7tW1zA4cE6hT3mY9pL0sD2fG5b"  # 36 random characters, no placeholder word


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("HOTLINE_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize("good", ["district", "street:DS", "street:DHM", "street:TYGL",
                                  "dept:dept.urban-management", "dept:water"])
def test_destination_ids(good: str) -> None:
    assert check_id(good) == good


@pytest.mark.parametrize("bad", ["", "District", "street:", "street:ds", "street:D S",
                                 "dept:", "dept:Urban", "city", "street:*", "*",
                                 "street:DS\n", "dept:a/b", "x" * 200])
def test_malformed_ids_are_refused(bad: str) -> None:
    with pytest.raises(DestinationError):
        check_id(bad)


@pytest.mark.parametrize("pattern", ["*", "street:*", "dept:*", "district", "street:DS"])
def test_patterns(pattern: str) -> None:
    assert check_pattern(pattern) == pattern


@pytest.mark.parametrize("bad", ["district:*", "street:D*", "**", "str*"])
def test_malformed_patterns_are_refused(bad: str) -> None:
    with pytest.raises(DestinationError, match="neither"):
        check_pattern(bad)


def test_the_most_specific_webhook_wins() -> None:
    every, streets, ds = (Webhook(f"https://{n}.example.org/h", REAL)
                          for n in ("every", "streets", "ds"))
    d = Destinations(webhooks={"*": every, "street:*": streets, "street:DS": ds})
    assert d.route("street:DS").webhook == ds
    assert d.route("street:JS").webhook == streets
    assert d.route("district").webhook == every
    assert d.route("dept:dept.health").webhook == every
    assert Destinations(webhooks={"street:*": streets}).route("dept:x").webhook is None


def test_streams_and_transports() -> None:
    hook = Webhook("https://ds.example.org/h", REAL)
    d = Destinations(webhooks={"street:DS": hook}, streams=("street:*", "district"))
    assert d.route("street:DS").transport == "webhook+stream"
    assert d.route("street:DS").stream == "hotline:dest:street:DS"
    assert d.route("street:JS").transport == "stream"
    assert d.route("district").stream == "hotline:dest:district"
    assert d.route("dept:dept.health").transport == "feed"  # neither: feed-only
    assert d.route("dept:dept.health").stream is None
    assert Destinations().route("district").transport == "feed"


def test_a_route_refuses_a_malformed_id_and_the_config_a_malformed_pattern() -> None:
    with pytest.raises(DestinationError):
        Destinations().route("street:ds")
    with pytest.raises(DestinationError):
        Destinations(streams=("streets",))
    with pytest.raises(DestinationError):
        Destinations(max_attempts=0)


def test_the_secret_never_shows_in_a_repr() -> None:
    assert REAL not in repr(Webhook("https://a.example.org", REAL))
    assert REAL not in repr(WebhookTarget(url="https://a.example.org", secret=REAL))


@pytest.mark.parametrize(("url", "ok"), [
    ("https://backoffice.dongcheng.example.org/hotline", True),
    ("https://10.1.2.3:8443/in", True),
    ("http://127.0.0.1:9000/in", True),
    ("http://localhost/in", True),
    ("http://[::1]:9000/in", True),
    ("http://backoffice.example.org/in", False),  # plain http off this machine
    ("http://127.0.0.2/in", False),
    ("ftp://127.0.0.1/in", False),
    ("https:///no-host", False),
    ("https://user:pw@backoffice.example.org/in", False),
    ("backoffice.example.org", False),
])
def test_webhook_urls(url: str, ok: bool) -> None:
    if ok:
        assert parse_webhooks({"street:DS": {"url": url, "secret": REAL}})["street:DS"].url == url
    else:
        with pytest.raises(DestinationError, match=r"^street:DS: url: "):
            parse_webhooks({"street:DS": {"url": url, "secret": REAL}})


def test_webhook_entries_are_checked_one_line_each() -> None:
    with pytest.raises(DestinationError, match="street:DS: secret: must be at least 16"):
        parse_webhooks({"street:DS": {"url": "https://a.example.org", "secret": "short"}})
    with pytest.raises(DestinationError, match="street:DS: url: Field required"):
        parse_webhooks({"street:DS": {"secret": REAL}})
    with pytest.raises(DestinationError, match="street:DS: extra: Extra inputs"):
        parse_webhooks({"street:DS": {"url": "https://a.example.org", "secret": REAL,
                                      "extra": 1}})
    with pytest.raises(DestinationError, match="neither a destination id"):
        parse_webhooks({"streets": {"url": "https://a.example.org", "secret": REAL}})


@pytest.mark.parametrize(("secret", "placeholder"), [
    ("changeme-changeme", True), ("CHANGE-ME-0000000000", True), ("my-webhook-secret-1", True),
    ("your-secret-goes-here", True), ("xxxxxxxxxxxxxxxx", True), ("abababababababab", True),
    ("example-key-123456", True), (REAL, False), ("9f86d081884c7d659a2feaa0c55ad015", False),
])
def test_placeholders(secret: str, placeholder: bool) -> None:
    assert is_placeholder(secret) is placeholder


@pytest.mark.usefixtures("clean_env")
def test_settings_read_webhooks_and_streams_from_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_WEBHOOKS", '{"street:*": {"url": "https://s.example.org/h", '
                                           f'"secret": "{REAL}"}}}}')
    monkeypatch.setenv("HOTLINE_STREAMS", '["district", "dept:*"]')
    monkeypatch.setenv("HOTLINE_DELIVERY_MAX_ATTEMPTS", "12")
    settings = Settings()
    assert settings.streams == ["district", "dept:*"]
    assert REAL not in repr(settings)
    config = destinations_config(settings)
    assert config.route("street:DS").webhook == Webhook("https://s.example.org/h", REAL)
    assert config.route("district").transport == "stream"
    assert config.max_attempts == 12 and config.timeout == 10.0
    monkeypatch.setenv("HOTLINE_STREAMS", "district, street:*")  # a plain list works too
    assert Settings().streams == ["district", "street:*"]


@pytest.mark.usefixtures("clean_env")
def test_settings_default_to_feed_only() -> None:
    config = destinations_config(Settings())
    assert config.webhooks == {} and config.streams == ()
    assert config.route("street:DS").transport == "feed"


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize(("name", "value", "message"), [
    ("HOTLINE_WEBHOOKS", "{not json", "HOTLINE_WEBHOOKS.*is not JSON"),
    ("HOTLINE_WEBHOOKS", '["street:DS"]', "HOTLINE_WEBHOOKS.*must be a JSON object"),
    ("HOTLINE_WEBHOOKS", '{"street:DS": {"url": "http://a.example.org", "secret": "'
     + REAL + '"}}', "street:DS: url: 'http://a.example.org' must be https://"),
    ("HOTLINE_STREAMS", '["street:ds"]', "HOTLINE_STREAMS.*neither a destination id"),
    ("HOTLINE_STREAMS", '{"a": 1}', "HOTLINE_STREAMS.*JSON list"),
    ("HOTLINE_DELIVERY_MAX_ATTEMPTS", "0", "HOTLINE_DELIVERY_MAX_ATTEMPTS|delivery_max"),
])
def test_bad_settings_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str,
                                  message: str) -> None:
    from hotline.context import settings_or_error
    from hotline.errors import CliError

    monkeypatch.setenv(name, value)
    with pytest.raises(CliError, match=message) as refused:
        settings_or_error()
    assert "\n" not in str(refused.value)


@pytest.mark.usefixtures("clean_env")
def test_placeholder_webhook_secrets_are_refused_outside_development(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOTLINE_WEBHOOKS", '{"district": {"url": "https://d.example.org", '
                                           '"secret": "changeme-changeme-changeme"}}')
    with pytest.raises(ValidationError, match="district: the secret is a placeholder"):
        Settings()
    monkeypatch.setenv("HOTLINE_ENV", "development")
    assert "district" in Settings().webhooks
