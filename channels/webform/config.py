"""Settings of the resident web form (built from ``HOTLINE_*`` by the composition room)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class WebformConfig:
    media_dir: Path = Path("./var/media")  # where accepted photos are kept
    csrf_secret: str | None = None  # HOTLINE_WEB_SECRET; unset → /report answers 503
    max_photo_bytes: int = 8 * 1024 * 1024
    public_url: str | None = None
    max_body_bytes: int | None = None  # HOTLINE_MAX_UPLOAD_BYTES: the size limit of /report
    photo_workers: int = 2  # HOTLINE_PHOTO_WORKERS: photos decoded at once (processes)
