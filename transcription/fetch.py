"""Download a catalogue model, check its size and sha256, then unpack it (no other way in).

The archive streams into a temporary file beside the models folder while it is hashed; a file
whose size or sha256 differs from the pinned values is deleted before anything is unpacked.
Unpacking goes into a temporary folder (members with absolute paths, ``..`` or links are
refused), a manifest of file hashes is written for ``hotline models verify``, and only then is
the folder renamed to ``<data_dir>/models/NAME``. Whatever fails, nothing is left behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import httpx

from transcription.catalogue import ModelInfo
from transcription.models import MANIFEST, file_hashes, problems

Progress = Callable[[int, int | None], None]  # (bytes so far, total or None)
CHUNK = 1 << 16


class FetchError(RuntimeError):
    pass


def _expected_hash(info: ModelInfo, sha256: str | None) -> str:
    given = sha256.lower() if sha256 else None
    if given is not None and (len(given) != 64 or any(c not in "0123456789abcdef" for c in given)):
        raise FetchError(f"--sha256 {sha256!r} is not 64 hex digits")
    if info.sha256 and given and given != info.sha256:
        raise FetchError(
            f"--sha256 {given} differs from the pinned sha256 of {info.name} ({info.sha256})"
        )
    expected = given or info.sha256
    if expected is None:
        raise FetchError(
            f"{info.name} has no pinned sha256 in the catalogue; fetch it with --sha256 HASH "
            "taken from a copy you trust"
        )
    return expected


def download(url: str, dest: Path, *, size: int | None, sha256: str,
             progress: Progress | None = None, client: httpx.Client | None = None) -> None:
    """Stream ``url`` into ``dest``; raise :class:`FetchError` (and delete it) on a mismatch."""
    digest = hashlib.sha256()
    done = 0
    own = client is None
    http = client or httpx.Client(follow_redirects=True, timeout=httpx.Timeout(30.0))
    try:
        with http.stream("GET", url) as response, dest.open("wb") as out:
            if response.status_code != 200:
                raise FetchError(f"GET {url} answered HTTP {response.status_code}")
            announced = response.headers.get("content-length")
            total = size or (int(announced) if announced and announced.isdigit() else None)
            for chunk in response.iter_bytes(CHUNK):
                done += len(chunk)
                if size is not None and done > size:
                    raise FetchError(f"{url} is larger than the pinned {size} bytes")
                digest.update(chunk)
                out.write(chunk)
                if progress is not None:
                    progress(done, total)
    except httpx.HTTPError as exc:
        dest.unlink(missing_ok=True)
        raise FetchError(f"download of {url} failed: {exc}") from exc
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    finally:
        if own:
            http.close()
    if size is not None and done != size:
        dest.unlink(missing_ok=True)
        raise FetchError(f"{url} is {done} bytes, the catalogue pins {size}; file discarded")
    actual = digest.hexdigest()
    if actual != sha256:
        dest.unlink(missing_ok=True)
        raise FetchError(
            f"sha256 of {url} is {actual}, expected {sha256}; file discarded, nothing unpacked"
        )


def _safe_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    members = archive.infolist()
    for m in members:
        path = PurePosixPath(m.filename)
        if path.is_absolute() or ".." in path.parts or "\\" in m.filename:
            raise FetchError(f"archive member with an unsafe path: {m.filename!r}")
        if stat.S_ISLNK(m.external_attr >> 16):
            raise FetchError(f"archive member is a link: {m.filename!r}")
    return members


def unpack(archive_path: Path, into: Path) -> Path:
    """Extract into the empty folder ``into``; return the model root inside it."""
    try:
        with zipfile.ZipFile(archive_path) as archive:
            archive.extractall(into, members=_safe_members(archive))
    except zipfile.BadZipFile as exc:
        raise FetchError(f"not a zip archive: {exc}") from exc
    entries = [p for p in into.iterdir() if not p.name.startswith("__MACOSX")]
    root = entries[0] if len(entries) == 1 and entries[0].is_dir() else into
    missing = problems(root)
    if missing:
        raise FetchError(f"the archive holds no Vosk model ({'; '.join(missing)})")
    return root


def fetch(info: ModelInfo, models_dir: Path, *, url: str | None = None,
          sha256: str | None = None, progress: Progress | None = None,
          client: httpx.Client | None = None) -> Path:
    """Download, verify, unpack ``info`` into ``models_dir/NAME``; return that folder."""
    expected = _expected_hash(info, sha256)
    target = models_dir / info.name
    if target.exists():
        raise FetchError(f"{target} already exists (check it with: hotline models verify)")
    models_dir.mkdir(parents=True, exist_ok=True)
    source = url or info.url
    fd, tmp = tempfile.mkstemp(dir=models_dir, prefix=f".download-{info.name}-", suffix=".zip")
    os.close(fd)
    archive = Path(tmp)
    staging = Path(tempfile.mkdtemp(dir=models_dir, prefix=f".unpack-{info.name}-"))
    try:
        download(source, archive, size=info.size, sha256=expected, progress=progress,
                 client=client)
        root = unpack(archive, staging)
        manifest = {"name": info.name, "url": source, "sha256": expected,
                    "files": file_hashes(root)}
        (root / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", "utf-8")
        os.rename(root, target)
    finally:
        archive.unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)
    return target
