"""The untracked list's reasons: planning only what a page's workflows depend on (shared
names and content hashes, transitively) decides them as planning the whole environment
does; suggestions are the unlinked canonical workflows with the same name or content."""

from __future__ import annotations

import random
import uuid

from canonflow.core.autolink import Candidate, plan_auto_links
from canonflow.core.status import MappingStatus
from canonflow.db.engine import transaction
from canonflow.db.models import CanonicalWorkflow, Environment, WorkflowEnvMap
from canonflow.linking.suggestions import advise
from canonflow.linking.untracked import untracked_page
from canonflow.runtime import Runtime
from tests.factories import make_tenant


def test_page_reasons_equal_the_whole_environment_plan(runtime: Runtime) -> None:
    rng = random.Random(16)
    names = [f"flow {i}" for i in range(40)]
    hashes = [f"v1:{i:064x}" for i in range(40)]
    with transaction(runtime.sessions) as session:
        tenant = make_tenant(session)
        environment = Environment(
            tenant_id=tenant.id,
            name="dev",
            base_url="http://127.0.0.1:9",
            api_key=runtime.secrets.seal("k" * 24),
        )
        session.add(environment)
        session.flush()
        canonicals = [
            CanonicalWorkflow(
                tenant_id=tenant.id,
                canonical_slug=f"c{i}",
                name=rng.choice(names),
                content_hash=rng.choice(hashes),
                workflow_definition={"nodes": []},
            )
            for i in range(60)
        ]
        workflows = [
            WorkflowEnvMap(
                tenant_id=tenant.id,
                environment_id=environment.id,
                n8n_workflow_id=f"w{i}",
                status=MappingStatus.UNTRACKED,
                workflow_name=rng.choice(names),
                env_content_hash=rng.choice(hashes),
            )
            for i in range(70)
        ]
        session.add_all(canonicals + workflows)
        session.flush()
        plan = plan_auto_links(
            [Candidate(str(w.id), w.workflow_name, w.env_content_hash) for w in workflows],
            [Candidate(str(c.id), c.name, c.content_hash) for c in canonicals],
        )
        expected = {uuid.UUID(key): str(reason) for key, reason in plan.unlinked.items()}
        expected |= {uuid.UUID(link.workflow_id): "would_link" for link in plan.links}
        by_id = {c.id: c for c in canonicals}
        seen: dict[uuid.UUID, str] = {}
        after = None
        while True:  # pages of 7, as the list reads them
            rows = untracked_page(session, tenant.id, environment_id=None, limit=7, after=after)
            if not rows:
                break
            for mapping_id, advice in advise(session, tenant.id, rows).items():
                seen[mapping_id] = advice.reason
                row = next(r for r in rows if r.mapping_id == mapping_id)
                for suggestion in advice.suggestions:
                    canonical = by_id[suggestion.canonical_id]
                    assert (suggestion.why == "same_name" and canonical.name == row.name) or (
                        suggestion.why == "same_content"
                        and canonical.content_hash == row.env_content_hash
                    )
                wanted = {c.id for c in canonicals if c.name == row.name}
                wanted |= {c.id for c in canonicals if c.content_hash == row.env_content_hash}
                assert {s.canonical_id for s in advice.suggestions} == wanted
            after = (rows[-1].name, rows[-1].mapping_id)
    assert seen == expected
    assert {"ambiguous_name", "no_match"} <= set(seen.values())  # the data exercises them
