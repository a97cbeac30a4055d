"""The changed paths a drift notification lists, from a semantic diff (pure)."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from canonflow.core.diff import diff_workflows
from canonflow.core.diff_paths import capped, changed_paths


def _workflow() -> dict[str, Any]:
    return {
        "name": "Orders",
        "nodes": [
            {"name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1,
             "position": [0, 0], "parameters": {}},
            {"name": "Set it", "type": "n8n-nodes-base.set", "typeVersion": 3,
             "position": [200, 0], "parameters": {"values": {"string": [{"value": "a"}]}}},
        ],
        "connections": {"Start": {"main": [[{"node": "Set it", "type": "main", "index": 0}]]}},
        "settings": {},
    }  # fmt: skip


def test_parameter_settings_node_and_connection_paths() -> None:
    old, new = _workflow(), _workflow()
    new["nodes"][1]["parameters"]["values"]["string"][0]["value"] = "b"
    new["settings"]["timezone"] = "Europe/Paris"
    new["nodes"].append(
        {"name": "Wait", "type": "n8n-nodes-base.noOp", "typeVersion": 1, "position": [400, 0],
         "parameters": {}}
    )  # fmt: skip
    new["connections"]["Set it"] = {"main": [[{"node": "Wait", "type": "main", "index": 0}]]}
    paths = changed_paths(diff_workflows(old, new))
    assert paths == [
        "settings.timezone",
        "nodes.Wait (added)",
        'nodes["Set it"].parameters.values.string[0].value',
        'connections["Set it"].main[0] -> "Wait" (added)',
    ]


def test_equal_workflows_have_no_paths() -> None:
    assert changed_paths(diff_workflows(_workflow(), copy.deepcopy(_workflow()))) == []


@given(st.lists(st.text(min_size=1, max_size=5), max_size=60), st.integers(0, 30))
def test_capped_keeps_the_first_and_counts_the_rest(paths: list[str], limit: int) -> None:
    shown, more = capped(paths, limit)
    assert shown == paths[:limit]
    assert len(shown) + more == len(paths)
