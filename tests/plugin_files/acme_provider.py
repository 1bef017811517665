"""A one-off provider file, as a user would drop into `--plugins-dir`."""

from bot import hookimpl
from bot.models import InvoicePage
from bot.provider import Provider


class AcmeProvider(Provider):
    name = "acme"
    title = "Acme Hosting"

    async def verify(self) -> None:
        return None

    async def list_invoices(self, query):  # type: ignore[no-untyped-def]
        return InvoicePage(invoices=[])

    async def get_invoice(self, invoice_id):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    async def payment_options(self, invoice_ids):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    async def start_payment(self, request):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    async def check_payment(self, check):  # type: ignore[no-untyped-def]
        raise NotImplementedError


@hookimpl
def register_providers(register):  # type: ignore[no-untyped-def]
    register(AcmeProvider)
