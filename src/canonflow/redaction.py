"""Text from a remote made fit for a one-line error message: no secret, no newlines, and a
bounded length. Shared by the HTTP adapters (n8n, forges)."""

from __future__ import annotations

MAX_DETAIL = 300


class Redactor:
    """Replaces `secret` (an API key, a token) wherever it appears; None redacts nothing."""

    def __init__(self, secret: str | None) -> None:
        self._secret = secret

    def __call__(self, text: str) -> str:
        if self._secret:
            text = text.replace(self._secret, "<redacted>")
        text = " ".join(text.split())
        return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"
