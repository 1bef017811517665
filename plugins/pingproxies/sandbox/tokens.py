"""The sandbox's sign-in memory: JWTs it handed out, and open two-factor challenges.

Tokens look like real JWTs (HS256 over `{sub, exp, jti}`) but are checked against what
was issued, so `expire_all` can end every session at once. A challenge's code is six
digits; it survives three wrong answers, then the sign-in must start over.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Literal

MAX_ATTEMPTS = 3
KEEP_TOKENS = 10_000

TokenCheck = Literal["ok", "expired", "unknown"]
AnswerCheck = Literal["ok", "wrong", "unknown"]


@dataclass
class Challenge:
    public_key: str
    code: str
    target: str
    attempts: int = 0


def masked(email: str) -> str:
    """`e**@acme.test`, as PingProxies shows where a code went."""
    name, _, domain = email.partition("@")
    return f"{name[:1]}**@{domain}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Tokens:
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    issued: dict[str, float] = field(default_factory=dict)
    challenges: dict[str, Challenge] = field(default_factory=dict)
    last_code: str | None = None

    def issue(self, subject: str, ttl: float) -> str:
        now = time.time()
        if len(self.issued) >= KEEP_TOKENS:  # a load test logs in a lot: forget the dead
            self.issued = {token: until for token, until in self.issued.items() if until > now}
        expiry = now + ttl
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        claims = {"sub": subject, "exp": int(expiry), "jti": secrets.token_hex(8)}
        payload = _b64(json.dumps(claims).encode())
        signature = hmac.new(self.secret, f"{header}.{payload}".encode(), hashlib.sha256)
        token = f"{header}.{payload}.{_b64(signature.digest())}"
        self.issued[token] = expiry
        return token

    def check(self, token: str) -> TokenCheck:
        expiry = self.issued.get(token)
        if expiry is None:
            return "unknown"
        return "ok" if time.time() < expiry else "expired"

    def expire_all(self) -> None:
        self.issued = dict.fromkeys(self.issued, 0.0)

    def challenge(self, email: str) -> Challenge:
        challenge = Challenge(
            public_key="2fa_" + secrets.token_hex(12),
            code=f"{secrets.randbelow(1_000_000):06d}",
            target=masked(email),
        )
        self.challenges[challenge.public_key] = challenge
        self.last_code = challenge.code
        return challenge

    def answer(self, public_key: str, code: str) -> AnswerCheck:
        challenge = self.challenges.get(public_key)
        if challenge is None:
            return "unknown"
        if hmac.compare_digest(code.encode(), challenge.code.encode()):
            del self.challenges[public_key]
            return "ok"
        challenge.attempts += 1
        if challenge.attempts >= MAX_ATTEMPTS:
            del self.challenges[public_key]
        return "wrong"
