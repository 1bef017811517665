"""A server that ignores `RANGED-DATA` (as a `PAGE-TOKEN` endpoint would) answers every
page with the first one: the walk must stop at once, not read until its cap."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web

from bot.models import InvoiceQuery
from bot.provider import InvoiceNotFound
from plugins.i3d import I3DProvider
from plugins.i3d.sandbox import create_app
from tests.i3d.conftest import RETURN_URL, TOKEN

LIST = "/v3/account/invoice"
READS = web.AppKey("reads", list[str])
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
def sandbox_app() -> web.Application:
    app = create_app(TOKEN, return_url=RETURN_URL)
    app[READS] = []

    @web.middleware
    async def ignore_range(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == LIST:
            app[READS].append(request.headers.get("RANGED-DATA", ""))
            request = request.clone(headers={**request.headers, "RANGED-DATA": "start=0,results=3"})
        return await handler(request)

    app.middlewares.insert(0, ignore_range)
    return app


async def test_listing_stops_when_pages_repeat(
    make_provider: Callable[..., I3DProvider], sandbox_app: web.Application
) -> None:
    provider = make_provider(page_size=3)
    first = await provider.list_invoices(InvoiceQuery(limit=2))
    assert len(first.invoices) == 2
    everything = await provider.list_invoices(InvoiceQuery(limit=50))
    assert len(everything.invoices) == 3  # what the server really gives, each once
    assert everything.next_cursor is None
    assert len(sandbox_app[READS]) <= 4


async def test_a_missing_number_is_not_found_after_two_pages(
    make_provider: Callable[..., I3DProvider], sandbox_app: web.Application
) -> None:
    provider = make_provider(page_size=3)
    with pytest.raises(InvoiceNotFound):
        await provider.get_invoice("INV-NOT-THERE")
    assert len(sandbox_app[READS]) == 2
