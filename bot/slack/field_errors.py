"""Pydantic's complaints about a dialog field, as sentences a person can act on.

A plugin's credentials model declares constraints (`min_length`, `Literal`, a pattern);
pydantic words their failures for developers ("String should have at least 3
characters"). Each error type becomes one sentence here, naming the field by the label
the dialog shows. Words a plugin wrote itself (a `ValueError` raised in a validator, or
a `PydanticCustomError`) are shown as written.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass

from pydantic_core import ErrorDetails
from pydantic_core.core_schema import ErrorType

PYDANTICS_OWN: frozenset[str] = frozenset(typing.get_args(ErrorType))
"""Error types pydantic words; any other type is a plugin's `PydanticCustomError`."""
WRITTEN_BY_PLUGIN = frozenset({"value_error", "assertion_error"})
DETERMINERS = frozenset(
    {"a", "an", "the", "this", "that", "these", "those", "your", "our", "its", "which", "my"}
)
CHOICE_TYPES = frozenset({"literal_error", "enum", "bool_parsing", "bool_type"})
WHOLE_NUMBER_TYPES = frozenset({"int_parsing", "int_type", "int_from_float", "int_parsing_size"})
NUMBER_TYPES = frozenset({"float_parsing", "float_type", "decimal_parsing", "decimal_type"})
BOUNDS = {
    "greater_than": ("gt", "more than {}"),
    "greater_than_equal": ("ge", "{} or more"),
    "less_than": ("lt", "less than {}"),
    "less_than_equal": ("le", "{} or less"),
    "multiple_of": ("multiple_of", "a multiple of {}"),
}


@dataclass(frozen=True)
class DialogField:
    """What a sentence needs to know of the field: its label, and how it is filled in."""

    label: str
    secret: bool = False
    """Pasted (a key, a password) rather than typed."""
    choice: bool = False
    """A menu: only a forged submission holds another value."""


def named(label: str) -> str:
    """The label as a sentence's subject: "The API key", "The account e-mail", and "This
    server's IP address" as it is."""
    first = label.split(maxsplit=1)[0] if label.strip() else ""
    if first.casefold() in DETERMINERS:
        return label[:1].upper() + label[1:]
    if first[1:] != first[1:].lower():  # an acronym or a name: "API key", "PayHQ token"
        return f"The {label}"
    return f"The {label[:1].lower()}{label[1:]}"


def _characters(count: object) -> str:
    return "1 character" if count == 1 else f"{count} characters"


def field_error(problem: ErrorDetails, field: DialogField) -> str:
    """One sentence for what is wrong with `field`, for Slack's `response_action: errors`."""
    kind = problem["type"]
    ctx = problem.get("ctx") or {}
    subject = named(field.label)
    verb = "paste" if field.secret else "type"
    if kind in WRITTEN_BY_PLUGIN and str(ctx.get("error") or "").strip():
        return str(ctx["error"])
    if kind not in PYDANTICS_OWN:
        return problem["msg"]
    if field.choice or kind in CHOICE_TYPES:
        return f"{field.label}: choose one of the options listed."
    if kind == "missing":
        return f"{subject} is needed: {verb} it here."
    if kind in ("string_too_short", "too_short"):
        least = _characters(ctx.get("min_length"))
        return f"{subject} is too short: {verb} all of it (at least {least})."
    if kind in ("string_too_long", "too_long"):
        most = _characters(ctx.get("max_length"))
        return f"{subject} is too long (at most {most}): {verb} only it, with nothing around it."
    if kind == "string_pattern_mismatch":
        return f"{subject} does not look right: {verb} it again exactly as you were given it."
    if kind in WHOLE_NUMBER_TYPES:
        return f"{subject} must be a whole number, in digits only."
    if kind in NUMBER_TYPES:
        return f"{subject} must be a number, in digits only."
    if kind in BOUNDS:
        key, bound = BOUNDS[kind]
        return f"{subject} must be {bound.format(ctx.get(key))}."
    if kind.startswith("url_"):
        return f"{subject} must be a web address, like https://example.com."
    return f"{subject} is not something invoicebot can use: check it and {verb} it again."
