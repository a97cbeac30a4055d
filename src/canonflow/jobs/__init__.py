"""Background jobs: recorded in `background_jobs`, run by a `JobRunner`."""
