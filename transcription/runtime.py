"""What the transcription jobs of a process use: the media folder and the shared engine.

The worker process installs them once at start (``transcription.runtime.install(...)`` beside
``router.runtime.install(store)``; with ``preload=True`` the model is read before RQ forks its
work horses, so they share it). Without that, the first job reads ``HOTLINE_DATA_DIR`` and
``HOTLINE_VOSK_MODEL`` from the environment through :class:`TranscriptionSettings`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from transcription.engine import Engine, shared_engine
from transcription.models import locate


class TranscriptionSettings(BaseSettings):
    """The two settings this room reads itself (same names as ``hotline.settings``)."""

    model_config = SettingsConfigDict(
        env_prefix="HOTLINE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Path("./var")
    vosk_model: Path | None = None


@dataclass(frozen=True)
class Runtime:
    media_dir: Path
    engine: Engine


_runtime: Runtime | None = None
_lock = threading.Lock()


def install(*, data_dir: Path, vosk_model: Path | None = None, media_dir: Path | None = None,
            preload: bool = False) -> Runtime:
    """Configure this process; raises :class:`~transcription.models.ModelNotFound` (whose
    message names the fetch command) when there is no model, so a worker fails at start."""
    global _runtime
    engine = shared_engine(locate(vosk_model, data_dir))
    if preload:
        engine.model()
    runtime = Runtime((media_dir or data_dir / "media").resolve(), engine)
    with _lock:
        _runtime = runtime
    return runtime


def current() -> Runtime:
    """The installed runtime, or one built from the environment on first use."""
    if _runtime is None:
        settings = TranscriptionSettings()
        with _lock:
            if _runtime is not None:
                return _runtime
        return install(data_dir=settings.data_dir, vosk_model=settings.vosk_model)
    return _runtime
