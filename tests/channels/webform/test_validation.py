"""Server-side validation of the web form: clean values out, zh-CN messages per field."""

from __future__ import annotations

import pytest

from channels.webform.validation import (
    DESCRIPTION_MAX,
    MAX_PHOTOS,
    normalize_phone,
    valid_grid,
    validate,
)
from tickets.model import Kind

GOOD = {"kind": "complaint", "description": "  小区门口路灯坏了一周  "}


def test_minimal_form_is_clean() -> None:
    checked = validate(GOOD)
    assert checked.errors == {}
    form = checked.form
    assert form is not None
    assert form.kind is Kind.complaint
    assert form.description == "小区门口路灯坏了一周"
    assert form.phone is None and form.name is None and form.address is None
    assert (form.lat, form.lon, form.grid) == (None, None, None)
    assert not form.consent and not form.share_photo_location and not form.callback


def test_everything_filled() -> None:
    checked = validate({**GOOD, "phone": "138 0013 8000", "consent": "on", "name": " 王女士 ",
                        "address": "幸福路\n12号", "lat": "39.9", "lon": "116.4",
                        "grid": "GX-0102", "share_photo_location": "on"})
    form = checked.form
    assert form is not None, checked.errors
    assert form.phone == "+8613800138000" and form.consent
    assert form.name == "王女士" and form.address == "幸福路 12号"
    assert (form.lat, form.lon, form.grid) == (39.9, 116.4, "GX-0102")
    assert form.share_photo_location


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("13800138000", "+8613800138000"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("010 6512 3456", "+861065123456"),
        ("+1 415 555 2671", "+14155552671"),
        ("12345", None),
        ("电话", None),
        ("", None),
    ],
)
def test_phone_normalization(raw: str, e164: str | None) -> None:
    assert normalize_phone(raw) == e164


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"kind": ""}, "kind", "请选择诉求类型"),
        ({"kind": "unknown"}, "kind", "请选择诉求类型"),
        ({"kind": "<script>"}, "kind", "请选择诉求类型"),
        ({"description": "   "}, "description", "请填写诉求内容"),
        ({"description": "长" * (DESCRIPTION_MAX + 1)}, "description", "不能超过"),
        ({"phone": "123"}, "phone", "电话号码格式不正确"),
        ({"consent": "on"}, "phone", "请填写电话号码"),
        ({"callback": "on"}, "phone", "电话回访需要填写电话号码并同意联系"),
        ({"callback": "on", "phone": "01065123456"}, "phone", "电话回访需要"),
        ({"name": "名" * 51}, "name", "姓名不能超过"),
        ({"address": "址" * 201}, "address", "地址不能超过"),
        ({"lat": "91", "lon": "116"}, "address", "定位信息无效"),
        ({"lat": "nan", "lon": "116"}, "address", "定位信息无效"),
        ({"lat": "39.9"}, "address", "定位信息无效"),
        ({"grid": "../etc/passwd"}, "grid", "网格编号无效"),
        ({"grid": "A" * 33}, "grid", "网格编号无效"),
    ],
)
def test_errors_are_reported_next_to_their_field(change: dict[str, str], field: str,
                                                 message: str) -> None:
    checked = validate({**GOOD, **change})
    assert checked.form is None
    assert message in checked.errors[field]
    assert set(checked.errors) == {field}


def test_too_many_photos() -> None:
    assert validate(GOOD, MAX_PHOTOS).form is not None
    checked = validate(GOOD, MAX_PHOTOS + 1)
    assert checked.form is None and "最多上传 4 张" in checked.errors["photos"]


def test_values_echo_what_was_typed() -> None:
    checked = validate({"description": "<b>原样</b>", "phone": "abc", "consent": "on"})
    assert checked.values["description"] == "<b>原样</b>"
    assert checked.values["phone"] == "abc" and checked.values["consent"] == "on"
    assert checked.values["share_photo_location"] == ""
    assert set(checked.errors) == {"kind", "phone"}


@pytest.mark.parametrize(("code", "ok"), [("GX-0102", True), ("a", True), (" B7 ", True),
                                          ("", False), ("x/y", False), ("网格1", False),
                                          ("A" * 32, True), ("A" * 33, False), (None, False)])
def test_grid_code_format(code: str | None, ok: bool) -> None:
    assert (valid_grid(code) is not None) is ok


def test_control_characters_are_dropped_from_every_text_field() -> None:
    checked = validate({**GOOD, "description": "路灯\x00坏了\x1f", "name": "王\x01女士",
                        "address": "幸福路\x0b12号", "phone": "138\x000013 8000"})
    form = checked.form
    assert checked.errors == {} and form is not None
    assert (form.description, form.name, form.address) == ("路灯坏了", "王女士", "幸福路12号")
    assert form.phone == "+8613800138000"
