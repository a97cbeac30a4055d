"""A request never turns the cyclic garbage collector off: in a threaded server that would
turn it off for every other request and job too."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from canonflow.runtime import Runtime
from tests.matrix.conftest import Tenancy

URL = "/api/v1/workflows/matrix"


@pytest.fixture
def collector_watch(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """What happened to the collector: each call of `gc.disable`/`gc.freeze`, and whether
    it was enabled at each statement the database ran."""
    seen: list[str] = []
    real_disable, real_freeze = gc.disable, gc.freeze

    def disable() -> None:
        seen.append("gc.disable()")
        real_disable()

    def freeze() -> None:
        seen.append("gc.freeze()")
        real_freeze()

    def statement(*_args: Any) -> None:
        seen.append("statement" if gc.isenabled() else "statement with the collector off")

    monkeypatch.setattr(gc, "disable", disable)
    monkeypatch.setattr(gc, "freeze", freeze)
    event.listen(runtime.engine, "before_cursor_execute", statement)
    event.listen(runtime.engine, "after_cursor_execute", statement)
    try:
        yield seen
    finally:
        event.remove(runtime.engine, "before_cursor_execute", statement)
        event.remove(runtime.engine, "after_cursor_execute", statement)
        gc.enable()


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("", {}),
        ("", {"problems": "true", "limit": "2"}),
        ("/summary", {}),
        ("/export", {"format": "json"}),
        ("/export", {"format": "csv"}),
    ],
)
def test_matrix_requests_keep_the_collector_on(
    client: TestClient,
    estate: Tenancy,
    collector_watch: list[str],
    path: str,
    params: dict[str, str],
) -> None:
    assert gc.isenabled()
    with client.stream("GET", URL + path, params=params, headers=estate.headers) as response:
        assert response.status_code == 200
        chunks = []
        for chunk in response.iter_bytes():
            chunks.append(chunk)
            assert gc.isenabled(), "the collector was off while the response streamed"
    assert b"staging" in b"".join(chunks)
    assert "statement" in collector_watch  # the watch saw the request's statements
    assert [seen for seen in collector_watch if seen != "statement"] == []
    assert gc.isenabled()
