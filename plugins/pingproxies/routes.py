"""Every PingProxies route the plugin calls, in one table, so it can be corrected in one place.

Only the search route (`GET /1.0/private/user/invoice/search`) and the login route are
shown in PingProxies' documents; retrieve, pay option and pay follow the documented
`/{version}/private/user/{resource}/{operation}[/{id}]` pattern but are guesses (see
README.md). The version segment differs per route, so each route carries its own. The
sandbox serves exactly this table, so a correction here moves client and sandbox together.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal
from urllib.parse import quote

#: What goes before the JWT in `Authorization`. The documents show the bare token and
#: never say "Bearer"; if PingProxies wants the prefix, set it here ("Bearer ").
AUTHORIZATION_PREFIX = ""

#: The documented maximum (and default) of `per_page` on search routes.
MAX_PER_PAGE = 100


class Operation(StrEnum):
    LOGIN = "login"
    INVOICE_SEARCH = "invoice_search"
    INVOICE_RETRIEVE = "invoice_retrieve"
    INVOICE_PAY_OPTION = "invoice_pay_option"
    INVOICE_PAY = "invoice_pay"


@dataclass(frozen=True)
class Route:
    """One call: its HTTP method, version segment and path after the version."""

    method: Literal["GET", "POST"]
    version: str
    path: str
    confirmed: bool

    @property
    def takes_id(self) -> bool:
        return "{id}" in self.path

    @property
    def reads(self) -> bool:
        """Safe to repeat: the plugin retries these on 5xx and timeouts."""
        return self.method == "GET"

    def url_path(self, object_id: str | None = None) -> str:
        """`/1.0/private/user/invoice/retrieve/inv_x`; the id is percent-encoded."""
        if self.takes_id != (object_id is not None):
            raise ValueError(f"route {self.path!r} needs {'an' if self.takes_id else 'no'} id")
        path = self.path.replace("{id}", quote(object_id or "", safe=""))
        return f"/{self.version}/{path}"

    def pattern(self) -> str:
        """The aiohttp route pattern the sandbox registers."""
        return f"/{self.version}/{self.path}"


ROUTES: dict[Operation, Route] = {
    # The auth page shows /v1.0/…, the API-structure page /2.1/…; 2.1 fits the pattern.
    Operation.LOGIN: Route("POST", "2.1", "private/user/customer/login", confirmed=True),
    Operation.INVOICE_SEARCH: Route("GET", "1.0", "private/user/invoice/search", confirmed=True),
    Operation.INVOICE_RETRIEVE: Route(
        "GET", "1.0", "private/user/invoice/retrieve/{id}", confirmed=False
    ),
    Operation.INVOICE_PAY_OPTION: Route(
        "GET", "1.0", "private/user/invoice/pay_option/{id}", confirmed=False
    ),
    Operation.INVOICE_PAY: Route("POST", "1.0", "private/user/invoice/pay/{id}", confirmed=False),
}
