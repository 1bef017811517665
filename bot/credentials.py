"""Provider credentials encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256).

The key comes from `INVOICEBOT_SECRET_KEY`. Several comma-separated keys may be given
to rotate: the first encrypts, all are tried to decrypt.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import BaseModel, SecretStr


class SecretKeyError(Exception):
    """The secret key is missing, malformed, or not the one the data was encrypted with."""


def generate_key() -> str:
    return Fernet.generate_key().decode()


def _plain(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _keys(secret_key: str | None) -> list[str]:
    return [k.strip() for k in (secret_key or "").split(",") if k.strip()]


def key_problem(secret_key: str | None) -> str | None:
    """What is wrong with a value of INVOICEBOT_SECRET_KEY (one key, or a rotation's
    `new,old`), in words that never repeat a key; None when every key is usable."""
    keys = _keys(secret_key)
    if not keys:
        return "holds no key: create one with `invoicebot secret-key`"
    for place, key in enumerate(keys, 1):
        try:
            Fernet(key)
        except ValueError:
            # With a rotation's "new,old", which one is wrong matters.
            which = f"key {place} of {len(keys)} is " if len(keys) > 1 else ""
            return (
                f"{which}not a valid key (32 url-safe base64-encoded bytes): create one "
                "with `invoicebot secret-key`"
            )
    return None


class CredentialBox:
    """Seals a provider's credentials model into bytes and opens it again."""

    def __init__(self, secret_key: str | None) -> None:
        keys = _keys(secret_key)
        if not keys:
            raise SecretKeyError(
                "INVOICEBOT_SECRET_KEY is not set: it encrypts provider credentials. "
                "Create one with `invoicebot secret-key` and keep it safe."
            )
        if problem := key_problem(secret_key):
            raise SecretKeyError(f"INVOICEBOT_SECRET_KEY: {problem}")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def seal(self, credentials: BaseModel) -> bytes:
        data = {name: _plain(getattr(credentials, name)) for name in type(credentials).model_fields}
        return self._fernet.encrypt(json.dumps(data).encode())

    def open(self, sealed: bytes, model: type[BaseModel]) -> BaseModel:
        try:
            data = json.loads(self._fernet.decrypt(sealed))
        except InvalidToken:
            raise SecretKeyError(
                "stored provider credentials cannot be decrypted with INVOICEBOT_SECRET_KEY: "
                "the key changed. Restore the old key (you may list it after the new one) "
                "or connect the provider again."
            ) from None
        return model.model_validate(data)

    def seal_text(self, text: str) -> bytes:
        """A secret that is not a credentials model (a customer's pay-link token)."""
        return self._fernet.encrypt(text.encode())

    def open_text(self, sealed: bytes, ttl: int | None = None) -> str | None:
        """The text, or None when the key that sealed it is gone (the secret is lost), it
        was not sealed here, or (`ttl`) it was sealed more than `ttl` seconds ago."""
        try:
            return self._fernet.decrypt(sealed, ttl=ttl).decode()
        except InvalidToken:
            return None
