"""n8n environments: configuration, connection tests, and their API and CLI."""
