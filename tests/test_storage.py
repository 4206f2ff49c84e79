"""Inputs and outputs on object storage, against a real S3-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import fsspec
import pytest

from flows.publish import find_previous_run
from flows.storage import StorageTarget
from tests.support import SCALE, free_port, invoke


def s3fs():
    return fsspec.filesystem("s3", skip_instance_cache=True)


def run_folders(fs, parent: str) -> list[str]:
    return sorted(d for d in fs.ls(parent, refresh=True) if fs.isdir(d))


@pytest.fixture
def buckets(s3):
    fs = s3fs()
    fs.mkdir("inputs")
    fs.mkdir("rankings")
    result = invoke("demo-data", "--output", "s3://inputs/demo", "--scale", SCALE)
    assert result.exit_code == 0, result.output
    return fs


@pytest.mark.slow
def test_inputs_and_outputs_on_s3_with_byte_identical_reruns(buckets, tmp_path):
    fs = buckets
    # Credentials also given as storage options: they must never be written out.
    env = {"ICRANK__STORAGE_OPTIONS": '{"key": "testing", "secret": "testing-secret"}'}
    args = ["run", "--input", "s3://inputs/demo", "--output", "s3://rankings/runs"]
    first = invoke(*args, "--workers", "1", env=env)
    assert first.exit_code == 0, first.output
    second = invoke(*args, "--workers", "2", env=env)
    assert second.exit_code == 0, second.output
    runs = run_folders(fs, "rankings/runs")
    assert len(runs) == 2
    for name in ("rankings.csv", "rankings.parquet"):
        assert fs.cat(f"{runs[0]}/{name}") == fs.cat(f"{runs[1]}/{name}")
    manifest = json.loads(fs.cat(f"{runs[0]}/manifest.json"))
    listed = {f["name"]: f["bytes"] for f in manifest["files"]}
    assert {n: fs.size(f"{runs[0]}/{n}") for n in listed} == listed
    assert sorted(i["url"] for i in manifest["inputs"]) == [
        f"s3://inputs/demo/{s}.parquet" for s in ("patent", "publication", "vc")
    ]
    assert all(i["bytes"] > 0 and i["version"] for i in manifest["inputs"])
    for name in ("manifest.json", "summary.json", "report.html"):
        assert b"testing-secret" not in fs.cat(f"{runs[0]}/{name}")
    assert "testing-secret" not in first.output
    # The same inputs read from local disk rank identically.
    local = tmp_path / "demo"
    fs.get("inputs/demo/", str(local), recursive=True)
    out = tmp_path / "out"
    result = invoke("run", "--input", str(local), "--output", str(out), "--workers", "1")
    assert result.exit_code == 0, result.output
    (folder,) = list(out.iterdir())
    assert (folder / "rankings.csv").read_bytes() == fs.cat(f"{runs[0]}/rankings.csv")


@pytest.mark.slow
def test_interrupted_run_is_incomplete_and_the_next_run_publishes(buckets):
    fs = buckets
    env = {
        **os.environ,
        "ICRANK__DEMO__SCALE": SCALE,
        "ICRANK_TEST_PAUSE_MANIFEST": "120",
    }
    cmd = [sys.executable, "-m", "flows.cli", "run", "--output", "s3://rankings/runs"]
    proc = subprocess.Popen(
        [*cmd, "--workers", "1", "--quiet"],
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        written = []
        while time.monotonic() < deadline and proc.poll() is None:
            written = [f for f in fs.find("rankings/runs", refresh=True) if "summary.json" in f]
            if written:
                break
            time.sleep(0.5)
        assert written, proc.communicate(timeout=5)[0].decode()[-2000:]
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    (folder,) = run_folders(fs, "rankings/runs")
    fs.invalidate_cache()  # listings cached while the run was writing
    assert fs.exists(f"{folder}/rankings.csv") and not fs.exists(f"{folder}/manifest.json")
    assert find_previous_run(StorageTarget("s3://rankings/runs")) is None

    result = invoke(
        "run",
        "--output",
        "s3://rankings/runs",
        "--workers",
        "1",
        env={"ICRANK__DEMO__SCALE": SCALE},
    )
    assert result.exit_code == 0, result.output
    previous = find_previous_run(StorageTarget("s3://rankings/runs"))
    assert previous.run_id != folder.rsplit("/", 1)[-1]
    assert fs.exists(f"rankings/runs/{previous.run_id}/manifest.json")


def one_line_failure(result, code: int, *needles: str) -> None:
    assert result.exit_code == code, result.output
    last = result.output.strip().splitlines()[-1]
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in last, last


def test_missing_bucket_and_missing_input(buckets):
    result = invoke("run", "--input", "s3://inputs/demo/none.parquet")
    one_line_failure(result, 3, "s3://inputs/demo/none.parquet", "no such file")
    result = invoke("run", "--input", "s3://no-such-bucket/x.parquet")
    one_line_failure(result, 3, "no-such-bucket")
    env = {"ICRANK__DEMO__SCALE": SCALE}
    result = invoke("run", "--output", "s3://no-such-bucket/runs", "--workers", "1", env=env)
    one_line_failure(result, 4, "s3://no-such-bucket/runs", "not found")


def test_unreachable_endpoint_fails_within_bounds(buckets, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    fsspec.filesystem("s3").clear_instance_cache()
    start = time.monotonic()
    result = invoke("run", "--input", "s3://inputs/demo")
    one_line_failure(result, 3, "s3://inputs/demo", "endpoint unreachable")
    assert time.monotonic() - start < 60


def test_access_denied(buckets, monkeypatch):
    import moto.settings

    # The server runs in this process: make it check credentials from now on.
    monkeypatch.setattr(moto.settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
    fsspec.filesystem("s3").clear_instance_cache()
    result = invoke("run", "--input", "s3://inputs/demo")
    one_line_failure(result, 3, "s3://inputs/demo", "access denied")


def test_storage_target_joins_writes_and_reads_on_any_filesystem(tmp_path):
    import pandas as pd

    for root in (str(tmp_path / "out"), "memory://icrank-target-test/out"):
        target = StorageTarget(root)
        target.makedirs()
        run = target.join("run-1")
        run.makedirs()
        frame = pd.DataFrame({"a": [1, 2], "b": ["x", "NA"]})
        data = run.write_table("t.parquet", frame)
        run.write_table("t.csv", frame)
        assert run.exists("t.parquet") and not run.exists("missing")
        assert run.url_of("t.csv").endswith("/out/run-1/t.csv")
        with run.open("t.parquet") as fh:
            assert fh.read() == data
            fh.seek(0)
            pd.testing.assert_frame_equal(pd.read_parquet(fh), frame)
        with run.open("t.csv", "rt") as fh:
            assert fh.read() == "a,b\n1,x\n2,NA\n"
        assert run.fs is target.fs  # one filesystem instance for the whole folder


def test_table_bytes_are_deterministic_and_refuse_unknown_suffixes():
    import pandas as pd

    from flows.storage import table_bytes

    frame = pd.DataFrame({"a": [1.5, None], "b": ["x", "y"]})
    assert table_bytes(frame, "x.parquet") == table_bytes(frame.copy(), "x.parquet")
    assert table_bytes(frame, "x.csv") == b"a,b\n1.5,x\n,y\n"
    with pytest.raises(ValueError, match=r"\.parquet or \.csv"):
        table_bytes(frame, "x.xlsx")


def test_parts_with_and_without_text_in_a_column_read_as_one_dataset(tmp_path):
    import pandas as pd

    from flows.storage import table_bytes

    (tmp_path / "a.parquet").write_bytes(table_bytes(pd.DataFrame({"c": [None]}), "a.parquet"))
    (tmp_path / "b.parquet").write_bytes(table_bytes(pd.DataFrame({"c": ["x"]}), "b.parquet"))
    values = pd.read_parquet(tmp_path)["c"]
    assert values.isna().sum() == 1 and values.dropna().tolist() == ["x"]


def test_s3_targets_get_bounded_timeouts_unless_set():
    target = StorageTarget("s3://bucket/x", {"config_kwargs": {"read_timeout": 5}})
    options = target.fs.storage_options["config_kwargs"]
    assert options["read_timeout"] == 5 and options["connect_timeout"] == 5
    assert options["retries"]["max_attempts"] == 3
