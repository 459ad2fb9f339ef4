"""Content-addressed media files (photos, recordings, voice notes) kept by the gateway.

Files live in ``<data_dir>/media/<sha256>.<ext>``; a ticket's attachment URL is the
back-office path ``/api/v1/media/<sha256>.<ext>`` (read scope). Saving is atomic (write to a
temporary name, then rename), so a half-written file never has a final name.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from tickets.files import write_atomically
from tickets.model import Attachment

EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/amr": "amr",
    "audio/mpeg": "mp3",
    "audio/ogg": "ogg",
    "video/mp4": "mp4",
}
URL_PREFIX = "/api/v1/media/"
NAME = re.compile(r"^[0-9a-f]{64}\.[a-z0-9]{1,5}$")


def extension(content_type: str) -> str:
    return EXTENSIONS.get(content_type.split(";")[0].strip().lower(), "bin")


def content_type_of(name: str) -> str:
    """The content type of a media name by its extension."""
    extension_of = name.rsplit(".", 1)[-1]
    return next((ct for ct, ext in EXTENSIONS.items() if ext == extension_of),
                "application/octet-stream")


def save_bytes(media_dir: Path, data: bytes, content_type: str) -> Attachment:
    digest = hashlib.sha256(data).hexdigest()
    name = f"{digest}.{extension(content_type)}"
    media_dir.mkdir(parents=True, exist_ok=True)
    target = media_dir / name
    if not target.exists():
        write_atomically(target, lambda f: f.write(data), prefix=".incoming-")
    return Attachment(url=URL_PREFIX + name, content_type=content_type, sha256=digest,
                      size=len(data))


def save_file(media_dir: Path, path: Path, content_type: str) -> Attachment:
    return save_bytes(media_dir, path.read_bytes(), content_type)


def resolve(media_dir: Path, name: str) -> Path | None:
    """The file behind a media name, or None for an unknown or malformed name."""
    if not NAME.fullmatch(name):
        return None
    path = media_dir / name
    return path if path.is_file() else None
