"""One provider's HTTP edge: timeouts, network failures in words, read-only retries.

`ProviderHttp.send` makes exactly one exchange and turns a timeout or a dropped
connection into `ProviderUnavailable` (the details go to the log, the sentence to the
person). `ProviderHttp.retrying` repeats a read on what passes: a network failure, a
5xx, or a 429 whose `Retry-After` is short enough to wait out. Writes are never retried
here: a repeated pay or create could do it twice, so a plugin sends those with `send`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from bot.kit.errors import Wording, retry_after
from bot.provider import ProviderError, ProviderUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    """What came back: read whole, so the connection is free before anyone parses it."""

    status: int
    body: bytes
    headers: CIMultiDict[str]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def retry_after(self) -> float | None:
        return retry_after(self.headers.get("Retry-After"))


Failure = Callable[[Answer], ProviderError]


class ProviderHttp:
    """The shared `aiohttp.ClientSession`, aimed at one provider's base URL."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        base_url: str,
        *,
        name: str | None = None,
        wording: Wording | None = None,
        timeout: float,
        read_retries: int = 2,
        retry_delay: float = 0.25,
        longest_wait: float = 5.0,
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.wording = wording or Wording(name or base_url)
        self.name = name or self.wording.name
        self.timeout = timeout
        self.read_retries = read_retries
        self.retry_delay = retry_delay
        self.longest_wait = longest_wait
        """The longest `Retry-After` a read waits out before giving up with `RateLimited`."""

    def url(self, path: str, params: Mapping[str, str] | None = None) -> URL:
        """`path` as given (already encoded), after the base URL."""
        url = URL(self.base_url + path, encoded=True)
        return url.update_query(params) if params else url

    async def send(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        data: bytes | Mapping[str, str] | None = None,
    ) -> Answer:
        """Exactly one exchange; never follows redirects (a 3xx is the provider's answer)."""
        try:
            async with self.http.request(
                method,
                self.url(path, params),
                headers=dict(headers or {}),
                json=json,
                data=dict(data) if isinstance(data, Mapping) else data,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                allow_redirects=False,
            ) as response:
                body = await response.read()
                return Answer(response.status, body, CIMultiDict(response.headers))
        except TimeoutError:
            raise ProviderUnavailable(
                f"{self.name} did not answer within {self.timeout:g} s; try again in a few minutes."
            ) from None
        except aiohttp.ClientError as error:
            where = self.base_url + path.split("?")[0]  # for the log only: see `unreachable`
            log.warning("%s %s %s failed: %r", self.name, method, where, error)
            raise unreachable(self.name, error) from None

    async def retrying(
        self,
        exchange: Callable[[], Awaitable[Answer]],
        failure: Failure | None = None,
        what: str = "read",
    ) -> Answer:
        """A read, repeated with a growing pause while the failure may pass; `failure`
        (by default the wording's) turns a refusal into the error raised."""
        refusal = failure or self.wording.for_answer
        for attempt in range(self.read_retries + 1):
            wait = self.retry_delay * 2**attempt
            try:
                answer = await exchange()
            except ProviderUnavailable as error:
                problem: ProviderError = error
            else:
                if answer.ok:
                    return answer
                problem = refusal(answer)
                if answer.status == 429:
                    asked = answer.retry_after
                    if asked is not None and asked > self.longest_wait:
                        raise problem
                    wait = max(wait, asked or 0.0)
                elif answer.status < 500:
                    raise problem
            if attempt < self.read_retries:
                log.info("%s %s failed (%s); retrying in %.2g s", self.name, what, problem, wait)
                await asyncio.sleep(wait)
        raise problem

    async def get(
        self,
        path: str,
        failure: Failure | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Answer:
        """A GET, retried as `retrying` says."""
        return await self.retrying(
            lambda: self.send("GET", path, headers=headers, params=params),
            failure,
            f"GET {path.split('?')[0]}",
        )


def unreachable(name: str, error: aiohttp.ClientError) -> ProviderUnavailable:
    """A network failure in words: what the person can check, not the exception's name
    nor the address (the log has it): a person reads where to look, not a URL."""
    if isinstance(error, aiohttp.ClientConnectorDNSError):
        why = "its address does not resolve; check the address in the connection settings"
    elif isinstance(error, aiohttp.ClientSSLError):
        why = "its secure connection could not be set up; check the address"
    elif isinstance(error, aiohttp.ClientConnectorError):
        why = "nothing answered there; check the address, or try again in a few minutes"
    else:
        why = "the connection broke off; try again in a few minutes"
    return ProviderUnavailable(f"Could not reach {name}: {why}.")
