"""The Dask side of a run: a local cluster or an existing scheduler, and the dashboard link."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

CONNECT_TIMEOUT_S = 15


class ClusterError(RuntimeError):
    """The Dask cluster cannot be reached or started; the message is one line."""


@contextmanager
def dask_client(scheduler: str | None = None, *, workers: int | None = None) -> Iterator[object]:
    """A ``distributed.Client`` for the run, closed afterwards.

    Parameters
    ----------
    scheduler : str, optional
        Address of an existing scheduler (``tcp://host:8786``); otherwise a local
        cluster of worker processes is started and stopped with the run.
    workers : int, optional
        Local worker processes (default: the machine's cores, at most 8).
    """
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"cannot reach Dask scheduler {scheduler}: {exc}") from None
        try:
            yield client
        finally:
            client.close()
        return
    n = workers or min(os.cpu_count() or 1, 8)
    # One thread per process: pandas stages hold the GIL, processes run them in parallel.
    with (
        LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            silence_logs=logging.ERROR,
            # Local runs serve the dashboard to this machine only.
            dashboard_address="127.0.0.1:8787",
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def dashboard_link(client: object) -> str | None:
    """The dashboard URL of ``client``'s scheduler, if it serves one."""
    return getattr(client, "dashboard_link", None)
