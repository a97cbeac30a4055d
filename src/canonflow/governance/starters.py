"""What starts an approved write, by the approval's kind. A flow that may be held for
approval registers its starter with its job types (`reconcile.tasks.register` registers
"apply", called for every runtime; a promotion registers its own): governance sits below
the flows it holds, so it cannot import them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from canonflow.db.models import Approval, BackgroundJob
    from canonflow.jobs.registry import JobRegistry
    from canonflow.tenancy.service import Principal

#: (session, jobs, the approving principal, the approval) -> the job now doing the write;
#: it starts the stored write WITHOUT the gate again (the job re-checks staleness)
Starter = Callable[["Session", "JobRegistry", "Principal", "Approval"], "BackgroundJob"]

STARTERS: dict[str, Starter] = {}


def register(kind: str, starter: Starter) -> None:
    STARTERS[kind] = starter
