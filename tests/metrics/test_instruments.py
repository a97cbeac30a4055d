"""The labels this process's instruments use: n8n paths as templates, errors as names."""

from __future__ import annotations

import pytest

from canonflow.metrics.instruments import error_label, path_template
from canonflow.n8n.errors import N8nRateLimited, N8nUnreachable


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/workflows", "/workflows"),
        ("/workflows/Xk3fA9qLm2ZpW7tB", "/workflows/{id}"),
        ("/workflows/42/activate", "/workflows/{id}/activate"),
        ("/workflows/a%2Fb/tags", "/workflows/{id}/tags"),
        ("/tags/7?limit=1", "/tags/{id}"),
        ("/workflows/tags", "/workflows/tags"),  # a literal segment stays
        ("/anything/else", "/{id}/{id}"),  # unknown segments never leak as labels
    ],
)
def test_paths_become_templates(path: str, template: str) -> None:
    assert path_template(path) == template


def test_errors_are_named_by_their_class() -> None:
    limited = N8nRateLimited("m", base_url="http://n8n.test", status=429)
    unreachable = N8nUnreachable("m", base_url="http://n8n.test")
    assert (error_label(limited), error_label(unreachable)) == (
        "n8n_rate_limited",
        "n8n_unreachable",
    )
