"""The client process: sends every intake of the plan the way its provider would and records
each outcome, one JSON line per intake.

    python -m bench.chaos.drive CONFIG.json

A provider whose request got no answer (connection refused or reset, timeout, 5xx, 429)
sends it again with the same key: Twilio's ``MessageSid``, WeChat's ``MsgId`` (three
attempts at most, about 5 s apart: WeChat's own pattern), the API's ``channel_ref``, Open311's
``Idempotency-Key``, the web form's page (its CSRF token holds the submission id). Each retry
goes to the other ``hotline serve``, as a load balancer would send it. Outcomes, as Jepsen
names them: ``ok`` (acknowledged: the answer named a ticket number or said the number comes
later), ``fail`` (a definite refusal, 4xx), ``info`` (no answer ever came: unknown).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO

import httpx

from bench.chaos import channels as ch
from bench.chaos.secrets import Credentials


@dataclass(frozen=True)
class Policy:
    timeout: float  # seconds one attempt waits for its answer
    attempts: int  # most attempts (WeChat: 3)
    give_up: float  # seconds after the first attempt when the provider stops trying
    spacing: float  # seconds between attempts (WeChat) or the first back-off (others)


POLICIES = {
    ch.Kind.sms: Policy(timeout=15, attempts=1000, give_up=240, spacing=1),
    ch.Kind.wechat: Policy(timeout=5, attempts=3, give_up=15, spacing=5),
    ch.Kind.web: Policy(timeout=30, attempts=1000, give_up=240, spacing=1),
    ch.Kind.api: Policy(timeout=30, attempts=1000, give_up=240, spacing=1),
    ch.Kind.open311: Policy(timeout=30, attempts=1000, give_up=240, spacing=1),
}
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class DriveConfig:
    bases: list[str]
    creds: Credentials
    run: str
    count: int
    concurrency: int
    max_seconds: float
    out: Path

    @classmethod
    def load(cls, path: Path) -> DriveConfig:
        doc = json.loads(path.read_text())
        return cls(bases=doc["bases"], creds=Credentials(**doc["creds"]), run=doc["run"],
                   count=doc["count"], concurrency=doc["concurrency"],
                   max_seconds=doc["max_seconds"], out=Path(doc["out"]))

    def dump(self, path: Path) -> None:
        doc = {"bases": self.bases, "creds": self.creds.as_dict(), "run": self.run,
               "count": self.count, "concurrency": self.concurrency,
               "max_seconds": self.max_seconds, "out": str(self.out)}
        path.write_text(json.dumps(doc))


@dataclass
class Op:
    index: int
    kind: str
    key: str | None  # None: a web form whose page never loaded (nothing was sent)
    outcome: str = "info"  # ok | fail | info
    number: str | None = None
    attempts: int = 0
    started: float = 0.0  # unix time of the first attempt
    ended: float = 0.0
    answers: list[str] = field(default_factory=list)  # status or error of each attempt


class Driver:
    def __init__(self, config: DriveConfig, client: httpx.AsyncClient, out: IO[str]) -> None:
        self.config = config
        self.client = client
        self.out = out

    async def attempt(self, base: str, req: ch.Request, wait: float
                      ) -> tuple[int | None, str, str]:
        """(status or None, body text, short description) of one attempt."""
        try:
            r = await self.client.request(req.method, base + req.path, content=req.body,
                                          headers=req.headers, timeout=wait)
        except httpx.HTTPError as exc:
            return None, "", type(exc).__name__
        return r.status_code, r.text, str(r.status_code)

    async def web_page(self, intake: ch.Intake, op: Op, policy: Policy) -> tuple[str, str] | None:
        """Load the form (a GET has no effect: retried freely): (csrf token, cookie)."""
        deadline = time.monotonic() + policy.give_up
        n = 0
        while time.monotonic() < deadline:
            base = self.config.bases[(intake.index + n) % len(self.config.bases)]
            n += 1
            try:
                r = await self.client.get(base + ch.WEB_PATH, timeout=policy.timeout)
            except httpx.HTTPError as exc:
                op.answers.append(f"GET {type(exc).__name__}")
                await asyncio.sleep(min(8.0, policy.spacing * n))
                continue
            token, cookie = ch.web_token(r.text), r.cookies.get("hotline_csrf")
            if r.status_code == 200 and token and cookie:
                return token, cookie
            op.answers.append(f"GET {r.status_code}")
            await asyncio.sleep(min(8.0, policy.spacing * n))
        return None

    async def one(self, intake: ch.Intake) -> Op:
        policy = POLICIES[intake.kind]
        op = Op(intake.index, intake.kind.value, intake.key, started=time.time())
        cookie = token = ""
        if intake.kind is ch.Kind.web:
            page = await self.web_page(intake, op, policy)
            if page is None:
                op.key, op.outcome, op.ended = None, "fail", time.time()
                return op
            token, cookie = page
            op.key = ch.web_key(token)
        create_time = int(time.time())
        first = time.monotonic()
        while op.attempts < policy.attempts and time.monotonic() - first < policy.give_up:
            if intake.kind is ch.Kind.wechat:  # WeChat resends on its own clock
                await asyncio.sleep(max(0.0, first + policy.spacing * op.attempts
                                        - time.monotonic()))
            base = self.config.bases[(intake.index + op.attempts) % len(self.config.bases)]
            req = self.request(intake, create_time, token, cookie)
            op.attempts += 1
            status, text, said = await self.attempt(base, req, policy.timeout)
            op.answers.append(said)
            if intake.kind is ch.Kind.wechat and status == 200:
                text = ch.wechat_reply(self.config.creds, text.encode())
            number = ch.acknowledged(intake.kind, status or 0, text)
            if number is not None:
                op.outcome, op.number = "ok", number
                break
            if status is not None and status not in RETRY_STATUS:
                op.outcome = "fail"  # a definite answer that took nothing
                op.answers[-1] += f" {text[:120]}"
                break
            if intake.kind is not ch.Kind.wechat:
                await asyncio.sleep(min(8.0, policy.spacing * 2 ** min(op.attempts - 1, 3)))
        op.ended = time.time()
        return op

    def request(self, intake: ch.Intake, create_time: int, token: str, cookie: str
                ) -> ch.Request:
        creds = self.config.creds
        if intake.kind is ch.Kind.sms:
            return ch.sms(creds, intake)
        if intake.kind is ch.Kind.wechat:
            return ch.wechat(creds, intake, create_time)
        if intake.kind is ch.Kind.web:
            return ch.web(intake, token, cookie)
        if intake.kind is ch.Kind.api:
            return ch.api(creds, intake)
        return ch.open311(creds, intake)

    async def run(self) -> int:
        todo = iter(ch.plan(self.config.count, self.config.run))
        stop_at = time.monotonic() + self.config.max_seconds
        done = 0

        async def worker() -> None:
            nonlocal done
            for intake in todo:  # shared: each intake is taken by one worker
                if time.monotonic() > stop_at:
                    return
                op = await self.one(intake)
                self.out.write(json.dumps(asdict(op), ensure_ascii=False) + "\n")
                self.out.flush()
                done += 1

        await asyncio.gather(*(worker() for _ in range(self.config.concurrency)))
        return done


async def drive(config: DriveConfig) -> int:
    limits = httpx.Limits(max_connections=config.concurrency * 2,
                          max_keepalive_connections=config.concurrency * 2)
    async with httpx.AsyncClient(limits=limits) as client:
        with config.out.open("a", encoding="utf-8") as out:
            return await Driver(config, client, out).run()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m bench.chaos.drive CONFIG.json", file=sys.stderr)
        return 2
    config = DriveConfig.load(Path(args[0]))
    done = asyncio.run(drive(config))
    print(f"drive: {done} of {config.count} intakes sent", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
