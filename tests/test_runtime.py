"""Where a run computes (flows.runtime): a given client, the active one, or a local cluster."""

from __future__ import annotations

import logging
import re
import socket
from urllib.parse import urlparse

import pytest
from distributed import Client, LocalCluster, default_client

from flows import runtime
from flows.errors import ClusterError
from flows.runtime import computing_on, dashboard_link
from tests.support import free_port


@pytest.fixture
def cluster():
    """An in-process cluster: fast, for the tests where processes do not matter."""
    with LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        dashboard_address="127.0.0.1:0",
        silence_logs=logging.ERROR,
    ) as local:
        yield local


def _no_default_client() -> bool:
    try:
        default_client()
    except ValueError:
        return True
    return False


def _answers(address: str) -> bool:
    """Whether something accepts TCP connections at a ``tcp://host:port`` address."""
    parsed = urlparse(address)
    try:
        with socket.create_connection((parsed.hostname, parsed.port), timeout=2):
            return True
    except OSError:
        return False


def test_a_given_client_is_used_made_current_and_left_open(cluster):
    with Client(cluster, set_as_default=False) as client:
        assert _no_default_client()
        with computing_on(client, scheduler="tcp://127.0.0.1:1", workers=3) as used:
            assert used is client
            assert default_client() is client
            assert client.submit(sum, [1, 2, 3]).result() == 6
        assert client.status == "running"
        assert _no_default_client()
        assert client.submit(sum, [4, 5]).result() == 9


def test_the_active_default_client_is_used_and_left_open(cluster):
    with Client(cluster) as client:
        with computing_on(None) as used:
            assert used is client
            assert default_client() is client
        assert client.status == "running"
        assert default_client() is client


@pytest.mark.slow
def test_without_a_client_a_local_cluster_is_started_and_closed_afterwards():
    assert _no_default_client()
    with computing_on(None, workers=1) as client:
        address = client.scheduler.address
        assert client.status == "running"
        assert len(client.scheduler_info()["workers"]) == 1
        assert default_client() is client
        assert client.submit(sum, [1, 2]).result() == 3
        assert _answers(address)
        # Local runs serve the dashboard to this machine only.
        assert dashboard_link(client).startswith("http://127.0.0.1:")
    assert client.status == "closed"
    assert not _answers(address)
    assert _no_default_client()


def test_an_unreachable_scheduler_is_a_cluster_error_naming_it(monkeypatch):
    monkeypatch.setattr(runtime, "CONNECT_TIMEOUT_S", 2)
    address = f"tcp://127.0.0.1:{free_port()}"
    assert _no_default_client()
    with pytest.raises(ClusterError) as failure, computing_on(None, scheduler=address):
        pytest.fail("connected to a scheduler that is not there")
    assert failure.value.exit_code == 5
    assert address in str(failure.value)
    assert "\n" not in str(failure.value)


def test_dashboard_link_of_a_client_and_of_an_object_without_one(cluster):
    with Client(cluster, set_as_default=False) as client:
        link = dashboard_link(client)
        assert link is not None
        assert re.fullmatch(r"http://[^/]+:\d+/status", link)
        assert link == client.dashboard_link
    assert dashboard_link(object()) is None
