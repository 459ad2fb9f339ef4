"""Server-side validation of the resident web form: raw strings in, a clean form or messages out.

Pure: no HTTP, no storage. Every message is zh-CN and keyed by the form field it belongs to, so
the page can show it next to that field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from channels.texts import texts
from tickets.model import Kind, without_controls
from tickets.phone import DEFAULT_REGION, to_e164

# what a resident may choose on the form (every kind but "unknown"), in this order
FORM_KINDS = (Kind.consultation, Kind.help, Kind.complaint, Kind.report, Kind.suggestion)
DESCRIPTION_MAX = 2000
NAME_MAX = 50
ADDRESS_MAX = 200
MAX_PHOTOS = 4
GRID_CODE = re.compile(r"^[A-Za-z0-9-]{1,32}$")
TEXT_FIELDS = ("kind", "description", "phone", "name", "address", "lat", "lon", "grid")
CHECKBOXES = ("consent", "callback", "share_photo_location")


@dataclass(frozen=True)
class CleanForm:
    kind: Kind
    description: str
    phone: str | None  # E.164
    consent: bool
    callback: bool  # asked to be called back for the result (needs consent and a phone)
    name: str | None
    address: str | None
    lat: float | None
    lon: float | None
    grid: str | None
    share_photo_location: bool


@dataclass
class Checked:
    """The outcome: ``form`` when valid, else ``errors`` (field → message); ``values`` echo."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    form: CleanForm | None = None


def kind_choices() -> list[tuple[str, str]]:
    """(value, label) of the form's kind choices, labels from the texts catalogue."""
    return [(kind.value, texts().kind(kind)) for kind in FORM_KINDS]


def valid_grid(code: str | None) -> str | None:
    """The grid code when it has the QR-code format, else None."""
    if code is None:
        return None
    code = code.strip()
    return code if GRID_CODE.match(code) else None


def normalize_phone(raw: str, region: str = DEFAULT_REGION) -> str | None:
    """E.164 for a valid number (national numbers in ``region``), else None."""
    return to_e164(raw, region)


def _single_line(text: str) -> str:
    return " ".join(text.split())


def _coordinate(raw: str, limit: float) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    if not math.isfinite(value) or abs(value) > limit:
        return None
    return round(value, 7)


def _checked(raw: Mapping[str, str], name: str) -> bool:
    return raw.get(name, "").strip().lower() in {"on", "1", "true", "yes"}


def validate(raw: Mapping[str, str], photo_count: int = 0) -> Checked:
    # Control characters are never part of what a resident typed (a paste or a browser's quirk):
    # dropped here, so the words are kept rather than refused.
    values = {name: without_controls(raw.get(name, "")) for name in TEXT_FIELDS}
    for name in CHECKBOXES:
        values[name] = "on" if _checked(raw, name) else ""
    errors: dict[str, str] = {}

    kind_raw = values["kind"].strip()
    kind = next((k for k in FORM_KINDS if k.value == kind_raw), None)
    if kind is None:
        errors["kind"] = "请选择诉求类型"

    description = values["description"].replace("\r\n", "\n").strip()
    if not description:
        errors["description"] = "请填写诉求内容"
    elif len(description) > DESCRIPTION_MAX:
        errors["description"] = (
            f"诉求内容不能超过 {DESCRIPTION_MAX} 字（现在 {len(description)} 字）")

    phone_raw = values["phone"].strip()
    phone = None
    if phone_raw:
        phone = normalize_phone(phone_raw)
        if phone is None:
            errors["phone"] = "电话号码格式不正确，请填写手机号或带区号的固定电话"
    consent = values["consent"] == "on"
    if consent and not phone_raw:
        errors["phone"] = "您同意了联系，请填写电话号码"
    callback = values["callback"] == "on"
    if callback and not (consent and phone_raw):
        errors["phone"] = "电话回访需要填写电话号码并同意联系"

    name = _single_line(values["name"])
    if len(name) > NAME_MAX:
        errors["name"] = f"姓名不能超过 {NAME_MAX} 字"

    address = _single_line(values["address"])
    if len(address) > ADDRESS_MAX:
        errors["address"] = f"地址不能超过 {ADDRESS_MAX} 字"

    lat = lon = None
    lat_raw, lon_raw = values["lat"].strip(), values["lon"].strip()
    if lat_raw or lon_raw:
        lat, lon = _coordinate(lat_raw, 90), _coordinate(lon_raw, 180)
        if lat is None or lon is None:
            errors["address"] = "定位信息无效，请重新获取位置或填写地址"
            lat = lon = None

    grid_raw = values["grid"].strip()
    grid = valid_grid(grid_raw) if grid_raw else None
    if grid_raw and grid is None:
        errors["grid"] = "网格编号无效，请重新扫描二维码"

    if photo_count > MAX_PHOTOS:
        errors["photos"] = f"最多上传 {MAX_PHOTOS} 张照片"

    checked = Checked(values=values, errors=errors)
    if not errors and kind is not None:
        checked.form = CleanForm(
            kind=kind,
            description=description,
            phone=phone,
            consent=consent,
            callback=callback,
            name=name or None,
            address=address or None,
            lat=lat,
            lon=lon,
            grid=grid,
            share_photo_location=values["share_photo_location"] == "on",
        )
    return checked
