"""The HTTP edge: Payfirma's gateway calls, parsed into `wire` models.

Every call carries the bearer token; a 401 renews the token once and repeats the
call, which is safe even for a POST because a refused token means nothing was done.
Reads are retried with a short backoff on 5xx, timeouts and dropped connections;
calls that create, send or charge are sent exactly once. Secrets are never logged.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
from pydantic import BaseModel, SecretStr, ValidationError

from bot.kit.http import Answer, ProviderHttp
from bot.provider import (
    BadCredentials,
    NotPayable,
    PaymentRejected,
    ProviderError,
    ProviderUnavailable,
)
from bot.reading import each, tolerant
from plugins.payfirma import errors, wire
from plugins.payfirma.oauth import TokenSource

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

HPP_INIT = "/merchant-service/hpp/init"
LOOKUP = "/transaction-service/transaction/lookup/"


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
        self.http = ProviderHttp(
            http,
            gateway_url,
            name="Payfirma",
            timeout=timeout,
            read_retries=read_retries,
            retry_delay=retry_delay,
        )
        self.tokens = tokens
        self.invoice_path = "/" + invoice_path.strip("/")
        self.hpp_token = hpp_token

    @property
    def gateway_url(self) -> str:
        return self.http.base_url

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
        invoice = _parse(wire.Invoice, body, "invoice")
        if invoice.invoice_id != invoice_id:
            # Another invoice's status is no word on this one: its "paid" would settle ours.
            raise errors.unreadable("invoice", f"it is about invoice {invoice.invoice_id}")
        return invoice

    async def transaction(self, lookup_id: str) -> wire.Transaction:
        body = await self._read(LOOKUP + quote(lookup_id, safe=""))
        return _parse(wire.Transaction, body, "transaction lookup")

    async def create(self, invoice: wire.NewInvoice, *, draft: bool) -> wire.Invoice:
        path = self.invoice_path + ("/draft" if draft else "")
        body = await self._write(
            path, invoice.to_json(), refused=ProviderError, unsaid=errors.CREATE_WITHOUT_REASON
        )
        return _parse(wire.Invoice, body, "create invoice")

    async def send(self, invoice_id: int, to: str | None) -> str:
        path = f"{self.invoice_path}/{invoice_id}/send"
        if to is not None:
            path += "/" + quote(to, safe="@")
        body = await self._write(
            path, None, refused=ProviderError, unsaid=errors.SEND_WITHOUT_REASON
        )
        return _parse(wire.Sent, body, "send invoice").email_address

    async def hpp_init(self, request: wire.HppRequest) -> str | None:
        body = await self._write(HPP_INIT, request.to_json(), refused=PaymentRejected, hpp=True)
        return _parse(wire.HppAnswer, body, "hosted payment page").link()

    async def _read(self, path: str) -> bytes:
        answer = await self.http.retrying(
            lambda: self._call("GET", path, None), _read_failure, f"GET {path.split('?')[0]}"
        )
        return answer.body

    async def _write(
        self,
        path: str,
        payload: Any,
        *,
        refused: type[ProviderError],
        hpp: bool = False,
        unsaid: str | None = None,
    ) -> bytes:
        """Sent once: a repeat could create, e-mail or charge twice. `unsaid` words a
        refusal without a reason for this call (see `errors.for_status`)."""
        data = b"{}" if payload is None else wire.encode(payload)
        answer = await self._call("POST", path, data, hpp=hpp)
        if not answer.ok:
            if answer.status == 401 and hpp:
                raise BadCredentials(
                    "Payfirma refused the hosted payment page token (HTTP 401). Generate a new "
                    "one in PayHQ (Settings > Hosted Pay Page) and connect Payfirma again."
                )
            raise _failure(answer, refused=refused, without_reason=unsaid)
        return answer.body

    async def _call(
        self, method: str, path: str, data: bytes | None, *, hpp: bool = False
    ) -> Answer:
        if hpp:  # the Hosted Pay Page takes its own token, never an API one
            if self.hpp_token is None:
                raise NotPayable(PAGE_NOT_SET_UP)
            return await self._send(method, path, data, self.hpp_token.get_secret_value())
        token = await self.tokens.token()
        answer = await self._send(method, path, data, token)
        if answer.status == 401:
            log.info("Payfirma refused the access token; signing in again")
            try:
                token = await self.tokens.renew(token)
            except ProviderUnavailable as error:
                if method == "GET":
                    raise  # a read is retried as a whole
                raise SignInLost(error) from None  # refused, and not sent again
            answer = await self._send(method, path, data, token)
        return answer

    async def _send(self, method: str, path: str, data: bytes | None, bearer: str) -> Answer:
        headers = {
            "Authorization": f"Bearer {bearer}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        return await self.http.send(method, path, headers=headers, data=data)


class SignInLost(ProviderError):
    """Payfirma refused a call's token (401: it did nothing) and signing in again failed,
    so the call was not sent again: nothing was created, sent or charged."""

    def __init__(self, error: ProviderUnavailable) -> None:
        super().__init__(error.message)
        self.error = error


PAGE_NOT_SET_UP = (
    "Payfirma takes card payments on its Hosted Pay Page, and its token is not set here: an "
    "admin adds it with `/invoices connect payfirma` (PayHQ > Settings > Hosted Pay Page). "
    "Nothing was started."
)


def _failure(
    answer: Answer,
    *,
    refused: type[ProviderError] = ProviderUnavailable,
    without_reason: str | None = None,
) -> ProviderError:
    return errors.for_status(
        answer.status,
        answer.body,
        retry_after_header=answer.headers.get("Retry-After"),
        refused=refused,
        without_reason=without_reason,
    )


def _read_failure(answer: Answer) -> ProviderError:
    return _failure(answer, without_reason=errors.READ_WITHOUT_REASON)


def _each_invoice(body: bytes, what: str) -> list[wire.Invoice | str]:
    try:
        raw = wire.decode(body, entries=True)
    except ValueError:
        raise errors.unreadable(what, "not valid JSON") from None
    entries = raw.get("invoices") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        raise errors.unreadable(what, "no list of invoices")
    read, labels = each(wire.Invoice, entries, "Payfirma invoice", label_keys=LABEL_KEYS)
    unread = iter(labels)
    return [item if item is not None else next(unread) for item in read]


LABEL_KEYS = ("invoice_number", "invoice_id")


def _parse(model: type[M], body: bytes, what: str) -> M:
    """An answer read tolerantly (`bot.reading`): a null where a default exists is forgiven."""
    try:
        return tolerant(model, wire.decode(body), f"Payfirma {what}")
    except ValidationError as error:
        raise errors.unreadable(what, errors.problem_of(error)) from None
    except ValueError:
        raise errors.unreadable(what, "not valid JSON") from None
