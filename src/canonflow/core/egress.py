"""Which addresses canonflow may connect to: the pure rules of the egress policy.

Every outbound connection (n8n, Git, a forge) goes to a URL a tenant typed. In production
mode an address is refused when it is in one of the ranges below, unless the operator
allows it (`CANONFLOW_ALLOWED_NETWORKS`: CIDRs; `CANONFLOW_ALLOWED_HOSTS`: host names whose
addresses are then not checked). In development mode only the cloud metadata addresses are
refused. A metadata address is refused in every mode unless `CANONFLOW_ALLOWED_NETWORKS`
names that very address (`169.254.169.254/32`): allowing a wide range such as
`169.254.0.0/16` for some other link-local service never opens the metadata service too.

IPv6 forms that carry an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible
`::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are judged by that IPv4 address.

No I/O here: the caller resolves names and passes the addresses.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

NETWORKS_SETTING = "CANONFLOW_ALLOWED_NETWORKS"
HOSTS_SETTING = "CANONFLOW_ALLOWED_HOSTS"

_net = ipaddress.ip_network

METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle ...
        "169.254.170.2",  # AWS ECS task metadata
        "168.63.129.16",  # Azure wire server
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
        "fd00:ec2::254",  # AWS (IPv6)
    )
)
METADATA_HOSTS = frozenset(
    {"metadata.google.internal", "metadata.goog", "metadata", "instance-data",
     "instance-data.ec2.internal", "metadata.azure.com"}
)  # fmt: skip

# (network, what it is), most specific first: the first match names the refusal.
_REFUSED_RANGES: tuple[tuple[IPNetwork, str], ...] = (
    (_net("0.0.0.0/32"), "the unspecified address"),
    (_net("::/128"), "the unspecified address"),
    (_net("127.0.0.0/8"), "a loopback address"),
    (_net("::1/128"), "a loopback address"),
    (_net("169.254.0.0/16"), "a link-local address"),
    (_net("fe80::/10"), "a link-local address"),
    (_net("10.0.0.0/8"), "a private address"),
    (_net("172.16.0.0/12"), "a private address"),
    (_net("192.168.0.0/16"), "a private address"),
    (_net("fc00::/7"), "a private (unique local) address"),
    (_net("100.64.0.0/10"), "a shared (carrier-grade NAT) address"),
    (_net("224.0.0.0/4"), "a multicast address"),
    (_net("ff00::/8"), "a multicast address"),
    (_net("0.0.0.0/8"), "a reserved address ('this network')"),
    (_net("192.0.0.0/24"), "a reserved address (IETF protocol assignments)"),
    (_net("192.0.2.0/24"), "a reserved address (documentation)"),
    (_net("198.51.100.0/24"), "a reserved address (documentation)"),
    (_net("203.0.113.0/24"), "a reserved address (documentation)"),
    (_net("2001:db8::/32"), "a reserved address (documentation)"),
    (_net("198.18.0.0/15"), "a reserved address (benchmarking)"),
    (_net("240.0.0.0/4"), "a reserved address"),
    (_net("100::/64"), "a reserved address (discard-only)"),
    (_net("2001::/23"), "a reserved address (IETF protocol assignments)"),
)
_SIX_TO_FOUR = _net("2002::/16")
_NAT64 = _net("64:ff9b::/96")
_IPV4_COMPATIBLE = _net("::/96")


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a connection is refused, and the setting that would allow it."""

    target: str  # what the tenant named: a host name or a literal address
    address: str  # the refused address ("" when the name itself is refused)
    reason: str  # e.g. "a private address"
    remedy: str  # e.g. "allow it with CANONFLOW_ALLOWED_NETWORKS=10.0.0.0/8"

    @property
    def message(self) -> str:
        if not self.address:
            return f"{self.target} is {self.reason}; {self.remedy}"
        if self.address == self.target:
            return f"{self.address} is {self.reason}; {self.remedy}"
        return f"{self.target} resolves to {self.address}, {self.reason}; {self.remedy}"


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """`production` refuses the ranges above; `allowed_*` are the operator's exceptions."""

    production: bool
    allowed_networks: tuple[IPNetwork, ...] = ()
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def build(
        cls, *, production: bool, networks: Iterable[IPNetwork] = (), hosts: Iterable[str] = ()
    ) -> AddressPolicy:
        return cls(production, tuple(networks), frozenset(normalize_host(h) for h in hosts))

    def host_is_allowed(self, host: str) -> bool:
        return normalize_host(host) in self.allowed_hosts


def normalize_host(host: str) -> str:
    """Lower-case, without brackets or a final dot: the form host names are compared in."""
    return host.strip().strip("[]").rstrip(".").lower()


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4), if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _SIX_TO_FOUR:
        return address.sixtofour
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refused_range(address: IPAddress) -> tuple[IPNetwork, str] | None:
    """The refused range `address` falls in (judging an embedded IPv4 by itself)."""
    inner = embedded_ipv4(address)
    if inner is not None:
        return refused_range(inner)
    for network, reason in _REFUSED_RANGES:
        if address.version == network.version and address in network:
            return network, reason
    return None


def is_metadata(address: IPAddress) -> bool:
    inner = embedded_ipv4(address)
    return (inner or address) in METADATA_ADDRESSES


def refusal_for_address(policy: AddressPolicy, address: IPAddress, target: str) -> Refusal | None:
    """None when `policy` lets canonflow connect to `address` (reached by the name `target`)."""
    plain = embedded_ipv4(address) or address
    shown = str(address)
    if is_metadata(address):
        exact = any(n.num_addresses == 1 and plain in n for n in policy.allowed_networks)
        if exact:
            return None
        return Refusal(
            target,
            shown,
            "a cloud metadata address",
            f"it is refused in every mode; allow it only by naming it: {NETWORKS_SETTING}="
            f"{plain}/{plain.max_prefixlen}",
        )
    if not policy.production:
        return None
    found = refused_range(address)
    if found is None or _allowed_network(policy, plain) or _allowed_network(policy, address):
        return None
    network, reason = found
    remedy = f"allow it with {NETWORKS_SETTING}={network}"
    if target != shown:
        remedy += f" or {HOSTS_SETTING}={normalize_host(target)}"
    return Refusal(target, shown, reason, remedy)


def refusal_for_host(
    policy: AddressPolicy, host: str, addresses: Sequence[IPAddress]
) -> Refusal | None:
    """The first refusal among the addresses `host` resolves to (every one must pass)."""
    name = normalize_host(host)
    if name in METADATA_HOSTS and not policy.host_is_allowed(name):
        remedy = f"it is refused in every mode unless {HOSTS_SETTING} names it"
        return Refusal(name, "", "a cloud metadata service", remedy)
    host_allowed = policy.host_is_allowed(name)
    for address in addresses:
        if host_allowed and not is_metadata(address):
            continue
        refusal = refusal_for_address(policy, address, name)
        if refusal is not None:
            return refusal
    return None


def _allowed_network(policy: AddressPolicy, address: IPAddress) -> bool:
    return any(address.version == n.version and address in n for n in policy.allowed_networks)
