"""``icrank run`` on a real Dask cluster: a scheduler and workers in their own processes.

Everything listens on 127.0.0.1 only. The clusters are started with ``python -m
distributed.cli.dask_scheduler`` / ``dask_worker`` of the running interpreter (no console
script needed) and import this checkout's code, like the test process does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import Result
from dask.utils import key_split
from distributed import Client

import flows.inputs
from flows.runtime import dask_client
from tests.support import SCALE, KillOnceIn, free_port, invoke, only_run

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 60
RUN_TIMEOUT_S = 180
HTTP_TIMEOUT_S = 10
PAUSE = "ICRANK_TEST_PAUSE_READ"
# Demo files rewritten with small row groups, read in partitions of two row groups: the
# tiny world becomes 9 read tasks instead of 3 (one row group per file).
ROW_GROUP_ROWS = 1_000
ROWS_PER_PARTITION = 2_000


def wait_for(
    check: Callable[[], Any], *, what: str, timeout: float, details: Callable[[], str] = str
) -> Any:
    """``check()``'s first truthy value, polled until ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{details()}")
        time.sleep(0.05)


def http_get(url: str) -> tuple[int, str, str]:
    """Status, content type and body of ``url``, bypassing any proxy settings."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=HTTP_TIMEOUT_S) as response:
            body = response.read().decode("utf-8", "replace")
            return response.status, response.headers.get("Content-Type", ""), body
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode("utf-8", "replace")


def metric_values(text: str) -> dict[str, float]:
    """Sample (name with labels) -> value of a Prometheus text exposition."""
    samples = (line.rsplit(" ", 1) for line in text.splitlines() if line and line[0] != "#")
    return {name: float(value) for name, value in samples}


class DaskCluster:
    """A ``dask scheduler`` and named ``dask worker`` processes, each in its own process group.

    Every process writes its output to a log file; :meth:`tails` shows their last lines.
    """

    def __init__(self, logs: Path, *, workers: int = 2, worker_env: dict[str, str] | None = None):
        self.logs = logs
        self.names = [f"w{i}" for i in range(workers)]
        self.worker_env = worker_env or {}
        self.procs: dict[str, subprocess.Popen] = {}
        self.killed: set[str] = set()
        self.client: Client | None = None
        self.address = self.dashboard = ""

    # -- processes ------------------------------------------------------------------------

    def _env(self, extra: dict[str, str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ICRANK_TEST_PAUSE_")}
        # Tasks unpickle functions of this checkout, whether or not it is installed.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        env.update(extra)
        return env

    def _spawn(self, name: str, args: list[str], extra_env: dict[str, str]) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        with open(self.logs / f"{name}.log", "wb") as log:
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", *args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env(extra_env),
                cwd=self.logs,
                start_new_session=True,  # its own process group: the nanny and its worker
            )

    def tails(self, lines: int = 25) -> str:
        out = []
        for name, proc in self.procs.items():
            path = self.logs / f"{name}.log"
            text = path.read_text(errors="replace").splitlines() if path.exists() else []
            out.append(f"--- {name} (pid {proc.pid}, exit {proc.poll()}) last {lines} lines ---")
            out.extend(text[-lines:])
        return "\n".join(out)

    def start(self) -> DaskCluster:
        for attempt in range(3):  # a free port can be taken before the scheduler binds it
            port, dashboard = free_port(), free_port()
            self.address = f"tcp://127.0.0.1:{port}"
            self.dashboard = f"http://127.0.0.1:{dashboard}"
            self._spawn(
                f"scheduler-{attempt}",
                [
                    "distributed.cli.dask_scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--dashboard-address",
                    f"127.0.0.1:{dashboard}",
                    # Safety net if this test process dies without tearing down.
                    "--idle-timeout",
                    "600s",
                ],
                {},
            )
            scheduler = self.procs[f"scheduler-{attempt}"]
            if (
                wait_for(
                    lambda p=port, s=scheduler: s.poll() is not None or _listening(p),
                    what="the scheduler's port",
                    timeout=START_TIMEOUT_S,
                    details=self.tails,
                )
                and scheduler.poll() is None
            ):
                break
        else:
            raise RuntimeError(f"dask scheduler did not start\n{self.tails()}")
        for name in self.names:
            self.start_worker(name)
        self.client = Client(self.address, timeout=f"{START_TIMEOUT_S}s", set_as_default=False)
        try:
            self.client.wait_for_workers(len(self.names), timeout=START_TIMEOUT_S)
        except TimeoutError:
            raise RuntimeError(
                f"{len(self.names)} workers did not connect in {START_TIMEOUT_S} s\n{self.tails()}"
            ) from None
        return self

    def start_worker(self, name: str) -> None:
        self._spawn(
            name,
            [
                "distributed.cli.dask_worker",
                self.address,
                "--name",
                name,
                "--nthreads",
                "1",
                "--host",
                "127.0.0.1",
                "--memory-limit",
                "2GB",
                "--no-dashboard",
                "--death-timeout",
                "60s",
            ],
            self.worker_env,
        )

    def kill(self, name: str) -> None:
        """SIGKILL the process group of ``name``: the nanny and its worker die at once."""
        proc = self.procs[name]
        self.killed.add(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        _wait_group_gone(proc.pid, timeout=10)

    def stop(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.close(timeout=10)
        _stop_groups(list(self.procs.values()))
        unexpected = [
            name
            for name, proc in self.procs.items()
            if name not in self.killed and proc.returncode not in (0, -signal.SIGTERM)
        ]
        if unexpected:
            print(f"processes ended badly: {unexpected}\n{self.tails()}", file=sys.__stderr__)

    # -- scheduler state ----------------------------------------------------------------

    def worker_names(self) -> dict[str, str]:
        """Address -> name of every worker the scheduler knows."""
        workers = self.client.scheduler_info(n_workers=-1)["workers"]
        return {address: str(info["name"]) for address, info in workers.items()}

    def processing(self) -> dict[str, list[Any]]:
        """Name -> keys processing on that worker, for workers with any."""
        names = self.worker_names()
        return {names.get(a, a): list(keys) for a, keys in self.client.processing().items() if keys}

    def task_prefixes(self) -> list[str]:
        return self.client.run_on_scheduler(
            lambda dask_scheduler: sorted(dask_scheduler.task_prefixes)
        )

    @contextlib.contextmanager
    def logs_on_failure(self) -> Iterator[None]:
        try:
            yield
        except BaseException:
            # To the real stderr: a run in a thread may hold CliRunner's sys.stderr.
            print(f"\n{self.tails()}", file=sys.__stderr__, flush=True)
            raise


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait_group_gone(pgid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _group_alive(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _stop_groups(procs: list[subprocess.Popen], timeout: float = 15) -> None:
    """SIGTERM every process group at once, SIGKILL what is left after ``timeout`` seconds."""
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in procs:
        # The leader may be gone while children (the nanny's worker) linger: check the group.
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        if not _wait_group_gone(proc.pid, timeout=max(0.1, deadline - time.monotonic())):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            _wait_group_gone(proc.pid, timeout=10)


class BackgroundRun:
    """``icrank <args>`` invoked in-process in a thread, so the test can watch the cluster."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.result: Result | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._target, args=(args, env), daemon=True)
        self.thread.start()

    def _target(self, args: tuple[str, ...], env: dict[str, str] | None) -> None:
        try:
            self.result = invoke(*args, env=env)
        except BaseException as exc:  # re-raised in the test's thread by join()
            self.error = exc

    def running(self) -> bool:
        return self.thread.is_alive()

    def join(self, timeout: float = RUN_TIMEOUT_S, *, exit_code: int = 0) -> Result:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"icrank run still going after {timeout} s"
        if self.error is not None:
            raise self.error
        assert self.result is not None
        assert self.result.exit_code == exit_code, self.result.output
        return self.result


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[DaskCluster]:
    """A scheduler and two single-thread workers, shared by the module; no pauses."""
    dask_cluster = DaskCluster(tmp_path_factory.mktemp("cluster-logs"))
    try:
        yield dask_cluster.start()
    finally:
        dask_cluster.stop()


@pytest.fixture
def make_cluster(tmp_path) -> Iterator[Callable[..., DaskCluster]]:
    """Fresh clusters for one test (for worker environments, or to break them)."""
    started: list[DaskCluster] = []

    def make(**kwargs: Any) -> DaskCluster:
        dask_cluster = DaskCluster(tmp_path / f"cluster-{len(started)}-logs", **kwargs)
        started.append(dask_cluster)
        return dask_cluster.start()

    try:
        yield make
    finally:
        for dask_cluster in started:
            dask_cluster.stop()


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> bytes:
    """``rankings.csv`` of the tiny demo world ranked on a local cluster of 2 workers."""
    out = tmp_path_factory.mktemp("reference")
    result = invoke(
        "run", "--output", str(out), "--workers", "2", env={"ICRANK__DEMO__SCALE": SCALE}
    )
    assert result.exit_code == 0, result.output
    return (only_run(out) / "rankings.csv").read_bytes()


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory) -> Path:
    """The tiny demo world as Parquet files with small row groups (many partitions)."""
    raw = tmp_path_factory.mktemp("demo-raw")
    result = invoke("demo-data", "--output", str(raw), "--scale", SCALE)
    assert result.exit_code == 0, result.output
    folder = tmp_path_factory.mktemp("demo-files")
    for path in sorted(raw.glob("*.parquet")):
        pq.write_table(pq.read_table(path), folder / path.name, row_group_size=ROW_GROUP_ROWS)
    return folder


def test_local_workers_start_without_dasks_malloc_trim_threshold(monkeypatch):
    # Whatever this process inherited: what is tested is what Dask's nanny would add.
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    with dask_client(workers=1) as client:
        environ = client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_", "unset"))
        threads = client.run(lambda: os.environ.get("OMP_NUM_THREADS"))
    assert list(environ.values()) == ["unset"]
    assert list(threads.values()) == ["1"]  # Dask's other worker settings stay


@pytest.mark.slow
def test_existing_scheduler_ranks_like_a_local_cluster(cluster, reference, tmp_path):
    with cluster.logs_on_failure():
        out = tmp_path / "out"
        result = invoke(
            "run",
            "--scheduler",
            cluster.address,
            "--output",
            str(out),
            env={"ICRANK__DEMO__SCALE": SCALE},
        )
        assert result.exit_code == 0, result.output
        # The run used the existing cluster, not a local one of its own.
        assert f"Dask dashboard: {cluster.dashboard}/status" in result.stderr
        assert "icrank-demo" in cluster.task_prefixes()
        assert (only_run(out) / "rankings.csv").read_bytes() == reference
        assert sorted(cluster.worker_names().values()) == ["w0", "w1"]


@pytest.mark.slow
def test_run_survives_a_worker_killed_mid_read(
    make_cluster, reference, demo_files, tmp_path, monkeypatch
):
    monkeypatch.setattr(flows.inputs, "ROWS_PER_PARTITION", ROWS_PER_PARTITION)
    pieces = flows.inputs.plan_pieces([str(demo_files)], {})
    assert len(pieces) >= 8, pieces
    # Every read task takes at least a second: workers hold read tasks for a while.
    dask_cluster = make_cluster(worker_env={PAUSE: "1.0"})
    with dask_cluster.logs_on_failure():
        out = tmp_path / "out"
        run = BackgroundRun(
            "run",
            "--input",
            str(demo_files),
            "--scheduler",
            dask_cluster.address,
            "--output",
            str(out),
            "--quiet",
        )

        def reads_processing() -> dict[str, list[Any]]:
            return {
                name: keys
                for name, keys in dask_cluster.processing().items()
                if any(key_split(k) == "icrank-read" for k in keys)
            }

        holding = wait_for(
            lambda: reads_processing() or not run.running(),
            what="a worker processing read tasks",
            timeout=RUN_TIMEOUT_S,
            details=dask_cluster.tails,
        )
        assert run.running(), "the run ended before any read task was seen processing"
        victim = sorted(holding)[0]
        dask_cluster.kill(victim)
        assert holding[victim], f"{victim} held no tasks"
        survivor = next(n for n in dask_cluster.names if n != victim)

        assert dask_cluster.procs[victim].returncode == -signal.SIGKILL
        assert run.running(), "the run finished before the worker was killed"
        wait_for(
            lambda: set(dask_cluster.worker_names().values()) == {survivor},
            what=f"the scheduler to drop {victim}",
            timeout=30,
            details=dask_cluster.tails,
        )
        result = run.join()
        assert (only_run(out) / "rankings.csv").read_bytes() == reference, result.output
        assert dask_cluster.procs[survivor].poll() is None


@pytest.mark.slow
def test_dashboard_metrics_and_stage_names_during_a_run(make_cluster, tmp_path):
    # The single demo chunk takes at least 3 s: time to look at the dashboard mid-run.
    dask_cluster = make_cluster(worker_env={PAUSE: "3"})
    with dask_cluster.logs_on_failure():
        status, _, body = http_get(f"{dask_cluster.dashboard}/health")
        assert (status, body.strip()) == (200, "ok")
        out = tmp_path / "out"
        run = BackgroundRun(
            "run",
            "--scheduler",
            dask_cluster.address,
            "--output",
            str(out),
            env={"ICRANK__DEMO__SCALE": SCALE},
        )
        wait_for(
            lambda: dask_cluster.processing() or not run.running(),
            what="tasks processing",
            timeout=RUN_TIMEOUT_S,
            details=dask_cluster.tails,
        )
        assert run.running(), "the run ended before any task was seen processing"

        status, kind, page = http_get(f"{dask_cluster.dashboard}/status")
        assert status == 200 and "text/html" in kind, (status, kind, page[:500])
        assert "<html" in page.lower()
        status, kind, metrics = http_get(f"{dask_cluster.dashboard}/metrics")
        assert status == 200 and kind.startswith("text/plain"), (status, kind, metrics[:500])
        values = metric_values(metrics)
        assert values["dask_scheduler_clients"] >= 2, metrics  # the run's and ours
        # The demo chunk is running now, and the metrics say so.
        assert values['dask_scheduler_tasks{state="processing"}'] >= 1, metrics
        assert run.running(), "the dashboard was only read after the run"

        result = run.join()
        link = f"{dask_cluster.dashboard}/status"
        assert f"Dask dashboard: {link}\n" in result.stderr
        assert "Dask dashboard" not in result.stdout

        prefixes = set(dask_cluster.task_prefixes())
        assert {
            "icrank-demo",
            "icrank-rejects",
            "icrank-sum-locations",
            "icrank-sum-stats",
            "geodbscan-kernel",
            "geodbscan-stitch",
        } <= prefixes, sorted(prefixes)


@pytest.mark.slow
def test_a_run_whose_scheduler_dies_exits_5_in_one_line_and_the_next_run_publishes(
    make_cluster, tmp_path
):
    # The demo chunk takes at least 3 s: time to kill the scheduler while it is computed.
    dask_cluster = make_cluster(worker_env={PAUSE: "3"})
    out = tmp_path / "out"
    with dask_cluster.logs_on_failure():
        run = BackgroundRun(
            "run",
            "--scheduler",
            dask_cluster.address,
            "--output",
            str(out),
            "--quiet",
            env={"ICRANK__DEMO__SCALE": SCALE},
        )
        wait_for(
            lambda: dask_cluster.processing() or not run.running(),
            what="tasks processing",
            timeout=RUN_TIMEOUT_S,
            details=dask_cluster.tails,
        )
        assert run.running(), "the run ended before any task was seen processing"
        scheduler = next(name for name in dask_cluster.procs if name.startswith("scheduler"))
        dask_cluster.kill(scheduler)
        started = time.monotonic()
        result = run.join(timeout=120, exit_code=5)
    assert "Traceback" not in result.output
    last = result.output.strip().splitlines()[-1]
    assert f"lost the Dask scheduler {dask_cluster.address}" in last, result.output
    assert "nothing was published" in last
    assert time.monotonic() - started < 60
    # Nothing that looks complete is left: no manifest, no scratch folder.
    assert not list(out.rglob("manifest.json")) and not list(out.glob(".icrank-scratch*"))

    # The scheduled job's next run, on a scheduler that is back, publishes normally.
    again = make_cluster()
    result = invoke(
        "run",
        "--scheduler",
        again.address,
        "--output",
        str(out),
        "--quiet",
        env={"ICRANK__DEMO__SCALE": SCALE},
    )
    assert result.exit_code == 0, result.output
    assert (only_run(out) / "manifest.json").exists()


# Stage -> the key prefix of its tasks. The read is covered by
# test_run_survives_a_worker_killed_mid_read (a worker killed with its nanny, for good).
KILL_STAGES = {
    "shuffle": "shuffle",
    "clustering kernel": "geodbscan-kernel",
    "stitch": "geodbscan-stitch",
}


@pytest.mark.slow
@pytest.mark.parametrize("stage", list(KILL_STAGES))
def test_a_worker_killed_during_each_stage_leaves_the_rankings_byte_identical(
    cluster, reference, tmp_path, stage
):
    marker = tmp_path / "killed"
    plugin = KillOnceIn(KILL_STAGES[stage], str(marker))
    name = f"kill-once-{stage}"
    cluster.client.register_plugin(plugin, name=name)
    try:
        with cluster.logs_on_failure():
            out = tmp_path / "out"
            result = invoke(
                "run",
                "--scheduler",
                cluster.address,
                "--output",
                str(out),
                "--quiet",
                env={"ICRANK__DEMO__SCALE": SCALE},
            )
            assert result.exit_code == 0, result.output
            assert marker.exists(), f"no {KILL_STAGES[stage]} task ran"
            assert (only_run(out) / "rankings.csv").read_bytes() == reference
    finally:
        cluster.client.unregister_worker_plugin(name)
        cluster.client.wait_for_workers(2, timeout=60)
