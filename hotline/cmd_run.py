"""CLI commands: ``run`` (everything on one machine) and ``dev-setup`` (local configuration)."""

from __future__ import annotations

import argparse
import fcntl
import os
import socket
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from sqlalchemy.engine import make_url

from hotline import datadir, devsetup, metrics_setup
from hotline.childproc import LinePrinter
from hotline.context import CliContext, settings_or_error
from hotline.errors import CliError
from hotline.invocation import runnable
from hotline.ports import ensure_free
from hotline.redis_private import PrivateRedis, RedisSetupError
from hotline.settings import Settings
from hotline.supervisor import Program, Supervisor, SupervisorError
from tickets import redistarget


def programs(settings: Settings, *, log_level: str | None = None,
             grace: float = 10.0, pbx: bool = False) -> list[Program]:
    """The children of ``hotline run``: each a ``hotline`` subcommand in its own process. The
    FastAGI server gets time to finish the calls it is taking (``HOTLINE_AGI_DRAIN_SECONDS``)."""
    base = [sys.executable, "-m", "hotline"]
    if log_level:
        base += ["--log-level", log_level]
    found = [Program("http", [*base, "serve"], grace), Program("relay", [*base, "relay"], grace)]
    found += [Program(f"worker-{i}", [*base, "worker"], grace)
              for i in range(1, settings.workers + 1)]
    found.append(Program("agi", [*base, "agi"], max(grace, settings.agi_drain_seconds + 30.0)))
    found.append(Program("spool", [*base, "spool", "ingest", "--watch"], grace))
    if pbx:  # the local Asterisk (hotline pbx): stopping it takes `core stop now`, ~1.5 s
        found.append(Program("pbx", [*base, "pbx"], max(grace, 20.0)))
    return found


def _answers(host: str, port: int) -> Callable[[], bool]:
    """A check that a TCP server accepts connections on ``host:port``."""
    target = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104 - compared, not bound

    def check() -> bool:
        try:
            socket.create_connection((target, port), timeout=0.2).close()
        except OSError:
            return False
        return True

    return check


def _lock_data_dir(data_dir: Path) -> IO[str]:
    """Hold a lock on the data dir for the supervisor's lifetime: one ``run`` per data dir.

    The kernel drops it when the process dies, however it dies."""
    datadir.create(data_dir)
    lock = os.fdopen(os.open(data_dir / "run.lock", os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                             datadir.FILE_MODE), "a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise CliError(f"another 'hotline run' is using {data_dir.resolve()}") from None
    return lock


def _hide_password(url: str) -> str:
    return redistarget.hide_passwords(url)


def banner(settings: Settings, children: list[Program], redis: PrivateRedis | None,
           pbx_problem: str | None = None) -> str:
    http = f"http://{settings.http_host}:{settings.http_port}"
    names = {p.name for p in children}
    database = make_url(settings.resolved_database_url).render_as_string(hide_password=True)
    lines = [
        "96010 intake gateway: hotline run",
        f"  HTTP       {http}/  (front page; /docs, /readyz, feed /api/v1/tickets, intake "
        "/api/v1/intake)",
    ]
    if settings.console_secret is not None:
        lines.append(f"  console    {http}/console/  (add people: hotline operator add)")
    else:
        lines.append("  console    off: set HOTLINE_CONSOLE_SECRET (hotline dev-setup writes one)")
    if "agi" in names:
        lines.append(f"  FastAGI    agi://{settings.agi_host}:{settings.agi_port}/96010")
    if "pbx" in names:
        lines.append(f"  PBX        Asterisk 22, sip:96010@127.0.0.1:{settings.pbx_sip_port}, "
                     f"softphone ws://127.0.0.1:{settings.pbx_http_port}/ws")
    elif settings.pbx:
        lines.append(f"  PBX        off: {pbx_problem}; everything else starts without it")
    else:
        lines.append("  PBX        off (HOTLINE_PBX=true starts the local Asterisk: hotline pbx)")
    lines += [
        f"  data dir   {settings.data_dir.resolve()}",
        f"  database   {database}",
    ]
    if redis is not None:
        lines.append(f"  redis      private redis-server, {redis.url} (append-only file beside it)")
    else:
        lines.append(f"  redis      {_hide_password(settings.resolved_redis_url)}")
    key = settings.data_dir / devsetup.DEV_KEY_FILE
    if key.exists():
        lines.append(f"  API key    {key} (development key from 'hotline dev-setup')")
    lines.append(f"  speech     {_model_line(settings)}")
    lines.append(f"  processes  {', '.join(p.name for p in children)}")
    lines.append("Stop with Ctrl-C or SIGTERM.")
    return "\n".join(lines)


def _model_line(settings: Settings) -> str:
    from transcription.models import ModelNotFound, language_warning, locate

    try:
        model = locate(settings.vosk_model, settings.data_dir)
    except ModelNotFound as exc:
        return f"no model: {exc}"
    warning = language_warning(model)
    return f"{model.name} ({model.source})" + (f"\n  WARNING    {warning}" if warning else "")


def _pbx_problem(settings: Settings) -> str | None:
    """Why the local PBX cannot start (then everything else starts without it), or None."""
    from hotline.pbx import problem

    found = problem(settings)
    if found is None:
        try:
            ensure_free("127.0.0.1", settings.ami_port, "HOTLINE_AMI_PORT")
            ensure_free("127.0.0.1", settings.pbx_http_port, "HOTLINE_PBX_HTTP_PORT")
        except CliError as exc:
            found = f"{exc} (another Asterisk?)"
    return found


def _run(ctx: CliContext, args: argparse.Namespace) -> int:
    settings = ctx.settings
    with ExitStack() as stack:
        stack.enter_context(_lock_data_dir(settings.data_dir))
        ensure_free(settings.http_host, settings.http_port, "HOTLINE_HTTP_PORT")
        ensure_free(settings.agi_host, settings.agi_port, "HOTLINE_AGI_PORT")
        if settings.transcribe == "live":
            ensure_free(settings.agi_host, settings.audiosocket_port,
                             "HOTLINE_AUDIOSOCKET_PORT")
        pbx_problem = _pbx_problem(settings) if settings.pbx else None
        ctx.migrate().db.dispose()
        # before the children are spawned: they inherit PROMETHEUS_MULTIPROC_DIR
        metrics_setup.prepare(settings.metrics_path, empty=True)
        redis = None if settings.external_redis else PrivateRedis(settings.redis_socket)
        children = programs(settings, log_level=args.log_level, grace=args.grace,
                            pbx=settings.pbx and pbx_problem is None)
        print(runnable(banner(settings, children, redis, pbx_problem)), flush=True)
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        try:
            supervisor = Supervisor(
                children,
                env=env,
                printer=LinePrinter(sys.stdout, width=max(len(p.name) for p in children) + 1),
                redis=redis,
                ready=(
                    _answers(settings.http_host, settings.http_port),
                    runnable(f"ready: http://{settings.http_host}:{settings.http_port}/ "
                             "(try it: hotline demo)"),
                ),
            )
            return supervisor.run()
        except (RedisSetupError, SupervisorError) as exc:
            print(f"hotline run: {exc}", file=sys.stderr)
            return 1


def _compose_setup() -> int:
    from hotline import compose_secrets

    env_file, settings_file = Path(".env"), Path("hotline.env")
    done = compose_secrets.fill(env_file, settings_file)
    if done.added:
        print(f"added {', '.join(done.added)} to {env_file.resolve()} (mode 600)")
    if done.kept:
        print(f"kept {', '.join(done.kept)} already in {env_file.resolve()}")
    if done.settings_written:
        print(f"wrote {settings_file.resolve()} (mode 600) from hotline.env.example with the "
              "web form's, the console's and the AMI secrets; set HOTLINE_PUBLIC_URL and the "
              "channels you use in it")
    else:
        print(f"kept the existing {settings_file.resolve()}")
    print("next: docker-compose config -q && docker-compose up -d --build")
    return 0


def _dev_setup(ctx: CliContext, args: argparse.Namespace) -> int:
    if args.compose:
        return _compose_setup()
    env_file = Path(".env")
    public_url = f"http://{ctx.settings.http_host}:{ctx.settings.http_port}"
    if devsetup.ensure_env_file(env_file, public_url):
        print(f"wrote {env_file.resolve()} (mode 600) with fresh development secrets")
    else:
        print(f"kept the existing {env_file.resolve()}")
        if devsetup.ensure_console_secret(env_file):
            print(f"  added {devsetup.CONSOLE_SETTING} to it (the operators' console needs one)")
    added = devsetup.ensure_pbx_settings(env_file, ctx.settings.pbx_http_port)
    if added:
        print(f"  added the local PBX's settings: {', '.join(added)}")
    ctx = CliContext(settings_or_error())  # the settings now include the new .env
    settings = ctx.settings
    key_file = settings.data_dir / devsetup.DEV_KEY_FILE
    created = devsetup.ensure_dev_key(ctx.migrate().db, key_file)
    ctx.close()
    state = "created" if created else "kept"
    print(f"{state} the development API key in {key_file} (scopes intake, read, events)")
    print()
    print(runnable(devsetup.usage(f"http://{settings.http_host}:{settings.http_port}",
                                  key_file)), end="")
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "run",
        help="everything on one machine: HTTP, workers, relay, FastAGI, private Redis",
    )
    p.add_argument(
        "--grace", type=float, default=10.0, metavar="SECONDS",
        help="how long programs may take to stop before they are killed (default 10)",
    )
    p.set_defaults(handler=_run)

    p = sub.add_parser(
        "dev-setup",
        help="create ./.env with generated development secrets and a development API key",
    )
    p.add_argument("--compose", action="store_true",
                   help="instead: the secrets docker-compose.yml needs (POSTGRES_PASSWORD, "
                        "ASTERISK_AMI_SECRET, ASTERISK_ARI_PASSWORD in ./.env) and ./hotline.env; "
                        "values already there are kept")
    p.set_defaults(handler=_dev_setup)
