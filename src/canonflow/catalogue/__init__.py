"""The canonical workflow catalogue: list and get, per-workflow history, the drift trend,
and the recording of every change of a cell's state that history and trend read."""
