"""A tenant's policies over the comparison of workflows: ignore rules (docs/ignore-rules.md)."""
