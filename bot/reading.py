"""Tolerant reading of provider answers: strict writing, forgiving reading.

Real APIs drift one field at a time: a new key, a null where a value was, an amount sent
as a number instead of a string. A provider's wire models say what the documents say;
`tolerant` forgives that drift before validating (unknown keys dropped and logged once
per field, numbers and digit strings swapped where the model wants the other, nulls and
gaps filled from the caller's documented defaults), never by guessing money: JSON numbers
are read as `Decimal`, never float. What still does not fit raises `ValidationError`, and
the caller turns that one item into an "unreadable" line instead of failing the page.
"""

from __future__ import annotations

import json
import logging
import re
import types
from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

_INTEGER = re.compile(r"-?[0-9]+")
"""ASCII digits only: `int` and `Decimal` also read Arabic-Indic or fullwidth digits, and
a number written so is no drift we know of, so it stays unreadable (as pydantic's `int`
has it): an answer localised that far may have its separators localised too."""
_noted: set[tuple[str, str]] = set()


def parse_json(body: bytes | str) -> Any:
    """JSON with every number that has a fraction or exponent read as `Decimal`; a NUL
    or half a character sent as an escape is read as U+FFFD (see `whole`)."""
    return whole(json.loads(body, parse_float=Decimal), body)


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def whole(data: Any, body: bytes | str) -> Any:
    """`data`, read from the JSON `body`, with each NUL and lone surrogate in its texts
    as U+FFFD. `json.loads` keeps what an escape names (`"\\u0000"`, `"\\ud800"`), but a
    lone surrogate can be encoded by nothing (not orjson, not UTF-8 for a page, a
    database or Slack), and PostgreSQL's JSON functions cannot turn a NUL into text, so
    one payment's number carrying it failed every lookup of the team's payments by
    number. A body without such an escape is not walked."""
    if isinstance(body, bytes):
        escaped = b"\\ud" in body or b"\\uD" in body or b"\\u0000" in body
    else:
        escaped = "\\ud" in body or "\\uD" in body or "\\u0000" in body
    return _mended(data) if escaped else data


def _mended(data: Any) -> Any:
    if isinstance(data, str):
        return _UNSTORABLE.sub("\ufffd", data)
    if isinstance(data, list):
        return [_mended(item) for item in data]
    if isinstance(data, dict):
        return {_mended(key): _mended(value) for key, value in data.items()}
    return data


def tolerant(model: type[M], data: Any, where: str, defaults: Mapping[str, Any] | None = None) -> M:
    """`data` validated as `model` after forgiving drift (see the module's docstring).

    `defaults` fill fields the documents mark required but real answers leave out or
    null (a description, a payment date); fields without one must be there.
    """
    return model.model_validate(_forgive(model, data, where, defaults or {}))


def _forgive(model: type[BaseModel], data: Any, where: str, defaults: Mapping[str, Any]) -> Any:
    if not isinstance(data, dict):
        return data
    fields = model.model_fields
    open_model = model.model_config.get("extra") == "allow"
    kept: dict[str, Any] = {}
    for key, value in data.items():
        field = fields.get(key)
        if field is None:
            if open_model:  # the documents name more than the model types: keep them as given
                kept[key] = value
            else:
                _note_unknown(where, key)
            continue
        if value is None and not _allows_none(field.annotation):
            continue
        kept[key] = _coerce(field.annotation, value, f"{where}.{key}")
    for name in fields:
        if name not in kept and name in defaults:
            kept[name] = defaults[name]
    return kept


def _allows_none(annotation: Any) -> bool:
    return annotation is None or type(None) in get_args(annotation)


def _coerce(annotation: Any, value: Any, where: str) -> Any:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        options = [arg for arg in get_args(annotation) if arg is not type(None)]
        return _coerce(options[0], value, where) if len(options) == 1 else value
    if origin is list and isinstance(value, list):
        (item,) = get_args(annotation) or (Any,)
        return [_coerce(item, element, where) for element in value]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _forgive(annotation, value, where, {})
    if annotation is str and isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(int(value)) if _integral(value) else str(value)
    if annotation is int and isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    if annotation is int and isinstance(value, Decimal) and _integral(value):
        return int(value)
    if annotation is Decimal and isinstance(value, str | int) and not isinstance(value, bool):
        if isinstance(value, str) and not value.strip().isascii():
            return value  # left for the field's own reading, which refuses it
        try:
            return Decimal(str(value).strip())
        except ArithmeticError:
            return value
    return value


def _integral(value: int | Decimal) -> bool:
    return isinstance(value, int) or value == value.to_integral_value()


def _note_unknown(where: str, key: str) -> None:
    """Once per field and place: a new field is news, not noise."""
    top = where.split(".", 1)[0]
    if (top, key) not in _noted:
        _noted.add((top, key))
        log.info("%s has a field the documents do not name: %r (ignored)", top, key)


def each(
    model: type[M],
    entries: list[Any],
    where: str,
    *,
    label_keys: tuple[str, ...],
    defaults: Mapping[str, Any] | None = None,
) -> tuple[list[M | None], list[str]]:
    """A list read entry by entry: None in the place of one that still does not fit
    (offsets must not shift), and its label (the first of `label_keys` it has, or "").

    The usual page is exactly as documented, so it is first validated whole in one call;
    only a page with drift in it is read entry by entry, forgiving as `tolerant` does. A
    model that ignores unknown keys skips that shortcut, so new fields are still noted.
    """
    if model.model_config.get("extra") in ("forbid", "allow"):
        try:
            return list(_list_of(model).validate_python(entries)), []
        except ValidationError:
            pass
    read: list[M | None] = []
    unreadable: list[str] = []
    for entry in entries:
        try:
            read.append(tolerant(model, entry, where, defaults))
        except ValidationError as error:
            label = label_of(entry, label_keys)
            log.warning("%s %r could not be read: %s", where, label, _first(error))
            read.append(None)
            unreadable.append(label)
    return read, unreadable


def documented_list(model: type[M], body: bytes) -> list[M] | None:
    """A JSON array of `model` validated straight from its bytes, or None when anything
    in it drifts (or it is not JSON): the usual page costs one pass, with no Python
    objects built in between; the caller then reads the page the forgiving way, which
    also says what was wrong. Only for closed models (see `each`). An escaped NUL, which
    this way would keep, sends the page the forgiving way too (see `whole`)."""
    if model.model_config.get("extra") != "forbid":
        raise TypeError(f"{model.__name__} must forbid extra keys to be read this way")
    if b"\\u0000" in body:  # a lone surrogate fails validation here by itself
        return None
    try:
        return list(_list_of(model).validate_json(body))
    except ValidationError:
        return None


@cache
def _list_of(model: type[BaseModel]) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def label_of(entry: Any, keys: tuple[str, ...]) -> str:
    """How a person would name an entry that could not be read: its number, or its id."""
    if isinstance(entry, dict):
        for key in keys:
            value = entry.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
                return str(value).strip()
    return ""


def _first(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return f"{where}: {first['msg']}"
