"""Provider plugins bundled with invoicebot, registered through the `invoicebot` entry points."""
