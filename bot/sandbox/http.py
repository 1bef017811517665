"""The HTTP plumbing every sandbox shares: its app, refusals, request bodies.

A sandbox's middleware records the request (`SandboxBase.arrived`), takes a fault,
checks the API's own credentials, then lets `answered` run the handler and turn a
`Refusal` or an aiohttp error into the API's own error body.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.typedefs import Middleware
from pydantic import BaseModel, ValidationError

from bot.sandbox.state import SandboxBase

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ErrorBody = Callable[[int, str], web.Response]
"""An API's error answer for an HTTP status and a sentence."""

M = TypeVar("M", bound=BaseModel)
S = TypeVar("S", bound=SandboxBase)


class Refusal(Exception):
    """Raised by a sandbox's handlers and rules; its middleware answers `response()`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> web.Response:
        raise NotImplementedError


class BodyProblem(ValueError):
    """A request body that is not what the route reads; `where` names the field."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


async def read_body(
    request: web.Request, model: type[M], decode: Callable[[bytes], Any] | None = None
) -> M:
    """The body as `model` (JSON, or what `decode` makes of it), or `BodyProblem`."""
    raw = await request.read()
    try:
        if decode is None:
            return model.model_validate_json(raw)
        try:
            data = decode(raw)
        except ValueError:
            raise BodyProblem("body", "not valid JSON") from None
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise BodyProblem(where, first["msg"]) from None


async def answered(request: web.Request, handler: Handler, error: ErrorBody) -> web.StreamResponse:
    """The handler's answer; a `Refusal` or aiohttp's 4xx/5xx in the API's own error body."""
    try:
        return await handler(request)
    except Refusal as refusal:
        return refusal.response()
    except web.HTTPException as problem:
        if problem.status >= 400:
            return error(problem.status, problem.reason)
        raise


def sandbox_app(
    key: web.AppKey[S],
    state: S,
    middleware: Middleware,
    parts: Iterable[Callable[[web.Application], None]],
) -> web.Application:
    """An app holding `state` under `key`, with each part's routes; hangs end at shutdown."""
    app = web.Application(middlewares=[middleware])
    app[key] = state

    async def release_hangs(app: web.Application) -> None:
        state.stopping.set()

    for setup in parts:
        setup(app)
    app.on_shutdown.append(release_hangs)
    return app
