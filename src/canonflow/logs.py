"""Structured logging (structlog): JSON in production, readable in a terminal."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec

    from canonflow.config import Settings

_SECRET_KEYS = frozenset({"api_key", "token", "password", "secret", "authorization"})


def configure_logging(settings: Settings) -> None:
    import structlog

    level = logging.getLevelNamesMapping().get(settings.log_level.upper(), logging.INFO)
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if settings.json_logs
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact_secrets,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )


def _redact_secrets(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in event.keys() & _SECRET_KEYS:
        event[key] = "<redacted>"
    return event


def configure_logging_on_import(settings: Settings) -> None:
    """`configure_logging` now if structlog is loaded, else the moment a module imports it:
    a command that logs nothing does not load it (~65 ms at start-up: structlog brings
    `rich.traceback` and pygments), and one that does logs exactly as configured."""
    global _pending
    if _pending is not None and _pending in sys.meta_path:
        sys.meta_path.remove(_pending)
    _pending = None
    if "structlog" in sys.modules:
        configure_logging(settings)
        return
    _pending = _ConfigureOnImport(settings)
    sys.meta_path.insert(0, _pending)


class _ConfigureOnImport:
    """A finder that lets the others find structlog and configures it once it has run."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def find_spec(
        self, name: str, path: Any, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name != "structlog":
            return None
        sys.meta_path.remove(self)
        for finder in sys.meta_path:
            spec: ModuleSpec | None = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _ThenConfigure(spec.loader, self.settings)  # type: ignore[assignment]
                return spec
        return None


class _ThenConfigure:
    """Runs structlog's own loader, then `configure_logging`."""

    def __init__(self, loader: Any, settings: Settings) -> None:
        self.loader = loader
        self.settings = settings

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        module: ModuleType | None = self.loader.create_module(spec)
        return module

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        configure_logging(self.settings)


_pending: _ConfigureOnImport | None = None
