"""``hotline operator add|list|disable|enable|passwd|sip-reset|sync``: the console's people.

Passwords come from a prompt (asked twice) or, with ``--password-stdin``, from the first line
of standard input; never from the command line, where other users could read them in the
process list. Every change rewrites the operators' PJSIP endpoints
(``HOTLINE_PJSIP_OPERATORS``, console/pjsip.py) atomically and, when AMI is configured
(``HOTLINE_AMI_USERNAME``/``HOTLINE_AMI_SECRET``), asks Asterisk to reload res_pjsip; when it
cannot, it says so and how to reload by hand.

SIP secrets are kept as digests only (console/sip_digest.py). A desk phone's password is
printed once, by ``add`` and by ``sip-reset`` (which makes new ones), and kept nowhere: write it
into the phone then.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING, Any

from hotline.context import CliContext
from hotline.errors import CliError
from hotline.invocation import runnable

if TYPE_CHECKING:
    from console.people import Added, People

ROLE_NAMES = ("operator", "supervisor", "street", "department", "grid")
PHONE_KIND_NAMES = ("webrtc", "deskphone", "both")


def read_password(args: argparse.Namespace) -> str:
    """The new password: stdin's first line (``--password-stdin``) or a prompt, twice."""
    from console.passwords import WeakPassword, check_new

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CliError("no password on standard input (--password-stdin reads one line)")
    else:
        if not sys.stdin.isatty():
            raise CliError("no terminal to ask for the password; pipe it in with "
                           "--password-stdin")
        password = getpass.getpass("password: ")
        if getpass.getpass("password again: ") != password:
            raise CliError("the two passwords differ; nothing changed")
    try:
        check_new(password)
    except WeakPassword as exc:
        raise CliError(f"{exc}; nothing changed") from None
    return password


def _people(ctx: CliContext) -> People:
    from console.people import People

    return People(ctx.store.db)


def _sync(ctx: CliContext) -> None:
    """Rewrite pjsip-operators.conf from the people table; reload Asterisk when it changed."""
    from console import pjsip
    from console.pjsip_sync import MANUAL, AmiTarget, reload_pjsip, write_atomic

    everyone = _people(ctx).list()
    path = ctx.settings.pjsip_operators_path
    text = pjsip.render(everyone)
    try:
        changed = write_atomic(path, text)
    except OSError as exc:
        raise CliError(f"could not write {path} ({exc.strerror or exc}); the change itself is "
                       "saved: fix HOTLINE_PJSIP_OPERATORS or the folder's permissions, then "
                       "run 'hotline operator sync'") from None
    endpoints = sum(len(pjsip.endpoints_of(p)) for p in everyone)
    if not changed:
        print(f"{path}: unchanged ({endpoints} endpoints)")
        return
    print(f"{path}: written ({endpoints} endpoints)")
    settings = ctx.settings
    if not settings.ami_username or settings.ami_secret is None:
        print(f"AMI is not configured (HOTLINE_AMI_USERNAME, HOTLINE_AMI_SECRET): reload "
              f"Asterisk by hand: {MANUAL}")
        return
    result = reload_pjsip(AmiTarget(settings.ami_host, settings.ami_port, settings.ami_username,
                                    settings.ami_secret.get_secret_value()))
    if result.ok:
        print(f"Asterisk reloaded res_pjsip ({result.message})")
    else:
        print(f"hotline: warning: {result.message}", file=sys.stderr)


def _check_units(ctx: CliContext, role: str, codes: list[str]) -> None:
    """A desk's street or department and a grid worker's cells must exist in the router's
    configuration (HOTLINE_ROUTER_CONFIG_DIR)."""
    from console.people import PeopleError, Role, units_of

    try:
        units_of(Role(role), codes)
    except PeopleError as exc:
        raise CliError(f"{exc}; nothing changed") from None
    if not codes:
        return
    from console.units import Directory
    from router import routerconfig
    from router.yamlfile import ConfigError

    try:
        config = routerconfig.load(ctx.settings.router_config_dir)
    except ConfigError as exc:
        raise CliError(f"cannot check --unit against the router's configuration: {exc}"
                       ) from None
    unknown = Directory.of(config).unknown(Role(role), codes)
    if unknown:
        where = "catalogue.yaml departments" if role == "department" else "places.yaml"
        raise CliError(f"unknown {role} code {', '.join(unknown)} (see {where} in "
                       f"{ctx.settings.router_config_dir}); nothing changed")


def _add(ctx: CliContext, args: argparse.Namespace) -> int:
    from console.people import PeopleError, Role

    codes = [c for part in args.unit for c in part.split(",") if c.strip()]
    _check_units(ctx, args.role, codes)
    password = read_password(args)
    try:
        added = _people(ctx).enrol(args.login, args.name, Role(args.role), password,
                                   args.phone, codes)
    except PeopleError as exc:
        raise CliError(str(exc)) from None
    person = added.person
    if not person.is_center:
        print(f"added {person.login} ({person.display_name}, {person.role.value} of "
              f"{' '.join(person.units)})")
        _sync(ctx)
        return 0
    print(f"added {person.login} ({person.display_name}, {person.role.value}); "
          f"SIP endpoint {person.sip_user}")
    _show_desk_password(added)
    _sync(ctx)
    return 0


def _show_desk_password(added: Added) -> None:
    """The desk phone's SIP password, this once: only its digest is kept."""
    desk = added.person.desk_sip_user
    if desk is None or added.desk_password is None:
        return
    print(f"desk phone: register as {desk} with password {added.desk_password} "
          "(SIP, port 5060/udp of the Asterisk host)")
    print("  shown only now: enter it into the phone; a lost one is replaced with "
          + runnable(f"hotline operator sip-reset {added.person.login}"))


def _sip_reset(ctx: CliContext, args: argparse.Namespace) -> int:
    from console.people import PeopleError

    people = _people(ctx)
    found = people.by_login(args.login)
    if found is None:
        raise CliError(f"nobody is called '{args.login}' (see: hotline operator list)")
    if not found.is_center:
        raise CliError(f"{found.login} ({found.role.value}) has no SIP endpoint; "
                       "nothing changed")
    try:
        added = people.new_sip_secrets(found.login)
    except PeopleError as exc:
        raise CliError(str(exc)) from None
    told = [] if found.phone_kind == "deskphone" else [
        "the console's softphone takes its new one when the page is next loaded"]
    if found.desk_sip_user is not None:
        told.append("the old desk phone password no longer works")
    print(f"new SIP secrets for {found.login}: {'; '.join(told)}")
    _show_desk_password(added)
    _sync(ctx)
    return 0


def _list(ctx: CliContext, _: argparse.Namespace) -> int:
    everyone = _people(ctx).list()
    if not everyone:
        print(runnable("nobody yet: hotline operator add LOGIN --name NAME"))
        return 0
    for p in everyone:
        state = "active" if p.active else "disabled"
        print(f"{p.login:20}  {p.role.value:10}  {state:8}  {p.phone_kind:9}  {p.sip_user:24}  "
              f"{p.display_name}" + (f"  {' '.join(p.units)}" if p.units else ""))
    return 0


def _change(ctx: CliContext, args: argparse.Namespace) -> int:
    from console.people import PeopleError

    people = _people(ctx)
    try:
        if args.action == "disable":
            person = people.disable(args.login)
            print(f"disabled {person.login}; their console sessions have ended")
        elif args.action == "enable":
            person = people.enable(args.login)
            print(f"enabled {person.login}")
        else:
            if people.by_login(args.login) is None:
                raise CliError(f"nobody is called '{args.login}' (see: hotline operator list)")
            person = people.set_password(args.login, read_password(args))
            print(f"new password for {person.login}; their console sessions have ended")
    except PeopleError as exc:
        raise CliError(str(exc)) from None
    _sync(ctx)
    return 0


def _sync_command(ctx: CliContext, _: argparse.Namespace) -> int:
    _sync(ctx)
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("operator", help="the console's operators and supervisors: add, list, "
                                        "disable, enable, passwd, sip-reset, sync")
    ops = p.add_subparsers(dest="action", required=True, metavar="ACTION")

    # allow_abbrev=False: "--password SECRET" must not pass as --password-stdin
    a = ops.add_parser("add", help="add a person (asks for the console password)",
                       allow_abbrev=False)
    a.add_argument("login", help="login name: lower-case letters, digits, '-', '_'")
    a.add_argument("--name", required=True, help="display name shown in the console (张三)")
    a.add_argument("--role", choices=ROLE_NAMES, default="operator",
                   help="operator, supervisor (the district center); street or department (a "
                        "desk, with --unit CODE); grid (a grid worker, with --unit CELL, "
                        "repeatable)")
    a.add_argument("--unit", action="append", default=[],
                   help="street code (DS), department code (dept.health) or grid cell "
                        "(DC-DHM-0101) from router/config; repeat or comma-separate cells")
    a.add_argument("--phone", choices=PHONE_KIND_NAMES, default="webrtc",
                   help="webrtc: the console's softphone (default); deskphone: a SIP phone; "
                        "both")
    a.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of standard input")
    a.set_defaults(handler=_add)

    a = ops.add_parser("list", help="everyone, active or not")
    a.set_defaults(handler=_list)

    for action, text in (("disable", "stop a person logging in; ends their sessions"),
                         ("enable", "let a disabled person log in again")):
        a = ops.add_parser(action, help=text)
        a.add_argument("login")
        a.set_defaults(handler=_change)

    a = ops.add_parser("passwd", help="set a person's console password; ends their sessions",
                       allow_abbrev=False)
    a.add_argument("login")
    a.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of standard input")
    a.set_defaults(handler=_change)

    a = ops.add_parser("sip-reset", help="new SIP secrets for a person's phones; prints the "
                                         "desk phone's new password once")
    a.add_argument("login")
    a.set_defaults(handler=_sip_reset)

    a = ops.add_parser("sync", help="rewrite the operators' PJSIP endpoints and reload Asterisk")
    a.set_defaults(handler=_sync_command)
