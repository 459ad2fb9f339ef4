"""Photo checks for the web form: content sniffing, size limits, re-encoding without EXIF.

Pure functions over bytes (no files, no HTTP). The type is decided by what Pillow can decode,
never by the file name or the declared content type. Every accepted photo is re-encoded as JPEG,
which drops all metadata; the GPS position is kept (in a fresh, GPS-only EXIF block) only when
the resident chose to share it.

Memory is bounded by the pixels decoded, not the bytes sent: a JPEG (what phones send) is
decoded at a reduced scale straight from its DCT data (``Image.draft``); formats without that
shortcut (PNG, WebP, GIF, BMP) are decoded in full and therefore limited to
:data:`MAX_FULL_DECODE_PIXELS`. Measured (bench/photo_burst.py), a worker peaks at about 180 MB
on a 40 MP JPEG and 275 MB on a 16 MP PNG (the copies made for rotation, conversion and the
thumbnail). The web form runs these checks in a small pool of worker processes
(:mod:`channels.webform.imaging`), never in the server process; :func:`precheck` (header only)
runs first, in the server, so a photo that will be refused never waits behind real decodes.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError
from PIL.ExifTags import IFD

ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF", "BMP"})
MAX_PIXELS = 40_000_000  # a 40 MP photo is the largest a phone sends; bigger is refused
MAX_FULL_DECODE_PIXELS = 16_000_000  # PNG/WebP/GIF/BMP are decoded whole: 64 MB at most
MAX_SIDE = 2560  # re-encoded photos are scaled down to fit this box
JPEG_QUALITY = 85

_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON = 1, 2, 3, 4


class PhotoError(ValueError):
    """A photo that cannot be accepted; ``message`` is shown to the resident (zh-CN)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Photo:
    jpeg: bytes
    width: int
    height: int
    source_format: str
    gps: tuple[float, float] | None  # (lat, lon), only when the resident shared it


def size_label(size: int) -> str:
    """A byte count for residents, rounded down (never promise more): 8 MB, 0.9 MB, 97 KB."""
    mb = size / (1024 * 1024)
    if mb >= 10 or (mb >= 1 and mb == int(mb)):
        return f"{int(mb)} MB"
    if mb >= 0.1:
        return f"{int(mb * 10) / 10:.1f} MB"
    return f"{size // 1024} KB"


def _degrees(value: object, ref: object, negative: str) -> float | None:
    try:
        d, m, s = (float(part) for part in value)  # type: ignore[attr-defined]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    result = d + m / 60 + s / 3600
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    if isinstance(ref, str) and ref.strip().upper() == negative:
        result = -result
    return result


def gps_position(gps_ifd: Mapping[int, object]) -> tuple[float, float] | None:
    """(lat, lon) in decimal degrees from an EXIF GPS IFD, or None if absent or nonsense."""
    lat = _degrees(gps_ifd.get(_GPS_LAT), gps_ifd.get(_GPS_LAT_REF), "S")
    lon = _degrees(gps_ifd.get(_GPS_LON), gps_ifd.get(_GPS_LON_REF), "W")
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    if lat == 0 and lon == 0:  # cameras without a fix write zeros
        return None
    return (round(lat, 7), round(lon, 7))


def _open(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, Image.DecompressionBombWarning,
            Image.DecompressionBombError, OSError, ValueError, SyntaxError):
        raise PhotoError("文件不是可识别的图片，请上传 JPG、PNG 或 WebP 照片") from None
    if image.format not in ACCEPTED_FORMATS:
        raise PhotoError("图片格式不支持，请上传 JPG、PNG 或 WebP 照片")
    pixels = image.width * image.height
    if pixels > MAX_PIXELS or (image.format != "JPEG" and pixels > MAX_FULL_DECODE_PIXELS):
        raise PhotoError("图片尺寸过大，请缩小后再上传")
    if image.format == "JPEG":
        # decode at 1/2, 1/4 or 1/8 scale when that still covers the re-encoded size
        ratio = min(1.0, MAX_SIDE / max(image.width, image.height))
        image.draft("RGB", (max(1, int(image.width * ratio)), max(1, int(image.height * ratio))))
    return image


def precheck(data: bytes, *, max_bytes: int) -> None:
    """The refusals that need only the file's header (size, format, pixel count): cheap
    enough for the server process. Raise :class:`PhotoError` if refused."""
    if not data:
        raise PhotoError("照片文件是空的")
    if len(data) > max_bytes:
        raise PhotoError(f"每张照片不能超过 {size_label(max_bytes)}")
    _open(data).close()


def check_photo(data: bytes, *, max_bytes: int, keep_location: bool) -> Photo:
    """Decode, verify and re-encode one uploaded photo; raise :class:`PhotoError` if refused."""
    precheck(data, max_bytes=max_bytes)
    image = _open(data)
    source_format = str(image.format)
    try:
        exif = image.getexif()
        gps = gps_position(exif.get_ifd(IFD.GPSInfo)) if keep_location else None
        image.load()
        upright = ImageOps.exif_transpose(image)
        if upright.mode in ("RGBA", "LA", "PA") or (
            upright.mode == "P" and "transparency" in upright.info
        ):
            rgba = upright.convert("RGBA")
            rgb = Image.new("RGB", rgba.size, (255, 255, 255))
            rgb.paste(rgba, mask=rgba.getchannel("A"))
        else:
            rgb = upright.convert("RGB")
        rgb.thumbnail((MAX_SIDE, MAX_SIDE))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise PhotoError("图片文件已损坏，无法读取") from None
    out_exif = Image.Exif()
    if gps is not None:
        source = exif.get_ifd(IFD.GPSInfo)
        # the reference tags may be missing (north/east assumed): copy what is there
        out_exif[IFD.GPSInfo] = {
            k: source[k] for k in (_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON) if k in source
        }
    buf = io.BytesIO()
    rgb.save(buf, "JPEG", quality=JPEG_QUALITY, exif=out_exif)
    return Photo(jpeg=buf.getvalue(), width=rgb.width, height=rgb.height,
                 source_format=source_format, gps=gps)
