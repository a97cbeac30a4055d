"""Governance: protected environments, approvals and sync windows (docs/governance.md)."""
