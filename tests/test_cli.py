"""The ``icrank`` commands end to end, on local Dask clusters of worker processes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import flows.inputs
from tests.support import SCALE, invoke, only_run


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    result = invoke("demo-data", "--output", str(folder), "--scale", SCALE)
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" in result.output
    return folder


@pytest.fixture(scope="module")
def embedded_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("embedded")
    result = invoke(
        "run", "--output", str(out), "--workers", "2", env={"ICRANK__DEMO__SCALE": SCALE}
    )
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" in result.output
    assert "Outputs:" in result.output
    return only_run(out)


def test_demo_data_writes_contract_files(demo_files):
    names = sorted(p.name for p in demo_files.iterdir())
    assert names == ["patent.parquet", "publication.parquet", "vc.parquet"]
    frame = pd.read_parquet(demo_files / "patent.parquet")
    assert {"source", "doc_id", "year", "lat", "lon", "country"} <= set(frame.columns)
    assert set(frame["source"]) == {"patent"}


@pytest.mark.slow
def test_run_publishes_every_output(embedded_run):
    names = {p.name for p in embedded_run.iterdir()}
    assert {
        "rankings.parquet",
        "rankings.csv",
        "profiles.csv",
        "clusters.geojson",
        "noise.parquet",
        "economies.csv",
        "rejects.parquet",
        "summary.json",
        "map.png",
        "report.html",
        "manifest.json",
    } <= names
    summary = json.loads((embedded_run / "summary.json").read_text())
    assert summary["synthetic"] is True
    assert "GeoNames" in summary["credits"]
    assert {"clustering", "overlay", "measures"} <= set(summary["timings"])
    report = (embedded_run / "report.html").read_text()
    assert "synthetic" in report.lower() and "GeoNames" in report
    # The demo world's address-only rows were geocoded on the workers, and reported.
    geocoding = summary["geocoding"]["per_source"]
    assert sum(g["rows_to_geocode"] for g in geocoding.values()) > 0
    assert all(g["match_rate"] > 0.9 for g in geocoding.values())
    assert "match_rate" in report
    manifest = json.loads((embedded_run / "manifest.json").read_text())
    listed = {f["name"]: f["bytes"] for f in manifest["files"]}
    assert all((embedded_run / n).stat().st_size == b for n, b in listed.items())
    rankings = pd.read_parquet(embedded_run / "rankings.parquet")
    assert list(rankings["rank"]) == list(range(1, len(rankings) + 1))
    assert rankings["cluster_id"].is_unique


@pytest.mark.slow
def test_rankings_identical_for_workers_partitions_and_input_route(
    demo_files, embedded_run, tmp_path, monkeypatch
):
    """Files read in small partitions by one worker rank exactly like the embedded world."""
    # Small row groups, so that the files are read in many partitions.
    small = tmp_path / "small"
    small.mkdir()
    for path in demo_files.iterdir():
        pd.read_parquet(path).to_parquet(small / path.name, row_group_size=1_000)
    monkeypatch.setattr(flows.inputs, "ROWS_PER_PARTITION", 2_000)
    assert len(flows.inputs.plan_pieces([str(small)], {})) > 6
    out = tmp_path / "files"
    result = invoke("run", "--input", str(small), "--output", str(out), "--workers", "1")
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" not in result.output
    expected = (embedded_run / "rankings.csv").read_bytes()
    assert (only_run(out) / "rankings.csv").read_bytes() == expected


@pytest.mark.slow
def test_previous_run_gives_rank_changes(embedded_run, tmp_path):
    out = tmp_path / "again"
    result = invoke(
        "run",
        "--output",
        str(out),
        "--workers",
        "1",
        "--previous",
        str(embedded_run.parent),
        env={"ICRANK__DEMO__SCALE": SCALE},
    )
    assert result.exit_code == 0, result.output
    rankings = pd.read_parquet(only_run(out) / "rankings.parquet")
    assert (rankings["previous_rank"] == rankings["rank"]).all()
    assert (rankings["rank_change"] == 0).all()
    assert not rankings["new_entrant"].any()


def test_missing_column_is_a_one_line_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("source,year,lat,lon,country\npatent,2024,1.0,2.0,FR\n")
    result = invoke("run", "--input", str(bad), "--output", str(tmp_path / "out"))
    assert result.exit_code == 3
    assert "missing required column 'doc_id'" in result.output
    assert "Traceback" not in result.output


def test_missing_input_and_bad_config_exit_codes(tmp_path):
    result = invoke("run", "--input", str(tmp_path / "nope.parquet"))
    assert result.exit_code == 3 and "no such file" in result.output
    result = invoke("run", env={"ICRANK__TOP": "-4"})
    assert result.exit_code == 2 and "top" in result.output
    result = invoke("run", env={"ICRANK__SOURCES__PATENT__EPS": "3"})
    assert result.exit_code == 2 and "unknown key" in result.output


@pytest.mark.slow
def test_population_grid_from_a_netcdf_url(tmp_path):
    import numpy as np
    import xarray as xr

    # 1000 inhabitants per 0.05° cell (the footprint grid) over East Asia, none elsewhere.
    lat = np.arange(0.025, 60, 0.05)
    lon = np.arange(100.025, 150, 0.05)
    grid = xr.DataArray(
        np.full((lat.size, lon.size), 1000.0),
        coords={"lat": lat, "lon": lon},
        dims=("lat", "lon"),
        name="population",
    )
    path = tmp_path / "pop.nc"
    grid.to_netcdf(path, engine="scipy")
    out = tmp_path / "out"
    env = {"ICRANK__DEMO__SCALE": SCALE, "ICRANK__POPULATION_URL": str(path)}
    result = invoke("run", "--output", str(out), "--workers", "1", env=env)
    assert result.exit_code == 0, result.output
    rankings = pd.read_parquet(only_run(out) / "rankings.parquet").set_index("cluster_id")
    cells = pd.read_parquet(only_run(out) / "footprints.parquet")
    cell_lat = -90 + (cells["cell_lat"] + 0.5) * 0.05
    cell_lon = -180 + (cells["cell_lon"] + 0.5) * 0.05
    inside = (cell_lat > 0) & (cell_lat < 60) & (cell_lon > 100) & (cell_lon < 150)
    expected = (inside * 1000.0).groupby(cells["cluster_id"]).sum()
    assert expected.max() > 0 and (expected == 0).any()
    assert np.allclose(rankings["population"].reindex(expected.index), expected)

    env["ICRANK__POPULATION_URL"] = str(tmp_path / "none.nc")
    bad = invoke("run", "--output", str(out), "--workers", "1", env=env)
    assert bad.exit_code == 3 and "none.nc" in bad.output


def test_rejects_from_a_file_keep_their_text_fields(tmp_path):
    lines = ["source,doc_id,year,lat,lon,country,city,state,address"]
    lines += [f"patent,p{i},2024,45.76,4.84,FR,Lyon,ARA,1 rue X" for i in range(12)]
    # No coordinates and no findable place in its region (ARA, Auvergne-Rhône-Alpes by its
    # ISO 3166-2 code): placed at the region only, which is rejected.
    lines += ["patent,q,2024,,,FR,Qxqxq,ARA,2 Qyqyq", "vc,v,20x4,45.76,4.84,FR,Lyon,,"]
    path = tmp_path / "records.csv"
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    result = invoke("run", "--input", str(path), "--output", str(out), "--workers", "1")
    assert result.exit_code == 0, result.output
    rejects = pd.read_parquet(only_run(out) / "rejects.parquet")
    assert list(rejects["reason"]) == ["state only", "bad year"]
    assert list(rejects["geocode_method"]) == ["state", "given"]
    assert list(rejects["row"]) == [12, 13]
    assert list(rejects["address"]) == ["2 Qyqyq", ""]
    assert list(rejects["value"])[1] == "20x4"
    assert list(rejects["city"]) == ["Qxqxq", "Lyon"] and set(rejects["file"]) == {"records.csv"}


def test_geocode_command_places_text_rows(tmp_path):
    lines = ["source,doc_id,year,lat,lon,country,city,state,address"]
    lines += [
        "patent,a,2024,,,FR,Lyon,,",
        "patent,b,2024,,,DE,München,,",
        "patent,c,2024,,,JP,,,100-0001 Tokyo",
        "patent,d,2024,10.5,20.5,FR,Nowhere,,",
        "patent,e,2024,,,FR,Qxqxqxq,,",
    ]
    path = tmp_path / "records.csv"
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "geocoded.parquet"
    result = invoke("geocode", "--input", str(path), "--output", str(out))
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out).set_index("doc_id")
    assert abs(frame.loc["a", "lat"] - 45.75) < 0.1 and abs(frame.loc["a", "lon"] - 4.85) < 0.1
    assert abs(frame.loc["b", "lat"] - 48.14) < 0.1
    assert frame.loc["d", "geocode_method"] == "given" and frame.loc["d", "lat"] == 10.5
    assert frame.loc["e", "geocode_method"] == "country"
    assert set(frame["geocode_method"]) <= {"given", "exact", "alternate", "address", "country"}
    bad = invoke("geocode", "--input", str(tmp_path / "none.csv"), "--output", str(out))
    assert bad.exit_code == 3


@pytest.mark.parametrize("env", [{}, {"ICRANK__WINDOW__END_YEAR": "2024"}])
def test_every_row_rejected_exits_3_naming_the_leading_reason(tmp_path, env):
    lines = ["source,doc_id,year,country,state,city,lat,lon"]
    lines += [f"vc,d{i},2014,USA,CA,Qzxqzx{i},," for i in range(9)] + ["vc,x,20x4,US,,,1,1"]
    path = tmp_path / "rounds.csv"
    path.write_text("\n".join(lines) + "\n")
    result = invoke("run", "--input", str(path), "--output", str(tmp_path / "o"), env=env)
    assert result.exit_code == 3, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: no usable records: all 10 rows were rejected: ")
    assert "bad year 1 (10.0%)" in last and "Traceback" not in result.output
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_aliases_ambiguity_and_the_strings_that_need_attention(tmp_path):
    lines = ["source,doc_id,year,country,state,city"]
    lines += [f"vc,r{i},2024,US,NC,Research Triangle Park" for i in range(4)]
    lines += [f"vc,a{i},2024,US,,Arlington" for i in range(3)]
    lines += [f"vc,m{i},2024,US,CA,Mt View" for i in range(30)]
    lines += ["vc,q,2024,US,MA,Qzxqzx"]
    records = tmp_path / "deals.csv"
    records.write_text("\n".join(lines) + "\n")
    aliases = tmp_path / "aliases.csv"
    aliases.write_text(
        "name,country,state,lat,lon,place\nResearch Triangle Park,US,NC,35.90,-78.86,\n"
    )
    config = tmp_path / "config.yaml"
    config.write_text(
        f"geocoding:\n  aliases-url: {aliases}\n  reject-ambiguous: true\n"
        "warn-rejected-share: 0.5\n"
    )
    out = tmp_path / "out"
    result = invoke("run", "--input", str(records), "--output", str(out), "--config", str(config))
    assert result.exit_code == 0, result.output
    folder = only_run(out)
    summary = json.loads((folder / "summary.json").read_text())
    geocoding = summary["geocoding"]
    assert geocoding["per_source"]["vc"]["by_method"]["alias"] == 4
    assert geocoding["per_source"]["vc"]["ambiguous_rows"] == 3
    assert geocoding["most_frequent_ambiguous"] == [
        {"text": "Arlington, US", "rows": 3, "method": "ambiguous"}
    ]
    assert geocoding["most_frequent_unmatched"] == [
        {"text": "Qzxqzx, MA, US", "rows": 1, "method": "state"}
    ]
    rejects = pd.read_parquet(folder / "rejects.parquet")
    assert sorted(rejects["reason"]) == ["ambiguous place"] * 3 + ["state only"]
    # a bad alias table stops the run with one line
    aliases.write_text("name,country,state,lat,lon\nSomewhere,US,Atlantis,1,2\n")
    result = invoke("run", "--input", str(records), "--output", str(out), "--config", str(config))
    assert result.exit_code == 3
    assert "aliases" in result.output and "unknown state 'Atlantis' of US" in result.output


def test_an_unreachable_scheduler_exits_5_with_one_line(monkeypatch, tmp_path):
    import flows.runtime
    from tests.support import free_port

    monkeypatch.setattr(flows.runtime, "CONNECT_TIMEOUT_S", 2)
    address = f"tcp://127.0.0.1:{free_port()}"
    result = invoke("run", "--scheduler", address, "--output", str(tmp_path))
    assert result.exit_code == 5, result.output
    last = result.output.strip().splitlines()[-1]
    assert address in last and "Traceback" not in result.output
    assert not any(p.is_dir() for p in tmp_path.iterdir())  # nothing published


@pytest.mark.slow
def test_tasks_that_keep_killing_their_workers_end_in_one_line_naming_the_stage(tmp_path):
    # 250 MB is less than a worker needs to load the gazetteer: the nanny restarts it each
    # time, until the scheduler gives the task up (KilledWorker).
    result = invoke(
        "run",
        "--workers",
        "1",
        "--worker-memory",
        "250MB",
        "--output",
        str(tmp_path),
        "--quiet",
        env={"ICRANK__DEMO__SCALE": SCALE},
    )
    assert result.exit_code == 6, result.output
    last = result.output.strip().splitlines()[-1]
    assert "Traceback" not in result.output
    assert last.startswith("Error: stage read+weights+rounding: tasks icrank-demo killed")
    assert "KilledWorker" in last and "--worker-memory" in last
    assert not list(tmp_path.rglob("manifest.json"))


def test_a_worker_memory_that_is_no_size_is_a_usage_error(tmp_path):
    result = invoke("run", "--worker-memory", "lots", "--output", str(tmp_path))
    assert result.exit_code == 2, result.output
    assert "dask.worker-memory" in result.output.strip().splitlines()[-1]
