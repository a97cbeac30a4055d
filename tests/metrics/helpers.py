"""Scrape `/metrics` and read the exposition back with prometheus-client's own parser."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from canonflow.app import create_app
from canonflow.runtime import Runtime

LOOPBACK = ("127.0.0.1", 50000)


@contextmanager
def scraper(runtime: Runtime, *, host: str = LOOPBACK[0], **settings: Any) -> Iterator[TestClient]:
    """A client calling from `host`, on an app whose settings are updated with `settings`."""
    if settings:
        runtime = dataclasses.replace(
            runtime, settings=runtime.settings.model_copy(update=settings)
        )
    with TestClient(create_app(runtime=runtime), client=(host, 50000)) as client:
        yield client


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample: (name, labels) → value."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when the series is absent (counters not yet touched)."""
    return samples.get((name, frozenset(labels.items())), 0.0)
