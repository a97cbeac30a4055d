"""Templates over the onboarded estate of the reconcile tests (prod and dev on two real
n8n, a real bare Git remote, commit mode push), with one template pushed and synced."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from tests.onboarding.conftest import estate  # noqa: F401 (a fixture)
from tests.reconcile.conftest import Linked, linked  # noqa: F401 (a fixture)
from tests.support.templates import make_template, template_text

TEMPLATE_PATH = "workflows/_templates/alert.json"


@dataclass
class WithTemplate:
    linked: Linked

    def instantiate(self, template: str, body: dict[str, Any]) -> Any:
        return self.linked.client.post(
            f"/api/v1/canonical/templates/{template}/instantiate",
            json=body,
            headers=self.linked.headers,
        )

    def instantiated(self, template: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.instantiate(template, body)
        assert response.status_code == 202, response.text
        return self.linked.wait(response.json()["job_id"])

    def job_id(self, response: Any) -> uuid.UUID:
        return uuid.UUID(response.json()["job_id"])


@pytest.fixture
def templated(linked: Linked) -> WithTemplate:  # noqa: F811 (the imported fixture)
    clone = linked.e.clone
    clone.git("pull", "--quiet", "origin", "main")
    clone.write(TEMPLATE_PATH, template_text(make_template()))
    clone.commit("add the alert template")
    clone.git("push", "--quiet", "origin", "HEAD:main")
    linked.repo_sync()
    return WithTemplate(linked)
