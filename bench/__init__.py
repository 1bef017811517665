"""`python -m bench`: invoicebot measured against the limits it cannot beat, in one run.

Each figure is a ratio against a limit measured in the same run on the same machine: a
bare Bolt app for acks, the slowest provider for listings, `import slack_bolt` for
start-up. Everything runs on 127.0.0.1 in processes of its own, so that the load
generator, the bot and the provider sandboxes do not share one event loop.
"""
