"""CLI commands of the `transcription` room: ``models list|fetch|verify`` and ``transcribe``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm  # type: ignore[import-untyped]

from hotline.context import CliContext
from hotline.errors import CliError


def _size(n: int | None) -> str:
    return "?" if n is None else f"{n / 1_000_000:.1f} MB"


def _models_list(ctx: CliContext, _: argparse.Namespace) -> int:
    from transcription.catalogue import CATALOGUE
    from transcription.models import ModelNotFound, language_warning, locate, models_dir

    settings = ctx.settings
    root = models_dir(settings.data_dir)
    print(f"{'NAME':28} {'LANG':6} {'SIZE':>10}  {'SHA256':10}  FETCHED")
    for info in CATALOGUE.values():
        pinned = info.sha256[:8] + "…" if info.sha256 else "unpinned"
        fetched = "yes" if (root / info.name).is_dir() else "no"
        print(f"{info.name:28} {info.language:6} {_size(info.size):>10}  {pinned:10}  {fetched}")
    try:
        location = locate(settings.vosk_model, settings.data_dir)
        print(f"\nin use: {location.name} ({location.source}) at {location.path}")
        warning = language_warning(location)
        if warning:
            print(f"warning: {warning}")
    except ModelNotFound as exc:
        print(f"\nin use: none — {exc}")
    return 0


def _models_fetch(ctx: CliContext, args: argparse.Namespace) -> int:
    from transcription.catalogue import CATALOGUE
    from transcription.fetch import FetchError, fetch
    from transcription.models import models_dir, problems

    info = CATALOGUE.get(args.name)
    if info is None:
        raise CliError(f"unknown model {args.name!r}; known: {', '.join(CATALOGUE)}")
    settings = ctx.settings
    existing = models_dir(settings.data_dir) / info.name
    if args.if_missing and existing.is_dir() and not problems(existing):
        print(f"{info.name}: already present in {existing}")
        return 0
    bar = tqdm(total=info.size, unit="B", unit_scale=True, unit_divisor=1024, desc=info.name,
               file=sys.stderr)

    def progress(done: int, total: int | None) -> None:
        if total is not None and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    try:
        target = fetch(info, models_dir(settings.data_dir), url=args.url, sha256=args.sha256,
                       progress=progress)
    except FetchError as exc:
        raise CliError(str(exc)) from exc
    finally:
        bar.close()
    print(f"{info.name}: size and sha256 verified, unpacked into {target}")
    return 0


def _models_verify(ctx: CliContext, args: argparse.Namespace) -> int:
    from transcription.engine import shared_engine
    from transcription.models import ModelNotFound, locate, verify

    settings = ctx.settings
    try:
        location = locate(args.path or settings.vosk_model, settings.data_dir)
    except ModelNotFound as exc:
        raise CliError(str(exc)) from exc
    found = verify(location)
    if found:
        raise CliError(f"{location.name} at {location.path}: " + "; ".join(found))
    engine = shared_engine(location)
    stream = engine.stream()
    stream.accept(bytes(16000))  # one second of silence through the decoder
    stream.finish()
    print(f"{location.name} ({location.source}) at {location.path}: ok, loads in "
          f"{engine.load_seconds or 0:.1f} s and decodes")
    return 0


def _transcribe(ctx: CliContext, args: argparse.Namespace) -> int:
    from transcription.audio import AudioError
    from transcription.batch import transcribe_file
    from transcription.engine import shared_engine
    from transcription.models import ModelNotFound, locate

    settings = ctx.settings
    try:
        engine = shared_engine(locate(settings.vosk_model, settings.data_dir))
    except ModelNotFound as exc:
        raise CliError(str(exc)) from exc
    grammar = json.loads(args.grammar) if args.grammar else None
    failed = 0
    with tqdm(args.files, unit="file", file=sys.stderr) as files:
        for path in files:
            files.set_postfix_str(path.name)
            line: dict[str, Any] = {"file": str(path), "model": engine.name}
            try:
                line.update(transcribe_file(engine, path, grammar=grammar).as_json())
            except AudioError as exc:
                failed += 1
                line["error"] = str(exc)
            files.write(json.dumps(line, ensure_ascii=False), file=sys.stdout)
            sys.stdout.flush()
    return 1 if failed else 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    models = sub.add_parser("models", help="Vosk models: list, fetch (pinned sha256), verify")
    msub = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    p = msub.add_parser("list", help="the pinned catalogue and the model in use")
    p.set_defaults(handler=_models_list)
    p = msub.add_parser("fetch", help="download a catalogue model, verify size+sha256, unpack "
                        "into <data_dir>/models/NAME")
    p.add_argument("name")
    p.add_argument("--url", help="download from this mirror instead (the hash stays pinned)")
    p.add_argument("--sha256", help="expected sha256 (required for an unpinned model)")
    p.add_argument("--if-missing", action="store_true",
                   help="do nothing when the model is already unpacked (for deployments)")
    p.set_defaults(handler=_models_fetch)
    p = msub.add_parser("verify", help="check the model in use (or PATH) and decode with it")
    p.add_argument("path", nargs="?", type=Path)
    p.set_defaults(handler=_models_verify)

    p = sub.add_parser("transcribe", help="transcribe audio files; JSON lines on stdout")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--grammar", help='restrict to these words: a JSON list, e.g. \'["是","否"]\'')
    p.set_defaults(handler=_transcribe)
