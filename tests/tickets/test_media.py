"""Content-addressed media files: saving (atomic, named by sha256, idempotent) and resolving
a name from a URL (only well-formed names of files that exist)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from tickets import media

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4


def test_save_bytes_names_the_file_by_its_sha256(tmp_path: Path) -> None:
    media_dir = tmp_path / "media"
    attachment = media.save_bytes(media_dir, JPEG, "image/jpeg")
    digest = hashlib.sha256(JPEG).hexdigest()
    assert attachment.sha256 == digest
    assert attachment.size == len(JPEG)
    assert attachment.content_type == "image/jpeg"
    assert attachment.url == f"/api/v1/media/{digest}.jpg"
    assert (media_dir / f"{digest}.jpg").read_bytes() == JPEG
    assert [p.name for p in media_dir.iterdir()] == [f"{digest}.jpg"]  # no temporary left


@pytest.mark.parametrize(("content_type", "ext"), [
    ("audio/wav", "wav"), ("image/PNG; q=1", "png"), ("application/x-unknown", "bin"),
])
def test_the_extension_follows_the_content_type(
    tmp_path: Path, content_type: str, ext: str
) -> None:
    attachment = media.save_bytes(tmp_path, b"data", content_type)
    assert attachment.url.endswith(f"{hashlib.sha256(b'data').hexdigest()}.{ext}")


def test_saving_the_same_bytes_again_keeps_the_first_file(tmp_path: Path) -> None:
    first = media.save_bytes(tmp_path, JPEG, "image/jpeg")
    path = media.resolve(tmp_path, first.url.rsplit("/", 1)[1])
    assert path is not None
    inode = path.stat().st_ino
    assert media.save_bytes(tmp_path, JPEG, "image/jpeg") == first
    assert path.stat().st_ino == inode  # not rewritten
    assert len(list(tmp_path.iterdir())) == 1


def test_a_failed_write_leaves_neither_a_final_nor_a_temporary_file(tmp_path: Path) -> None:
    # A real write failure: the file size limit (EFBIG) in a child process.
    code = (
        "import resource, signal, sys\n"
        "from pathlib import Path\n"
        "from tickets import media\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (512, 512))\n"
        "try:\n"
        "    media.save_bytes(Path(sys.argv[1]), bytes(4096), 'image/jpeg')\n"
        "except OSError as exc:\n"
        "    print('failed', exc.errno)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                          text=True, check=True, cwd=Path(__file__).parents[2])
    assert done.stdout.startswith("failed"), done.stdout + done.stderr
    assert list(tmp_path.iterdir()) == []


def test_resolve_finds_a_saved_file(tmp_path: Path) -> None:
    attachment = media.save_bytes(tmp_path, JPEG, "image/jpeg")
    name = attachment.url.rsplit("/", 1)[1]
    assert media.resolve(tmp_path, name) == tmp_path / name


def test_resolve_refuses_a_path_outside_the_media_folder(tmp_path: Path) -> None:
    media_dir = tmp_path / "media"
    media_dir.mkdir()
    outside = f"{hashlib.sha256(b'x').hexdigest()}.jpg"
    (tmp_path / "x").write_bytes(b"secret")
    (tmp_path / outside).write_bytes(b"secret")
    assert media.resolve(media_dir, "../x") is None
    assert media.resolve(media_dir, f"../{outside}") is None


def test_resolve_refuses_a_trailing_newline(tmp_path: Path) -> None:
    name = media.save_bytes(tmp_path, JPEG, "image/jpeg").url.rsplit("/", 1)[1]
    (tmp_path / f"{name}\n").write_bytes(b"not content-addressed")
    assert media.resolve(tmp_path, f"{name}\n") is None


def test_resolve_refuses_uppercase_hex(tmp_path: Path) -> None:
    name = media.save_bytes(tmp_path, JPEG, "image/jpeg").url.rsplit("/", 1)[1]
    upper = name.split(".")[0].upper() + ".jpg"
    (tmp_path / upper).write_bytes(JPEG)
    assert media.resolve(tmp_path, upper) is None


def test_resolve_returns_none_for_an_unknown_name(tmp_path: Path) -> None:
    assert media.resolve(tmp_path, f"{'0' * 64}.jpg") is None
    assert media.resolve(tmp_path / "missing", f"{'0' * 64}.jpg") is None
