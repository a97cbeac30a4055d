"""Linking n8n workflows to canonical workflows: the untracked list, link (one or many),
ignore / un-ignore / delete, and the bulk primitives onboarding builds on."""
