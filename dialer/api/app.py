"""The ASGI application: the routers, the error mapping, health and metrics, and the web consoles.

Why errors are mapped here: every deliberate error is a ``DialerError`` and
must reach the client as a 4xx naming the field (``ErrorOut``), never a 5xx.
Pydantic's validation errors become 422 with the first field's path. CORS is
off unless ``[http] cors_origins`` lists origins.

The consoles are static files (HTML, CSS and a little JavaScript, no build
step) under ``/console/``; they call the same API with the session cookie.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response as StarletteResponse

from dialer.api import agents, auth, campaigns, consent, dnc, lists, quality, recordings, reports
from dialer.api.errors import ApiError, TooManyRequests
from dialer.api.floor import Floor
from dialer.api.limits import BodyLimit
from dialer.api.schemas import ErrorOut
from dialer.core.calls import IllegalTransition
from dialer.errors import DialerError
from dialer.service.http import Response
from dialer.service.recordings import RecordingStore
from dialer.service.users import UserError
from pacing.errors import InvalidInput

__all__ = ["create_app", "STATIC"]

STATIC = Path(__file__).parent / "static"


def _error(status: int, detail: str, field: str | None, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(ErrorOut(detail=detail, field=field).model_dump(), status, headers=headers)


def _plain(response: Response) -> StarletteResponse:
    return StarletteResponse(response.body, response.status, media_type=response.content_type)


def _field_of(loc: tuple[object, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or str(loc[0] if loc else "body")


async def _dialer_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, TooManyRequests):
        return _error(exc.status, str(exc), exc.field, {"Retry-After": str(max(1, int(exc.retry_after_s)))})
    if isinstance(exc, ApiError):
        return _error(exc.status, str(exc), exc.field)
    if isinstance(exc, InvalidInput):
        return _error(422, str(exc).split(": ", 1)[-1], exc.argument)
    if isinstance(exc, IllegalTransition):
        return _error(409, str(exc), "state")
    if isinstance(exc, UserError):
        field, _, message = str(exc).partition(": ")
        return _error(422, message or field, field if message else None)
    return _error(400, str(exc), None)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": ("body",), "msg": "invalid request"}
    field = _field_of(tuple(first.get("loc", ())))
    return _error(422, f"{field}: {first.get('msg', 'invalid')}", field)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:  # Starlette names only the first route's methods; a path may have several
        methods = {m for route in request.app.routes if isinstance(route, APIRoute)
                   and route.path_regex.match(request.url.path) for m in route.methods or ()}
        headers["Allow"] = ", ".join(sorted(methods))
    return _error(exc.status_code, str(exc.detail), "body" if exc.status_code == 413 else None, headers)


def create_app(floor: Floor, store: RecordingStore | None = None) -> FastAPI:
    """The daemon's HTTP interface over ``floor``; ``store``: the calls' recordings on this host (None: none kept
    here, and the recording route answers 404)."""
    app = FastAPI(title="dialer", version="1", summary="Outbound predictive dialer: agents, campaigns, lists, "
                  "DNC, reports", docs_url="/docs", redoc_url=None, openapi_url="/openapi.json")
    app.state.floor = floor
    app.state.recordings = store
    app.state.tokens = auth.TokenCache()
    app.state.logins = auth.LoginLimiter()
    app.state.campaigns = {}  # campaign id: (monotonic expiry, row), for dispositions (agents.campaign_cached)
    app.add_exception_handler(DialerError, _dialer_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    if floor.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(floor.cors_origins), allow_credentials=True,
                           allow_methods=["GET", "POST", "PUT"], allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(BodyLimit)
    for module in (auth, agents, campaigns, lists, dnc, consent, reports, recordings, quality):
        _document_roles(module.router)
        app.include_router(module.router)
    _ops(app, floor)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="static")
    return app


def _document_roles(router: APIRouter) -> None:
    """Write who may call each operation into the OpenAPI document (``x-roles``), read from the route's own
    ``dialer.api.auth.Require``: the document cannot drift from the code, and the authorization test covers a
    new route without anyone listing it."""
    for route in router.routes:
        if isinstance(route, APIRoute):
            roles = auth.roles_of(route.dependant)
            if roles is not None:
                route.openapi_extra = {**(route.openapi_extra or {}),
                                       "x-roles": sorted(role.value for role in roles)}


def _ops(app: FastAPI, floor: Floor) -> None:
    """Health and metrics at the paths and with the bodies of the engine issue; the consoles' pages."""

    @app.get("/livez", include_in_schema=False)
    async def livez() -> StarletteResponse:
        return _plain(await floor.livez())

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> StarletteResponse:
        return _plain(await floor.readyz())

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> StarletteResponse:
        return _plain(await floor.metrics_page())

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/console/agent")

    for page in ("agent", "wallboard"):
        _page(app, page)


def _page(app: FastAPI, page: str) -> None:
    body = (STATIC / f"{page}.html").read_bytes()

    @app.get(f"/console/{page}", include_in_schema=False, name=f"console_{page}")
    async def serve() -> StarletteResponse:
        return StarletteResponse(body, media_type="text/html; charset=utf-8", headers={
            "Content-Security-Policy": "default-src 'self'; connect-src 'self'; img-src 'self' data:",
            "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"})
