"""Which prompts exist and where their files are."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

HERE = Path(__file__).resolve().parent
GENERATED = HERE / "generated"
BEEP = "beep"  # a tone, not a text: made with sox
AUDIO_EXTENSIONS = (".wav", ".WAV", ".gsm", ".ulaw", ".alaw", ".sln", ".g722")


def _load_texts() -> MappingProxyType[str, str]:
    data = json.loads((HERE / "texts.json").read_text(encoding="utf-8"))
    return MappingProxyType({str(k): str(v) for k, v in data.items()})


PROMPT_TEXTS = _load_texts()
ALL_PROMPTS = (*PROMPT_TEXTS, BEEP)


def default_prompts_dir(configured: Path | None, data_dir: Path) -> Path:
    """``HOTLINE_PROMPTS_DIR``; else ``<data_dir>/prompts`` when it exists; else the in-repo
    ``ivr/prompts/generated`` folder that ``make prompts`` fills."""
    if configured is not None:
        return configured.resolve()
    in_data = (data_dir / "prompts").resolve()
    if in_data.is_dir():
        return in_data
    return GENERATED


@dataclass(frozen=True)
class Prompts:
    """Prompt names → paths as Asterisk wants them (absolute, without extension)."""

    root: Path

    def path(self, name: str) -> str:
        if name not in ALL_PROMPTS:
            raise KeyError(f"unknown prompt {name!r}")
        return str(self.root / name)

    def digit(self, digit: str) -> str:
        if len(digit) != 1 or not digit.isdigit():
            raise ValueError(f"not a digit: {digit!r}")
        return self.path(f"digits/{digit}")

    def missing(self) -> list[str]:
        """Prompts without an audio file in any format Asterisk can play."""
        return [
            name for name in ALL_PROMPTS
            if not any((self.root / (name + ext)).is_file() for ext in AUDIO_EXTENSIONS)
        ]
