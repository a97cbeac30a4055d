"""Workflow templates: listed from the database (the repo sync reads them), instantiated
into new canonical workflow files through the Git write path of reconcile's env_wins."""
