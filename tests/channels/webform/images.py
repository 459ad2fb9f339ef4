"""Real images made by Pillow for the web form tests (with and without GPS EXIF)."""

from __future__ import annotations

import io
import os
from collections.abc import Mapping

from PIL import ExifTags, Image

# 39°54'15"N 116°23'30"E (Beijing) as EXIF degrees/minutes/seconds.
GPS_BEIJING: dict[int, object] = {1: "N", 2: (39.0, 54.0, 15.0), 3: "E", 4: (116.0, 23.0, 30.0)}
BEIJING = (round(39 + 54 / 60 + 15 / 3600, 7), round(116 + 23 / 60 + 30 / 3600, 7))


def jpeg(width: int = 320, height: int = 240, *, gps: Mapping[int, object] | None = None,
         make: str | None = "TestCam", orientation: int | None = None) -> bytes:
    image = Image.new("RGB", (width, height), (30, 120, 200))
    for x in range(0, width, 16):  # a little structure so the JPEG is not trivially small
        for y in range(height):
            image.putpixel((x, y), (255, 255, 255))
    exif = Image.Exif()
    if make:
        exif[ExifTags.Base.Make] = make
        exif[ExifTags.Base.Model] = "Model X"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    if gps:
        exif[ExifTags.IFD.GPSInfo] = dict(gps)
    buf = io.BytesIO()
    image.save(buf, "JPEG", exif=exif, quality=90)
    return buf.getvalue()


def png(width: int = 64, height: int = 64, *, alpha: bool = False) -> bytes:
    image = Image.new("RGBA" if alpha else "RGB", (width, height),
                      (0, 200, 0, 0) if alpha else (0, 200, 0))
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def noisy_jpeg(min_bytes: int) -> bytes:
    """A real JPEG bigger than ``min_bytes`` (random pixels compress badly)."""
    side = 256
    while True:
        image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=95)
        if buf.tell() > min_bytes:
            return buf.getvalue()
        side *= 2


FAKE_IMAGE = "这不是图片，只是一段文字。\nnot an image, just text\n".encode() * 20
