"""`deploying._update`'s branches on answers real n8n gives but this machine cannot make it
give on demand, replayed by the in-process fake of tests/n8n/test_flavours.py
(httpx.MockTransport): a 403 on an inactive workflow (a project permission, nothing saved)
and a PUT that leaves the versions apart on a server whose flavour reads as 1.x (a 2.x older
than /discover). The real-n8n side is tests/reconcile/test_published.py."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from canonflow.core.deploy import DeployBody
from canonflow.n8n import N8nRejected, N8nSavedNotPublished
from canonflow.reconcile.deploying import Prepared, Row, _update
from canonflow.reconcile.items import ApplyItem, Kind
from tests.n8n.test_flavours import fake, message, workflow


def _prepared(*, active: bool) -> Prepared:
    item = ApplyItem(Kind.DEPLOY, uuid.uuid4(), uuid.uuid4(), None, None, None)
    row = Row("billing", "v1:x", {}, True, "w1")
    target = {"id": "w1", "active": active, "versionId": "a", "activeVersionId": "a"}
    return Prepared(item, row, target, "v1:old", DeployBody({"name": "Billing"}, "v1:new"))


def test_a_403_on_an_inactive_workflow_is_a_refusal_not_a_draft() -> None:
    routes: dict[str, Any] = {"PUT /workflows/w1": lambda _: message(403, "Forbidden")}
    may_update = ["workflow:update", "workflow:read"]  # no publish scope: the client says "saved"
    with fake(may_update, routes) as (client, seen), pytest.raises(N8nRejected) as caught:
        _update(_prepared(active=False), client, "w1")
    assert not isinstance(caught.value, N8nSavedNotPublished) and caught.value.status == 403
    assert "GET /workflows/w1" not in seen  # nothing to re-read: nothing was written
    prepared = _prepared(active=True)  # the same 403 on an active one: saved as a draft
    with fake(may_update, routes) as (client, _):
        routes["GET /workflows/w1"] = lambda _: workflow(active=True, versionId="b")
        assert _update(prepared, client, "w1")["versionId"] == "b"
    assert prepared.drafted is not None and "did not publish" in prepared.drafted


def test_versions_left_apart_are_published_whatever_the_detected_major() -> None:
    """A 2.x older than /discover answers it 404 and reads as 1.x; its PUT may leave the
    draft unpublished: the deploy still publishes (1.x's /activate publishes on 2.x)."""
    apart = {"active": True, "versionId": "b", "activeVersionId": "a"}
    routes: dict[str, Any] = {
        "PUT /workflows/w1": lambda _: workflow(**apart),
        "POST /workflows/w1/activate": lambda _: workflow(
            active=True, versionId="b", activeVersionId="b", nodes=[]
        ),
    }
    prepared = _prepared(active=True)
    with fake(None, routes) as (client, seen):
        written = _update(prepared, client, "w1")
    assert written["activeVersionId"] == written["versionId"] == "b"
    assert "POST /workflows/w1/activate" in seen and prepared.drafted is None
    # where the PUT republished (the ids agree), nothing more is sent
    routes["PUT /workflows/w1"] = lambda _: workflow(
        active=True, versionId="c", activeVersionId="c"
    )
    with fake(None, routes) as (client, seen):
        _update(_prepared(active=True), client, "w1")
    assert seen == ["PUT /workflows/w1"]


def test_a_refused_credential_listing_falls_back_to_learning_from_references() -> None:
    refused: dict[str, Any] = {"GET /credentials": lambda _: message(403, "Forbidden")}
    scopes = ["workflow:update", "workflow:activate", "credential:list"]
    with fake(scopes, refused) as (client, seen):
        assert client.list_credentials() is None
    assert seen[-1].startswith("GET /credentials")
