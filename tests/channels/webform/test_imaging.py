"""Photos are checked in worker processes: same answers as in-process, refusals included."""

from __future__ import annotations

import asyncio
import os

import pytest

from channels.webform.imaging import PhotoWorkers
from channels.webform.photos import Photo, PhotoError, check_photo
from tests.channels.webform import images

MB = 1024 * 1024


def test_a_worker_process_gives_the_same_photo_and_the_same_refusal() -> None:
    workers = PhotoWorkers(1)

    async def run() -> tuple[Photo, str, set[int]]:
        photo = await workers.check(images.jpeg(gps=images.GPS_BEIJING), max_bytes=MB,
                                    keep_location=True)
        with pytest.raises(PhotoError) as refused:
            await workers.check(images.FAKE_IMAGE, max_bytes=MB, keep_location=False)
        pids = await asyncio.gather(*(asyncio.get_running_loop().run_in_executor(
            workers._executor(), os.getpid) for _ in range(3)))
        return photo, refused.value.message, set(pids)

    try:
        photo, message, pids = asyncio.run(run())
    finally:
        workers.close()
    assert photo == check_photo(images.jpeg(gps=images.GPS_BEIJING), max_bytes=MB,
                                keep_location=True)
    assert "不是可识别的图片" in message
    assert pids and os.getpid() not in pids  # decoded outside the server process


def test_close_is_idempotent_and_a_closed_pool_starts_again() -> None:
    workers = PhotoWorkers(0)  # at least one process
    assert workers.workers == 1
    workers.close()
    try:
        photo = asyncio.run(workers.check(images.png(), max_bytes=MB, keep_location=False))
    finally:
        workers.close()
        workers.close()
    assert photo.source_format == "PNG"


def test_refusals_that_need_only_the_header_never_wait_for_a_worker() -> None:
    # A 40 MP PNG is refused on its pixel count; an empty or text file on sight. None of them
    # starts (or queues behind) a decoding process.
    workers = PhotoWorkers(1)
    too_big = images.png(5000, 3300)  # 16.5 MP: over the full-decode limit for PNG

    async def refusals() -> list[str]:
        found = []
        for data in (too_big, images.FAKE_IMAGE, b""):
            with pytest.raises(PhotoError) as refused:
                await workers.check(data, max_bytes=8 * MB, keep_location=False)
            found.append(refused.value.message)
        return found

    try:
        messages = asyncio.run(refusals())
        assert workers._pool is None
    finally:
        workers.close()
    assert messages == ["图片尺寸过大，请缩小后再上传",
                        "文件不是可识别的图片，请上传 JPG、PNG 或 WebP 照片", "照片文件是空的"]
