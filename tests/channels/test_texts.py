"""The catalogue of resident-facing texts: the shipped file, and broken copies of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from channels.texts import (
    FILE,
    PLACEHOLDERS,
    SmsTexts,
    Texts,
    TextsError,
    WechatTexts,
    load,
    parse,
    placeholders,
    texts,
)
from tickets.model import Kind, Status


def shipped() -> dict[str, Any]:
    data = yaml.safe_load(FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_the_shipped_catalogue_loads_and_labels_every_kind_and_status() -> None:
    catalogue = texts()
    assert isinstance(catalogue, Texts) and catalogue is texts()  # loaded once
    assert {catalogue.kind(k) for k in Kind} and all(catalogue.kind(k) for k in Kind)
    assert all(catalogue.status(s) for s in Status)
    assert catalogue.kind(Kind.complaint) == "投诉"
    assert catalogue.sms.acknowledged.format(number="2611260001").count("2611260001") == 1
    assert placeholders(catalogue.wechat.acknowledged) == {"kind", "number"}
    for template in (catalogue.sms.rate_limited, catalogue.wechat.rate_limited,
                     catalogue.web.rate_limited):
        assert "96010" in template and placeholders(template) == frozenset()


def _broken(tmp_path: Path, change: Any) -> Path:
    data = shipped()
    change(data)
    path = tmp_path / "texts.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("change,named", [
    (lambda d: d["sms"].pop("rate_limited"), "sms.rate_limited"),
    (lambda d: d["wechat"].pop("welcome"), "wechat.welcome"),
    (lambda d: d.pop("web"), "web"),
    (lambda d: d["kinds"].pop("report"), "report"),
    (lambda d: d["statuses"].pop("merged"), "merged"),
    (lambda d: d["sms"].update(rate_limited="  "), "rate_limited"),
], ids=["sms-entry", "wechat-entry", "section", "kind-label", "status-label", "blank"])
def test_a_missing_entry_is_named(tmp_path: Path, change: Any, named: str) -> None:
    with pytest.raises(TextsError, match=named.replace(".", r"\.")):
        load(_broken(tmp_path, change))


@pytest.mark.parametrize("section,entry,text", [
    ("sms", "acknowledged", "您的诉求已受理，工单号{numbr}。"),  # misspelt
    ("sms", "acknowledged", "您的诉求已受理。"),  # the number dropped
    ("sms", "evaluated", "感谢您的评价（{score}分）。"),  # one of two dropped
    ("wechat", "acknowledged", "您的诉求已受理，工单号{number}。"),  # WeChat also needs {kind}
    ("wechat", "welcome", "欢迎{name}关注96010"),  # a slot without placeholders
    ("web", "rate_limited", "请稍后再试{number}"),
], ids=["misspelt", "dropped", "one-of-two", "wechat-kind", "unexpected", "web"])
def test_a_wrong_placeholder_is_named(tmp_path: Path, section: str, entry: str,
                                      text: str) -> None:
    def change(data: dict[str, Any]) -> None:
        data[section][entry] = text

    with pytest.raises(TextsError, match=f"{section}: '{entry}'") as refused:
        load(_broken(tmp_path, change))
    assert str(tmp_path / "texts.yaml") in str(refused.value)


def test_an_unknown_entry_or_kind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TextsError, match=r"sms\.greeting"):
        load(_broken(tmp_path, lambda d: d["sms"].update(greeting="你好")))
    with pytest.raises(TextsError, match="kinds"):
        load(_broken(tmp_path, lambda d: d["kinds"].update(praise="表扬")))


def test_not_a_catalogue_at_all(tmp_path: Path) -> None:
    path = tmp_path / "texts.yaml"
    path.write_text("sms: [unclosed", encoding="utf-8")
    with pytest.raises(TextsError, match="not valid YAML"):
        load(path)
    with pytest.raises(TextsError, match="mapping"):
        parse(["a", "list"], "texts.yaml")


def test_every_slot_with_placeholders_exists() -> None:
    """The placeholder table names only slots the catalogue has (a renamed slot would
    otherwise silently lose its check)."""
    slots = set(SmsTexts.model_fields) | set(WechatTexts.model_fields)
    assert set(PLACEHOLDERS) <= slots
