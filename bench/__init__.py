"""`python -m bench`: invoicebot measured against the limits it cannot beat, in one run.

Each figure is set against a limit measured in the same round on the same machine,
alternating with the bot: a bare Bolt app for acks, the slowest provider for listings,
one search alone for twenty at once, `/healthz` for a storm, one process on sqlite for
three on PostgreSQL, `import slack_bolt` for start-up. The run has several rounds and
judges each figure on its median. Everything runs on 127.0.0.1 in processes of its own,
so that the load generator, the bot and the provider sandboxes do not share one event loop.
"""
