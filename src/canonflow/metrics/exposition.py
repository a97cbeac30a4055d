"""The metrics text: this process's instruments plus the database's counts."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from canonflow.metrics import instruments
from canonflow.metrics.collector import DatabaseCollector

#: the classic text format: every Prometheus reads it, and our names need no escaping
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


class _ThisProcess(Collector):
    def collect(self) -> Iterator[Metric]:
        yield from instruments.REGISTRY.collect()


def render(database: DatabaseCollector) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ThisProcess())
    registry.register(database)
    return generate_latest(registry)
