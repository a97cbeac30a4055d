"""Onboarding an existing estate (DESIGN §6): preflight, inventory, migration pull request,
completion."""
