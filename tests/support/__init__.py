"""Test infrastructure: real PostgreSQL clusters, databases per test, factories."""
