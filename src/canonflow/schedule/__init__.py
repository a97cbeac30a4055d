"""Scheduled syncs: the tick that enqueues what is due, and the loop that runs it."""
