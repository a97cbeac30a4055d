"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Text
from sqlalchemy.types import TypeDecorator, TypeEngine

from canonflow.crypto import Sealed


class _JSONB(TypeDecorator[Any]):
    """PostgreSQL's JSONB, whose dialect package (~40 ms to import) loads only when a
    PostgreSQL engine compiles or binds it: a command on SQLite never imports it."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        from sqlalchemy.dialects.postgresql import JSONB

        return dialect.type_descriptor(JSONB())


#: JSON everywhere, JSONB on PostgreSQL.
JSONDocument = JSON().with_variant(_JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps, also on SQLite (which stores no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SealedSecret(TypeDecorator[Sealed]):
    """A secret column: stores Fernet text and accepts only `Sealed` values."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if not isinstance(value, Sealed):
            raise TypeError("secret columns accept only Sealed values (encrypt first)")
        return value.token

    def process_result_value(self, value: str | None, dialect: Dialect) -> Sealed | None:
        return None if value is None else Sealed(value)


def utcnow() -> datetime:
    return datetime.now(UTC)


class RawJSON:
    """JSON text that is already valid and compact: JSON columns store it as it is, instead
    of serializing a parsed copy (see `canonflow.db.engine`)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"RawJSON({len(self.text)} characters)"
