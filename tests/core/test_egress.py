"""The pure egress rules: every refused range, in both modes, with the operator's
exceptions, IPv6 forms carrying an IPv4 address, and hosts resolving to several addresses."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canonflow.core.egress import (
    AddressPolicy,
    IPAddress,
    embedded_ipv4,
    refusal_for_address,
    refusal_for_host,
)

QUICK = settings(max_examples=80, deadline=None, database=None)
PRODUCTION = AddressPolicy.build(production=True)
DEVELOPMENT = AddressPolicy.build(production=False)

# (a range production refuses, the word its refusal uses)
REFUSED = [
    ("127.0.0.0/8", "loopback"),
    ("::1/128", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("fe80::/10", "link-local"),
    ("10.0.0.0/8", "private"),
    ("172.16.0.0/12", "private"),
    ("192.168.0.0/16", "private"),
    ("fc00::/7", "private"),
    ("100.64.0.0/10", "carrier-grade NAT"),
    ("224.0.0.0/4", "multicast"),
    ("ff00::/8", "multicast"),
    ("0.0.0.0/8", "reserved"),
    ("240.0.0.0/4", "reserved"),
    ("198.18.0.0/15", "reserved"),
    ("2001:db8::/32", "reserved"),
]
METADATA = ["169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.170.2"]
PUBLIC = ["93.184.215.14", "140.82.121.4", "2606:4700::6810:84e5", "8.8.8.8", "1.1.1.1"]


def _ip(text: str) -> IPAddress:
    return ipaddress.ip_address(text)


def _addresses_in(cidr: str) -> st.SearchStrategy[IPAddress]:
    network = ipaddress.ip_network(cidr)
    first = int(network.network_address)
    return st.integers(first, first + network.num_addresses - 1).map(
        lambda n: ipaddress.ip_address(n) if network.version == 4 else ipaddress.IPv6Address(n)
    )


@pytest.mark.parametrize(("cidr", "word"), REFUSED)
@QUICK
@given(data=st.data())
def test_production_refuses_every_address_of_each_range(
    cidr: str, word: str, data: st.DataObject
) -> None:
    address = data.draw(_addresses_in(cidr))
    if str(address) in METADATA:
        return
    refusal = refusal_for_address(PRODUCTION, address, str(address))
    assert refusal is not None
    if address.is_unspecified:
        assert refusal.reason == "the unspecified address"
    else:
        assert word in refusal.reason
        assert f"CANONFLOW_ALLOWED_NETWORKS={ipaddress.ip_network(cidr)}" in refusal.message
    assert refusal_for_address(DEVELOPMENT, address, str(address)) is None


@pytest.mark.parametrize(("cidr", "word"), [r for r in REFUSED if ":" not in r[0]])
@QUICK
@given(data=st.data())
def test_ipv6_forms_of_a_refused_ipv4_are_refused(
    cidr: str, word: str, data: st.DataObject
) -> None:
    address = data.draw(_addresses_in(cidr))
    assert isinstance(address, ipaddress.IPv4Address)
    n = int(address)
    forms = [
        ipaddress.IPv6Address((0xFFFF << 32) | n),  # ::ffff:a.b.c.d
        ipaddress.IPv6Address((0x64FF9B << 96) | n),  # NAT64 64:ff9b::a.b.c.d
        ipaddress.IPv6Address((0x2002 << 112) | (n << 80)),  # 6to4 2002:aabb:ccdd::
    ]
    if n > 1:
        forms.append(ipaddress.IPv6Address(n))  # ::a.b.c.d (IPv4-compatible)
    for form in forms:
        assert embedded_ipv4(form) == address
        refusal = refusal_for_address(PRODUCTION, form, str(form))
        assert refusal is not None, form


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass_in_both_modes(address: str) -> None:
    assert refusal_for_address(PRODUCTION, _ip(address), address) is None
    assert refusal_for_address(DEVELOPMENT, _ip(address), address) is None
    mapped = ipaddress.IPv6Address(f"::ffff:{address}") if "." in address else None
    if mapped is not None:
        assert refusal_for_address(PRODUCTION, mapped, str(mapped)) is None


@pytest.mark.parametrize("address", [*METADATA, "::ffff:169.254.169.254"])
def test_metadata_addresses_are_refused_in_every_mode(address: str) -> None:
    for policy in (PRODUCTION, DEVELOPMENT):
        refusal = refusal_for_address(policy, _ip(address), address)
        assert refusal is not None and "metadata" in refusal.reason


def test_a_metadata_address_is_allowed_only_when_named_exactly() -> None:
    wide = AddressPolicy.build(production=True, networks=[ipaddress.ip_network("169.254.0.0/16")])
    assert refusal_for_address(wide, _ip("169.254.10.1"), "169.254.10.1") is None
    refusal = refusal_for_address(wide, _ip("169.254.169.254"), "169.254.169.254")
    assert refusal is not None
    assert "CANONFLOW_ALLOWED_NETWORKS=169.254.169.254/32" in refusal.message
    exact = AddressPolicy.build(
        production=False, networks=[ipaddress.ip_network("169.254.169.254/32")]
    )
    assert refusal_for_address(exact, _ip("169.254.169.254"), "169.254.169.254") is None


@QUICK
@given(data=st.data())
def test_allowed_networks_open_exactly_their_addresses(data: st.DataObject) -> None:
    policy = AddressPolicy.build(
        production=True,
        networks=[ipaddress.ip_network("10.20.0.0/16"), ipaddress.ip_network("fd12::/16")],
    )
    inside = data.draw(st.one_of(_addresses_in("10.20.0.0/16"), _addresses_in("fd12::/16")))
    outside = data.draw(st.one_of(_addresses_in("10.21.0.0/16"), _addresses_in("fd13::/16")))
    assert refusal_for_address(policy, inside, str(inside)) is None
    assert refusal_for_address(policy, outside, str(outside)) is not None
    if isinstance(inside, ipaddress.IPv4Address):
        mapped = ipaddress.IPv6Address((0xFFFF << 32) | int(inside))
        assert refusal_for_address(policy, mapped, str(mapped)) is None


def test_a_refusal_names_the_address_the_range_and_the_settings() -> None:
    refusal = refusal_for_host(PRODUCTION, "n8n.corp.example", [_ip("10.0.0.5")])
    assert refusal is not None
    assert refusal.message == (
        "n8n.corp.example resolves to 10.0.0.5, a private address; allow it with "
        "CANONFLOW_ALLOWED_NETWORKS=10.0.0.0/8 or CANONFLOW_ALLOWED_HOSTS=n8n.corp.example"
    )
    literal = refusal_for_address(PRODUCTION, _ip("10.0.0.5"), "10.0.0.5")
    assert literal is not None
    assert literal.message == (
        "10.0.0.5 is a private address; allow it with CANONFLOW_ALLOWED_NETWORKS=10.0.0.0/8"
    )


def test_one_refused_address_among_several_refuses_the_host() -> None:
    addresses = [_ip("140.82.121.4"), _ip("2606:4700::1"), _ip("192.168.1.9")]
    refusal = refusal_for_host(PRODUCTION, "git.example", addresses)
    assert refusal is not None and refusal.address == "192.168.1.9"
    assert refusal_for_host(PRODUCTION, "git.example", addresses[:2]) is None
    assert refusal_for_host(DEVELOPMENT, "git.example", addresses) is None
    with_metadata = [*addresses[:2], _ip("169.254.169.254")]
    assert refusal_for_host(DEVELOPMENT, "git.example", with_metadata) is not None


def test_an_allowed_host_is_not_checked_except_for_metadata() -> None:
    policy = AddressPolicy.build(production=True, hosts=["N8N.Internal."])
    assert refusal_for_host(policy, "n8n.internal", [_ip("10.1.2.3"), _ip("127.0.0.1")]) is None
    assert refusal_for_host(policy, "other.internal", [_ip("10.1.2.3")]) is not None
    assert refusal_for_host(policy, "n8n.internal", [_ip("169.254.169.254")]) is not None


@pytest.mark.parametrize(
    "host", ["metadata.google.internal", "METADATA.google.internal.", "metadata"]
)
def test_metadata_host_names_are_refused_before_any_lookup(host: str) -> None:
    for policy in (PRODUCTION, DEVELOPMENT):
        refusal = refusal_for_host(policy, host, [])
        assert refusal is not None and "metadata" in refusal.reason
    named = AddressPolicy.build(production=True, hosts=["metadata.google.internal"])
    assert refusal_for_host(named, "metadata.google.internal", []) is None
