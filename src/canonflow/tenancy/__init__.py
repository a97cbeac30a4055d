"""Tenants, API tokens, and the authentication of requests."""
