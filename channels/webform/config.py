"""Settings of the resident web form (built from ``HOTLINE_*`` by the composition room)."""

from __future__ import annotations

from collections.abc import Mapping
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
    deadline: float = 10.0  # HOTLINE_WEB_DEADLINE: past it the report is spooled
    spool_dir: Path | None = None  # the fallback spool (HOTLINE_SPOOL_DIR)
    # grid cell code → the name a resident reads (from the router's places.yaml); None: any
    # well-formed code is taken as it is
    grids: Mapping[str, str] | None = None

    def grid_name(self, code: str | None) -> str | None:
        """The name of a known grid cell; None for an unknown code (or no list)."""
        if code is None or self.grids is None:
            return None
        return self.grids.get(code)

    def known_grid(self, code: str | None) -> bool:
        return code is not None and (self.grids is None or code in self.grids)
