"""Prometheus metrics (`GET /metrics`).

`instruments` holds what this process observes (job durations, n8n requests) and imports
nothing of canonflow's, so the n8n client and the job runner can use it from the bottom of
the layers; `collector` reads the database at scrape time; `api` serves both.
"""
