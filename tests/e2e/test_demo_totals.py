"""The list's header in the demo: money the team pays and money its customers owe are
two totals, never one sum."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.e2e.conftest import Person


async def test_payables_and_receivables_are_totalled_apart(
    person: Callable[[str], Person],
) -> None:
    pat = person("U0PAYER")
    await pat.types("")
    listing = await pat.sees("To collect")
    header = listing.text
    to_pay = re.search(r"To pay ([^·]+)", header)
    to_collect = re.search(r"To collect ([^·]+)", header)
    assert to_pay and to_collect, header
    assert "CA$" in to_collect.group(1) and "CA$" not in to_pay.group(1)
    assert "€" in to_pay.group(1) and "€" not in to_collect.group(1)


async def test_an_open_credit_note_is_shown_as_less_to_pay(
    person: Callable[[str], Person],
) -> None:
    pat = person("U0PAYER")
    await pat.types("i3d")
    listing = await pat.sees("To pay")
    assert "(less €24.20 in credit notes)" in listing.text, listing.text
