"""The egress settings as an operator writes them (comma-separated environment variables),
and the policy the runtime installs from them."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from pydantic import ValidationError

from canonflow import egress
from canonflow.config import Mode, Settings
from canonflow.egress import EgressPolicy, EgressRefused, repository_target
from canonflow.runtime import build_runtime


def test_comma_separated_networks_and_hosts_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CANONFLOW_ALLOWED_NETWORKS", "10.0.0.0/8, fd00::/8,192.168.1.5")
    monkeypatch.setenv("CANONFLOW_ALLOWED_HOSTS", "n8n.internal , Git.Corp.")
    monkeypatch.setenv("CANONFLOW_ALLOW_LOCAL_REPOSITORIES", "true")
    settings = Settings()
    assert settings.allowed_networks == [
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("fd00::/8"),
        ipaddress.ip_network("192.168.1.5/32"),
    ]
    assert settings.allowed_hosts == ["n8n.internal", "Git.Corp."]
    assert settings.allow_local_repositories is True
    policy = EgressPolicy.from_settings(settings)
    assert policy.addresses.allowed_hosts == {"n8n.internal", "git.corp"}


def test_empty_settings_allow_nothing_more(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CANONFLOW_ALLOWED_NETWORKS", "")
    settings = Settings()
    assert settings.allowed_networks == [] and settings.allowed_hosts == []
    assert settings.allow_local_repositories is False


def test_a_network_with_host_bits_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CANONFLOW_ALLOWED_NETWORKS", "10.0.0.1/8")
    with pytest.raises(ValidationError, match="allowed_networks"):
        Settings()


def test_the_runtime_installs_its_policy_and_restores_the_previous_one(tmp_path: Path) -> None:
    before = egress.current()
    settings = Settings(
        mode=Mode.PRODUCTION,
        secret_key="x" * 40,
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
    )
    runtime = build_runtime(settings)
    try:
        assert egress.current() is runtime.egress and runtime.egress.production
        with pytest.raises(EgressRefused, match="CANONFLOW_ALLOW_LOCAL_REPOSITORIES=true"):
            egress.current().check_target(repository_target(str(tmp_path / "repo.git")))
        with pytest.raises(EgressRefused, match="canonflow's own data"):
            egress.current().check_target(repository_target(str(tmp_path / "data" / "x")))
    finally:
        runtime.close()
    assert egress.current() is before
