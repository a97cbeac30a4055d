"""A pull request as canonflow sees it, read from GitHub's or Gitea's JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class PullRequest:
    """A pull request as the forge reports it; `state` is "open", "closed" or "merged"."""

    number: int
    url: str  # the pull request's web page
    state: str
    head: str  # head branch name
    base: str  # base branch name


def parse_pull_request(payload: Any) -> PullRequest | None:
    """None unless `payload` is a pull request object. Merged: GitHub sets `merged_at`
    (`merged` only on single reads), Gitea sets `merged: true`."""
    if not isinstance(payload, dict):
        return None
    number, url, state = payload.get("number"), payload.get("html_url"), payload.get("state")
    head, base = _ref(payload.get("head")), _ref(payload.get("base"))
    if not isinstance(number, int) or isinstance(number, bool):
        return None
    if not (isinstance(url, str) and isinstance(state, str)):
        return None
    if not (isinstance(head, str) and isinstance(base, str)):
        return None
    merged = payload.get("merged") is True or payload.get("merged_at") is not None
    return PullRequest(number, url, "merged" if merged else state, head, base)


def _ref(side: Any) -> Any:
    return side.get("ref") if isinstance(side, dict) else None
