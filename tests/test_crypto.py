"""Secrets at rest: Fernet-encrypted, never stored or shown in plaintext."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from canonflow.config import Settings
from canonflow.crypto import Sealed, SecretBox, SecretKeyError, resolve_secret_key
from canonflow.db.models import Environment
from canonflow.runtime import Runtime
from tests.factories import make_tenant

API_KEY = "n8n_api_0123456789abcdef"


def test_seal_and_open_round_trip() -> None:
    box = SecretBox(Fernet.generate_key().decode())
    sealed = box.seal(API_KEY)
    assert API_KEY not in sealed.token
    assert box.open(sealed) == API_KEY


def test_reprs_never_show_secrets() -> None:
    key = Fernet.generate_key().decode()
    box = SecretBox(key)
    sealed = box.seal(API_KEY)
    assert key not in repr(box)
    assert sealed.token not in repr(sealed)


def test_a_different_key_gives_a_clear_error() -> None:
    sealed = SecretBox(Fernet.generate_key().decode()).seal(API_KEY)
    with pytest.raises(SecretKeyError, match="not the key it was encrypted with"):
        SecretBox(Fernet.generate_key().decode()).open(sealed)


def test_passphrases_are_stretched_and_short_ones_refused() -> None:
    box = SecretBox("a long enough passphrase")
    assert box.open(box.seal(API_KEY)) == API_KEY
    with pytest.raises(SecretKeyError, match="at least 16"):
        SecretBox("short")


def test_development_key_is_generated_once(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="sqlite://")
    first = resolve_secret_key(settings)
    assert resolve_secret_key(settings) == first
    assert (tmp_path / "secret.key").stat().st_mode & 0o077 == 0


def test_secret_columns_store_ciphertext_only(session: Session, settings: Settings) -> None:
    box = SecretBox(settings.secret_key.get_secret_value())  # type: ignore[union-attr]
    tenant = make_tenant(session)
    env = Environment(
        tenant_id=tenant.id,
        name="prod",
        base_url="http://127.0.0.1:5678",
        api_key=box.seal(API_KEY),
    )
    session.add(env)
    session.flush()
    raw = session.execute(text("SELECT api_key FROM environments")).scalar_one()
    assert API_KEY not in raw
    session.expire_all()
    loaded = session.get(Environment, env.id)
    assert loaded is not None and isinstance(loaded.api_key, Sealed)
    assert box.open(loaded.api_key) == API_KEY


def test_secret_columns_refuse_plaintext(runtime: Runtime) -> None:
    with runtime.sessions() as session:
        tenant = make_tenant(session)
        plaintext: Any = API_KEY
        session.add(Environment(tenant_id=tenant.id, name="dev", base_url="x", api_key=plaintext))
        with pytest.raises(StatementError, match="accept only Sealed values"):
            session.flush()
