"""The HTTP edge: Payfirma's gateway calls, parsed into `wire` models.

Every call carries the bearer token; a 401 renews the token once and repeats the
call, which is safe even for a POST because a refused token means nothing was done.
Reads are retried with a short backoff on 5xx, timeouts and dropped connections;
calls that create, send or charge are sent exactly once. Secrets are never logged.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
from multidict import CIMultiDict
from pydantic import BaseModel, SecretStr, ValidationError
from yarl import URL

from bot.provider import BadCredentials, PaymentRejected, ProviderError, ProviderUnavailable
from plugins.payfirma import errors, wire
from plugins.payfirma.oauth import TokenSource

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

HPP_INIT = "/merchant-service/hpp/init"
LOOKUP = "/transaction-service/transaction/lookup/"
Answer = tuple[int, bytes, CIMultiDict[str]]


class PayfirmaApi:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        tokens: TokenSource,
        gateway_url: str,
        invoice_path: str,
        *,
        hpp_token: SecretStr | None = None,
        timeout: float,
        read_retries: int = 2,
        retry_delay: float = 0.25,
    ) -> None:
        self.http = http
        self.tokens = tokens
        self.gateway_url = gateway_url.rstrip("/")
        self.invoice_path = "/" + invoice_path.strip("/")
        self.hpp_token = hpp_token
        self.timeout = timeout
        self.read_retries = read_retries
        self.retry_delay = retry_delay

    async def invoices(self, limit: int) -> list[wire.Invoice | str]:
        """The list in Payfirma's order, each invoice read on its own: one that cannot be
        read stays in its place as its label (number, or ''), so offsets hold."""
        body = await self._read(f"{self.invoice_path}?limit={limit}")
        return _each_invoice(body, "invoice list")

    async def customer_invoices(self, customer_id: int, limit: int) -> list[wire.Invoice | str]:
        body = await self._read(f"{self.invoice_path}/customer/{customer_id}?limit={limit}")
        return _each_invoice(body, "customer invoice list")

    async def invoice(self, invoice_id: int) -> wire.Invoice:
        body = await self._read(f"{self.invoice_path}/{invoice_id}")
        return _parse(wire.Invoice, body, "invoice")

    async def transaction(self, lookup_id: str) -> wire.Transaction:
        body = await self._read(LOOKUP + quote(lookup_id, safe=""))
        return _parse(wire.Transaction, body, "transaction lookup")

    async def create(self, invoice: wire.NewInvoice, *, draft: bool) -> wire.Invoice:
        path = self.invoice_path + ("/draft" if draft else "")
        body = await self._write(path, invoice.to_json(), refused=ProviderError)
        return _parse(wire.Invoice, body, "create invoice")

    async def send(self, invoice_id: int, to: str | None) -> str:
        path = f"{self.invoice_path}/{invoice_id}/send"
        if to is not None:
            path += "/" + quote(to, safe="@")
        body = await self._write(path, None, refused=ProviderError)
        return _parse(wire.Sent, body, "send invoice").email_address

    async def hpp_init(self, request: wire.HppRequest) -> str | None:
        body = await self._write(HPP_INIT, request.to_json(), refused=PaymentRejected, hpp=True)
        return _parse(wire.HppAnswer, body, "hosted payment page").link()

    async def _read(self, path: str) -> bytes:
        failure: ProviderError
        for attempt in range(self.read_retries + 1):
            try:
                status, body, headers = await self._call("GET", path, None)
            except ProviderUnavailable as error:
                failure = error
            else:
                if status == 200:
                    return body
                failure = self._failure(status, body, headers)
                if status < 500:
                    raise failure
            if attempt < self.read_retries:
                log.info("Payfirma GET %s failed (%s); retrying", path.split("?")[0], failure)
                await asyncio.sleep(self.retry_delay * 2**attempt)
        raise failure

    async def _write(
        self, path: str, payload: Any, *, refused: type[ProviderError], hpp: bool = False
    ) -> bytes:
        """Sent once: a repeat could create, e-mail or charge twice."""
        data = b"{}" if payload is None else wire.encode(payload)
        status, body, headers = await self._call("POST", path, data, hpp=hpp)
        if not 200 <= status < 300:
            if status == 401 and hpp and self.hpp_token is not None:
                raise BadCredentials(
                    "Payfirma refused the hosted payment page token (HTTP 401). Generate a new "
                    "one in PayHQ (Settings > Hosted Pay Page) and connect Payfirma again."
                )
            raise self._failure(status, body, headers, refused=refused)
        return body

    async def _call(
        self, method: str, path: str, data: bytes | None, *, hpp: bool = False
    ) -> Answer:
        if hpp and self.hpp_token is not None:
            return await self._send(method, path, data, self.hpp_token.get_secret_value())
        token = await self.tokens.token()
        answer = await self._send(method, path, data, token)
        if answer[0] == 401:
            log.info("Payfirma refused the access token; signing in again")
            answer = await self._send(method, path, data, await self.tokens.renew(token))
        return answer

    async def _send(self, method: str, path: str, data: bytes | None, bearer: str) -> Answer:
        url = URL(self.gateway_url + path, encoded=True)
        headers = {
            "Authorization": f"Bearer {bearer}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        try:
            async with self.http.request(
                method,
                url,
                data=data,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                allow_redirects=False,
            ) as response:
                return response.status, await response.read(), CIMultiDict(response.headers)
        except TimeoutError:
            raise ProviderUnavailable(
                f"Payfirma did not answer within {self.timeout:g} s; try again in a few minutes."
            ) from None
        except aiohttp.ClientError as error:
            raise ProviderUnavailable(
                f"Could not reach Payfirma at {self.gateway_url} ({type(error).__name__}: {error})."
            ) from None

    def _failure(
        self,
        status: int,
        body: bytes,
        headers: CIMultiDict[str],
        *,
        refused: type[ProviderError] = ProviderUnavailable,
    ) -> ProviderError:
        return errors.for_status(
            status, body, retry_after_header=headers.get("Retry-After"), refused=refused
        )


def _each_invoice(body: bytes, what: str) -> list[wire.Invoice | str]:
    try:
        raw = wire.decode(body)
    except ValueError:
        raise errors.unreadable(what, "not valid JSON") from None
    entries = raw.get("invoices") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        raise errors.unreadable(what, "no list of invoices")
    read: list[wire.Invoice | str] = []
    for entry in entries:
        try:
            read.append(wire.Invoice.model_validate(entry))
        except ValidationError as error:
            label = ""
            if isinstance(entry, dict) and isinstance(entry.get("invoice_id"), int | str):
                label = str(entry["invoice_id"])
            log.warning("a Payfirma invoice (%r) could not be read: %s", label, error)
            read.append(label)
    return read


def _parse(model: type[M], body: bytes, what: str) -> M:
    try:
        return model.model_validate(wire.decode(body))
    except ValidationError as error:
        raise errors.unreadable(what, errors.problem_of(error)) from None
    except ValueError:
        raise errors.unreadable(what, "not valid JSON") from None
