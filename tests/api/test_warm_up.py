"""A started server has built its routes: the first request after a start pays for none."""

from __future__ import annotations

from typing import Any

import httpx
import pydantic
import pytest

from canonflow.runtime import Runtime
from tests.support.served import served


def test_the_first_requests_after_a_start_build_no_validators(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[Any] = []
    original = pydantic.TypeAdapter.__init__

    def counting(self: Any, *args: Any, **kwargs: Any) -> None:
        built.append(args[0] if args else kwargs.get("type"))
        original(self, *args, **kwargs)

    with served(runtime) as base:
        monkeypatch.setattr(pydantic.TypeAdapter, "__init__", counting)
        # sign-in's router is included last: its first request walked every router
        refused = httpx.post(f"{base}/signin", data={"token": "x", "next": "/"}, timeout=60)
        api = httpx.get(f"{base}/api/v1/workflows/matrix", timeout=60)
    assert refused.status_code == 403  # no CSRF token
    assert api.status_code == 401  # no bearer token
    assert built == [], f"{len(built)} validators built on the first requests"
