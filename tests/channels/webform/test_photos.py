"""Photo checks with real images made by Pillow: content sniffing, limits, EXIF stripping."""

from __future__ import annotations

import io

import pytest
from PIL import ExifTags, Image

from channels.webform.photos import (
    MAX_FULL_DECODE_PIXELS,
    MAX_SIDE,
    PhotoError,
    check_photo,
    gps_position,
    size_label,
)
from tests.channels.webform import images

MB = 1024 * 1024


def reopen(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_a_jpeg_is_reencoded_without_any_exif() -> None:
    photo = check_photo(images.jpeg(gps=images.GPS_BEIJING), max_bytes=MB, keep_location=False)
    out = reopen(photo.jpeg)
    assert out.format == "JPEG"
    assert dict(out.getexif()) == {}
    assert photo.gps is None
    assert photo.source_format == "JPEG"
    assert (photo.width, photo.height) == (320, 240)


def test_gps_is_kept_alone_when_the_resident_shares_it() -> None:
    photo = check_photo(images.jpeg(gps=images.GPS_BEIJING), max_bytes=MB, keep_location=True)
    assert photo.gps == images.BEIJING
    exif = reopen(photo.jpeg).getexif()
    assert ExifTags.Base.Make not in exif and ExifTags.Base.Model not in exif
    assert gps_position(exif.get_ifd(ExifTags.IFD.GPSInfo)) == images.BEIJING


def test_sharing_location_of_a_photo_without_gps_gives_none() -> None:
    photo = check_photo(images.jpeg(), max_bytes=MB, keep_location=True)
    assert photo.gps is None
    assert dict(reopen(photo.jpeg).getexif()) == {}


def test_text_pretending_to_be_an_image_is_refused() -> None:
    with pytest.raises(PhotoError, match="不是可识别的图片"):
        check_photo(images.FAKE_IMAGE, max_bytes=MB, keep_location=False)


def test_a_truncated_jpeg_is_refused() -> None:
    data = images.noisy_jpeg(20_000)
    with pytest.raises(PhotoError):
        check_photo(data[: len(data) // 2], max_bytes=MB, keep_location=False)


def test_a_photo_over_the_size_limit_is_refused() -> None:
    data = images.noisy_jpeg(300_000)
    with pytest.raises(PhotoError, match="不能超过"):
        check_photo(data, max_bytes=200_000, keep_location=False)
    assert check_photo(data, max_bytes=len(data), keep_location=False).jpeg


def test_empty_file_is_refused() -> None:
    with pytest.raises(PhotoError, match="空"):
        check_photo(b"", max_bytes=MB, keep_location=False)


def test_png_with_transparency_becomes_a_white_backed_jpeg() -> None:
    photo = check_photo(images.png(alpha=True), max_bytes=MB, keep_location=False)
    out = reopen(photo.jpeg)
    assert out.format == "JPEG" and out.mode == "RGB"
    r, g, b = out.getpixel((10, 10))  # type: ignore[misc]
    assert min(r, g, b) > 240
    assert photo.source_format == "PNG"


def test_orientation_is_applied_then_dropped() -> None:
    # Orientation 6 = rotate 90° clockwise to display: 320×240 is shown as 240×320.
    photo = check_photo(images.jpeg(orientation=6), max_bytes=MB, keep_location=False)
    assert (photo.width, photo.height) == (240, 320)
    assert ExifTags.Base.Orientation not in reopen(photo.jpeg).getexif()


def test_large_photos_are_scaled_down() -> None:
    photo = check_photo(images.jpeg(MAX_SIDE * 2, 100, make=None), max_bytes=8 * MB,
                        keep_location=False)
    assert photo.width == MAX_SIDE and photo.height == 50


@pytest.mark.parametrize("side", [7_100, 10_000])  # 50 MP (our limit), 100 MP (Pillow's bomb)
def test_decompression_bomb_dimensions_are_refused(side: int) -> None:
    buf = io.BytesIO()
    Image.new("1", (side, side)).save(buf, "PNG")  # a tiny file that decodes huge
    assert buf.tell() < MB
    with pytest.raises(PhotoError, match=r"不是可识别的图片|尺寸过大"):
        check_photo(buf.getvalue(), max_bytes=MB, keep_location=False)


@pytest.mark.parametrize(
    ("gps", "expected"),
    [
        ({1: "N", 2: (39.0, 54.0, 15.0), 3: "E", 4: (116.0, 23.0, 30.0)}, images.BEIJING),
        ({1: "S", 2: (33.0, 52.0, 4.0), 3: "W", 4: (70.0, 0.0, 0.0)},
         (round(-(33 + 52 / 60 + 4 / 3600), 7), -70.0)),
        ({1: "N", 2: (0.0, 0.0, 0.0), 3: "E", 4: (0.0, 0.0, 0.0)}, None),
        ({1: "N", 2: (95.0, 0.0, 0.0), 3: "E", 4: (10.0, 0.0, 0.0)}, None),
        ({1: "N", 2: "garbage", 3: "E", 4: (10.0, 0.0, 0.0)}, None),
        ({2: (39.0, 54.0, 15.0), 4: (116.0, 23.0, 30.0)}, images.BEIJING),  # no refs: N, E
        ({1: b"S", 2: (33.0, 52.0, 4.0), 4: (70.0, 0.0, 0.0)},
         (round(-(33 + 52 / 60 + 4 / 3600), 7), 70.0)),
        ({}, None),
    ],
)
def test_gps_position_known_answers(gps: dict[int, object],
                                    expected: tuple[float, float] | None) -> None:
    assert gps_position(gps) == expected


@pytest.mark.parametrize(
    ("size", "label"),
    [(8 * MB, "8 MB"), (20 * MB - 65536, "19 MB"), (MB - 65536, "0.9 MB"), (MB, "1 MB"),
     (int(1.5 * MB), "1.5 MB"), (100_000, "97 KB")],
)
def test_size_labels_round_down(size: int, label: str) -> None:
    assert size_label(size) == label


def test_gps_without_reference_tags_is_kept_when_shared() -> None:
    """Some cameras write the coordinates without the N/S and E/W tags. Before: copying the
    four tags into the re-encoded photo raised KeyError (a 500 and a lost report)."""
    gps = {2: (39.0, 54.0, 15.0), 4: (116.0, 23.0, 30.0)}
    photo = check_photo(images.jpeg(gps=gps), max_bytes=MB, keep_location=True)
    assert photo.gps == images.BEIJING
    kept = reopen(photo.jpeg).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert set(kept) == {2, 4} and gps_position(kept) == images.BEIJING


def test_a_big_jpeg_is_decoded_at_reduced_scale() -> None:
    """24 MP: more than a PNG may have, fine for a JPEG (decoded from its DCT data at 1/2)."""
    buf = io.BytesIO()
    Image.new("RGB", (6000, 4000), (90, 90, 90)).save(buf, "JPEG", quality=70)
    photo = check_photo(buf.getvalue(), max_bytes=8 * MB, keep_location=False)
    assert photo.width == MAX_SIDE and abs(photo.height - MAX_SIDE * 4000 / 6000) <= 1


def test_a_png_over_the_full_decode_limit_is_refused() -> None:
    side = int(MAX_FULL_DECODE_PIXELS ** 0.5) + 1  # decoded whole: 16 MP at most
    buf = io.BytesIO()
    Image.new("1", (side, side)).save(buf, "PNG")
    with pytest.raises(PhotoError, match="尺寸过大"):
        check_photo(buf.getvalue(), max_bytes=MB, keep_location=False)
