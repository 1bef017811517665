"""The HTTP edge: i3D.net's four pay-related calls, parsed into `wire` models.

Reads are retried a couple of times with a short backoff on 5xx, timeouts and
dropped connections; `register` is sent exactly once because a repeat could start a
second charge. The API key travels only in the PRIVATE-TOKEN header and is never logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
from multidict import CIMultiDict
from pydantic import BaseModel, SecretStr, TypeAdapter, ValidationError
from yarl import URL

from bot.provider import NotPayable, PaymentRejected, ProviderError, ProviderUnavailable
from bot.reading import parse_json, tolerant
from plugins.i3d import errors, wire
from plugins.i3d.paging import RangedData

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class InvoiceBatch:
    """One raw page of the invoice list, with the total if i3D said it."""

    invoices: list[wire.Invoice]
    total: int | None
    unreadable: list[str] = field(default_factory=list)
    """Invoices on the page that could not be read, by number (or id)."""
    received: int = 0
    """How many entries the page had, readable or not: what paging advances by."""


class I3DApi:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        base_url: str,
        api_key: SecretStr,
        *,
        timeout: float,
        read_retries: int = 2,
        retry_delay: float = 0.25,
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.read_retries = read_retries
        self.retry_delay = retry_delay

    async def invoices(self, start: int, results: int) -> InvoiceBatch:
        """One page, read invoice by invoice: one that drifted too far is set aside (by its
        number, if it has one) and the others are still read."""
        ranged = RangedData(start=start, results=results)
        body, headers = await self._read("/v3/account/invoice", {"RANGED-DATA": ranged.header()})
        try:
            raw = parse_json(body)
        except ValueError:
            raise errors.unreadable("invoice list", "not valid JSON") from None
        if not isinstance(raw, list):
            raise errors.unreadable("invoice list", "not a list of invoices")
        items: list[wire.Invoice] = []
        unreadable: list[str] = []
        for entry in raw:
            try:
                items.append(tolerant(wire.Invoice, entry, "i3D.net invoice", INVOICE_DEFAULTS))
            except ValidationError as error:
                label = _label(entry)
                log.warning("i3D.net invoice %r could not be read: %s", label, _problem(error))
                unreadable.append(label)
        answered = RangedData.parse(headers.get("RANGED-DATA"))
        return InvoiceBatch(items, answered.total if answered else None, unreadable, len(raw))

    async def prepare(self, invoice_ids: Sequence[str]) -> wire.PayPrepare:
        query = "invoiceIds=" + quote(",".join(invoice_ids), safe="")
        body, _ = await self._read(f"/v3/account/invoice/pay/prepare?{query}")
        prepared = _parse(wire.PREPARE_LIST, body, "pay/prepare")
        if not prepared:
            raise errors.unreadable("pay/prepare", "no offer for these invoices")
        if len(prepared) > 1:
            # The v3 habit is one object in an array; several would mean several offers
            # for one set of invoices, and guessing which applies could pay the wrong sum.
            raise PaymentRejected(
                f"i3D.net answered with {len(prepared)} different offers for paying these "
                "invoices, so invoicebot cannot tell which amount applies and started "
                "nothing. Pay them one at a time, or at i3D.net."
            )
        return prepared[0]

    async def register(self, request: wire.PayRegister) -> wire.PayRegisterResponse:
        """Sent once, never retried: i3D may already have opened a transaction."""
        status, body, headers = await self._send(
            "POST", "/v3/account/invoice/pay/register", json=request.to_json()
        )
        if status != 200:
            raise self._failure(status, body, headers, unprocessable=PaymentRejected)
        return _parse_one(wire.PayRegisterResponse, body, "pay/register")

    async def landing(self) -> wire.PaymentLandingResponse:
        body, _ = await self._read("/v3/account/invoice/pay/paymentLanding")
        return _parse_one(wire.PaymentLandingResponse, body, "pay/paymentLanding")

    async def _read(
        self, path: str, headers: dict[str, str] | None = None
    ) -> tuple[bytes, CIMultiDict[str]]:
        for attempt in range(self.read_retries + 1):
            try:
                status, body, answered = await self._send("GET", path, headers=headers)
            except ProviderUnavailable as error:
                failure: ProviderError = error
            else:
                if status == 200:
                    return body, answered
                failure = self._failure(status, body, answered)
                if status < 500:
                    raise failure
            if attempt < self.read_retries:
                log.info("i3D.net GET %s failed (%s); retrying", path, failure)
                await asyncio.sleep(self.retry_delay * 2**attempt)
        raise failure

    async def _send(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, json: Any = None
    ) -> tuple[int, bytes, CIMultiDict[str]]:
        url = URL(self.base_url + path, encoded=True)
        sent = {"PRIVATE-TOKEN": self.api_key.get_secret_value(), "Accept": "application/json"}
        try:
            async with self.http.request(
                method,
                url,
                headers=sent | (headers or {}),
                json=json,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                allow_redirects=False,
            ) as response:
                body = await response.read()
                return response.status, body, CIMultiDict(response.headers)
        except TimeoutError:
            raise ProviderUnavailable(
                f"i3D.net did not answer within {self.timeout:g} s; try again in a few minutes."
            ) from None
        except aiohttp.ClientError as error:
            raise ProviderUnavailable(
                f"Could not reach i3D.net at {self.base_url} ({type(error).__name__}: {error})."
            ) from None

    def _failure(
        self,
        status: int,
        body: bytes,
        headers: CIMultiDict[str],
        *,
        unprocessable: type[ProviderError] = NotPayable,
    ) -> ProviderError:
        return errors.for_status(
            status, body, retry_after_header=headers.get("Retry-After"), unprocessable=unprocessable
        )


INVOICE_DEFAULTS = {
    "invoiceHash": "",
    "description": "",
    "currencySign": "",
    "creationDate": 0,
    "dueDate": 0,
    "paymentDate": 0,
    "isCredit": 0,
    "totalPaidAmount": "0",
}
"""Fields the documents require that an answer may leave out or null: none is needed to
pay or to tell the invoice apart, and each has a documented 'not set' value."""


def _label(entry: Any) -> str:
    if isinstance(entry, dict):
        for key in ("invoiceNumber", "id"):
            if isinstance(entry.get(key), str | int) and str(entry[key]).strip():
                return str(entry[key]).strip()
    return ""


def _parse(adapter: TypeAdapter[Any], body: bytes, what: str) -> Any:
    try:
        return adapter.validate_json(body)
    except ValidationError as error:
        raise errors.unreadable(what, _problem(error)) from None


def _parse_one(model: type[M], body: bytes, what: str) -> M:
    """One object as documented; also accepts it wrapped in a one-item array (v3's habit)."""
    value = _parse(TypeAdapter(model | list[model]), body, what)  # type: ignore[valid-type]
    if isinstance(value, list):
        if len(value) != 1:
            raise errors.unreadable(what, f"expected one object, got {len(value)}")
        return value[0]
    return value


def _problem(error: ValidationError) -> str:
    first = error.errors()[0]
    if first["type"] == "json_invalid":
        return "not valid JSON"
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return f"unexpected shape at {where}: {first['msg']}"
