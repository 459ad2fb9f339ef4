"""``hotline models fetch`` against a local HTTP server: pinned size+sha256 before unpacking."""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from hotline.cli import main
from transcription.catalogue import CATALOGUE, ModelInfo
from transcription.fetch import FetchError, fetch
from transcription.models import ModelLocation, locate, verify

MODEL_FILES = {
    "am/final.mdl": b"acoustic model",
    "conf/model.conf": b"--sample-frequency=8000\n",
    "graph/HCLG.fst": b"graph",
    "graph/words.txt": "<eps> 0\n东 1\n".encode(),
}


def model_zip(top: str = "vosk-model-test-0.1", files: dict[str, bytes] = MODEL_FILES) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for rel, data in files.items():
            z.writestr(f"{top}/{rel}" if top else rel, data)
    return buffer.getvalue()


class Files(http.server.BaseHTTPRequestHandler):
    served: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        body = self.served.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, dict[str, bytes]]]:
    served: dict[str, bytes] = {}
    handler = type("H", (Files,), {"served": served})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", served
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def entry(base: str, data: bytes, name: str = "vosk-model-test-0.1") -> ModelInfo:
    return ModelInfo(name=name, language="zh-CN", url=f"{base}/{name}.zip", size=len(data),
                     sha256=hashlib.sha256(data).hexdigest())


def leftovers(models: Path) -> list[str]:
    return sorted(p.name for p in models.iterdir()) if models.exists() else []


def test_fetch_verifies_then_unpacks(server: tuple[str, dict[str, bytes]], tmp_path: Path) -> None:
    base, served = server
    data = model_zip()
    info = entry(base, data)
    served[f"/{info.name}.zip"] = data
    seen: list[tuple[int, int | None]] = []
    target = fetch(info, tmp_path / "models", progress=lambda d, t: seen.append((d, t)))
    assert target == tmp_path / "models" / info.name
    assert (target / "graph/words.txt").read_bytes() == MODEL_FILES["graph/words.txt"]
    assert leftovers(tmp_path / "models") == [info.name]  # no temporary files left
    assert seen[-1] == (len(data), len(data))
    location = ModelLocation(target, info.name, "fetched")
    assert verify(location) == []
    (target / "graph/HCLG.fst").write_bytes(b"tampered")
    assert verify(location) == ["changed since it was fetched: graph/HCLG.fst"]
    # a fetched model is what the process uses when HOTLINE_VOSK_MODEL is unset
    assert locate(None, tmp_path) == location
    assert locate(Path(info.name), tmp_path).path == target.resolve()


def test_hash_mismatch_is_refused_and_nothing_is_left(
    server: tuple[str, dict[str, bytes]], tmp_path: Path
) -> None:
    base, served = server
    data = model_zip()
    info = entry(base, data)
    tampered = {**MODEL_FILES, "am/final.mdl": b"acoustic modeL"}
    served[f"/{info.name}.zip"] = model_zip(files=tampered)
    with pytest.raises(FetchError, match=r"sha256 .* expected"):
        fetch(info, tmp_path / "models")
    assert leftovers(tmp_path / "models") == []


def test_size_mismatch_is_refused(server: tuple[str, dict[str, bytes]], tmp_path: Path) -> None:
    base, served = server
    data = model_zip()
    info = entry(base, data)
    served[f"/{info.name}.zip"] = data + b"trailing"
    with pytest.raises(FetchError, match="larger than the pinned"):
        fetch(info, tmp_path / "models")
    served[f"/{info.name}.zip"] = data[:-1]
    with pytest.raises(FetchError, match="catalogue pins"):
        fetch(info, tmp_path / "models")
    assert leftovers(tmp_path / "models") == []


def test_unsafe_or_empty_archives_are_refused(
    server: tuple[str, dict[str, bytes]], tmp_path: Path
) -> None:
    base, served = server
    for bad, message in (
        (model_zip(top="", files={"../evil.txt": b"x", **MODEL_FILES}), "unsafe path"),
        (model_zip(files={"README": b"no model here"}), "holds no Vosk model"),
        (b"not a zip at all", "not a zip"),
    ):
        info = entry(base, bad)
        served[f"/{info.name}.zip"] = bad
        with pytest.raises(FetchError, match=message):
            fetch(info, tmp_path / "models")
        assert leftovers(tmp_path / "models") == []
    assert not (tmp_path / "evil.txt").exists()


def test_unpinned_model_needs_a_hash(server: tuple[str, dict[str, bytes]], tmp_path: Path) -> None:
    base, served = server
    data = model_zip()
    pinned = entry(base, data)
    unpinned = ModelInfo(pinned.name, "zh-CN", pinned.url, None, None)
    served[f"/{pinned.name}.zip"] = data
    with pytest.raises(FetchError, match="no pinned sha256"):
        fetch(unpinned, tmp_path / "models")
    with pytest.raises(FetchError, match="not 64 hex"):
        fetch(unpinned, tmp_path / "models", sha256="abc")
    target = fetch(unpinned, tmp_path / "models", sha256=pinned.sha256)
    assert (target / "am/final.mdl").is_file()
    with pytest.raises(FetchError, match="already exists"):
        fetch(pinned, tmp_path / "models")


def test_missing_file_is_an_error(server: tuple[str, dict[str, bytes]], tmp_path: Path) -> None:
    base, _ = server
    info = ModelInfo("vosk-model-gone", "zh-CN", f"{base}/gone.zip", 10, "0" * 64)
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch(info, tmp_path / "models")
    assert leftovers(tmp_path / "models") == []


def test_cli_fetch_with_an_injected_entry_and_a_mismatch(
    server: tuple[str, dict[str, bytes]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base, served = server
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("HOTLINE_VOSK_MODEL", raising=False)
    data = model_zip()
    info = entry(base, data)
    served[f"/{info.name}.zip"] = data
    served["/mirror/short.zip"] = data  # not the pinned small-cn archive
    served["/mirror/small-cn.zip"] = bytes(43_898_754)  # the pinned size, another content
    monkeypatch.setitem(CATALOGUE, info.name, info)

    assert main(["models", "fetch", info.name]) == 0
    out, err = capsys.readouterr()
    assert "size and sha256 verified" in out
    assert info.name in err  # the progress bar
    assert main(["models", "fetch", info.name]) == 2  # already there: refused
    assert "already exists" in capsys.readouterr().err
    assert main(["models", "fetch", info.name, "--if-missing"]) == 0  # deployments: a no-op
    assert "already present" in capsys.readouterr().out

    assert main(["models", "fetch", "vosk-model-small-cn-0.22",
                 "--url", f"{base}/mirror/small-cn.zip"]) == 2
    _, err = capsys.readouterr()
    assert "expected 3af8b0e7e0f835ae9d414ce5df580237a3cfb08d586c9fbbb0f7ff29ad5b14ba" in err
    assert main(["models", "fetch", "vosk-model-small-cn-0.22",
                 "--url", f"{base}/mirror/short.zip"]) == 2
    assert "the catalogue pins 43898754" in capsys.readouterr().err
    assert leftovers(tmp_path / "models") == [info.name]

    assert main(["models", "fetch", "vosk-model-cn-0.22"]) == 2
    assert "--sha256" in capsys.readouterr().err
    assert main(["models", "fetch", "no-such-model"]) == 2

    assert main(["models", "list"]) == 0
    out, _ = capsys.readouterr()
    assert "vosk-model-small-cn-0.22" in out and "43.9 MB" in out and "unpinned" in out
    assert f"in use: {info.name} (fetched)" in out
