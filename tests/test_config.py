"""Settings: defaults, URL normalisation, and the production guard."""

from __future__ import annotations

from pathlib import Path

import pytest

from canonflow.config import ConfigError, Mode, Settings


def test_default_database_is_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.resolved_database_url == f"sqlite:///{tmp_path.resolve()}/canonflow.db"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgres://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_urls_use_psycopg(given: str, expected: str) -> None:
    assert Settings(database_url=given).resolved_database_url == expected


def test_production_without_a_secret_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="CANONFLOW_SECRET_KEY is required"):
        Settings(mode=Mode.PRODUCTION)


def test_settings_come_from_prefixed_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CANONFLOW_PORT", "9123")
    monkeypatch.setenv("CANONFLOW_LOG_FORMAT", "json")
    settings = Settings()
    assert settings.port == 9123
    assert settings.json_logs


def test_secret_key_is_hidden_in_repr() -> None:
    settings = Settings(secret_key="a very secret passphrase!")
    assert "a very secret" not in repr(settings)


def test_on_postgresql_a_tick_period_cron_cannot_express_is_refused() -> None:
    with pytest.raises(ConfigError, match="CANONFLOW_SCHEDULER_TICK_S: a tick every 7 s cannot"):
        Settings(database_url="postgresql://u@h/db", scheduler_tick_s=7)
    Settings(database_url="postgresql://u@h/db", scheduler_tick_s=7, scheduler_enabled=False)
    Settings(database_url="sqlite:////tmp/x.db", scheduler_tick_s=0.3)  # SQLite's loop: any
    Settings(database_url="postgresql://u@h/db", scheduler_tick_s=7, job_engine="in-process")
