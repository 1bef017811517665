"""Checks every provider makes: on what a person chose before money moves, and on the
web addresses that come from credentials or answers.

`chosen` holds a payment request against the options read just before: the method must
still be offered and selectable, the bank one of its banks (or none when it has none),
the amount the one the person confirmed. Any difference is `PaymentRejected` saying what
changed, before a provider call could charge anything.
"""

from __future__ import annotations

from yarl import URL

from bot.models import PaymentMethod, PaymentOptions, PaymentRequest
from bot.provider import AmountChanged, PaymentRejected


def chosen(
    options: PaymentOptions,
    request: PaymentRequest,
    *,
    title: str,
    subject: str = "this invoice",
    after: str = "",
) -> tuple[PaymentMethod, str]:
    """The method and bank (`""` for none) of `request`, checked; `after` ends each refusal
    (e.g. "Nothing was charged.")."""
    tail = f" {after}" if after else ""
    method = options.method(request.method_id)
    if method is None:
        offered = ", ".join(m.name for m in options.selectable_methods) or "none"
        raise PaymentRejected(
            f"{title} does not offer payment method {request.method_id!r} for {subject}; "
            f"methods offered now: {offered}.{tail}"
        )
    if not method.selectable:
        raise PaymentRejected(f"{method.name} cannot be used: {method.reason}.{tail}")
    issuer = request.issuer_id or ""
    if method.issuers and issuer not in {item.id for item in method.issuers}:
        banks = ", ".join(item.name for item in method.issuers)
        raise PaymentRejected(f"Choose your bank for {method.name} (one of: {banks}).")
    if not method.issuers and issuer:
        raise PaymentRejected(f"{method.name} takes no bank; start again without one.")
    if request.amount != options.total:
        raise AmountChanged(
            f"The amount changed: you confirmed {request.amount} but {title} now asks "
            f"{options.total} for {subject}. Review it and confirm again.{tail}"
        )
    return method, issuer


def web_address(value: str, example: str) -> str:
    """`value` as an http(s) address with a host, without a trailing slash; else a
    `ValueError` that shows what it should look like (for credentials validators)."""
    url = URL(value.strip())
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"The address must look like {example}, not “{value.strip()}”.")
    return str(url).rstrip("/")


def is_web_address(value: str | None) -> bool:
    """Whether an address a provider answered with can be sent to a browser."""
    url = URL(value or "")
    return url.scheme in ("http", "https") and bool(url.host)
