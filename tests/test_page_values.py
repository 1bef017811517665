"""What a Previous or Next button carries: small, exact, and refused unless well formed."""

from __future__ import annotations

from datetime import date

import pytest

from bot.invoices import Side, SortKey
from bot.models import Invoice, InvoiceStatus, Money
from bot.selection import KEY_ID_CHARS, KEY_NUMBER_CHARS, sort_key
from bot.slack.actions import block_target
from bot.slack.blocks.kit import Ids
from bot.slack.values import MAX_TEXT, MAX_VALUE, BadValue, PageRequest, PayTarget

KEY: SortKey = (0, date(2024, 3, 1).toordinal(), "INV-24-0101", "i3d", "410001")


@pytest.mark.parametrize(
    "request_",
    [
        PageRequest(""),
        PageRequest("all i3d"),
        PageRequest("search a|b", Side.AFTER, KEY, 2),
        PageRequest("", Side.BEFORE, KEY, 9_999_999),
        PageRequest("search ünïcødé |||", Side.BEFORE, (2, 1, "", "p", "x"), 3),
        PageRequest("x", Side.AFTER, (1, date.max.toordinal(), "1|2.3|", "a-b_c", "id:7@x.y"), 4),
        PageRequest("paid", Side.AFTER, (1, 738_000, "N\n\tº", "i3d", "9" * KEY_ID_CHARS), 5),
    ],
)
def test_a_page_request_survives_its_button(request_: PageRequest) -> None:
    value = request_.encode()
    assert PageRequest.decode(value) == request_
    assert len(value) <= MAX_VALUE


def test_the_largest_request_still_fits_in_a_button() -> None:
    key = (2, date.max.toordinal(), "№" * KEY_NUMBER_CHARS, "p" * 32, "i" * KEY_ID_CHARS)
    request = PageRequest("t" * MAX_TEXT, Side.BEFORE, key, 9_999_999)
    value = request.encode()
    assert len(value) <= MAX_VALUE
    assert PageRequest.decode(value) == request


def test_a_providers_absurdly_long_id_still_leaves_a_page_button_that_reads_back() -> None:
    """Ids are the providers' and unbounded: a key cuts it, as it cuts the number."""
    invoice = Invoice(
        provider="i3d", id="x" * 2500, number="N" * 1000, status=InvoiceStatus.OPEN,
        amount_due=Money.of("1.00", "EUR"), total_incl_vat=Money.of("1.00", "EUR"),
    )  # fmt: skip
    key = sort_key(invoice, date(2026, 12, 4))
    request = PageRequest("t" * MAX_TEXT, Side.AFTER, key, 3)
    value = request.encode()
    assert len(value) <= MAX_VALUE and PageRequest.decode(value) == request
    longer = (*key[:4], key[4] + "x")
    with pytest.raises(BadValue):  # no key the bot makes is longer
        PageRequest.decode(PageRequest("", Side.AFTER, longer, 3).encode())


def test_the_first_page_carries_no_key() -> None:
    value = PageRequest("overdue").encode()
    assert value == "a1||overdue"
    assert PageRequest.decode(value).key is None


@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        "1|all",  # the old format
        "a0||all",  # pages count from 1
        "a2||all",  # only the first page has no key
        "b1||all",  # before what?
        "c1||all",
        "a1|" + "x" * 600,
        "a1||" + "x" * (MAX_TEXT + 1),
        "a2|3|738000|3.6.11|i3d410001INV-24-0101",  # rank out of range
        "a2|0|0|3.6.11|i3d410001INV-24-0101",  # no day 0
        "a2|0|99999999|3.6.11|i3d410001INV-24-0101",  # past the last date
        "a2|0|738000|3.6.11|i3d410001INV-24-010",  # shorter than its lengths say
        "a2|0|738000|0.6.11|410001INV-24-0101",  # no provider
        "a2|0|738000|3.0.11|i3dINV-24-0101",  # no id
        "a2|0|738000|3.6|i3d410001",
        "a2|0|738000|3.6.11.4|i3d410001INV-24-0101",
        "a2|0|738000|03.6.11|i3d410001INV-24-0101",
        "a2|0|738000|3.6.257|i3d410001" + "n" * 257,  # longer than any key's number
        "a2|0|738000|3.6.11|i3d410001INV-24-0101" + "x" * (MAX_TEXT + 1),
        "a2|0|738000|3.6.11|i3d410001INV-24-0101" + "x" * (MAX_VALUE + 1),
        "a-2|0|738000|3.6.11|i3d410001INV-24-0101",
        "a2|-0|738000|3.6.11|i3d410001INV-24-0101",
        " a2|0|738000|3.6.11|i3d410001INV-24-0101",
    ],
)
def test_anything_else_is_refused(value: str) -> None:
    with pytest.raises(BadValue):
        PageRequest.decode(value)


def test_a_pay_menu_target_cut_short_in_its_block_id_is_refused() -> None:
    """Slack block ids hold 255 characters: a cut target must not read as fewer invoices."""
    ids = tuple(f"{n:0>40}" for n in range(10))  # ten long provider ids
    target = PayTarget("acme", ids, "card")
    block_id = Ids()(f"pay:{target.encode()}")
    assert len(block_id) == 255
    with pytest.raises(BadValue):
        block_target(block_id)
    short = PayTarget("acme", ids[:2], "card")
    assert block_target(Ids()(f"pay:{short.encode()}")) == short
    for forged in ("pay:acme|1", "acme|1~1~abc", "pay:acme|1~"):
        with pytest.raises(BadValue):
            block_target(forged)
