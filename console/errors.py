"""The console's refusals, answered as a page for a browser and as the JSON error shape
(tickets/httperrors.py) for a script; :func:`install` registers their handlers."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tickets.httperrors import error_response

LOGIN_PATH = "/console/login"


class ConsoleError(Exception):
    """A refusal: ``status`` with a message for people (zh-CN)."""

    def __init__(self, status: int, message: str, *, code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers


class ConsoleDisabled(ConsoleError):
    def __init__(self) -> None:
        super().__init__(503, "console disabled: set HOTLINE_CONSOLE_SECRET",
                         code="console_disabled")


class LoginRequired(ConsoleError):
    """Not logged in: a browser is sent to the login page (and back to ``next`` after)."""

    def __init__(self, next_path: str = "/console/") -> None:
        super().__init__(401, "请先登录", code="login_required")
        self.next_path = next_path


class Redirect(ConsoleError):
    """A browser asked for a page that is not theirs and has one of its own: go there."""

    def __init__(self, location: str) -> None:
        super().__init__(303, "请前往您的工作页面", code="redirect")
        self.location = location


def wants_html(request: Request) -> bool:
    """A browser navigating (not a script fetching JSON or an event stream)."""
    accept = request.headers.get("accept", "")
    return "text/html" in accept


def safe_next(value: str | None) -> str:
    """Where to go after login: a path inside the console, never another site."""
    if (not value or not value.startswith("/console") or value.startswith("//")
            or "\\" in value or any(ord(c) < 0x20 for c in value)):
        return "/console/"
    return value


def login_url(next_path: str) -> str:
    return f"{LOGIN_PATH}?next={quote(safe_next(next_path), safe='/')}"


async def _on_console_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConsoleError)
    if isinstance(exc, LoginRequired) and wants_html(request):
        return RedirectResponse(login_url(exc.next_path), status_code=303)
    if isinstance(exc, Redirect):
        return RedirectResponse(exc.location, status_code=303)
    if wants_html(request):
        from console.templating import error_page

        return error_page(request, exc.status, exc.message, headers=exc.headers)
    return error_response(exc.status, exc.message, exc.code, headers=exc.headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ConsoleError, _on_console_error)
