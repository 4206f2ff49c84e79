"""The Dask side of a run: a local cluster or an existing scheduler, and the dashboard link."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from flows.errors import ClusterError, ResourceError, UserError
from flows.types import StageLog

CONNECT_TIMEOUT_S = 15
# Dask sets MALLOC_TRIM_THRESHOLD_ in its workers to hand freed memory back to the system
# at once. Setting it also freezes glibc's mmap threshold at 128 KiB, so every column of a
# 250k-row partition becomes a fresh mmap that the kernel zeroes page by page. glibc's
# adaptive default reuses that memory instead: on 10M records (benchmarks/flow_scale.py)
# the workers' kernel time fell from 4.8 s to 1.5 s each and aggregation from 13.0 to 9.0 s.
WORKER_CONFIG = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


@contextmanager
def dask_client(
    scheduler: str | None = None, *, workers: int | None = None, worker_memory: int | None = None
) -> Iterator[object]:
    """A ``distributed.Client`` for the run, closed afterwards.

    Parameters
    ----------
    scheduler : str, optional
        Address of an existing scheduler (``tcp://host:8786``); otherwise a local
        cluster of worker processes is started and stopped with the run.
    workers : int, optional
        Local worker processes (default: the machine's cores, at most 8).
    worker_memory : int, optional
        Bytes per local worker: Dask spills to disk from 60 %, pauses at 80 % and restarts
        the worker at 95 % of it. Default: an equal share of the machine's memory.
    """
    import dask
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
        dask.config.set(WORKER_CONFIG),
        LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            memory_limit=worker_memory or "auto",
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


@contextmanager
def computing_on(
    client: object | None,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    worker_memory: int | None = None,
) -> Iterator[object]:
    """The client a run computes on, made current for the run.

    ``client`` if given; else the active Dask client, if there is one; else a client of
    ``scheduler``, or of a local cluster of ``workers`` processes, closed afterwards.
    """
    if client is None:
        try:
            from distributed import default_client

            client = default_client()
        except ValueError:
            with dask_client(scheduler, workers=workers, worker_memory=worker_memory) as started:
                yield started
            return
    with client.as_current():  # type: ignore[attr-defined]
        yield client


def _scheduler_address(client: object) -> str:
    scheduler = getattr(client, "scheduler", None)
    return str(getattr(scheduler, "address", None) or "(unknown address)")


@contextmanager
def cluster_failures(client: object, stages: StageLog) -> Iterator[None]:
    """Turn what a cluster does to a run into one-line errors naming the stage.

    A lost scheduler (the client's futures cancelled for ``scheduler-connection-lost``, or
    any failure once the client is no longer running) is a :class:`ClusterError` (exit 5: a
    scheduled job's next attempt may find it back); tasks that killed their workers every
    time (``KilledWorker``) are a :class:`ResourceError` (exit 6: the same resources would
    fail again).
    """
    from distributed.client import FutureCancelledError
    from distributed.scheduler import KilledWorker

    try:
        yield
    except UserError:
        raise
    except KilledWorker as exc:
        from dask.utils import key_split

        raise ResourceError(
            f"stage {stages.current or 'unknown'}: tasks {key_split(exc.task)} killed "
            f"{exc.allowed_failures + 1} workers (KilledWorker, most often out of memory); "
            "give each worker more memory (--worker-memory, dask: worker-memory) or read "
            "smaller pieces (read-piece-mib)"
        ) from None
    except Exception as exc:
        lost = isinstance(exc, FutureCancelledError) and exc.reason == "scheduler-connection-lost"
        if not lost and getattr(client, "status", "running") == "running":
            raise
        raise ClusterError(
            f"lost the Dask scheduler {_scheduler_address(client)} during stage "
            f"{stages.current or 'unknown'}; nothing was published"
        ) from None
