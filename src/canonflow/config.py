"""One place for configuration: `Settings`, read from `CANONFLOW_*` environment variables."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, IPvAnyNetwork, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from canonflow.core.schedule import tick_cron


class Mode(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class LogFormat(StrEnum):
    AUTO = "auto"
    CONSOLE = "console"
    JSON = "json"


class JobEngineName(StrEnum):
    AUTO = "auto"
    IN_PROCESS = "in-process"
    PROCRASTINATE = "procrastinate"


class ConfigError(RuntimeError):
    """The configuration cannot work; the message says what to set."""


class Settings(BaseSettings):
    """Every setting of canonflow. Environment variables use the prefix `CANONFLOW_`."""

    model_config = SettingsConfigDict(env_prefix="CANONFLOW_", extra="ignore")

    mode: Mode = Mode.DEVELOPMENT
    data_dir: Path = Path("./data")
    database_url: str | None = None
    secret_key: SecretStr | None = None
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    log_level: str = "INFO"
    log_format: LogFormat = LogFormat.AUTO
    job_workers: Annotated[int, Field(ge=1, le=64)] = 2
    # the job engine: procrastinate on PostgreSQL, the in-process runner on SQLite ("auto")
    job_engine: JobEngineName = JobEngineName.AUTO
    # `serve` (and the CLI) run a worker in-process; turn off when `canonflow worker`s run
    embedded_worker: bool = True
    # a running job's row is beaten this often; 6 missed beats and it is taken over
    job_heartbeat_s: Annotated[float, Field(gt=0)] = 10.0
    # syncs (environment, repository, inventory) one tenant runs at once
    max_concurrent_syncs: Annotated[int, Field(ge=1, le=1000)] = 4
    # writes an apply keeps in flight: n8n serves one while canonflow prepares the next
    deploy_concurrency: Annotated[int, Field(ge=1, le=16)] = 2
    bootstrap_admin: bool = True
    git_cache_dir: Path | None = None
    repo_max_file_bytes: Annotated[int, Field(ge=1024)] = 2 * 1024 * 1024
    git_connect_timeout_s: Annotated[float, Field(gt=0)] = 15.0
    git_io_timeout_s: Annotated[float, Field(gt=0)] = 120.0
    prune_guard_percent: Annotated[float, Field(gt=0, le=100)] = 20.0
    # the egress policy (canonflow.egress): comma-separated in the environment
    allowed_networks: Annotated[list[IPvAnyNetwork], NoDecode] = []
    allowed_hosts: Annotated[list[str], NoDecode] = []
    allow_local_repositories: bool = False
    # schedules (canonflow.schedule): the tick's period, how many syncs one tick may start,
    # the smallest interval an environment or repository may have, the per-tenant cap on
    # syncs queued or running, and whether this process runs the tick at all
    scheduler_tick_s: Annotated[float, Field(gt=0)] = 15.0
    scheduler_batch: Annotated[int, Field(ge=1, le=10_000)] = 100
    min_sync_interval_s: Annotated[int, Field(ge=1)] = 60
    scheduler_enabled: bool = True
    # `GET /metrics` needs `Authorization: Bearer <this>` when set (see canonflow.metrics.api)
    metrics_token: SecretStr | None = None
    # the web UI: how long a signed-in session lasts
    ui_session_hours: Annotated[float, Field(gt=0, le=24 * 30)] = 12.0
    # `canonflow worker` serves `/metrics` on this port (CANONFLOW_HOST) when set
    worker_metrics_port: Annotated[int | None, Field(ge=1, le=65535)] = None
    # notifications (canonflow.notifications): attempts per destination, the first retry's
    # delay (doubled each time), and one attempt's timeout
    notify_attempts: Annotated[int, Field(ge=1, le=20)] = 5
    notify_backoff_s: Annotated[float, Field(ge=0)] = 2.0
    notify_timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0

    @field_validator("allowed_networks", "allowed_hosts", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @model_validator(mode="after")
    def _require_production_secret(self) -> Settings:
        if self.mode is Mode.PRODUCTION and not self.secret_key:
            raise ConfigError(
                "CANONFLOW_SECRET_KEY is required in production mode "
                "(generate one with `canonflow secret-key`)"
            )
        return self

    @model_validator(mode="after")
    def _require_a_cron_tick(self) -> Settings:
        """On PostgreSQL the tick is a procrastinate periodic task: a cron schedule."""
        if self.scheduler_enabled and self.uses_procrastinate:
            try:
                tick_cron(self.scheduler_tick_s)
            except ValueError as exc:
                raise ConfigError(f"CANONFLOW_SCHEDULER_TICK_S: {exc}") from None
        return self

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to an SQLite file in the data directory."""
        if self.database_url:
            return normalize_database_url(self.database_url)
        return f"sqlite:///{(self.data_dir / 'canonflow.db').resolve()}"

    @property
    def uses_procrastinate(self) -> bool:
        """procrastinate needs PostgreSQL; "auto" picks it there."""
        postgres = self.resolved_database_url.startswith("postgresql")
        if self.job_engine is JobEngineName.PROCRASTINATE and not postgres:
            raise ConfigError("CANONFLOW_JOB_ENGINE=procrastinate needs a PostgreSQL database")
        return postgres and self.job_engine is not JobEngineName.IN_PROCESS

    @property
    def resolved_git_cache_dir(self) -> Path:
        """Where each tenant's clone of its repository is kept."""
        return (self.git_cache_dir or self.data_dir / "git-cache").resolve()

    @property
    def json_logs(self) -> bool:
        if self.log_format is LogFormat.AUTO:
            return self.mode is Mode.PRODUCTION
        return self.log_format is LogFormat.JSON


def normalize_database_url(url: str) -> str:
    """Point plain PostgreSQL URLs at the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment, read once per process."""
    return Settings()
