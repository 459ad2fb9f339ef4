"""The ``redis+sentinel://`` URL every process passes around when Sentinel finds the primary."""

from __future__ import annotations

import pytest

from tickets import redistarget
from tickets.ratelimit import storage_uri
from tickets.redistarget import BadSentinels, SentinelTarget


def test_a_target_survives_its_url_with_passwords_that_need_quoting() -> None:
    target = SentinelTarget((("10.0.0.1", 26379), ("sentinel-b", 26380)), "hotline",
                            "p@ss/word:1", "s&cret=?")
    url = target.url()
    assert url.startswith("redis+sentinel://:")
    assert redistarget.parse(url) == target
    plain = SentinelTarget((("h", 1),), "mymaster")
    assert plain.url() == "redis+sentinel://h:1/mymaster"
    assert redistarget.parse(plain.url()) == plain


def test_passwords_are_hidden_for_banners_and_logs() -> None:
    url = SentinelTarget((("h", 1),), "svc", "primary-pw", "sentinel-pw").url()
    shown = redistarget.hide_passwords(url)
    assert "primary-pw" not in shown and "sentinel-pw" not in shown
    assert redistarget.parse(shown) == SentinelTarget((("h", 1),), "svc", "***", "***")
    assert redistarget.hide_passwords("redis://:pw@h:1/0") == "redis://:***@h:1/0"
    assert redistarget.hide_passwords("unix:///x.sock") == "unix:///x.sock"


@pytest.mark.parametrize("bad", ["", " , ", "host", "host:", "host:port", ":26379", "h:0",
                                 "h:70000"])
def test_a_bad_sentinel_list_names_the_expected_form(bad: str) -> None:
    with pytest.raises(BadSentinels, match="26379"):
        redistarget.parse_sentinels(bad)


def test_addresses_are_trimmed_and_ipv6_brackets_dropped() -> None:
    assert redistarget.parse_sentinels(" a:1 ,[::1]:2,") == (("a", 1), ("::1", 2))


def test_a_url_without_a_service_is_refused() -> None:
    with pytest.raises(BadSentinels, match="service"):
        redistarget.parse("redis+sentinel://h:1/")


def test_rate_limits_get_the_sentinel_uri_without_passwords() -> None:
    url = SentinelTarget((("h", 1), ("g", 2)), "svc", "pw", "spw").url()
    assert storage_uri(url) == "async+redis+sentinel://h:1,g:2/svc"
