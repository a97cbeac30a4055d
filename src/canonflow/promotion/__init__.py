"""Promotion between environments: one environment's versions of some workflows made Git's
(push, or a branch and a pull request), then deployed to a later environment."""
