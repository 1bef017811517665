"""The provider kit: what every provider's HTTP edge needs, written once in the core.

A plugin that uses it writes only what is its service's own: routes, wire models, how
its errors say what went wrong, how its pages are counted. The kit brings

- `bot.kit.http`: the transport (timeouts, network failures worded for a person,
  read-only retries with backoff that honour `Retry-After`);
- `bot.kit.errors`: the mapping from a status and an error body to the core's error types;
- `bot.kit.paging`: opaque offset cursors and a guard against servers that ignore paging.

Tolerant reading of answers is `bot.reading`.
"""
