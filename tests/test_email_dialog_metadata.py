"""The Send by e-mail dialog's `private_metadata` stays within Slack's 3,000 characters,
past which Slack refuses the whole view: the invoice it sends is always carried, the
list's sealed response URL only when it fits (it just refreshes the list afterwards)."""

from __future__ import annotations

import json

from bot.slack import values
from bot.slack.customers import email_modal

ONE_ID = "a" * 64


def test_a_response_url_too_long_to_carry_is_left_out_not_the_dialog() -> None:
    target = values.PayTarget("payfirma", (ONE_ID,))
    view = email_modal(target, url="u" * values.METADATA_CHARS)
    carried = view["private_metadata"]
    assert len(carried) <= values.METADATA_CHARS
    assert json.loads(carried) == {"target": target.encode(), "draft": False}


def test_a_response_url_that_fits_is_carried() -> None:
    target = values.PayTarget("payfirma", (ONE_ID,))
    view = email_modal(target, url="u" * 300)
    assert json.loads(view["private_metadata"])["url"] == "u" * 300


def test_only_the_invoice_sent_is_carried_however_many_a_value_named() -> None:
    """A value may name up to 50 ids (64 characters each): more than the metadata holds.
    Send by e-mail sends the first alone, and carries only that one."""
    many = values.PayTarget("payfirma", tuple(f"{i:02d}" + "a" * 62 for i in range(50)))
    assert len(many.encode()) > values.METADATA_CHARS
    view = email_modal(many, url="u" * 300)
    carried = view["private_metadata"]
    assert len(carried) <= values.METADATA_CHARS
    back = values.PayTarget.decode(json.loads(carried)["target"])
    assert back.invoice_ids == many.invoice_ids[:1]
