"""A search that ignores `page` answers every page with the first one: the walk must
stop at the first repeat, not read until its cap."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web

from bot.models import InvoiceQuery
from bot.provider import InvoiceNotFound
from plugins.pingproxies import PingProxiesProvider
from plugins.pingproxies.sandbox import create_app
from tests.pingproxies.conftest import EMAIL, PASSWORD, PRIVATE_KEY, PUBLIC_KEY, RETURN_URL, SEARCH

SEARCHES = web.AppKey("searches", list[str])
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
def sandbox_app() -> web.Application:
    app = create_app(PUBLIC_KEY, PRIVATE_KEY, email=EMAIL, password=PASSWORD, return_url=RETURN_URL)
    app[SEARCHES] = []

    @web.middleware
    async def ignore_page(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == SEARCH:
            app[SEARCHES].append(request.query.get("page", ""))
            request = request.clone(rel_url=request.rel_url.update_query(page="1"))
        return await handler(request)

    app.middlewares.insert(0, ignore_page)
    return app


async def test_searching_stops_when_pages_repeat(
    make_provider: Callable[..., PingProxiesProvider], sandbox_app: web.Application
) -> None:
    provider = make_provider(page_size=2)
    page = await provider.list_invoices(InvoiceQuery(limit=50))
    assert len(page.invoices) == 2 and page.next_cursor is None
    assert sandbox_app[SEARCHES] == ["1", "2"]


async def test_a_missing_number_is_not_found_after_two_pages(
    make_provider: Callable[..., PingProxiesProvider], sandbox_app: web.Application
) -> None:
    provider = make_provider(page_size=2)
    with pytest.raises(InvoiceNotFound):
        await provider.get_invoice("PING-NOT-THERE")
    assert len(sandbox_app[SEARCHES]) <= 2
