"""CLI commands of the router: ``check-config``, ``router train``, ``router explain``.

The router's modules (scikit-learn, shapely, jieba) are imported by the commands that use them,
so every other ``hotline`` command starts quickly.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hotline.context import CliContext
from hotline.errors import CliError

if TYPE_CHECKING:
    from router.routerconfig import RouterConfig


def _config(ctx: CliContext) -> RouterConfig:
    from router import routerconfig
    from router.yamlfile import ConfigError

    try:
        return routerconfig.load(ctx.settings.router_config_dir)
    except ConfigError as exc:
        raise CliError(f"the router configuration has problems:\n{exc}") from None


def _check(ctx: CliContext, _: argparse.Namespace) -> int:
    """Every reviewed file: the router's configuration and the residents' texts."""
    from channels.texts import TextsError
    from channels.texts import load as load_texts
    from router import routerconfig
    from router.yamlfile import ConfigError

    problems: list[str] = []
    try:
        config = routerconfig.load(ctx.settings.router_config_dir)
    except ConfigError as exc:
        problems.extend(exc.problems)
        config = None
    try:
        load_texts()
    except TextsError as exc:
        problems.append(str(exc))
    if problems:
        raise CliError(f"{len(problems)} problem(s):\n" + "\n".join(problems))
    assert config is not None
    print(f"ok: {len(config.catalogue.categories)} categories, "
          f"{len(config.places.tree.streets)} streets, {len(config.places.cells)} grid cells, "
          f"{len(config.gazetteer.data.places)} gazetteer places; residents' texts ok")
    return 0


def _train(ctx: CliContext, args: argparse.Namespace) -> int:
    from router import classify

    config = _config(ctx)
    source = Path(args.csv) if args.csv else config.folder / "labelled.csv"
    try:
        rows = classify.read_labelled(source)
    except (OSError, KeyError) as exc:
        raise CliError(f"cannot read the labelled set {source}: {exc}") from None
    unknown = sorted({r.category for r in rows} - {c.code for c in config.catalogue.categories})
    if unknown:
        raise CliError(f"{source}: categories not in the catalogue: {', '.join(unknown)}")
    train_rows, held_out = classify.split(rows)
    trial = classify.train(train_rows, config.catalogue, source=str(source))
    report = classify.evaluate(config.catalogue, trial, held_out,
                               config.rules.thresholds.category)
    model = classify.train(rows, config.catalogue, source=str(source))
    out = Path(args.out) if args.out else ctx.settings.classifier_path
    model.meta["held_out"] = report.as_json()
    classify.save(model, out)
    print(f"trained on {len(rows)} rows of {source}; written to {out}")
    print(f"held-out ({len(held_out)} rows, trained on the other {len(train_rows)}): "
          f"{report.correct}/{report.rows} right ({report.accuracy:.1%}); decided without a "
          f"person {report.decided}/{report.rows}, of those right {report.precision:.1%}")
    return 0


def _explain(ctx: CliContext, args: argparse.Namespace) -> int:
    """How the router would route a message (for reviewers of the configuration)."""
    from router import classify
    from router.decide import Context, decide
    from tickets.model import Channel, Intake, Status, Ticket

    config = _config(ctx)
    try:
        model: classify.Model | None = classify.load(ctx.settings.classifier_path)
    except classify.ModelUnusable:
        model = None
    now = datetime.now(UTC)
    intake = Intake(channel=Channel.api, channel_ref="explain", received_at=now, text=args.text)
    ticket = Ticket(id="0" * 32, number="0" * 10, seq=0, channel=intake.channel,
                    channel_ref=intake.channel_ref, received_at=now, updated_at=now,
                    citizen=intake.citizen, kind=intake.kind, text=intake.text,
                    transcript=None, attachments=[], location=None, status=Status.received,
                    history=[])
    decision = decide(config, model, ticket, Context(), now)
    routed: dict[str, Any] = decision.ticket.model_dump(
        mode="json", include={"kind", "category", "department", "loop", "priority",
                              "location", "routing"})
    routed["destinations"] = decision.destinations
    print(json.dumps(routed, ensure_ascii=False, indent=2))
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("check-config", help="check the reviewed configuration files "
                                            "(router/config/*.yaml, channels/texts.yaml)")
    p.set_defaults(handler=_check)
    router = sub.add_parser("router", help="the router's classifier and its explanations")
    rsub = router.add_subparsers(dest="router_command", required=True, metavar="ACTION")
    p = rsub.add_parser("train", help="train the classifier on a labelled CSV (text,category,"
                                      "street,kind,style) and report held-out accuracy")
    p.add_argument("csv", nargs="?", help="default: router/config/labelled.csv")
    p.add_argument("--out", help="default: HOTLINE_CLASSIFIER or <data dir>/router/"
                                 "classifier.joblib")
    p.set_defaults(handler=_train)
    p = rsub.add_parser("explain", help="show how a message would be routed")
    p.add_argument("text")
    p.set_defaults(handler=_explain)
