"""Reconcile (DESIGN section 6): plan, then apply git_wins / env_wins / manual, with a
snapshot of whatever is overwritten; versions, rollback and restore go the same way."""
