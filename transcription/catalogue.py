"""The pinned catalogue of official Vosk models that ``hotline models fetch`` may download.

Each entry names the archive's URL, its size in bytes and its sha256, checked before anything
is unpacked. An entry without a pinned hash (``sha256=None``) is fetched only when the operator
gives the hash (``--sha256``), taken from a trusted copy of the file.
"""

from __future__ import annotations

from dataclasses import dataclass

BASE_URL = "https://alphacephei.com/vosk/models/"


@dataclass(frozen=True)
class ModelInfo:
    name: str
    language: str  # BCP 47
    url: str
    size: int | None  # bytes of the .zip
    sha256: str | None
    description: str = ""

    @property
    def pinned(self) -> bool:
        return self.sha256 is not None


CATALOGUE: dict[str, ModelInfo] = {
    m.name: m
    for m in (
        ModelInfo(
            name="vosk-model-small-cn-0.22",
            language="zh-CN",
            url=BASE_URL + "vosk-model-small-cn-0.22.zip",
            size=43_898_754,
            sha256="3af8b0e7e0f835ae9d414ce5df580237a3cfb08d586c9fbbb0f7ff29ad5b14ba",
            description="Mandarin, small (about 42 MB): the default for a 96010 deployment",
        ),
        ModelInfo(
            name="vosk-model-cn-0.22",
            language="zh-CN",
            url=BASE_URL + "vosk-model-cn-0.22.zip",
            size=None,
            sha256=None,
            description="Mandarin, large (about 1.3 GB, server): not pinned here; "
            "fetch with --sha256 from a verified copy",
        ),
    )
}
