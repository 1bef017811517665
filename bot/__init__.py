"""invoicebot: see and settle invoices from inside Slack."""

import pluggy

hookimpl = pluggy.HookimplMarker("invoicebot")

__all__ = ["hookimpl"]
