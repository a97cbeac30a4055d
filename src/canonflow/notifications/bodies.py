"""The bodies a destination receives: the generic JSON event, or a Slack-compatible
`{text, blocks}` with a readable summary and the workflow list."""

from __future__ import annotations

from typing import Any

import orjson

from canonflow.notifications.catalog import (
    APPLY_FINISHED,
    APPROVAL_REQUESTED,
    CONFLICT_DETECTED,
    DRIFT_DETECTED,
    MAX_SLACK_WORKFLOWS,
    PROMOTION_FINISHED,
    SYNC_FAILED,
    TEST,
)


def generic_body(envelope: dict[str, Any]) -> bytes:
    """`{id, event, tenant, occurred_at, data}` as compact JSON (the signed bytes)."""
    return orjson.dumps(envelope)


def slack_body(envelope: dict[str, Any]) -> bytes:
    text = summary(envelope["event"], envelope["data"])
    blocks: list[dict[str, Any]] = [_section(f"*{text}*")]
    lines = workflow_lines(envelope["data"])
    if lines:
        blocks.append(_section("\n".join(lines)))
    blocks.append(
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": f"{envelope['event']} · {envelope['tenant']} · "
                 f"{envelope['occurred_at']}"}
            ],
        }
    )  # fmt: skip
    return orjson.dumps({"text": text, "blocks": blocks})


def summary(event: str, data: dict[str, Any]) -> str:
    """One readable line for the event."""
    if isinstance(data.get("summary"), str):
        return str(data["summary"])
    workflows = data.get("workflows") or []
    where = data.get("environment") or "an environment"
    if event in (DRIFT_DETECTED, CONFLICT_DETECTED):
        state = "drifted" if event == DRIFT_DETECTED else "went to conflict"
        return f"{len(workflows)} workflow(s) {state} in {where}"
    if event == SYNC_FAILED:
        what = "repository" if data.get("kind") == "repository" else f"environment {where}"
        return f"Sync of {what} failed: {data.get('error')}"
    if event == APPLY_FINISHED:
        counts = ", ".join(f"{n} {k}" for k, n in sorted((data.get("counts") or {}).items()))
        return f"Reconcile apply {data.get('status')}: {counts or 'nothing done'}"
    if event == APPROVAL_REQUESTED:
        return f"Approval requested by {data.get('requested_by')} for {where}: {data.get('link')}"
    if event == PROMOTION_FINISHED:
        to = f"{data.get('from_environment')} -> {data.get('to_environment')}"
        return f"Promotion {to} {data.get('status')}: {data.get('link')}"
    if event == TEST:
        return "Test notification from canonflow"
    return f"canonflow: {event}"


def workflow_lines(data: dict[str, Any]) -> list[str]:
    """`• name: path, path (+n more)` for each listed workflow, capped."""
    workflows = data.get("workflows") or []
    lines = []
    for workflow in workflows[:MAX_SLACK_WORKFLOWS]:
        paths = workflow.get("changed_paths") or []
        more = workflow.get("more_paths") or 0
        shown = ", ".join(f"`{p}`" for p in paths) or "(no path)"
        lines.append(f"• *{workflow.get('name') or workflow.get('slug')}*: {shown}"
                     + (f" (+{more} more)" if more else ""))  # fmt: skip
    if len(workflows) > MAX_SLACK_WORKFLOWS:
        lines.append(f"… and {len(workflows) - MAX_SLACK_WORKFLOWS} more workflow(s)")
    return lines


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}
