"""Benchmark of the router (not a test): ``.venv/bin/python -m bench.router``.

On the held-out split of the labelled set (``classify.split``, fixed seed), with a model trained
on the other rows exactly as ``hotline router train`` trains its trial model:

* **categories**: rules first, then the model, below the threshold a person
  (``classify.evaluate``); a row left to a person counts as not correct. Also: the share decided
  without a person and how often those were right, by source (rule / model), by category and by
  style (spoken / written), the model alone (rules switched off), and the same figures over
  several other seeds (the held-out part is small);
* **streets**: the street the router names from the text (the gazetteer, through the full
  ``decide``) against the labelled street; a row labelled "" names no place that pins a street,
  and there "unknown" is right. Counted: right, unknown where a street was labelled (a person
  decides), and **asserted wrongly** — a street named (its confidence at or above the
  threshold) that is not the labelled one: the goal is none. The gazetteer is not trained, so
  the same figures over the whole labelled set are given as well;
* **throughput** on one core: tickets/s through the full ``decide`` (pure, in memory); through
  the dispatch job (``router.dispatch.dispatch``: read the ticket, decide, query repeats and
  duplicates, write the change, its deliveries and outbox rows) called in-process on SQLite;
  and through one real RQ worker (``ContextWorker`` as ``hotline worker`` runs it: jobs in its
  own process, no work horse forked per job) on SQLite and a private redis-server, the jobs
  put on RQ by the relay beforehand (not timed). Delivery is not in it.

Writes ``bench/results/router.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import percentile
from hotline.worker import WorkerContext
from router import classify, routerconfig
from router.classify import Labelled, Model
from router.context import Router
from router.decide import Context, decide
from router.dispatch import dispatch
from router.routerconfig import RouterConfig
from tests.support.services import RedisServer
from tickets.db import Database
from tickets.migrate import upgrade
from tickets.model import Channel, Citizen, Intake, Kind, Status, Ticket
from tickets.queues import QueueName, queue
from tickets.redisclient import connect
from tickets.relay import relay_once
from tickets.store import Store
from tickets.worker import ContextWorker

RESULTS = Path(__file__).parent / "results"
GOAL_STREETS = 0.90
GOAL_CATEGORIES = 0.85


def _ticket(text: str, number: int) -> Ticket:
    now = datetime.now(UTC)
    return Ticket(id=f"{number:032x}", number=f"{number:010d}", seq=number,
                  channel=Channel.api, channel_ref=f"bench-{number}", received_at=now,
                  updated_at=now, citizen=Citizen(), kind=Kind.unknown, text=text, transcript=None,
                  attachments=[], location=None, status=Status.received, history=[])


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


# -- categories ---------------------------------------------------------------------------------
def categories(config: RouterConfig, model: Model, held_out: Sequence[Labelled],
               threshold: float) -> dict[str, Any]:
    report = classify.evaluate(config.catalogue, model, held_out, threshold)
    by_source: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_style: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    to_person: list[dict[str, Any]] = []
    wrong: list[dict[str, Any]] = []
    model_alone = 0
    for row in held_out:
        decision = classify.classify(config.catalogue, model, row.text, threshold)
        source = decision.source if decision.category is not None else "person"
        right = decision.category == row.category
        by_source[source][0] += 1
        by_source[source][1] += right
        style = by_style[row.style or "-"]
        style[0] += 1
        style[1] += decision.category is not None
        style[2] += right
        model_alone += model.predict(row.text)[0] == row.category
        if decision.category is None:
            to_person.append({"text": row.text, "labelled": row.category,
                              "suggested": decision.detail.rsplit(" ", 1)[-1],
                              "confidence": decision.confidence})
        elif not right:
            wrong.append({"text": row.text, "labelled": row.category,
                          "decided": decision.category, "source": decision.source,
                          "detail": decision.detail})
    rules_only = classify.evaluate(config.catalogue, None, held_out, threshold)
    return {
        **report.as_json(),
        "decided_share": _share(report.decided, report.rows),
        "by_source": {k: {"rows": v[0], "correct": v[1]} for k, v in sorted(by_source.items())},
        "by_style": {k: {"rows": v[0], "decided": v[1], "correct": v[2],
                         "accuracy": _share(v[2], v[0])} for k, v in sorted(by_style.items())},
        "rules_only_accuracy": round(rules_only.accuracy, 4),
        "model_alone_accuracy": _share(model_alone, len(held_out)),
        "to_a_person": to_person,
        "wrong": wrong,
    }


def other_seeds(config: RouterConfig, rows: Sequence[Labelled], seeds: Sequence[int],
                threshold: float) -> list[dict[str, Any]]:
    found = []
    for seed in seeds:
        train_rows, held_out = classify.split(rows, seed=seed)
        model = classify.train(train_rows, config.catalogue)
        report = classify.evaluate(config.catalogue, model, held_out, threshold)
        found.append({"seed": seed, "rows": report.rows, "accuracy": round(report.accuracy, 4),
                      "decided_share": _share(report.decided, report.rows),
                      "precision": round(report.precision, 4)})
    return found


# -- streets ------------------------------------------------------------------------------------
@dataclass
class StreetCount:
    rows: int = 0
    right: int = 0
    unknown: int = 0  # a street was labelled, the router named none: a person decides
    wrong: int = 0  # the router named a street that is not the labelled one


def streets(config: RouterConfig, model: Model, rows: Sequence[Labelled]) -> dict[str, Any]:
    total = StreetCount()
    by_street: dict[str, StreetCount] = defaultdict(StreetCount)
    wrong: list[dict[str, Any]] = []
    unknown: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        decision = decide(config, model, _ticket(row.text, i + 1), Context(), datetime.now(UTC))
        routing = decision.ticket.routing
        location = decision.ticket.location
        named = location.street if location is not None and routing and routing.place else None
        confidence = routing.place.confidence if routing and routing.place else None
        for count in (total, by_street[row.street or "(none)"]):
            count.rows += 1
            if (named or "") == row.street:
                count.right += 1
            elif named is None:
                count.unknown += 1
            else:
                count.wrong += 1
        if named is not None and named != row.street:
            wrong.append({"text": row.text, "labelled": row.street or "(none)", "named": named,
                          "confidence": confidence,
                          "places": routing.place.detail if routing and routing.place else ""})
        elif named is None and row.street:
            guess = config.gazetteer.street_of(row.text, config.rules.thresholds.place)
            unknown.append({"text": row.text, "labelled": row.street,
                            "candidates": guess.candidates})
    return {
        "rows": total.rows, "right": total.right, "accuracy": _share(total.right, total.rows),
        "unknown_to_a_person": total.unknown, "asserted_wrongly": total.wrong,
        "asserted_wrongly_at_confidence_1": sum(1 for w in wrong if w["confidence"] == 1.0),
        "by_street": {k: vars(v) | {"accuracy": _share(v.right, v.rows)}
                      for k, v in sorted(by_street.items())},
        "wrong": wrong, "unknown": unknown,
    }


# -- throughput ---------------------------------------------------------------------------------
def decide_rate(config: RouterConfig, model: Model, texts: Sequence[str],
                seconds: float) -> dict[str, Any]:
    tickets = [_ticket(t, i + 1) for i, t in enumerate(texts)]
    for t in tickets[:20]:  # warm-up (jieba, numpy)
        decide(config, model, t, Context(), datetime.now(UTC))
    done = 0
    wall, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - wall < seconds:
        for t in tickets:
            decide(config, model, t, Context(), datetime.now(UTC))
        done += len(tickets)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"tickets": done, "wall_seconds": round(wall, 2), "cpu_seconds": round(cpu, 2),
            "tickets_per_s": round(done / wall, 1),
            "tickets_per_cpu_s": round(done / cpu, 1) if cpu else None}


def dispatch_rate(config: RouterConfig, model: Model, texts: Sequence[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-router-") as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'hotline.sqlite3'}")
        upgrade(db)
        store = Store(db)
        ctx = WorkerContext(store=store, media_dir=Path(tmp) / "media",
                            router=Router(config, model))
        ids = [store.submit(Intake(channel=Channel.api, channel_ref=f"bench-{i}",
                                   received_at=datetime.now(UTC), text=text)).ticket.id
               for i, text in enumerate(texts)]
        latencies: list[float] = []
        wall, cpu = time.perf_counter(), time.process_time()
        for ticket_id in ids:
            started = time.perf_counter()
            dispatch(ctx, ticket_id)
            latencies.append((time.perf_counter() - started) * 1000)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        outcomes = _outcomes(store, ids)
        db.dispose()
    return {"tickets": len(ids), "wall_seconds": round(wall, 2), "cpu_seconds": round(cpu, 2),
            "tickets_per_s": round(len(ids) / wall, 1),
            "tickets_per_cpu_s": round(len(ids) / cpu, 1) if cpu else None,
            "p50_ms": round(statistics.median(latencies), 1),
            "p90_ms": round(percentile(latencies, .9), 1),
            "p99_ms": round(percentile(latencies, .99), 1),
            "outcomes": outcomes}


def _outcomes(store: Store, ids: Sequence[str]) -> dict[str, int]:
    outcomes: Counter[str] = Counter()
    for ticket_id in ids:
        t = store.get(ticket_id)
        routing = t.routing
        if t.status is Status.merged:
            outcomes["merged"] += 1
        elif routing is not None and routing.needs:
            outcomes["waits for a person"] += 1
        elif routing is not None and routing.destinations:
            outcomes["planned for delivery"] += 1
        else:
            outcomes["not routed"] += 1
        if routing is not None and routing.related and t.status is not Status.merged:
            outcomes["of those, linked as related"] += 1
    return dict(sorted(outcomes.items()))


def rq_worker_rate(config: RouterConfig, model: Model, texts: Sequence[str]) -> dict[str, Any]:
    """One RQ worker in burst mode over ``texts`` already relayed onto the dispatch queue."""
    with tempfile.TemporaryDirectory(prefix="bench-router-rq-") as tmp:
        server = RedisServer(Path(tmp) / "redis")
        server.start()
        try:
            redis = connect(server.url)
            db = Database(f"sqlite:///{Path(tmp) / 'hotline.sqlite3'}")
            upgrade(db)
            store = Store(db)
            ids = [store.submit(Intake(channel=Channel.api, channel_ref=f"bench-rq-{i}",
                                       received_at=datetime.now(UTC), text=text)).ticket.id
                   for i, text in enumerate(texts)]
            while relay_once(db, redis, batch=500):
                pass
            dispatch_queue = queue(QueueName.dispatch, redis)
            queued = dispatch_queue.count
            context = WorkerContext(store=store, media_dir=Path(tmp) / "media", redis=redis,
                                    router=Router(config, model))  # built once, as run_worker does
            worker = ContextWorker([QueueName.dispatch], connection=redis, context=context)
            before = os.times()
            wall = time.perf_counter()
            worker.work(burst=True, logging_level="WARNING")
            wall = time.perf_counter() - wall
            after = os.times()
            cpu = sum(after[:4]) - sum(before[:4])
            failed = dispatch_queue.failed_job_registry.count
            outcomes = _outcomes(store, ids)
            db.dispose()
            redis.close()
        finally:
            server.stop()
    return {"tickets": len(ids), "jobs_queued": queued, "jobs_failed": failed,
            "wall_seconds": round(wall, 2),
            "cpu_seconds": round(cpu, 2), "tickets_per_s": round(len(ids) / wall, 1),
            "tickets_per_cpu_s": round(len(ids) / cpu, 1) if cpu else None,
            "outcomes": outcomes}


def segmenter_load_seconds() -> float:
    """Loading the gazetteer's segmenter once (a fresh configuration): what every dispatch job
    paid when the worker forked a work horse per job and the router was not loaded before."""
    fresh = routerconfig.load()
    started = time.perf_counter()
    fresh.gazetteer.find("")
    return round(time.perf_counter() - started, 2)


# -- the report ---------------------------------------------------------------------------------
def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def markdown(r: dict[str, Any]) -> str:
    c, s, sa = r["categories"], r["streets_held_out"], r["streets_all_rows"]
    d, j = r["throughput"]["decide"], r["throughput"]["dispatch_sqlite"]
    w = r["throughput"]["rq_worker_sqlite"]
    seeds = r["categories_other_seeds"]
    lines = [
        "# Router: categories, streets, throughput",
        "",
        f"Measured {r['date']} on {r['machine']} with `python -m bench.router`; load average "
        f"{r['load_average_before']} at start (a shared, loaded machine: the CPU-time rates "
        "are the steadier figures).",
        f"Labelled set `router/config/labelled.csv`: {r['labelled_rows']} rows; held-out split "
        f"`classify.split(seed={r['seed']})`: {r['held_out_rows']} rows (stratified by "
        f"category), the model trained on the other {r['train_rows']} rows plus the catalogue's "
        f"phrases. Category threshold {r['thresholds']['category']}, place threshold "
        f"{r['thresholds']['place']}.",
        "",
        "**Read with care.** The labelled set, the catalogue's rule phrases and the gazetteer "
        "were written by the same author, at the same time: the held-out rows share wording with "
        "the phrases, so these figures are an upper bound of what real residents' words would "
        "give. The held-out part is small (about two rows per category): by-category figures "
        "move by 50 points with a single row. A fresh, independently written (or real, "
        "anonymised) set is the next measurement to make.",
        "",
        "| measure | result | goal |",
        "|---|---|---|",
        f"| street accuracy, held-out | {_pct(s['accuracy'])} ({s['right']}/{s['rows']}) | "
        f"≥ {_pct(GOAL_STREETS)} |",
        f"| street accuracy, all labelled rows (the gazetteer is not trained) | "
        f"{_pct(sa['accuracy'])} ({sa['right']}/{sa['rows']}) | ≥ {_pct(GOAL_STREETS)} |",
        f"| streets asserted wrongly, held-out / all rows | {s['asserted_wrongly']} / "
        f"{sa['asserted_wrongly']} (at confidence 1.0: {s['asserted_wrongly_at_confidence_1']} "
        f"/ {sa['asserted_wrongly_at_confidence_1']}) | 0 |",
        f"| street unknown → a person, held-out / all rows | {s['unknown_to_a_person']} / "
        f"{sa['unknown_to_a_person']} | |",
        f"| category accuracy, held-out (a person = not correct) | {_pct(c['accuracy'])} "
        f"({c['correct']}/{c['rows']}) | ≥ {_pct(GOAL_CATEGORIES)} |",
        f"| decided without a person / right among those | {_pct(c['decided_share'])} / "
        f"{_pct(c['precision'])} | |",
        f"| rules alone / model alone (held-out) | {_pct(c['rules_only_accuracy'])} / "
        f"{_pct(c['model_alone_accuracy'])} | |",
        f"| category accuracy over {len(seeds)} other seeds | min "
        f"{_pct(min(x['accuracy'] for x in seeds))}, median "
        f"{_pct(statistics.median(x['accuracy'] for x in seeds))}, max "
        f"{_pct(max(x['accuracy'] for x in seeds))} | |",
        f"| `decide`, one core | {d['tickets_per_s']} tickets/s ({d['tickets_per_cpu_s']} per "
        f"CPU-second) | |",
        f"| dispatch job on SQLite, one worker | {j['tickets_per_s']} tickets/s "
        f"({j['tickets_per_cpu_s']} per CPU-second); p50 {j['p50_ms']} ms, p99 {j['p99_ms']} ms "
        "| |",
        f"| one RQ worker (`hotline worker`'s, jobs in its own process), SQLite | "
        f"{w['tickets_per_s']} tickets/s ({w['tickets_per_cpu_s']} per CPU-second) | |",
        "",
        "## Categories (held-out)",
        "",
        "| decided by | rows | right |",
        "|---|---|---|",
    ]
    lines += [f"| {k} | {v['rows']} | {v['correct']} |" for k, v in c["by_source"].items()]
    lines += ["", "| style | rows | decided | right | accuracy |", "|---|---|---|---|---|"]
    lines += [f"| {k} | {v['rows']} | {v['decided']} | {v['correct']} | {_pct(v['accuracy'])} |"
              for k, v in c["by_style"].items()]
    lines += ["", "| category | rows | decided | right |", "|---|---|---|---|"]
    lines += [f"| {k} | {v['rows']} | {v['decided']} | {v['correct']} |"
              for k, v in c["by_category"].items()]
    if c["wrong"]:
        lines += ["", "Decided wrongly:", ""]
        lines += [f"- {w['text']} — labelled `{w['labelled']}`, decided `{w['decided']}` "
                  f"({w['source']}: {w['detail']})" for w in c["wrong"]]
    if c["to_a_person"]:
        lines += ["", "Left to a person (the model's suggestion below the threshold):", ""]
        lines += [f"- {w['text']} — labelled `{w['labelled']}`, suggested `{w['suggested']}` "
                  f"at {w['confidence']}" for w in c["to_a_person"]]
    lines += ["", "## Streets", "",
              "| street | held-out rows | right | unknown | wrong | all rows | right | unknown "
              "| wrong |", "|---|---|---|---|---|---|---|---|---|"]
    for code, v in sa["by_street"].items():
        h = s["by_street"].get(code, {"rows": 0, "right": 0, "unknown": 0, "wrong": 0})
        lines.append(f"| {code} | {h['rows']} | {h['right']} | {h['unknown']} | {h['wrong']} "
                     f"| {v['rows']} | {v['right']} | {v['unknown']} | {v['wrong']} |")
    lines += ["", "`(none)`: rows whose text names no place that pins a street; unknown is "
              "right there.", ""]
    if sa["wrong"]:
        lines += ["Streets asserted wrongly (all rows):", ""]
        lines += [f"- {w['text']} — labelled {w['labelled']}, named {w['named']} at "
                  f"{w['confidence']} (from {w['places']})" for w in sa["wrong"]]
        lines.append("")
    if sa["unknown"]:
        lines += ["Street left to a person where one was labelled (all rows):", ""]
        lines += [f"- {w['text']} — labelled {w['labelled']}; candidates {w['candidates']}"
                  for w in sa["unknown"]]
        lines.append("")
    lines += [
        "## Throughput",
        "",
        f"- `decide` (place, category with the model, kind, priority, loop, deadlines), pure and "
        f"in memory, one thread: {d['tickets']} decisions in {d['wall_seconds']} s "
        f"({d['cpu_seconds']} s CPU) → **{d['tickets_per_s']} tickets/s**.",
        f"- the dispatch job, in-process, one worker, SQLite in a temporary folder: "
        f"{j['tickets']} tickets (every labelled text once, in a fixed shuffled order) in "
        f"{j['wall_seconds']} s ({j['cpu_seconds']} s CPU) → **{j['tickets_per_s']} "
        f"tickets/s**; per ticket p50 {j['p50_ms']} ms, p90 {j['p90_ms']} ms, p99 "
        f"{j['p99_ms']} ms. Outcomes: "
        + ", ".join(f"{k} {v}" for k, v in j["outcomes"].items()) + ". Not included: RQ, Redis, "
        "the relay, delivery.",
        f"- one RQ worker as `hotline worker dispatch` runs it (`ContextWorker`, an rq "
        f"`SimpleWorker`: burst mode, jobs in its own process), SQLite and a private "
        f"redis-server: {w['tickets']} "
        f"jobs relayed onto the queue beforehand, done in {w['wall_seconds']} s "
        f"({w['cpu_seconds']} s CPU) → **{w['tickets_per_s']} tickets/s**; "
        f"failed jobs: {w['jobs_failed']}. Outcomes: "
        + ", ".join(f"{k} {v}" for k, v in w["outcomes"].items()) + ".",
        f"- loading the gazetteer's segmenter (jieba with the place names): "
        f"{r['throughput']['segmenter_load_seconds']} s. The router now loads it when it is "
        "built, once per worker; with a work horse forked per job (before) every dispatch job "
        "paid the fork (about 100 ms of CPU) and, earlier still, loaded it again: 1.7 "
        "tickets/s through one worker, measured on 2026-12-01 under load.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="how long to time decide for")
    parser.add_argument("--seeds", type=int, default=5,
                        help="other held-out splits to train and score")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    load_before = os.getloadavg()
    started = time.perf_counter()
    config = routerconfig.load()
    load_seconds = time.perf_counter() - started
    rows = classify.read_labelled(config.folder / "labelled.csv")
    train_rows, held_out = classify.split(rows)
    started = time.perf_counter()
    model = classify.train(train_rows, config.catalogue, source="labelled.csv (train split)")
    train_seconds = time.perf_counter() - started
    thresholds = config.rules.thresholds

    shuffled = [r.text for r in rows]
    random.Random(classify.SEED).shuffle(shuffled)
    result: dict[str, Any] = {
        "bench": "router",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, "
                   f"Python {platform.python_version()}",
        "load_average_before": [round(x, 2) for x in load_before],
        "labelled_rows": len(rows), "train_rows": len(train_rows),
        "held_out_rows": len(held_out), "seed": classify.SEED,
        "thresholds": {"category": thresholds.category, "place": thresholds.place},
        "config_load_seconds": round(load_seconds, 2),
        "train_seconds": round(train_seconds, 2),
        "categories": categories(config, model, held_out, thresholds.category),
        "categories_other_seeds": other_seeds(
            config, rows, [classify.SEED + i for i in range(1, args.seeds + 1)],
            thresholds.category),
        "streets_held_out": streets(config, model, held_out),
        "streets_all_rows": streets(config, model, rows),
        "throughput": {
            "decide": decide_rate(config, model, [r.text for r in held_out], args.seconds),
            "dispatch_sqlite": dispatch_rate(config, model, shuffled),
            "rq_worker_sqlite": rq_worker_rate(config, model, shuffled),
            "segmenter_load_seconds": segmenter_load_seconds(),
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "router.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n",
                                          encoding="utf-8")
    text = markdown(result)
    (args.out / "router.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
