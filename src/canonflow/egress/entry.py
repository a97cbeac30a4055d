"""The checks made when a tenant enters a URL (API, CLI, UI: the services call these): a
refused address, or a name resolving to one, is `Invalid` (422) naming the setting; and a
stored secret never follows its URL to another origin unless it is entered again."""

from __future__ import annotations

from canonflow import egress
from canonflow.egress.policy import EgressRefused, Target, http_target, repository_target
from canonflow.egress.policy import same_origin as _same_origin
from canonflow.errors import Invalid


def check_http_url(field: str, url: str) -> None:
    """`Invalid` unless the policy lets canonflow reach the http(s) URL in `field`."""
    try:
        target = http_target(url)
    except ValueError as exc:
        raise Invalid(f"{field}: {exc}") from exc
    _check(field, target)


def check_repository_url(field: str, url: str) -> None:
    """`Invalid` unless the policy lets canonflow reach the Git remote in `field`."""
    try:
        target = repository_target(url)
    except ValueError as exc:
        raise Invalid(f"{field}: {exc}") from exc
    _check(field, target)


def require_secret_for_new_origin(
    *, field: str, old: str | None, new: str | None, resend: str, has_stored: bool, sent: bool
) -> None:
    """`Invalid` when `field` moves to another origin (scheme, host, port) while a stored
    secret would go with it (it was entered for the old host only): `resend` names the
    field that carries the secret."""
    if not has_stored or sent or old is None or new is None or _same_origin(old, new):
        return
    raise Invalid(
        f"{field} moves to another host ({new}): send {resend} with the new {field} "
        f"(the stored one was entered for {old} and is never sent elsewhere)"
    )


def _check(field: str, target: Target) -> None:
    try:
        egress.current().check_url_on_entry(target)
    except EgressRefused as exc:
        raise Invalid(f"{field}: {exc.message}") from exc
