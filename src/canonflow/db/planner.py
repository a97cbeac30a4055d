"""A hint for SQLite's query planner, for statements that name their rows by key.

SQLite plans without statistics here (nothing runs ANALYZE). It then guesses that an
equality on an index's first column selects about ten rows. So for
`tenant_id = ? AND id IN (<a page of 250 ids>)` it walks the tenant's index, over every
mapping the tenant has (50,000 in a large environment, each page of a sync again),
instead of making 250 primary-key lookups.

`unindexed(column)` keeps the condition, and every row is still filtered by it. On
SQLite it is rendered `+column`: the unary plus that SQLite documents as the way to keep
a term from choosing the index. PostgreSQL plans from its statistics and gets the bare
column.

Use it only beside a condition on a key that should drive the plan (ids, a unique pair).
Without one, the statement would scan the whole table.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class Unindexed(FunctionElement[Any]):
    """`column` as a value that SQLite does not look up in an index."""

    inherit_cache = True
    name = "unindexed"

    def __init__(self, column: ColumnElement[Any]) -> None:
        super().__init__(column)
        self.type = column.type


def unindexed(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """`column`, kept out of SQLite's choice of index (see the module docstring)."""
    return Unindexed(column)


@compiles(Unindexed)
def _unindexed_default(element: Unindexed, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(Unindexed, "sqlite")
def _unindexed_sqlite(element: Unindexed, compiler: Any, **kw: Any) -> str:
    return f"+{compiler.process(element.clauses, **kw)}"
