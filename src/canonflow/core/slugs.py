"""Canonical slugs: readable, deterministic, and always one safe file-name segment.

A slug matches ``^[a-z0-9][a-z0-9-]{0,79}$``, never ends with "-", never holds "--", and is
never a Windows device name, so `<slug>.json` is a safe file name on every platform.

1. A name that is empty or only whitespace becomes "untitled".
2. The name is NFKD-folded to ASCII and lowercased; each run of characters other than
   `a-z0-9` (spaces, punctuation, dots, slashes, NUL, ...) becomes one "-", and leading
   and trailing "-" are stripped.
3. If nothing is left (a name written only in non-Latin script, emoji or punctuation), the
   slug is `wf-` and the first 8 hex digits of the SHA-256 of the name, so distinct names
   stay distinct.
4. The slug is cut to 80 characters, without a trailing "-".
5. A Windows device name (con, prn, aux, nul, com1-9, lpt1-9), also when the name goes on
   with a dot and an extension ("con.txt"), gets "-wf" appended: "con-wf", "con-txt-wf".
6. On a collision the slug gets "-2", "-3", ...: the first free one, in order. The base is
   cut so that base and suffix fit in 80 characters; the suffix is never cut.
"""

import hashlib
import re
import unicodedata
from collections.abc import Collection, Sequence

MAX_SLUG_LENGTH = 80
EMPTY_NAME_SLUG = "untitled"

_NOT_SLUG_CHARACTERS = re.compile(r"[^a-z0-9]+")
_WINDOWS_DEVICE_NAMES = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"com{digit}" for digit in range(1, 10)}
    | {f"lpt{digit}" for digit in range(1, 10)}
)
_DEVICE_NAME_SUFFIX = "-wf"


def slugify(name: str) -> str:
    """The slug of a workflow name, before collisions (rules 1-5 of the module docstring)."""
    if not name.strip():
        return EMPTY_NAME_SLUG
    folded = _fold(name)
    slug = _truncate(_collapse(folded), MAX_SLUG_LENGTH)
    if not slug:
        return f"wf-{hashlib.sha256(name.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"
    if _is_device_name(slug) or _is_device_name(_collapse(folded.split(".")[0])):
        return _truncate(slug, MAX_SLUG_LENGTH - len(_DEVICE_NAME_SUFFIX)) + _DEVICE_NAME_SUFFIX
    return slug


def assign_slug(name: str, taken: Collection[str]) -> str:
    """The slug of `name` that is not in `taken`: `x`, else `x-2`, `x-3`, ..."""
    base = slugify(name)
    if base not in taken:
        return base
    number = 2
    while True:
        suffix = f"-{number}"
        candidate = _truncate(base, MAX_SLUG_LENGTH - len(suffix)) + suffix
        if candidate not in taken:
            return candidate
        number += 1


def assign_slugs(names: Sequence[str]) -> list[str]:
    """Distinct slugs for `names`, assigned in order (the first keeps the plain slug)."""
    taken: set[str] = set()
    slugs: list[str] = []
    for name in names:
        slug = assign_slug(name, taken)
        taken.add(slug)
        slugs.append(slug)
    return slugs


def _fold(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    return decomposed.encode("ascii", "ignore").decode("ascii").lower()


def _collapse(text: str) -> str:
    return _NOT_SLUG_CHARACTERS.sub("-", text).strip("-")


def _truncate(slug: str, length: int) -> str:
    return slug[:length].rstrip("-")


def _is_device_name(segment: str) -> bool:
    return segment in _WINDOWS_DEVICE_NAMES
