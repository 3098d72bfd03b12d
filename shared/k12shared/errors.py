"""RFC 9457 problem+json for every error of every service.

Raise a ``Problem`` (or one of its subclasses) anywhere; the handlers installed by
``install_problem_handlers`` turn it, FastAPI's validation errors and Starlette's HTTP
errors into ``application/problem+json``.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://k12perform.dev/problems/"

log = logging.getLogger("k12.errors")


class Problem(Exception):
    status: int = 500
    slug: str = "internal-error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        status: int | None = None,
        slug: str | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        if status is not None:
            self.status = status
        if slug is not None:
            self.slug = slug
        self.title = title or HTTPStatus(self.status).phrase
        self.detail = detail
        self.headers = headers or {}
        self.extensions = extensions
        super().__init__(detail or self.title)

    def body(self, instance: str | None = None) -> dict[str, Any]:
        return problem_body(self.status, self.title, self.detail, self.slug, instance, **self.extensions)


class BadRequest(Problem):
    status, slug = 400, "bad-request"


class Unauthorized(Problem):
    status, slug = 401, "unauthorized"

    def __init__(self, detail: str = "Missing or invalid bearer token", **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        super().__init__(detail, **kw)


class Forbidden(Problem):
    status, slug = 403, "forbidden"


class NotFound(Problem):
    status, slug = 404, "not-found"


class Conflict(Problem):
    status, slug = 409, "conflict"


class PayloadTooLarge(Problem):
    status, slug = 413, "payload-too-large"


class Unprocessable(Problem):
    status, slug = 422, "validation-error"


class TooManyRequests(Problem):
    status, slug = 429, "rate-limited"


class ServiceUnavailable(Problem):
    status, slug = 503, "service-unavailable"


def problem_body(
    status: int,
    title: str,
    detail: str | None = None,
    slug: str | None = None,
    instance: str | None = None,
    **extensions: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + slug if slug else "about:blank",
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extensions)
    return body


def problem_response(
    status: int,
    detail: str | None = None,
    *,
    slug: str | None = None,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body = problem_body(status, title or HTTPStatus(status).phrase, detail, slug, **extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """One entry per field at fault: where it is (``body.title``), and what is wrong."""
    errors = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ())]
        errors.append({"field": ".".join(loc), "message": err.get("msg", "invalid"), "type": err.get("type")})
    return errors


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return JSONResponse(
            exc.body(instance=request.url.path),
            status_code=exc.status,
            media_type=PROBLEM_MEDIA_TYPE,
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = field_errors(exc)
        fields = ", ".join(e["field"] for e in errors)
        return problem_response(
            422,
            f"Invalid request: {fields}",
            slug="validation-error",
            title="Validation failed",
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else None
        return problem_response(
            exc.status_code,
            detail,
            slug=HTTPStatus(exc.status_code).phrase.lower().replace(" ", "-"),
            headers=getattr(exc, "headers", None),
            instance=request.url.path,
        )

    @app.exception_handler(DBAPIError)
    async def _database_refused(request: Request, exc: DBAPIError) -> JSONResponse:
        """Input the database refuses (a NUL byte, a number out of range, a reference to nothing) is the caller's fault."""
        state = _sqlstate(exc)
        if state in _SQLSTATE_PROBLEMS:
            status, detail = _SQLSTATE_PROBLEMS[state]
            log.info("database refused the input", extra={"sqlstate": state, "path": request.url.path})
            return problem_response(status, detail, slug="validation-error" if status == 422 else "conflict", instance=request.url.path)
        return await _unhandled(request, exc)

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
        from k12shared.observability import loggable_path  # imports this module

        log.exception("unhandled error", extra={"path": loggable_path(request.url.path)})
        return problem_response(500, "An unexpected error occurred", slug="internal-error", instance=request.url.path)


# SQLSTATE -> (status, detail) for errors that only bad input can cause.
_SQLSTATE_PROBLEMS = {
    "22021": (422, "A text value holds a byte that cannot be stored (such as NUL)"),
    "22P02": (422, "A value is not of the expected type"),
    "22003": (422, "A number is out of range"),
    "22001": (422, "A text value is too long"),
    "22008": (422, "A date or time is out of range"),
    "23503": (422, "The request refers to something that does not exist"),
    "23505": (409, "This already exists"),
}


def _sqlstate(exc: BaseException) -> str | None:
    """The PostgreSQL error code, from the driver's exception under SQLAlchemy's wrapper."""
    seen: BaseException | None = exc
    while seen is not None:
        state = getattr(seen, "sqlstate", None)
        if isinstance(state, str):
            return state
        seen = seen.__cause__ or getattr(seen, "orig", None)
    return None


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"description": HTTPStatus(code).phrase, "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    for code in (400, 401, 403, 404, 409, 422, 429)
}
