"""Hash the workflows a listed page needs hashed: in a worker process once the listing
proves long (JSON bytes cross the process boundary far cheaper than dicts), else here.

Asked to `define`, it also returns the Git document of each workflow that references no
other one (`hash_listed_workflows`: of what the workflow runs, its published version while
a draft is pending): the onboarding inventory makes the anchor's
canonical workflows from them without reading and parsing their JSON again.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import structlog

from canonflow.core.definitions import (
    ListedHash,
    hash_listed_documents,
    hash_listed_workflows,
)
from canonflow.parallel import LazyProcessPool
from canonflow.sync.batch import HashOutcome, Selection

log = structlog.get_logger(__name__)


@dataclass
class HashedSelection:
    selection: Selection
    refs: Mapping[str, str]
    define: bool
    future: Future[list[ListedHash]]

    def outcomes(self) -> tuple[list[HashOutcome], dict[str, tuple[str, bytes]]]:
        """The hashes of the selection, and the (hash, document) pairs by n8n id; if the
        worker process died, computed here instead."""
        try:
            results = self.future.result()
        except BrokenProcessPool:
            log.warning("hash worker process died; hashing in the sync's own process")
            workflows = [workflow for workflow, _row in self.selection.to_hash]
            results = hash_listed_workflows(workflows, self.refs, define=self.define)
        documents = {
            str(workflow["id"]): (digest, document)
            for (workflow, _row), (digest, _problem, document, _draft) in zip(
                self.selection.to_hash, results, strict=True
            )
            if digest is not None and document is not None
        }
        outcomes = [(digest, problem, draft) for digest, problem, _document, draft in results]
        return outcomes, documents


def hash_selection(
    pool: LazyProcessPool, selection: Selection, refs: Mapping[str, str], *, define: bool
) -> HashedSelection:
    # The function a worker runs is the core's: a worker imports nothing else.
    if pool.parallel:
        future = pool.submit(hash_listed_documents, selection.serialize(), refs, define=define)
    else:
        workflows = [workflow for workflow, _row in selection.to_hash]
        future = pool.submit(hash_listed_workflows, workflows, refs, define=define)
    return HashedSelection(selection, refs, define, future)
