"""Publishing a run (flows.publish): run ids, fingerprints, the manifest, and earlier runs."""

from __future__ import annotations

import hashlib
import io
import json
import re
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import fsspec
import numpy as np
import pandas as pd
import pytest

from flows import publish
from flows.errors import OutputError
from flows.publish import (
    MANIFEST,
    check_output,
    find_previous_run,
    fingerprint,
    library_versions,
    new_run_id,
    publish_run,
    render_outputs,
)
from flows.storage import StorageTarget, table_bytes
from flows.types import Ranking
from tests.support import PNG_MAGIC, ranking_table

RUN_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{8}")
FILES = {"a.txt": b"first file\n", "b.bin": bytes(range(256)), "empty.csv": b""}


# ------------------------------------------------------------------------------------------
# Run ids, fingerprints, versions
# ------------------------------------------------------------------------------------------


def test_run_id_has_the_documented_format_and_takes_its_suffix_from_the_fingerprint():
    digest = fingerprint({"a": 1})
    now = datetime(2025, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    assert new_run_id(digest, now=now) == f"20250304T050607Z-{digest[:8]}"
    assert RUN_ID.fullmatch(new_run_id(digest))


def test_run_ids_sort_by_start_time():
    start = datetime(2024, 12, 31, 23, 59, 58, tzinfo=timezone.utc)
    times = [start + timedelta(seconds=s) for s in (0, 1, 2, 3600, 86400 * 40)]
    # Suffixes in reverse order: the time stamp decides, not the fingerprint.
    digests = ["f" * 64, "e" * 64, "0" * 64, "9" * 64, "1" * 64]
    ids = [new_run_id(d, now=t) for d, t in zip(digests, times, strict=True)]
    assert sorted(ids) == ids
    assert len(set(ids)) == len(ids)


def test_fingerprint_is_stable_under_key_order_and_differs_with_content():
    a = fingerprint({"x": 1, "y": {"b": [1, 2], "a": "s"}})
    b = fingerprint({"y": {"a": "s", "b": [1, 2]}, "x": 1})
    assert a == b
    assert re.fullmatch(r"[0-9a-f]{64}", a)
    assert fingerprint({"x": 2, "y": {"b": [1, 2], "a": "s"}}) != a
    assert fingerprint({"x": 1, "y": {"b": [2, 1], "a": "s"}}) != a
    assert fingerprint({"x": 1}) != fingerprint({"y": 1})


def test_library_versions_name_python_and_each_package(monkeypatch):
    monkeypatch.setattr(publish, "VERSIONED_PACKAGES", ("pandas", "no-such-package-icrank"))
    versions = library_versions()
    assert list(versions) == ["python", "pandas", "no-such-package-icrank"]
    assert re.fullmatch(r"3\.\d+\.\d+.*", versions["python"])
    assert versions["pandas"] == pd.__version__
    assert versions["no-such-package-icrank"] == "not installed"


# ------------------------------------------------------------------------------------------
# publish_run
# ------------------------------------------------------------------------------------------


@pytest.fixture
def memory_root():
    """A fresh folder on fsspec's in-memory filesystem, removed afterwards."""
    fs = fsspec.filesystem("memory")
    root = f"/icrank-test-{uuid.uuid4().hex}"
    yield f"memory://{root}"
    if fs.exists(root):
        fs.rm(root, recursive=True)


@pytest.fixture(params=["local", "memory"])
def output(request, tmp_path):
    if request.param == "local":
        return StorageTarget(str(tmp_path / "runs"))
    return StorageTarget(request.getfixturevalue("memory_root"))


def test_publish_run_writes_every_file_then_a_manifest_describing_them(output, monkeypatch):
    written: list[str] = []
    real_write = StorageTarget.write_bytes

    def recording_write(self, name, data):
        written.append(name)
        real_write(self, name, data)

    monkeypatch.setattr(StorageTarget, "write_bytes", recording_write)
    parameters = {"footprint-deg": 0.05, "top": 10}
    inputs = [{"url": "file:///in/patent.parquet", "bytes": 3, "version": "v1"}]
    url = publish_run(FILES, output=output, run_id="run-1", parameters=parameters, inputs=inputs)

    folder = output.join("run-1")
    assert url == folder.url_of()
    assert written == [*FILES, MANIFEST]
    for name, data in FILES.items():
        with folder.open(name) as fh:
            assert fh.read() == data
    with folder.open(MANIFEST) as fh:
        manifest = json.load(fh)
    assert manifest["run_id"] == "run-1"
    assert manifest["parameters"] == parameters
    assert manifest["inputs"] == inputs
    assert [f["name"] for f in manifest["files"]] == list(FILES)
    for entry in manifest["files"]:
        data = FILES[entry["name"]]
        assert entry["bytes"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()


def test_a_failed_manifest_write_leaves_the_files_but_no_manifest(output, monkeypatch):
    real_write = StorageTarget.write_bytes

    def failing_manifest(self, name, data):
        if name == MANIFEST:
            raise PermissionError("simulated: manifest not writable")
        real_write(self, name, data)

    monkeypatch.setattr(StorageTarget, "write_bytes", failing_manifest)
    with pytest.raises(OutputError, match="access denied") as failure:
        publish_run(FILES, output=output, run_id="run-1", parameters={}, inputs=[])
    assert "\n" not in str(failure.value)
    folder = output.join("run-1")
    assert all(folder.exists(name) for name in FILES)
    assert not folder.exists(MANIFEST)
    # The incomplete run is not an earlier run.
    assert find_previous_run(output) is None


# ------------------------------------------------------------------------------------------
# check_output
# ------------------------------------------------------------------------------------------


def test_check_output_creates_a_local_folder(tmp_path):
    folder = tmp_path / "new" / "nested" / "runs"
    check_output(StorageTarget(str(folder)))
    assert folder.is_dir()
    check_output(StorageTarget(str(folder)))  # an existing folder is fine too


def test_check_output_under_an_existing_file_fails_with_one_line(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    target = StorageTarget(str(blocker / "runs"))
    with pytest.raises(OutputError) as failure:
        check_output(target)
    message = str(failure.value)
    assert message.startswith(f"cannot write output {target.url}")
    assert "\n" not in message
    assert failure.value.exit_code == 4
    assert blocker.read_text() == "not a folder"


# ------------------------------------------------------------------------------------------
# find_previous_run
# ------------------------------------------------------------------------------------------


def _rankings(ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"rank": np.arange(1, len(ids) + 1, dtype=np.int64), "cluster_id": ids})


def _footprints(ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cluster_id": ids,
            "cell_lat": np.arange(len(ids), dtype=np.int64),
            "cell_lon": np.arange(len(ids), dtype=np.int64) + 10,
        }
    )


def _write_run(parent: StorageTarget, run_id: str, ids: list[str], *, footprint_deg=0.05):
    files = {
        "rankings.parquet": table_bytes(_rankings(ids), "rankings.parquet"),
        "footprints.parquet": table_bytes(_footprints(ids), "footprints.parquet"),
    }
    parameters = {"footprint-deg": footprint_deg}
    publish_run(files, output=parent, run_id=run_id, parameters=parameters, inputs=[])


def test_a_folder_holding_a_manifest_is_itself_the_run(tmp_path):
    parent = StorageTarget(str(tmp_path))
    _write_run(parent, "20240101T000000Z-aaaaaaaa", ["x", "y"], footprint_deg=0.1)
    previous = find_previous_run(parent.join("20240101T000000Z-aaaaaaaa"))
    assert previous is not None
    assert previous.run_id == "20240101T000000Z-aaaaaaaa"
    assert previous.footprint_deg == 0.1
    pd.testing.assert_frame_equal(previous.rankings, _rankings(["x", "y"]))
    pd.testing.assert_frame_equal(previous.footprints, _footprints(["x", "y"]))


@pytest.mark.parametrize("kind", ["local", "memory"])
def test_a_parent_gives_its_newest_complete_run(kind, tmp_path, request):
    if kind == "local":
        parent = StorageTarget(str(tmp_path / "runs"))
    else:
        parent = StorageTarget(request.getfixturevalue("memory_root"))
    _write_run(parent, "20240101T000000Z-aaaaaaaa", ["old"])
    _write_run(parent, "20250101T000000Z-bbbbbbbb", ["new"])
    # Newer, but incomplete (no manifest): skipped.
    incomplete = parent.join("20260101T000000Z-cccccccc")
    incomplete.makedirs()
    incomplete.write_bytes("rankings.parquet", b"partial")
    if kind == "local":
        Path(parent.path("20270101T000000Z-dddddddd")).mkdir()  # newer and empty
    previous = find_previous_run(parent)
    assert previous is not None
    assert previous.run_id == "20250101T000000Z-bbbbbbbb"
    assert previous.rankings["cluster_id"].tolist() == ["new"]
    assert previous.footprint_deg == 0.05


def test_an_empty_or_missing_parent_has_no_previous_run(tmp_path):
    (tmp_path / "empty").mkdir()
    assert find_previous_run(StorageTarget(str(tmp_path / "empty"))) is None
    assert find_previous_run(StorageTarget(str(tmp_path / "missing"))) is None
    only_incomplete = tmp_path / "incomplete"
    (only_incomplete / "20250101T000000Z-bbbbbbbb").mkdir(parents=True)
    assert find_previous_run(StorageTarget(str(only_incomplete))) is None


def test_a_run_with_a_corrupt_rankings_file_is_an_output_error(tmp_path):
    parent = StorageTarget(str(tmp_path))
    _write_run(parent, "20250101T000000Z-bbbbbbbb", ["x"])
    (tmp_path / "20250101T000000Z-bbbbbbbb" / "rankings.parquet").write_bytes(b"not parquet")
    for location in (parent, parent.join("20250101T000000Z-bbbbbbbb")):
        with pytest.raises(OutputError, match="unreadable") as failure:
            find_previous_run(location)
        assert str(failure.value).startswith(f"previous run {location.url}: ")
        assert "\n" not in str(failure.value)


# ------------------------------------------------------------------------------------------
# render_outputs
# ------------------------------------------------------------------------------------------


def _ranking() -> Ranking:
    rankings = ranking_table(4)
    footprints = pd.DataFrame(
        {
            "cluster_id": ["c0", "c0", "c1", "c2", "c3"],
            "cell_lat": np.array([2511, 2511, 2251, 2550, 2546], dtype=np.int64),
            "cell_lon": np.array([6393, 6394, 5882, 6140, 1162], dtype=np.int64),
        }
    )
    locations = pd.DataFrame(
        {
            "lat": [35.6, 35.7, 22.6, 37.5, 37.3, 10.0],
            "lon": [139.7, 139.8, 114.1, 127.0, -121.9, 10.0],
            "activity": [3.0, 1.0, 2.0, 1.5, 1.0, 1.0],
            "cluster_id": ["c0", "c0", "c1", "c2", "c3", None],
        }
    )
    noise = pd.DataFrame(
        {
            "lat": [10.0],
            "lon": [10.0],
            "records": [5],
            "patents": [1.0],
            "publications": [3.0],
            "vc_deals": [1.0],
        }
    )
    economies = pd.DataFrame(
        {
            "economy": ["JP", "CN", "KR", "US"],
            "world_region": ["Asia", "Asia", "Asia", "Northern America"],
            "clusters": [1, 1, 1, 1],
            "leading_cluster": [
                "Tokyo–Yokohama",
                "Shenzhen–Hong Kong–Guangzhou",
                "Seoul",
                "San Jose",
            ],
            "leading_rank": [1, 2, 3, 4],
        }
    )
    rejects = pd.DataFrame({"source": ["patent"], "reason": ["bad_coordinates"], "row": [3]})
    summary = {
        "run_id": "20250101T000000Z-bbbbbbbb",
        "synthetic": True,
        "parameters": {"footprint-deg": 0.05},
        "timings": {"read": 1.25},
        "versions": {"pandas": pd.__version__},
    }
    return Ranking(rankings, footprints, locations, noise, economies, rejects, summary)


@pytest.fixture(scope="module")
def rendered() -> dict[str, bytes]:
    return render_outputs(_ranking(), footprint_deg=0.05, top=10, title="Test clusters")


def test_render_outputs_lists_tables_first_then_map_report_and_summary(rendered):
    names = list(rendered)
    assert set(names) == {
        "rankings.parquet",
        "rankings.csv",
        "profiles.parquet",
        "profiles.csv",
        "clusters.geojson",
        "footprints.parquet",
        "noise.parquet",
        "economies.csv",
        "rejects.parquet",
        "map.png",
        "report.html",
        "summary.json",
    }
    assert names[-3:] == ["map.png", "report.html", "summary.json"]
    assert all(n.endswith((".parquet", ".csv", ".geojson")) for n in names[:-3])
    assert MANIFEST not in names
    assert all(isinstance(data, bytes) and data for data in rendered.values())
    assert rendered["map.png"].startswith(PNG_MAGIC)
    assert b"Tokyo" in rendered["report.html"]
    assert json.loads(rendered["summary.json"]) == _ranking().summary
    geojson = json.loads(rendered["clusters.geojson"])
    assert [f["id"] for f in geojson["features"]] == ["c0", "c1", "c2", "c3"]


def test_rankings_csv_and_parquet_hold_the_same_rows(rendered):
    expected = _ranking().rankings
    from_parquet = pd.read_parquet(io.BytesIO(rendered["rankings.parquet"]))
    from_csv = pd.read_csv(io.BytesIO(rendered["rankings.csv"]))
    pd.testing.assert_frame_equal(from_parquet, expected)
    assert list(from_csv.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(from_csv, from_parquet, check_dtype=False)


def test_render_outputs_is_deterministic(rendered):
    again = render_outputs(_ranking(), footprint_deg=0.05, top=10, title="Test clusters")
    assert list(again) == list(rendered)
    for name, data in rendered.items():
        assert again[name] == data, name
