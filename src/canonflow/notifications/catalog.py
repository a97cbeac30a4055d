"""The event names and the payload conventions (docs/notifications.md tells them).

Every event is one batch: one job, one message per destination, whatever it lists.

- `drift.detected`: `{environment_id, environment, run_id, workflows: [{mapping_id,
  canonical_id, slug, name}]}`; the delivery job adds each workflow's `changed_paths`
  (at most MAX_PATHS_PER_WORKFLOW) and `more_paths` (how many more)
- `conflict.detected`: the same, for cells that went to conflict
- `sync.failed`: `{kind: environment|repository, environment_id?, environment?, run_id?,
  job_id, error}`
- `apply.finished`: `{job_id, link: /api/v1/jobs/<id>, status: succeeded|failed, total,
  counts: {outcome: n}, not_attempted, error}`
- `approval.requested`: `{approval_id, link, environment_id?, environment?, requested_by,
  summary?}` (the emitter may add more)
- `promotion.finished`: `{job_id, link, from_environment, to_environment, status, counts,
  summary?}` (the emitter may add more)
- `test`: `{message, requested_by}`, sent by `POST /api/v1/notifications/test`

A `summary` string in `data`, when present, is the Slack message's first line.
"""

from __future__ import annotations

DRIFT_DETECTED = "drift.detected"
CONFLICT_DETECTED = "conflict.detected"
SYNC_FAILED = "sync.failed"
APPLY_FINISHED = "apply.finished"
APPROVAL_REQUESTED = "approval.requested"
PROMOTION_FINISHED = "promotion.finished"
TEST = "test"

#: what a destination can subscribe to (`test` reaches every destination it is sent to)
EVENTS: tuple[str, ...] = (
    DRIFT_DETECTED,
    CONFLICT_DETECTED,
    SYNC_FAILED,
    APPLY_FINISHED,
    APPROVAL_REQUESTED,
    PROMOTION_FINISHED,
)

KINDS: tuple[str, ...] = ("generic", "slack")

#: changed paths listed per workflow in a drift/conflict message; the rest are counted
MAX_PATHS_PER_WORKFLOW = 20
#: workflows listed in one Slack message's blocks; the rest are counted
MAX_SLACK_WORKFLOWS = 40
