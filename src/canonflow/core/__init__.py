"""The pure domain core: no I/O, no framework imports, only rules over plain data.

- `canonical_json`: deterministic JSON bytes.
- `workflow_shape`: parsing and shape validation of n8n workflow JSON.
- `normalize` / `hashing`: the content-hash rules (hash_version 1).
- `diff` / `diff_render`: the semantic diff of two workflows, and its text lines.
- `status`: mapping status transitions.
- `sync_state`: the derived Git-vs-environment sync state.
- `slugs`: canonical slugs that are safe file names.
- `credential_index` / `deploy`: a canonical definition written into one environment.
"""
