"""Notifications: per-tenant webhook destinations, events emitted inside the caller's
transaction, delivered (signed, retried, logged) by one job per event batch."""
