"""Login and logout pages of the console (thin glue over console/people.py and
console/sessions.py).

``GET /console/login`` shows the form with a pre-session CSRF token (console/csrf.py);
``POST /console/login`` checks it, then the password with the lockout
(:meth:`console.people.People.attempt`): a wrong password, an unknown name and a disabled
person get the same page (401); a locked name or address gets 429 with when to try again.
A good login replaces any session the browser had and goes to ``next`` (inside the console
only). ``POST /console/logout`` (CSRF-checked) deletes the session row and the cookie.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from console import csrf
from console.auth import ConsoleDep, SessionDep, csrf_checked, logged_in
from console.errors import safe_next
from console.people import Outcome
from console.sessions import ConsoleSession
from console.templating import render

LOGIN_PATH = "/console/login"
INVALID = "登录名或密码不正确。"
EXPIRED = "登录页面已过期，请重新输入。"


def client_of(request: Request) -> str:
    """The client's address (the proxy's X-Forwarded-For when it is trusted: uvicorn's
    forwarded_allow_ips)."""
    return request.client.host if request.client else ""


def _login_page(request: Request, console: ConsoleDep, *, status: int = 200, next_path: str,
                login: str = "", problem: str | None = None) -> Response:
    nonce = csrf.new_login_nonce()
    request.state.login_csrf = csrf.for_login(console.config.secret, nonce)
    response = render(request, "login.html", status, next=safe_next(next_path), login=login,
                      problem=problem)
    response.set_cookie(csrf.LOGIN_COOKIE, nonce, path=LOGIN_PATH, httponly=True,
                        samesite="strict", secure=console.sessions.secure(request))
    return response


def _locked_message(until: datetime | None, now: datetime) -> str:
    minutes = 15
    if until is not None:
        minutes = max(1, math.ceil((until - now).total_seconds() / 60))
    return f"登录失败次数过多，已暂时锁定，请 {minutes} 分钟后再试。"


router = APIRouter(include_in_schema=False)


@router.get(LOGIN_PATH)
async def login_form(request: Request, console: ConsoleDep, session: SessionDep,
                     next: str = "/console/") -> Response:
    if session is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, console, next_path=next)


@router.post(LOGIN_PATH)
async def login(request: Request, console: ConsoleDep, session: SessionDep,
                login: Annotated[str, Form()] = "",
                password: Annotated[str, Form()] = "",
                token: Annotated[str, Form(alias="csrf")] = "",
                next_path: Annotated[str, Form(alias="next")] = "/console/") -> Response:
    nonce = request.cookies.get(csrf.LOGIN_COOKIE, "")
    if not nonce or not csrf.matches(csrf.for_login(console.config.secret, nonce), token):
        return _login_page(request, console, status=403, next_path=next_path, login=login,
                           problem=EXPIRED)
    attempt = await run_in_threadpool(console.people.attempt, login, password,
                                      client_of(request))
    if attempt.outcome is Outcome.locked:
        return _login_page(request, console, status=429, next_path=next_path, login=login,
                           problem=_locked_message(attempt.until, console.people.clock()))
    if attempt.person is None:
        return _login_page(request, console, status=401, next_path=next_path, login=login,
                           problem=INVALID)
    if session is not None:
        await run_in_threadpool(console.sessions.end, session.token)
    started = await run_in_threadpool(console.sessions.start, attempt.person,
                                      client_of(request))
    response = RedirectResponse(safe_next(next_path), status_code=303)
    console.sessions.set_cookie(response, request, started)
    response.delete_cookie(csrf.LOGIN_COOKIE, path=LOGIN_PATH, httponly=True,
                           samesite="strict", secure=console.sessions.secure(request))
    return response


@router.post("/console/logout", dependencies=[Depends(csrf_checked)])
async def logout(request: Request, console: ConsoleDep,
                 session: Annotated[ConsoleSession, Depends(logged_in)]) -> Response:
    await run_in_threadpool(console.sessions.end, session.token)
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    console.sessions.clear_cookie(response, request)
    return response

