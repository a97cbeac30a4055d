"""Connect-time checks of the n8n and forge clients, against real servers on 127.0.0.1:
every connection (redirects included) is checked on the addresses its host resolves to."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import pytest

from canonflow.core.egress import AddressPolicy, IPAddress
from canonflow.core.enums import ForgeProvider
from canonflow.egress import EgressPolicy, http_target, resolve
from canonflow.forge import ForgeClient, ForgeEgressRefused
from canonflow.n8n import N8nClient, N8nEgressRefused
from tests.support.forge_server import FakeForge
from tests.support.redirector import Redirector

LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


def _policy(
    *, networks: tuple[str, ...] = (), hosts: tuple[str, ...] = (), resolver=resolve
) -> EgressPolicy:
    addresses = AddressPolicy.build(
        production=True, networks=[ipaddress.ip_network(n) for n in networks], hosts=hosts
    )
    return EgressPolicy(addresses, resolver=resolver)


class FlippingResolver:
    """Answers a public address until `flip()`, then the real answer: a name that changes
    what it resolves to between entry and connection (DNS rebinding)."""

    def __init__(self) -> None:
        self.flipped = False

    def flip(self) -> None:
        self.flipped = True

    def __call__(self, host: str, port: int) -> list[IPAddress]:
        if not self.flipped and host == "n8n.rebind.test":
            return [ipaddress.ip_address("93.184.215.14")]
        return resolve("127.0.0.1" if host == "n8n.rebind.test" else host, port)


@pytest.fixture
def gitea() -> Iterator[FakeForge]:
    with FakeForge(ForgeProvider.GITEA) as forge:
        yield forge


def test_a_loopback_n8n_is_refused_in_production_before_any_request(gitea: FakeForge) -> None:
    client = N8nClient(gitea.web_url, "key", retries=0, egress=_policy())
    with client, pytest.raises(N8nEgressRefused) as refused:
        client.check()
    assert "127.0.0.1 is a loopback address" in refused.value.message
    assert "CANONFLOW_ALLOWED_NETWORKS=127.0.0.0/8" in refused.value.message
    assert refused.value.message.startswith(f"n8n at {gitea.web_url}")
    assert gitea.requests == []


def test_an_allowed_network_lets_the_n8n_client_connect(gitea: FakeForge) -> None:
    client = N8nClient(gitea.web_url, "key", retries=0, egress=_policy(networks=("127.0.0.0/8",)))
    with client, pytest.raises(Exception) as answered:
        client.check()  # the stand-in forge is not n8n: it answers, and that is the point
    assert not isinstance(answered.value, N8nEgressRefused)
    assert len(gitea.requests) == 1


def test_a_name_that_resolves_elsewhere_at_connect_time_is_refused(gitea: FakeForge) -> None:
    resolver = FlippingResolver()
    policy = _policy(resolver=resolver)
    url = f"http://n8n.rebind.test:{gitea.web_url.rsplit(':', 1)[1]}"
    policy.check_url_on_entry(http_target(url))  # public when entered
    resolver.flip()
    client = N8nClient(url, "key", retries=0, egress=policy)
    with (
        client,
        pytest.raises(N8nEgressRefused, match=r"n8n\.rebind\.test resolves to 127\.0\.0\.1"),
    ):
        client.check()
    assert gitea.requests == []


def test_an_allowed_host_redirecting_to_a_refused_address_is_refused_at_the_redirect(
    gitea: FakeForge,
) -> None:
    with Redirector(gitea.web_url) as redirector:
        api_url = f"http://localhost:{redirector.port}/api/v1"
        policy = _policy(hosts=("localhost",))
        with (
            ForgeClient(
                ForgeProvider.GITEA, api_url, "team/workflows", gitea.token, egress=policy
            ) as client,
            pytest.raises(ForgeEgressRefused) as refused,
        ):
            client.get_pull_request(1)
        assert len(redirector.requests) == 1  # the allowed host was asked once
    assert "127.0.0.1 is a loopback address" in refused.value.message
    assert refused.value.message.startswith(f"Gitea at {api_url}")
    assert gitea.requests == []  # the redirect's target was never contacted


def test_a_redirect_to_an_allowed_address_is_followed(gitea: FakeForge) -> None:
    with Redirector(gitea.web_url) as redirector:
        api_url = f"http://localhost:{redirector.port}/api/v1"
        policy = _policy(hosts=("localhost",), networks=("127.0.0.1/32",))
        with (
            ForgeClient(
                ForgeProvider.GITEA, api_url, "team/workflows", None, egress=policy
            ) as client,
            pytest.raises(Exception) as answered,
        ):
            client.get_pull_request(1)
    assert not isinstance(answered.value, ForgeEgressRefused)
    assert len(gitea.requests) == 1


def test_the_metadata_address_is_refused_in_development_too() -> None:
    with (
        N8nClient(
            "http://169.254.169.254", "key", retries=0, egress=EgressPolicy.development()
        ) as client,
        pytest.raises(N8nEgressRefused, match="cloud metadata"),
    ):
        client.check()
