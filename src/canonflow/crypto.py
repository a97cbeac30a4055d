"""Secrets at rest: Fernet encryption with the configured key.

Plaintext secrets exist only in memory. Columns that hold secrets accept nothing but a
`Sealed` value (see `canonflow.db.types.SealedSecret`), so a plaintext can never reach the
database by mistake.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from canonflow.config import Mode, Settings

if TYPE_CHECKING:  # `cryptography` loads when a secret is sealed or opened, not with the
    # models (whose secret columns need only `Sealed`): ~40 ms less for every command
    from cryptography.fernet import Fernet


class SecretKeyError(RuntimeError):
    """The secret key is unusable or does not open a stored secret."""


@dataclass(frozen=True, slots=True)
class Sealed:
    """A secret encrypted with the deployment's key (Fernet token text)."""

    token: str

    def __repr__(self) -> str:
        return "Sealed(<encrypted>)"


class SecretBox:
    """Encrypts and decrypts secrets. Its repr never shows the key."""

    def __init__(self, key: str) -> None:
        from cryptography.fernet import Fernet

        self._fernet: Fernet = Fernet(derive_fernet_key(key))

    def seal(self, plaintext: str) -> Sealed:
        return Sealed(self._fernet.encrypt(plaintext.encode()).decode())

    def open(self, sealed: Sealed) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(sealed.token.encode()).decode()
        except InvalidToken as exc:
            raise SecretKeyError(
                "a stored secret cannot be decrypted: CANONFLOW_SECRET_KEY is not the key "
                "it was encrypted with"
            ) from exc

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"


def derive_fernet_key(key: str) -> bytes:
    """Accept a Fernet key as is; stretch any other passphrase into one."""
    try:
        if len(base64.urlsafe_b64decode(key.encode())) == 32:
            return key.encode()
    except (ValueError, TypeError):
        pass
    if len(key) < 16:
        raise SecretKeyError("CANONFLOW_SECRET_KEY must be at least 16 characters long")
    return base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest())


def generate_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def resolve_secret_key(settings: Settings) -> str:
    """The configured key; in development, a key generated once into the data directory."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    if settings.mode is Mode.PRODUCTION:  # Settings already refuses this; belt and braces
        raise SecretKeyError("CANONFLOW_SECRET_KEY is required in production mode")
    return _development_key(settings.data_dir / "secret.key")


def _development_key(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = generate_key()
    path.touch(mode=0o600)
    path.write_text(key + "\n")
    return key


def build_secret_box(settings: Settings) -> SecretBox:
    return SecretBox(resolve_secret_key(settings))
