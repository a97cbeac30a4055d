"""The hand-built matrix estate serves the catalogue's read tests too."""

from tests.matrix.conftest import estate  # noqa: F401 (a fixture)
