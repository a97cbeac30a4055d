"""The session cookie and its CSRF token (pure: no server)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from canonflow.web.session import SessionSigner

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _signed(signer: SessionSigner) -> str:
    session = signer.signed_in(NOW, HOUR, token_id=uuid.uuid4(), tenant_id=uuid.uuid4())
    return signer.dump(session)


def test_a_session_reads_back_until_it_expires() -> None:
    signer = SessionSigner("k" * 32)
    session = signer.signed_in(NOW, HOUR, token_id=uuid.uuid4(), tenant_id=uuid.uuid4())
    cookie = signer.dump(session)
    assert signer.load(cookie, NOW + timedelta(minutes=59)) == session.__class__(
        nonce=session.nonce,
        expires_at=session.expires_at.replace(microsecond=0),
        token_id=session.token_id,
        tenant_id=session.tenant_id,
    )
    assert signer.load(cookie, NOW + HOUR) is None


def test_another_key_or_a_changed_byte_is_refused() -> None:
    cookie = _signed(SessionSigner("k" * 32))
    assert SessionSigner("j" * 32).load(cookie, NOW) is None
    body, mac = cookie.rsplit(".", 1)
    assert (
        SessionSigner("k" * 32).load(body[:-1] + ("A" if body[-1] != "A" else "B") + "." + mac, NOW)
        is None
    )


@given(st.text(max_size=200))
def test_no_cookie_text_raises(text: str) -> None:
    assert SessionSigner("k" * 32).load(text, NOW) is None


def test_the_csrf_token_belongs_to_one_session() -> None:
    signer = SessionSigner("k" * 32)
    one, two = signer.anonymous(NOW, HOUR), signer.anonymous(NOW, HOUR)
    assert signer.csrf_matches(one, signer.csrf_token(one))
    assert not signer.csrf_matches(two, signer.csrf_token(one))
    assert not signer.csrf_matches(one, "")
    assert not signer.csrf_matches(one, None)
