"""The HTTP edge: PingProxies' four invoice calls, signed in and parsed into `wire` models.

Reads are retried by the provider kit (`bot.kit.http`) on 5xx, timeouts, dropped
connections and short rate limits; pay is sent once and never retried, because a repeat
could charge a saved card twice. The one exception for every call is 401: PingProxies
refused the expired JWT without doing anything, so we sign in again once and repeat it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from bot.kit.errors import READ_WITHOUT_REASON
from bot.provider import BadCredentials, ProviderError, ProviderUnavailable
from bot.reading import each, parse_json, tolerant
from plugins.pingproxies import errors, wire
from plugins.pingproxies.routes import ROUTES, Operation
from plugins.pingproxies.session import Session
from plugins.pingproxies.transport import Answer, Transport

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)


class PingProxiesApi:
    def __init__(self, transport: Transport, session: Session) -> None:
        self.transport = transport
        self.session = session

    async def search(self, params: Mapping[str, str]) -> Found:
        """One page, read invoice by invoice: an invoice that drifted too far stays in
        its place as None (offsets must not shift), with its number in `unreadable`."""
        answer = await self._read(Operation.INVOICE_SEARCH, params=params, doing="listing invoices")
        try:
            raw = parse_json(answer.body)
        except ValueError:
            raise errors.unreadable("invoice search", "not valid JSON") from None
        entries = raw.get("data") if isinstance(raw, dict) else None
        if not isinstance(entries, list):
            try:
                tolerant(wire.SearchPage, raw, "PingProxies invoice search")
            except ValidationError as error:
                raise errors.unreadable("invoice search", errors.problem(error)) from None
            raise errors.unreadable("invoice search", "no list of invoices in data")
        items, unreadable = each(
            wire.Invoice, entries, "PingProxies invoice", label_keys=LABEL_KEYS
        )
        readable = [item for item in items if item is not None]
        try:
            page = tolerant(wire.SearchPage, {**raw, "data": []}, "PingProxies invoice search")
        except ValidationError as error:
            raise errors.unreadable("invoice search", errors.problem(error)) from None
        return Found(page.model_copy(update={"data": readable}), items, unreadable)

    async def retrieve(self, invoice_id: str) -> wire.Invoice:
        answer = await self._read(
            Operation.INVOICE_RETRIEVE,
            invoice_id,
            doing=f"reading invoice {invoice_id}",
            subject=f"invoice {invoice_id!r}",
        )
        item = parse(wire.Envelope[wire.Invoice], answer.body, "invoice retrieve").data
        if item.invoice_id != invoice_id:
            # Another invoice's status is no word on this one: its "paid" would settle ours.
            raise errors.unreadable("invoice retrieve", f"it is about {item.invoice_id!r}")
        return item

    async def pay_option(self, invoice_id: str) -> wire.PayOption:
        answer = await self._read(
            Operation.INVOICE_PAY_OPTION,
            invoice_id,
            doing=f"offering ways to pay invoice {invoice_id}",
            without_reason=None,
            subject=f"invoice {invoice_id!r}",
        )
        return parse(wire.Envelope[wire.PayOption], answer.body, "invoice pay option").data

    async def pay(self, invoice_id: str, request: wire.PayRequest) -> wire.PayResult:
        """Sent once, never retried: a saved card may already have been charged."""
        answer = await self._call(
            Operation.INVOICE_PAY,
            invoice_id,
            json=request.to_json(),
            doing=f"paying invoice {invoice_id}",
            charges=True,
        )
        if answer.status not in (200, 201):
            raise errors.for_status(
                answer.status,
                answer.body,
                retry_after_header=answer.headers.get("Retry-After"),
                unprocessable=errors.pay_refusal(answer.body),
                subject=f"invoice {invoice_id!r}",
                declined=errors.is_decline(answer.body),
            )
        return parse(wire.Envelope[wire.PayResult], answer.body, "invoice pay").data

    async def _read(
        self,
        operation: Operation,
        object_id: str | None = None,
        *,
        params: Mapping[str, str] | None = None,
        doing: str,
        subject: str = "it",
        without_reason: str | None = READ_WITHOUT_REASON,
    ) -> Answer:
        """A GET. Refused without words, a list or an invoice says so as a read; the pay
        option passes None, as its refusal is about paying."""

        def failure(answer: Answer) -> ProviderError:
            return errors.for_status(
                answer.status,
                answer.body,
                retry_after_header=answer.headers.get("Retry-After"),
                subject=subject,
                without_reason=without_reason,
            )

        return await self.transport.http.retrying(
            lambda: self._call(operation, object_id, params=params, doing=doing),
            failure,
            operation.value,
        )

    async def _call(
        self,
        operation: Operation,
        object_id: str | None = None,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        doing: str,
        charges: bool = False,
    ) -> Answer:
        """One signed-in exchange: 401 renews the JWT once; 499 is a two-factor challenge.

        `charges`: a sign-in that fails before the call is (re)sent raises `NotSent`, as
        the call itself was never made (a 401 is refused without doing anything)."""
        route = ROUTES[operation]
        token = await self._signed_in(self.session.token(), charges)
        answer = await self.transport.send(route, object_id, params=params, json=json, token=token)
        if answer.status == 401:
            token = await self._signed_in(self.session.renew(token), charges)
            answer = await self.transport.send(
                route, object_id, params=params, json=json, token=token
            )
            if answer.status == 401:
                self.session.forget()
                raise BadCredentials(
                    "PingProxies refused invoicebot even right after signing in again "
                    f"({errors.quoted(401, answer.body)}). Check that the application keys "
                    "are still valid and the application is still approved."
                )
        if answer.status == errors.TWO_FACTOR_STATUS:
            self.session.forget()
            raise errors.two_factor(answer.body, doing)
        return answer

    @staticmethod
    async def _signed_in(sign_in: Awaitable[str], charges: bool) -> str:
        try:
            return await sign_in
        except ProviderUnavailable as error:
            if charges:
                raise NotSent(error) from None
            raise


class NotSent(ProviderError):
    """Signing in failed before a call that charges was sent: it did nothing."""

    def __init__(self, error: ProviderUnavailable) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True)
class Found:
    """A search page as read: the page, every entry in order (None where unreadable)."""

    page: wire.SearchPage
    items: list[wire.Invoice | None]
    unreadable: list[str]


LABEL_KEYS = ("invoice_number", "invoice_id")


def parse(model: type[M], body: bytes, what: str) -> M:
    """An answer read tolerantly (`bot.reading`): drift in a field is forgiven, a shape
    that still does not fit is unreadable."""
    try:
        return tolerant(model, parse_json(body), f"PingProxies {what}")
    except ValueError as error:
        problem = errors.problem(error) if isinstance(error, ValidationError) else "not valid JSON"
        raise errors.unreadable(what, problem) from None
