"""What ``hotline … --help`` says beyond the options: a description for every command (its
one-line help when it has no longer one) and examples, written as they can be run here
(:mod:`hotline.invocation`)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

# command path → example argument lines (each run as "<hotline> <path> <line>")
EXAMPLES: dict[str, tuple[str, ...]] = {
    "serve": ("", "--host 0.0.0.0 --port 8096"),
    "worker": ("", "dispatch media deliver", "transcribe --burst"),
    "relay": ("",),
    "migrate": ("",),
    "apikey": ("list",),
    "apikey create": ("--name erp --scope intake,read,events",
                      "--name grid-handhelds --scope intake --out var/grid-key"),
    "apikey list": ("",),
    "apikey revoke": ("3f2a9c1e",),
    "schema": ("--out ticket.schema.json",),
    "run": ("", "--grace 30"),
    "dev-setup": ("", "--compose"),
    "agi": ("", "--transcribe batch --port 4573"),
    "prompts": ("build", "build --force --out var/prompts"),
    "spool": ("list",),
    "spool ingest": ("", "--watch"),
    "spool retry": ("",),
    "spool list": ("",),
    "models": ("list",),
    "models list": ("",),
    "models fetch": ("vosk-model-small-cn-0.22",),
    "models verify": ("",),
    "transcribe": ("call.wav", "a.wav b.wav --grammar '[\"是\",\"否\"]'"),
    "unanswered": ("list",),
    "unanswered list": ("", "--days 5"),
    "unanswered close": ("2612070001 --actor operator:li",),
    "jobs": ("failed",),
    "jobs failed": ("", "--queue dispatch"),
    "jobs retry": ("--all", "--all --queue deliver"),
    "deliveries": ("list",),
    "deliveries list": ("", "--status dead"),
    "deliveries retry": ("--dead", "--dead --destination street:DS"),
    "check-config": ("",),
    "router": ("explain 东四北大街的路灯坏了",),
    "router train": ("--out var/router/classifier.joblib",),
    "router explain": ("东四北大街的路灯坏了",),
    "operator": ("list",),
    "operator add": ("alice --name 张三 --role operator",
                     "boss --name 李四 --role supervisor --phone both",
                     "ds-desk --name 东四街道 --role street --unit DS"),
    "operator list": ("",),
    "operator disable": ("alice",),
    "operator enable": ("alice",),
    "operator passwd": ("alice",),
    "operator sip-reset": ("wang",),
    "operator sync": ("",),
    "callback": ("2612070001", "2612070001 --queue"),
    "demo": ("", "--url http://127.0.0.1:8096 --no-back-office"),
    "pbx": ("",),
    "call": ('--key 3 --say "东四北大街的路灯坏了三天了"',
             '--key 4 --say "小区门口的井盖丢了" --wait-operator', "--key 9 --from 13900139000"),
}


def walk(parser: argparse.ArgumentParser,
         path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser,
                                                       str | None]]:
    """Every parser under ``parser`` (itself first) with its command path and one-line help."""
    yield path, parser, None
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, child in action.choices.items():
                for found in walk(child, (*path, name)):
                    yield found if found[0] != (*path, name) else (found[0], found[1],
                                                                    helps.get(name))


def describe(parser: argparse.ArgumentParser, start: str) -> None:
    """Give every command below ``parser`` a description and its examples (``start``: how
    ``hotline`` is run here)."""
    for path, child, help_text in walk(parser):
        if not path:
            continue
        child.formatter_class = argparse.RawDescriptionHelpFormatter
        if not child.description and help_text:
            child.description = help_text[0].upper() + help_text[1:] + "."
        lines = EXAMPLES.get(" ".join(path))
        if lines:
            command = " ".join((start, *path))
            examples = "examples:\n" + "\n".join(f"  {command} {line}".rstrip()
                                                  for line in lines)
            child.epilog = f"{child.epilog.rstrip()}\n\n{examples}" if child.epilog else examples
