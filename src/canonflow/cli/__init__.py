"""The `canonflow` command line (Typer + Rich), calling the same services as the API."""
