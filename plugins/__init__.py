"""Provider plugins bundled with invoicebot; each registers through the `invoicebot` entry-point group."""
