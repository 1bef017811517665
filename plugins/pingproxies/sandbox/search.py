"""Invoice Search as PingProxies documents search: paging and the field operators.

A parameter named after a field means equality; `min_`, `max_`, `like_` (case-insensitive,
`%` wildcard), `not_` and `exists_` prefixes work as on PingProxies' search page. Unknown
fields and bad paging answer 400, as a strict API would.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from plugins.pingproxies import wire
from plugins.pingproxies.routes import MAX_PER_PAGE
from plugins.pingproxies.sandbox.replies import Refusal

FIELDS = frozenset(wire.Invoice.model_fields)
PREFIXES = ("min_", "max_", "like_", "not_", "exists_")
PAGING = frozenset({"page", "per_page"})


def paging(query: dict[str, str]) -> tuple[int, int]:
    """`page` (from 1) and `per_page` (1 to 100), defaulting to 1 and 100."""
    values = {"page": 1, "per_page": MAX_PER_PAGE}
    for name in PAGING & query.keys():
        text = query[name]
        if not text.isdigit() or int(text) < 1:
            raise Refusal(400, "Bad Request", f"{name} must be a whole number of at least 1.")
        values[name] = int(text)
    if values["per_page"] > MAX_PER_PAGE:
        raise Refusal(400, "Bad Request", f"per_page must be at most {MAX_PER_PAGE}.")
    return values["page"], values["per_page"]


def operator(name: str) -> tuple[str, str]:
    for prefix in PREFIXES:
        if name.startswith(prefix) and name[len(prefix) :] in FIELDS:
            return prefix.rstrip("_"), name[len(prefix) :]
    if name in FIELDS:
        return "eq", name
    raise Refusal(400, "Bad Request", f"{name} is not a searchable invoice field.")


def _compare(actual: Any, wanted: str) -> int:
    if isinstance(actual, int):
        try:
            number = int(wanted)
        except ValueError:
            raise Refusal(400, "Bad Request", f"{wanted!r} is not a whole number.") from None
        return (actual > number) - (actual < number)
    text = str(actual)
    return (text > wanted) - (text < wanted)


def matches(item: dict[str, Any], op: str, field: str, wanted: str) -> bool:
    actual = item[field]
    if op == "exists":
        return (actual is not None) == (wanted.lower() in ("1", "true", "yes"))
    if actual is None:
        return op == "not"
    if op == "eq":
        return str(actual) == wanted
    if op == "not":
        return str(actual) != wanted
    if op == "like":
        pattern = ".*".join(re.escape(part) for part in wanted.split("%"))
        return re.fullmatch(pattern, str(actual), flags=re.IGNORECASE) is not None
    sign = _compare(actual, wanted)
    return sign >= 0 if op == "min" else sign <= 0


def search(invoices: Iterable[wire.Invoice], query: dict[str, str]) -> list[wire.Invoice]:
    """The invoices every filter in `query` accepts, newest first."""
    filters = [(*operator(name), value) for name, value in query.items() if name not in PAGING]
    found = [
        item
        for item in invoices
        if all(matches(item.to_json(), op, field, value) for op, field, value in filters)
    ]
    return sorted(
        found, key=lambda item: (item.invoice_creation_datetime, item.invoice_id), reverse=True
    )
