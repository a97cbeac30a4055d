"""What a failure says to a person: one readable line, never an exception's raw text.

Errors canonflow raises on purpose (`AppError`, and the n8n, Git and forge clients' trees)
carry a message written for a reader: it is kept. Anything else is a bug or a library's
internals; its text may hold details nobody should see (paths, SQL, a secret's fragment), so
the reader is told its kind and where the full exception is logged, and the caller logs it.
"""

from __future__ import annotations

import uuid


def known_message(exc: BaseException) -> str | None:
    """The message of an error raised on purpose, or None for any other exception."""
    # imported here: the CLI asks only when a command failed, and these pull in httpx/pygit2
    from canonflow.errors import AppError
    from canonflow.forge.errors import ForgeError
    from canonflow.git.errors import GitError
    from canonflow.n8n.errors import N8nError

    if isinstance(exc, AppError | N8nError | GitError | ForgeError):
        return exc.message
    return None


def unexpected_message(exc: BaseException, *, job_id: uuid.UUID | None = None) -> str:
    """What to show in place of an unexpected exception (which the caller logs in full)."""
    where = f"the server log for job {job_id}" if job_id else "the server log"
    return f"unexpected error ({type(exc).__name__}); see {where}"


def readable_message(exc: BaseException, *, job_id: uuid.UUID | None = None) -> str:
    return known_message(exc) or unexpected_message(exc, job_id=job_id)
