"""canonflow: a Git-backed control plane for n8n workflows."""

__version__ = "0.1.0"
