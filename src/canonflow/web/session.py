"""The UI's session: a signed cookie naming the API token a person signed in with.

The cookie holds no secret: the token's id, its tenant, when the session ends and a random
nonce, signed with HMAC-SHA256 under a key derived from CANONFLOW_SECRET_KEY. Every request
re-reads the token, so revoking it (or changing its role) takes effect on the next click.
The CSRF token is an HMAC of the nonce: bound to this session, useless in another. A visitor
who has not signed in gets an anonymous session (no token) so the sign-in form has a CSRF
token too; signing in issues a new nonce (no fixation).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson

COOKIE_NAME = "canonflow_session"
_KEY_CONTEXT = b"canonflow ui session v1"


@dataclass(frozen=True, slots=True)
class UiSession:
    """What the cookie says. `token_id` is None before sign-in."""

    nonce: str
    expires_at: datetime
    token_id: uuid.UUID | None = None
    tenant_id: uuid.UUID | None = None

    @property
    def signed_in(self) -> bool:
        return self.token_id is not None


class SessionSigner:
    """Signs and verifies session cookies and derives their CSRF tokens."""

    def __init__(self, secret_key: str) -> None:
        self._key = hmac.new(secret_key.encode(), _KEY_CONTEXT, hashlib.sha256).digest()

    def anonymous(self, now: datetime, lifetime: timedelta) -> UiSession:
        return UiSession(nonce=secrets.token_urlsafe(16), expires_at=now + lifetime)

    def signed_in(
        self, now: datetime, lifetime: timedelta, *, token_id: uuid.UUID, tenant_id: uuid.UUID
    ) -> UiSession:
        return UiSession(
            nonce=secrets.token_urlsafe(16),
            expires_at=now + lifetime,
            token_id=token_id,
            tenant_id=tenant_id,
        )

    def dump(self, session: UiSession) -> str:
        payload = orjson.dumps(
            {
                "n": session.nonce,
                "e": int(session.expires_at.timestamp()),
                "t": str(session.token_id) if session.token_id else None,
                "g": str(session.tenant_id) if session.tenant_id else None,
            }
        )
        body = _b64(payload)
        return f"{body}.{self._mac(body.encode())}"

    def load(self, cookie: str | None, now: datetime) -> UiSession | None:
        """The session a cookie carries; None if it is absent, forged, malformed or over."""
        if not cookie or "." not in cookie:
            return None
        body, mac = cookie.rsplit(".", 1)
        if not body.isascii() or not mac.isascii():
            return None
        if not hmac.compare_digest(mac.encode(), self._mac(body.encode()).encode()):
            return None
        try:
            data = orjson.loads(_unb64(body))
            session = UiSession(
                nonce=str(data["n"]),
                expires_at=datetime.fromtimestamp(int(data["e"]), UTC),
                token_id=uuid.UUID(data["t"]) if data.get("t") else None,
                tenant_id=uuid.UUID(data["g"]) if data.get("g") else None,
            )
        except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
            return None
        return session if session.expires_at > now else None

    def csrf_token(self, session: UiSession) -> str:
        return self._mac(b"csrf:" + session.nonce.encode())

    def csrf_matches(self, session: UiSession, token: str | None) -> bool:
        if not token or not token.isascii():
            return False
        return hmac.compare_digest(token.encode(), self.csrf_token(session).encode())

    def _mac(self, data: bytes) -> str:
        return _b64(hmac.new(self._key, data, hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
