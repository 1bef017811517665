"""What #billing and the creator of a lost create read: escaped, and plain about totals."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from unittest.mock import MagicMock

from bot.credentials import SecretKeyError
from bot.lost_creates import ASK_FOR, LOOK_FOR, LostCreates, found_messages, not_found_messages
from bot.models import REFERENCE_CHARS, Invoice, InvoiceDraft, InvoiceStatus, Money
from bot.provider import ProviderUnavailable, SeveralInvoices
from bot.slack.new_invoice import reference, review_view
from bot.store import Store
from plugins.payfirma.provider import PayfirmaProvider
from tests.payfirma.test_payfirma_issuing import draft, line

EMAIL = "ap@riverside.example"


def test_an_invoice_found_at_other_totals_is_said_to_be_corrected_and_names_are_escaped() -> None:
    new = draft(
        line("Shelving", "3", "3.00"), customer_name="Riverside <Books>", customer_email=EMAIL
    )
    invoice = Invoice(
        provider="payfirma",
        id="212953",
        number="212953",
        status=InvoiceStatus.OPEN,
        total_excl_vat=Money.of("9.50", "CAD"),
        total_incl_vat=Money.of("9.50", "CAD"),
        amount_due=Money.of("9.50", "CAD"),
    )
    billing, creator = found_messages(new, invoice, "Payfirma", "U0PAYER")
    for said in (billing, creator):
        assert "Riverside &lt;Books&gt;" in said and "<Books>" not in said
        assert said.endswith(
            "Payfirma lists it at CA$9.50, not the CA$9.00 reviewed: correct or void it at "
            "Payfirma."
        )
    for said in not_found_messages(new, "Payfirma", "U0PAYER"):
        assert "Riverside &lt;Books&gt;" in said and "CA$9.00" in said


def test_the_creator_reads_the_lost_answer_as_the_invoices_not_its_totals() -> None:
    """Without commas, "…, CA$9.00 whose answer was lost was created" reads as a lost
    amount: the clause about the answer is set apart from the total."""
    new = draft(line("Shelving", "3", "3.00"), customer_name="Riverside", customer_email=EMAIL)
    invoice = Invoice(
        provider="payfirma",
        id="212953",
        number="212953",
        status=InvoiceStatus.OPEN,
        total_excl_vat=Money.of("9.00", "CAD"),
        total_incl_vat=Money.of("9.00", "CAD"),
        amount_due=Money.of("9.00", "CAD"),
    )
    _, found = found_messages(new, invoice, "Payfirma", "U0PAYER")
    _, missing = not_found_messages(new, "Payfirma", "U0PAYER")
    for said in (found, missing):
        assert (
            "CA$9.00, whose answer was lost," in said or "CA$9.00, whose answer was lost." in said
        ), said


def test_the_review_carries_no_reference_and_each_form_gets_its_own() -> None:
    """Set at the submit from the form's own key: one per form, never from the metadata."""
    new = draft(line("Shelving", "3", "3.00"), reference="ib-forged")
    meta = json.loads(review_view(PayfirmaProvider, new, True)["private_metadata"])
    assert "reference" not in meta["draft"]
    one, other = reference("review_invoice:T1:V1"), reference("review_invoice:T1:V2")
    assert one != other and one == reference("review_invoice:T1:V1")
    assert len(one) <= REFERENCE_CHARS


class Hanging:
    """A provider whose list hangs until every lookup of the round has asked it."""

    title = "AcmePay"

    def __init__(self, expected: int) -> None:
        self.asked = 0
        self.expected = expected
        self.all_asked = asyncio.Event()

    async def find_created(self, draft: InvoiceDraft) -> Invoice | None:
        self.asked += 1
        if self.asked == self.expected:
            self.all_asked.set()
        await self.all_asked.wait()
        return None


class OneProvider:
    def __init__(self, provider: Hanging) -> None:
        self.provider = provider

    def provider_class(self, name: str) -> Any:
        return self.provider

    def get(self, team_id: str, name: str) -> Any:
        return self.provider


async def test_a_provider_that_hangs_holds_a_round_once_not_once_per_lost_create(
    database: str,
) -> None:
    """Lost creates are looked for side by side: a provider that takes its timeout
    on each look must not hold every other payment's check for that many timeouts."""
    store = Store(database)
    new = draft(line("Shelving", "3", "3.00"), customer_email=EMAIL)
    for view in ("V1", "V2", "V3"):
        key = f"review_invoice:T1:{view}"
        store.claim_submission(
            key, team_id="T1", user_id="U1", provider="acme", watch=new.model_dump_json()
        )
        store.settle_submission(key, "unknown")
    hanging = Hanging(expected=3)
    lost = LostCreates(store, OneProvider(hanging), MagicMock(), lambda team: "C0BILLING")  # type: ignore[arg-type]
    looked = await asyncio.wait_for(lost.run_once(time.time() + 1), timeout=5)
    assert looked == 3 and hanging.asked == 3
    store.close()


class Unreadable(OneProvider):
    """Its credentials cannot be opened (the secret key was changed, say)."""

    def get(self, team_id: str, name: str) -> Any:
        raise SecretKeyError("the secret key is not the one the credentials were sealed with")


async def test_a_lookup_that_keeps_failing_is_handed_to_billing_after_the_hour(
    database: str,
) -> None:
    """Whatever stops the look (not only a provider's own errors), #billing is told to
    look for it once the hour is over, rather than nobody ever hearing of it."""
    store = Store(database)
    new = draft(line("Shelving", "3", "3.00"), customer_email=EMAIL)
    store.claim_submission(
        "review_invoice:T1:V1",
        team_id="T1",
        user_id="U1",
        provider="acme",
        watch=new.model_dump_json(),
    )
    store.settle_submission("review_invoice:T1:V1", "unknown")
    lost = LostCreates(store, Unreadable(Hanging(1)), MagicMock(), lambda team: "C0BILLING")  # type: ignore[arg-type]
    assert await lost.run_once(time.time() + 1) == 1
    assert store.due_outbox(time.time() + 10) == []  # looked for again later
    assert await lost.run_once(time.time() + LOOK_FOR + 1) == 1
    told = [item.args for item in store.due_outbox(time.time() + LOOK_FOR + 10)]
    assert [args["channel"] for args in told] == ["C0BILLING", "U1"]
    assert "could not ask AcmePay for it" in told[0]["text"]
    assert "could not ask AcmePay" in told[1]["text"]
    assert store.lost_creates(time.time() + 3 * LOOK_FOR) == []  # told once
    store.close()


class Down:
    title = "AcmePay"

    async def find_created(self, draft: InvoiceDraft) -> Invoice | None:
        raise ProviderUnavailable("AcmePay did not answer in time.")


def lost_one(store: Store) -> None:
    new = draft(line("Shelving", "3", "3.00"), customer_email=EMAIL)
    store.claim_submission(
        "review_invoice:T1:V1", team_id="T1", user_id="U1", provider="acme",
        watch=new.model_dump_json(),
    )  # fmt: skip
    store.settle_submission("review_invoice:T1:V1", "unknown")


async def test_a_provider_down_past_the_hour_is_asked_again_and_never_said_not_to_have_it(
    database: str,
) -> None:
    """An outage is not an answer: "could not find it" after an hour of timeouts would be
    untrue, and the invoice shows once the provider is back. It is asked for a day; then
    #billing hears that it could not be asked."""
    store = Store(database)
    lost_one(store)
    lost = LostCreates(store, OneProvider(Down()), MagicMock(), lambda team: "C0BILLING")  # type: ignore[arg-type]
    assert await lost.run_once(time.time() + LOOK_FOR + 1) == 1
    assert store.due_outbox(time.time() + LOOK_FOR + 10) == []  # not told: asked again
    assert await lost.run_once(time.time() + ASK_FOR + 1) == 1
    told = [item.args for item in store.due_outbox(time.time() + ASK_FOR + 10)]
    assert [args["channel"] for args in told] == ["C0BILLING", "U1"]
    assert "could not ask AcmePay for it" in told[0]["text"]
    assert "could not find" not in told[0]["text"]
    assert store.lost_creates(time.time() + 3 * ASK_FOR) == []  # told once
    store.close()


async def test_a_list_read_without_the_invoice_past_the_hour_says_it_was_not_found(
    database: str,
) -> None:
    store = Store(database)
    lost_one(store)
    lost = LostCreates(store, OneProvider(Hanging(1)), MagicMock(), lambda team: "C0BILLING")  # type: ignore[arg-type]
    assert await lost.run_once(time.time() + LOOK_FOR + 1) == 1
    told = [item.args for item in store.due_outbox(time.time() + LOOK_FOR + 10)]
    assert [args["channel"] for args in told] == ["C0BILLING", "U1"]
    assert "could not find it there" in told[0]["text"]
    store.close()


async def test_a_lost_create_that_cannot_be_read_is_handed_to_billing_at_once(
    database: str,
) -> None:
    """Its creator was told it is looked for: a draft that cannot be read (written by
    another version of the bot, say) is not dropped without a word."""
    store = Store(database)
    store.claim_submission(
        "review_invoice:T1:V1", team_id="T1", user_id="U1", provider="acme", watch="{}"
    )
    store.settle_submission("review_invoice:T1:V1", "unknown")
    lost = LostCreates(store, OneProvider(Hanging(1)), MagicMock(), lambda team: "C0BILLING")  # type: ignore[arg-type]
    assert await lost.run_once(time.time() + 1) == 1
    told = [item.args for item in store.due_outbox(time.time() + 10)]
    assert [args["channel"] for args in told] == ["C0BILLING", "U1"]
    assert "<@U1>" in told[0]["text"] and "Look for it at AcmePay" in told[0]["text"]
    assert "before you create it again" in told[1]["text"]
    assert store.lost_creates(time.time() + 3 * LOOK_FOR) == []  # told once
    store.close()


async def test_a_row_whose_time_cannot_be_read_stops_no_other_lookup(database: str) -> None:
    """One row's unreadable submit time must not end every round before any look: it
    is looked for once and handed to #billing, and the others are looked for as usual."""
    store = Store(database)
    new = draft(line("Shelving", "3", "3.00"), customer_email=EMAIL)
    for view in ("V1", "V2"):
        key = f"review_invoice:T1:{view}"
        store.claim_submission(
            key, team_id="T1", user_id="U1", provider="acme", watch=new.model_dump_json()
        )
        store.settle_submission(key, "unknown")
    store.db.execute("UPDATE submissions SET at = ? WHERE key = ?", ["", "review_invoice:T1:V1"])
    hanging = Hanging(expected=1)
    lost = LostCreates(store, OneProvider(hanging), MagicMock(), lambda team: "C0BILLING")  # type: ignore[arg-type]
    assert await lost.run_once(time.time() + 1) == 2
    told = [item.args for item in store.due_outbox(time.time() + 10)]
    assert [args["channel"] for args in told] == ["C0BILLING", "U1"]
    assert [r["key"] for r in store.lost_creates(time.time() + 3 * LOOK_FOR)] == [
        "review_invoice:T1:V2"
    ]
    store.close()


class Twice:
    title = "AcmePay"

    async def find_created(self, draft: InvoiceDraft) -> Invoice | None:
        raise SeveralInvoices("AcmePay lists 2 invoices made from one create.", ["7", "<8>"])


async def test_a_lost_create_several_invoices_answer_to_is_handed_to_billing_named(
    database: str,
) -> None:
    """Not "could not find it": #billing hears at once that several match, which, and
    that a person must check them; none is watched."""
    store = Store(database)
    lost_one(store)
    checkout = MagicMock()
    lost = LostCreates(store, OneProvider(Twice()), checkout, lambda team: "C0BILLING")  # type: ignore[arg-type]
    assert await lost.run_once(time.time() + 1) == 1
    told = [item.args for item in store.due_outbox(time.time() + 10)]
    assert [args["channel"] for args in told] == ["C0BILLING", "U1"]
    billing, creator = told[0]["text"], told[1]["text"]
    assert "could not find" not in billing
    assert "lists 2 invoices made from it (7, &lt;8&gt;)" in billing, billing
    assert "A person must check them at AcmePay" in billing and "<@U1>" in billing
    assert "(7, &lt;8&gt;)" in creator and "Do not create it again" in creator
    checkout.watch_emailed.assert_not_called()
    assert store.lost_creates(time.time() + 3 * LOOK_FOR) == []  # told once
    store.close()
