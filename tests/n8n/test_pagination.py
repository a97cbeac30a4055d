"""Listing workflows page by page against a real n8n."""

from __future__ import annotations

import pytest

from canonflow.n8n import N8nClient
from tests.support.n8n import N8nInstance
from tests.support.n8n_fixtures import create_workflows


def test_every_workflow_is_listed_exactly_once(
    dev_client: N8nClient, clean_n8n_dev: N8nInstance
) -> None:
    created = {w["id"] for w in create_workflows(clean_n8n_dev, 600)}
    assert len(created) == 600

    for limit, pages in ((100, 6), (250, 3)):
        listed = list(dev_client.iter_workflow_pages(limit=limit))
        ids = [w["id"] for page in listed for w in page.workflows]
        assert sorted(ids) == sorted(created), f"limit={limit}"
        assert [page.number for page in listed] == list(range(1, pages + 1))
        assert all(len(page.workflows) <= limit for page in listed)
        assert listed[-1].next_cursor is None
        assert all(page.next_cursor for page in listed[:-1])

    assert {w["id"] for w in dev_client.list_workflows()} == created


def test_an_empty_instance_is_one_empty_page(dev_client: N8nClient) -> None:
    pages = list(dev_client.iter_workflow_pages())
    assert [(p.workflows, p.next_cursor, p.number) for p in pages] == [([], None, 1)]


@pytest.mark.parametrize("limit", [0, -1, 251, 1000, True, 2.5, "100"])
def test_a_page_size_outside_1_to_250_is_refused_before_any_request(
    dev_client: N8nClient, limit: object
) -> None:
    with pytest.raises(ValueError, match="from 1 to 250"):
        dev_client.iter_workflow_pages(limit=limit)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="from 1 to 250"):
        dev_client.list_tags(limit=limit)  # type: ignore[arg-type]


def test_the_page_size_bounds_are_accepted(
    dev_client: N8nClient, clean_n8n_dev: N8nInstance
) -> None:
    create_workflows(clean_n8n_dev, 3)
    assert [len(p.workflows) for p in dev_client.iter_workflow_pages(limit=1)] == [1, 1, 1]
    assert [len(p.workflows) for p in dev_client.iter_workflow_pages(limit=250)] == [3]
