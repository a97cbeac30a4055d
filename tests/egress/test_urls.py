"""Where a URL connects (the host the policy checks) and when two URLs share an origin."""

from __future__ import annotations

from pathlib import Path

import pytest

from canonflow.egress import Target, http_target, origin, repository_target, same_origin


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("https://GitHub.com/team/w.git", Target("github.com", 443)),
        ("http://10.0.0.5:3000/team/w.git", Target("10.0.0.5", 3000)),
        ("ssh://git@[fd00::5]:2222/team/w.git", Target("fd00::5", 2222)),
        ("git@10.1.2.3:team/w.git", Target("10.1.2.3", 22)),
        ("deploy@git.corp.example:team/w.git", Target("git.corp.example", 22)),
        ("git@[::1]:team/w.git", Target("::1", 22)),
        ("git://127.0.0.1/w.git", Target("127.0.0.1", 9418)),
        ("file:///srv/git/w.git", Target(path=Path("/srv/git/w.git"))),
        ("/srv/git/w.git", Target(path=Path("/srv/git/w.git"))),
    ],
)
def test_repository_targets(url: str, target: Target) -> None:
    assert repository_target(url) == target


def test_http_targets_fill_in_default_ports() -> None:
    assert http_target("https://n8n.example") == Target("n8n.example", 443)
    assert http_target("http://[::ffff:10.0.0.1]/x") == Target("::ffff:10.0.0.1", 80)
    with pytest.raises(ValueError, match="not an http"):
        http_target("ftp://n8n.example")


@pytest.mark.parametrize(
    ("old", "new", "same"),
    [
        ("https://h.example/a", "https://H.EXAMPLE:443/b", True),
        ("http://h.example", "http://h.example:80/x", True),
        ("https://h.example", "http://h.example", False),
        ("https://h.example", "https://h.example:8443", False),
        ("https://h.example", "https://h.example.evil.test", False),
        ("git@h.example:team/a.git", "ssh://git@h.example/team/b.git", True),
        ("git@h.example:team/a.git", "https://h.example/team/a.git", False),
        ("/srv/a.git", "/srv/b.git", True),
        ("/srv/a.git", "https://h.example/a.git", False),
    ],
)
def test_origins(old: str, new: str, same: bool) -> None:
    assert same_origin(old, new) is same
    assert (origin(old) == origin(new)) is same
