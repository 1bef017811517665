"""The research notes on i3D.net (providers.md §2), read: the facts the plugin and the
sandbox take from them beyond the pay page's OpenAPI fragments are what they say."""

from __future__ import annotations

import re

import pytest

from bot.provider import InvoiceNotFound
from plugins.i3d import errors, wire
from plugins.i3d.sandbox.endpoints import DEFAULT_RANGE, requested_range
from plugins.i3d.sandbox.replies import ENTITY_NOT_FOUND
from tests.i3d.conftest import REPO_ROOT

NOTES = REPO_ROOT.parent / "shared" / "reference" / "providers.md"


def i3d_notes() -> str:
    if not NOTES.is_file():
        pytest.skip(f"the provider notes are not at {NOTES}")
    text = NOTES.read_text(encoding="utf-8")
    return text.split("## 2. i3D.net", 1)[1].split("\n## 3.", 1)[0]


def test_the_documented_error_example_reads_as_not_found() -> None:
    found = re.search(r"Error body: `(\{.*?\})`", i3d_notes())
    assert found, "the notes show an example error body"
    body = found.group(1).encode()
    example = wire.Error.model_validate_json(body)
    assert example.errorCode == errors.ENTITY_NOT_FOUND == ENTITY_NOT_FOUND
    assert isinstance(errors.for_status(422, body), InvoiceNotFound)


def test_the_documented_default_range_is_the_sandboxs() -> None:
    found = re.search(r"`RANGED-DATA: (start=\d+,results=\d+)`; that is the default", i3d_notes())
    assert found, "the notes give RANGED-DATA's default"
    assert requested_range(found.group(1)) == requested_range(None) == DEFAULT_RANGE
