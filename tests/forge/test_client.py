"""The forge client against the stand-in forge (GitHub and Gitea alike), and the URL helpers."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest
from structlog.testing import capture_logs

from canonflow.core.enums import ForgeProvider
from canonflow.forge import (
    ForgeAuthFailed,
    ForgeClient,
    ForgeError,
    ForgeRejected,
    ForgeUnreachable,
    PullRequest,
    PullRequestExists,
    default_api_url,
    repository_from_url,
)
from tests.support.forge_server import FakeForge

GITHUB, GITEA, NONE = ForgeProvider.GITHUB, ForgeProvider.GITEA, ForgeProvider.NONE
LABEL = {GITHUB: "GitHub", GITEA: "Gitea"}


@pytest.fixture(params=[GITHUB, GITEA], ids=str)
def forge(request: pytest.FixtureRequest) -> Iterator[FakeForge]:
    with FakeForge(request.param) as forge:
        yield forge


@pytest.fixture
def gitea() -> Iterator[FakeForge]:
    with FakeForge(GITEA) as forge:
        yield forge


def client_of(forge: FakeForge, token: str | None = None, timeout_s: float = 5.0) -> ForgeClient:
    token = forge.token if token is None else token
    return ForgeClient(forge.provider, forge.api_url, forge.owner_repo, token, timeout_s=timeout_s)


@pytest.fixture
def client(forge: FakeForge) -> Iterator[ForgeClient]:
    with client_of(forge) as client:
        yield client


def open_pr(client: ForgeClient, head: str = "canonflow/x", base: str = "main") -> PullRequest:
    return client.create_pull_request(
        head=head, base=base, title=f"Sync {head}", body="by canonflow"
    )


def methods(forge: FakeForge) -> list[str]:
    return [request["method"] for request in forge.requests]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def assert_one_line(error: ForgeError, *secrets: str) -> None:
    assert "\n" not in error.message
    assert str(error) == error.message
    for secret in secrets:
        assert secret not in error.message
        assert secret not in repr(error)


# --- the happy paths ----------------------------------------------------------------------


def test_create_sends_the_documented_request_and_returns_the_pull_request(
    forge: FakeForge, client: ForgeClient
) -> None:
    pr = client.create_pull_request(head="canonflow/x", base="main", title="Sync", body="Why")

    page = "pull" if forge.provider == GITHUB else "pulls"
    assert pr == PullRequest(
        number=1,
        url=f"{forge.web_url}/team/workflows/{page}/1",
        state="open",
        head="canonflow/x",
        base="main",
    )
    sent = forge.requests[-1]
    assert sent["method"] == "POST"
    assert sent["path"] == forge.api_url.removeprefix(forge.web_url) + "/repos/team/workflows/pulls"
    assert sent["json"] == {"title": "Sync", "body": "Why", "head": "canonflow/x", "base": "main"}
    headers = sent["headers"]
    assert headers["user-agent"] == "canonflow"
    if forge.provider == GITHUB:
        assert headers["authorization"] == "Bearer forge-token"
        assert headers["accept"] == "application/vnd.github+json"
        assert headers["x-github-api-version"] == "2022-11-28"
    else:
        assert headers["authorization"] == "token forge-token"
        assert "x-github-api-version" not in headers
    assert open_pr(client, head="canonflow/y").number == 2


def test_get_reads_a_pull_request_by_number(forge: FakeForge, client: ForgeClient) -> None:
    created = open_pr(client)
    assert client.get_pull_request(created.number) == created
    assert (forge.requests[-1]["method"], forge.requests[-1]["path"].rsplit("/", 2)[1:]) == (
        "GET",
        ["pulls", "1"],
    )


def test_find_open_returns_the_pull_request_joining_head_and_base(
    forge: FakeForge, client: ForgeClient
) -> None:
    wanted = open_pr(client, head="canonflow/a")
    open_pr(client, head="canonflow/b")
    open_pr(client, head="canonflow/a", base="release")

    assert client.find_open_pull_request(head="canonflow/a", base="main") == wanted
    assert client.find_open_pull_request(head="canonflow/b", base="release") is None
    query = forge.requests[-1]["query"]
    if forge.provider == GITHUB:
        assert query == {"state": "open", "head": "team:canonflow/b", "base": "release"}
    else:
        assert query["state"] == "open"
        assert query["limit"] == "50"


def test_a_merged_pull_request_reads_merged_and_is_no_longer_open(
    forge: FakeForge, client: ForgeClient
) -> None:
    first = open_pr(client)
    forge.merge(first.number)

    assert client.get_pull_request(first.number).state == "merged"
    assert client.find_open_pull_request(head="canonflow/x", base="main") is None
    again = open_pr(client)  # the branches are free again
    assert again.number == 2
    assert client.find_open_pull_request(head="canonflow/x", base="main") == again


def test_a_pull_request_closed_without_merging_reads_closed(
    forge: FakeForge, client: ForgeClient
) -> None:
    forge.close_pr(open_pr(client).number)
    assert client.get_pull_request(1).state == "closed"
    assert client.find_open_pull_request(head="canonflow/x", base="main") is None


def test_gitea_listing_is_followed_page_by_page_until_an_empty_page(gitea: FakeForge) -> None:
    with client_of(gitea) as client:
        oldest = open_pr(client, head="canonflow/0")
        for n in range(1, 60):
            open_pr(client, head=f"canonflow/{n}")
        del gitea.requests[:]

        assert client.find_open_pull_request(head="canonflow/0", base="main") == oldest
        assert [r["query"]["page"] for r in gitea.requests] == ["1", "2"]  # newest first
        del gitea.requests[:]
        assert client.find_open_pull_request(head="canonflow/none", base="main") is None
        assert [r["query"]["page"] for r in gitea.requests] == ["1", "2", "3"]


def test_gitea_ignores_a_forks_branch_of_the_same_name(gitea: FakeForge) -> None:
    with client_of(gitea) as client:
        open_pr(client)
        gitea.pulls[1]["head"] = {**gitea.pulls[1]["head"], "repo": {"full_name": "mallory/wf"}}
        assert client.find_open_pull_request(head="canonflow/x", base="main") is None


# --- refusals -----------------------------------------------------------------------------


def test_a_second_open_pull_request_for_the_same_branches_already_exists(
    forge: FakeForge, client: ForgeClient
) -> None:
    open_pr(client)
    with pytest.raises(PullRequestExists) as caught:
        open_pr(client)

    error = caught.value
    assert error.status == (422 if forge.provider == GITHUB else 409)
    assert error.message == (
        f"{LABEL[forge.provider]} at {forge.api_url}: a pull request already exists "
        "for head canonflow/x"
    )
    assert_one_line(error)
    assert methods(forge) == ["POST", "POST"]
    assert open_pr(client, base="release").number == 2  # another base is fine


def test_a_wrong_token_fails_auth_and_never_shows_the_token(forge: FakeForge) -> None:
    secret = "wrong-s3cret-t0ken"
    with client_of(forge, token=secret) as client, capture_logs() as logs:
        with pytest.raises(ForgeAuthFailed) as on_post:
            open_pr(client)
        with pytest.raises(ForgeAuthFailed) as on_get:
            client.find_open_pull_request(head="canonflow/x", base="main")
        assert secret not in repr(client)

    reason = "Bad credentials" if forge.provider == GITHUB else "invalid token"
    expected = f"{LABEL[forge.provider]} at {forge.api_url} refused the token (401): {reason}"
    assert on_post.value.message == on_get.value.message == expected
    assert on_post.value.status == 401
    assert_one_line(on_post.value, secret)
    assert methods(forge) == ["POST", "GET"]  # auth failures are not retried
    assert logs == []


def test_without_a_token_no_authorization_is_sent(forge: FakeForge) -> None:
    with (
        ForgeClient(forge.provider, forge.api_url, forge.owner_repo, None) as client,
        pytest.raises(ForgeAuthFailed, match=r"wants a token \(401\)"),
    ):
        client.get_pull_request(1)
    assert "authorization" not in forge.requests[-1]["headers"]


def test_403_is_an_auth_failure(forge: FakeForge, client: ForgeClient) -> None:
    forge.fail_next(403, {"message": "Resource not accessible by integration"})
    with pytest.raises(ForgeAuthFailed, match=r"\(403\): Resource not accessible") as caught:
        open_pr(client)
    assert caught.value.status == 403


def test_an_unknown_repository_is_rejected(forge: FakeForge) -> None:
    with (
        ForgeClient(forge.provider, forge.api_url, "team/other", forge.token) as client,
        pytest.raises(ForgeRejected) as caught,
    ):
        client.get_pull_request(1)
    assert caught.value.status == 404
    assert caught.value.message == (
        f"{LABEL[forge.provider]} at {forge.api_url} refused to get pull request #1 "
        "of team/other (404): Not Found"
    )
    assert methods(forge) == ["GET"]


def test_an_unknown_number_is_rejected(forge: FakeForge, client: ForgeClient) -> None:
    with pytest.raises(ForgeRejected, match=r"pull request #7 .*\(404\)"):
        client.get_pull_request(7)


def test_a_validation_error_carries_the_forges_reason(
    forge: FakeForge, client: ForgeClient
) -> None:
    with pytest.raises(ForgeRejected) as caught:
        client.create_pull_request(head="canonflow/x", base="main", title="", body="")
    assert caught.value.status == 422
    assert caught.value.message.endswith(
        "(422): Validation Failed: title missing_field"
        if forge.provider == GITHUB
        else "(422): [Title]: Required"
    )


def test_another_422_is_rejected_not_taken_for_an_existing_pull_request(
    forge: FakeForge, client: ForgeClient
) -> None:
    errors = [{"resource": "PullRequest", "code": "custom", "message": "No commits between x"}]
    forge.fail_next(422, {"message": "Validation Failed", "errors": errors})
    with pytest.raises(ForgeRejected, match=r"\(422\): Validation Failed: No commits between x$"):
        open_pr(client)


# --- failures and retries -----------------------------------------------------------------


def test_a_server_error_on_a_get_is_retried(forge: FakeForge, client: ForgeClient) -> None:
    created = open_pr(client)
    forge.fail_next(500)
    with capture_logs() as logs:
        assert client.get_pull_request(1) == created
    assert methods(forge) == ["POST", "GET", "GET"]
    assert [log["event"] for log in logs] == ["forge request failed, retrying"]
    assert forge.token not in repr(logs)


def test_gets_give_up_after_three_attempts(forge: FakeForge, client: ForgeClient) -> None:
    for _ in range(3):
        forge.fail_next(502, {"message": "Bad Gateway"})
    with pytest.raises(ForgeUnreachable) as caught:
        client.find_open_pull_request(head="canonflow/x", base="main")
    assert caught.value.status == 502
    assert caught.value.message.endswith("(502): Bad Gateway (gave up after 3 attempts)")
    assert methods(forge) == ["GET", "GET", "GET"]


def test_a_server_error_on_create_is_not_retried(forge: FakeForge, client: ForgeClient) -> None:
    forge.fail_next(500)
    with pytest.raises(ForgeUnreachable, match=r"server error \(500\)") as caught:
        open_pr(client)
    assert caught.value.status == 500
    assert methods(forge) == ["POST"]
    assert forge.pulls == {}


def test_a_token_echoed_in_an_error_body_is_redacted(forge: FakeForge, client: ForgeClient) -> None:
    forge.fail_next(500, {"message": f"cannot use {forge.token}"})
    with pytest.raises(ForgeUnreachable) as caught:
        open_pr(client)
    assert caught.value.message.endswith("(500): cannot use <redacted>")
    assert_one_line(caught.value, forge.token)


class CountingTransport(httpx.HTTPTransport):
    """The real transport, counting the requests it is asked to send (a retry is one more)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request.method)
        return super().handle_request(request)


def queued_connections(listener: socket.socket) -> int:
    """How many connections wait in the listener's backlog (accepted and closed here)."""
    listener.setblocking(False)
    count = 0
    while True:
        try:
            connection, _address = listener.accept()
        except BlockingIOError:
            return count
        connection.close()
        count += 1


@pytest.mark.parametrize("provider", [GITHUB, GITEA], ids=str)
def test_a_closed_port_is_unreachable_and_only_gets_are_retried(provider: ForgeProvider) -> None:
    api_url = f"http://127.0.0.1:{free_port()}"
    transport = CountingTransport()
    with (
        ForgeClient(provider, api_url, "team/workflows", "t0k", transport=transport) as client,
        capture_logs() as logs,
    ):
        with pytest.raises(ForgeUnreachable, match=r"unreachable while trying to open .*: cannot"):
            open_pr(client)
        assert transport.sent == ["POST"]  # never retried: it fails at once
        assert logs == []
        with pytest.raises(ForgeUnreachable, match=r"gave up after 3 attempts"):
            client.get_pull_request(1)
    assert transport.sent == ["POST", "GET", "GET", "GET"]
    assert [log["wait_s"] for log in logs] == [0.2, 0.5]  # two short backoffs


def test_a_forge_that_never_answers_times_out_without_a_retry() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)  # connections queue in the kernel; nobody reads them
        api_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        transport = CountingTransport()
        with (
            ForgeClient(
                GITHUB, api_url, "team/workflows", "t0k", timeout_s=0.2, transport=transport
            ) as client,
            pytest.raises(ForgeUnreachable, match=r"no answer within 0\.2s$"),
        ):
            open_pr(client)
        assert transport.sent == ["POST"]
        assert queued_connections(listener) == 1


def mock_client(provider: ForgeProvider, response: httpx.Response, seen: list[str]) -> ForgeClient:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        return response

    transport = httpx.MockTransport(answer)
    return ForgeClient(provider, "https://forge.test", "team/workflows", "m0k", transport=transport)


def test_an_answer_that_is_not_json_is_unreachable() -> None:
    seen: list[str] = []
    page = httpx.Response(200, headers={"Content-Type": "text/html"}, text="<html>Sign in</html>")
    with (
        mock_client(GITEA, page, seen) as client,
        pytest.raises(ForgeUnreachable, match=r"not JSON \(text/html\)"),
    ):
        client.get_pull_request(1)
    assert seen == ["GET", "GET", "GET"]


def test_json_that_is_not_a_pull_request_is_unreachable() -> None:
    seen: list[str] = []
    with (
        mock_client(GITHUB, httpx.Response(201, json={"number": "1"}), seen) as client,
        pytest.raises(ForgeUnreachable, match=r"unexpected answer to open a pull request"),
    ):
        open_pr(client)
    assert seen == ["POST"]


def test_an_html_error_page_is_summed_up() -> None:
    page = httpx.Response(502, headers={"Content-Type": "text/html"}, text="<html>\n<h1>502</h1>")
    with (
        mock_client(GITHUB, page, []) as client,
        pytest.raises(ForgeUnreachable, match=r"\(502\): an HTML page \(Bad Gateway\)$"),
    ):
        open_pr(client)


def test_gitea_field_errors_are_listed() -> None:
    errors = [{"fieldNames": ["Head"], "classification": "RequiredError", "message": "Required"}]
    with (
        mock_client(GITEA, httpx.Response(422, json=errors), []) as client,
        pytest.raises(ForgeRejected, match=r"\(422\): Head: Required$"),
    ):
        open_pr(client)


@pytest.mark.parametrize(
    ("provider", "api_url", "repository", "timeout_s"),
    [
        (NONE, "https://forge.test", "team/workflows", 1.0),
        (GITHUB, "ftp://forge.test", "team/workflows", 1.0),
        (GITHUB, "https://forge.test", "workflows", 1.0),
        (GITHUB, "https://forge.test", "team/sub/workflows", 1.0),
        (GITEA, "https://forge.test", "team/workflows", 0.0),
    ],
)
def test_invalid_settings_are_refused(
    provider: ForgeProvider, api_url: str, repository: str, timeout_s: float
) -> None:
    with pytest.raises(ValueError, match=r"."):
        ForgeClient(provider, api_url, repository, "t", timeout_s=timeout_s)


def test_repr_names_the_forge_but_not_the_token() -> None:
    client = ForgeClient(GITEA, "https://forge.test/api/v1/", "team/workflows", "t0k3n-value")
    with client:
        assert repr(client) == (
            "ForgeClient(provider='gitea', api_url='https://forge.test/api/v1', "
            "repository='team/workflows')"
        )


# --- URLs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "repository"),
    [
        ("https://github.com/team/workflows.git", "team/workflows"),
        ("https://github.com/team/workflows", "team/workflows"),
        ("https://github.com/team/workflows/", "team/workflows"),
        ("https://user:secret@git.example.com/team/workflows.git", "team/workflows"),
        ("http://gitea.local:3000/team/workflows.git", "team/workflows"),
        ("https://example.com/git/team/workflows.git", "team/workflows"),
        ("ssh://git@github.com/team/workflows.git", "team/workflows"),
        ("ssh://git@gitea.local:2222/team/workflows.git", "team/workflows"),
        ("git@github.com:team/workflows.git", "team/workflows"),
        ("gitea.local:team/workflows", "team/workflows"),
        ("git://git.example.com/team/workflows.git", "team/workflows"),
        ("https://github.com/workflows.git", None),
        ("git@github.com:workflows.git", None),
        ("https://github.com", None),
        ("/srv/git/team/workflows.git", None),
        ("file:///srv/git/team/workflows.git", None),
        ("", None),
    ],
)
def test_repository_from_url(url: str, repository: str | None) -> None:
    assert repository_from_url(url) == repository


@pytest.mark.parametrize(
    ("provider", "url", "api_url"),
    [
        (GITHUB, "https://github.com/team/workflows.git", "https://api.github.com"),
        (GITHUB, "git@github.com:team/workflows.git", "https://api.github.com"),
        (GITHUB, "ssh://git@ssh.github.com:443/team/workflows.git", "https://api.github.com"),
        (GITHUB, "https://ghe.example.com/team/workflows.git", "https://ghe.example.com/api/v3"),
        (GITHUB, "git@ghe.example.com:team/workflows.git", "https://ghe.example.com/api/v3"),
        (GITEA, "https://gitea.example.com/team/wf.git", "https://gitea.example.com/api/v1"),
        (GITEA, "http://gitea.local:3000/team/wf.git", "http://gitea.local:3000/api/v1"),
        (GITEA, "ssh://git@gitea.local:2222/team/wf.git", "https://gitea.local/api/v1"),
        (GITEA, "git@codeberg.org:team/wf.git", "https://codeberg.org/api/v1"),
        (GITEA, "git://gitea.local/team/wf.git", "https://gitea.local/api/v1"),
        (GITEA, "https://example.com/git/team/wf.git", "https://example.com/git/api/v1"),
        (NONE, "https://github.com/team/workflows.git", None),
        (GITHUB, "/srv/git/team/workflows.git", None),
        (GITEA, "file:///srv/git/team/workflows.git", None),
    ],
)
def test_default_api_url(provider: ForgeProvider, url: str, api_url: str | None) -> None:
    assert default_api_url(provider, url) == api_url


def test_the_default_gitea_api_url_reaches_the_forge(gitea: FakeForge) -> None:
    remote = f"{gitea.web_url}/team/workflows.git"
    api_url = default_api_url(GITEA, remote)
    repository = repository_from_url(remote)
    assert api_url == gitea.api_url
    assert repository is not None
    with ForgeClient(GITEA, api_url, repository, gitea.token) as client:
        assert open_pr(client).number == 1
