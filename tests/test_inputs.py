"""Reading record files (flows.inputs): every route and format, rows that need geocoding.

The rows are real research organisations from ROR (tests/data/ror_sample.csv): their city,
subdivision and country as ROR writes them, and ROR's coordinates as the truth.
"""

from __future__ import annotations

import json
from pathlib import Path

import fsspec
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from core.regions import known_economies
from flows.cli import main
from flows.inputs import (
    Geocoding,
    InputError,
    ReadSettings,
    demo_records,
    plan_pieces,
    read_records,
)
from tests.support import km

ROR = Path(__file__).parent / "data" / "ror_sample.csv"
# Every way an export says "no coordinate"; each row of the text files carries one.
MISSING_FORMS = ["", "  ", "NA", "NaN", "NULL", "null", "None", "#N/A", "n/a", "nan"]
N_ROWS = 60


def ror_rows() -> pd.DataFrame:
    ror = pd.read_csv(ROR, dtype=str, keep_default_na=False).head(N_ROWS)
    return pd.DataFrame(
        {
            "source": "publication",
            "doc_id": ror["ror_id"],
            "year": "2024",
            "country": ror["country"],
            "state": ror["subdivision"],
            "city": ror["city"],
            "true_lat": ror["lat"].astype(float),
            "true_lon": ror["lon"].astype(float),
        }
    )


def with_text_coordinates(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows 0-4 keep ROR's coordinates, row 5 has unreadable ones, the rest one missing form."""
    lat = [MISSING_FORMS[i % len(MISSING_FORMS)] for i in range(len(rows))]
    lon = list(lat)
    for i in range(5):
        lat[i], lon[i] = str(rows["true_lat"].iloc[i]), str(rows["true_lon"].iloc[i])
    lat[5], lon[5] = "48.85 N", "2.35 E"
    return rows.assign(lat=lat, lon=lon)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """One folder per format: the rows split over files with text, typed and no coordinates."""
    rows = ror_rows()
    text = with_text_coordinates(rows).drop(columns=["true_lat", "true_lon"])
    first, second, third = text.iloc[:20], text.iloc[20:40], text.iloc[40:]
    out = {}
    csv = tmp_path_factory.mktemp("csv")
    first.to_csv(csv / "a_text.csv", index=False)
    pd.concat([second, third]).drop(columns=["lat", "lon"]).to_csv(csv / "b_none.csv", index=False)
    out["csv"] = csv
    parquet = tmp_path_factory.mktemp("parquet")
    first.to_parquet(parquet / "a_text.parquet", index=False)
    typed = second.assign(
        lat=pd.to_numeric(second["lat"], errors="coerce"),
        lon=pd.to_numeric(second["lon"], errors="coerce"),
    )
    typed.loc[typed.index[::2], "lat"] = None
    typed.to_parquet(parquet / "b_typed.parquet", index=False)
    third.drop(columns=["lat", "lon"]).to_parquet(parquet / "c_none.parquet", index=False)
    out["parquet"] = parquet
    return out


def check_rows(checked: pd.DataFrame, n_expected: int) -> None:
    truth = ror_rows().set_index("doc_id")
    assert len(checked) == n_expected
    checked = checked.set_index("doc_id")
    truth = truth.loc[checked.index]
    bad = checked["reason"] == "bad coordinates"
    given = (checked["geocode_method"] == "given") & ~bad
    # The rows with readable coordinates keep them; the unreadable pair is a bad coordinate.
    assert np.allclose(checked.loc[given, "lat"], truth.loc[given, "true_lat"])
    assert (checked.loc[bad, "value"] == "48.85 N,2.35 E").all()
    assert (checked.loc[bad, "geocode_method"] == "given").all()
    geocoded = ~given & ~bad
    assert not checked.loc[geocoded, "geocode_method"].isin(["", "given"]).any()
    placed = geocoded & checked["lat"].notna().to_numpy()
    dist = km(
        checked.loc[placed, "lat"],
        checked.loc[placed, "lon"],
        truth.loc[placed, "true_lat"],
        truth.loc[placed, "true_lon"],
    )
    # The route must not lose the text the geocoder needs: most rows land at ROR's place.
    assert (dist <= 10).sum() >= 0.85 * geocoded.sum(), checked.loc[geocoded].assign(km=dist)


def read(urls: list[str]) -> pd.DataFrame:
    settings = ReadSettings(rounding_deg=0.01, countries=known_economies())
    frame = read_records(urls, settings=settings, storage_options={}).compute()
    return frame


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("route", ["file", "folder", "glob"])
def test_rows_without_coordinates_are_geocoded_on_every_local_route(files, fmt, route):
    folder = files[fmt]
    if route == "file":
        (path,) = folder.glob(f"a_text.{fmt}")
        check_rows(read([str(path)]), 20)
    elif route == "folder":
        check_rows(read([str(folder)]), N_ROWS)
    else:
        check_rows(read([f"{folder}/*.{fmt}"]), N_ROWS)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_rows_without_coordinates_are_geocoded_from_s3(files, fmt, s3):
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    fs.mkdir("records")
    for path in files[fmt].iterdir():
        fs.put(str(path), f"records/{fmt}/{path.name}")
    check_rows(read([f"s3://records/{fmt}/"]), N_ROWS)
    check_rows(read([f"s3://records/{fmt}/*.{fmt}"]), N_ROWS)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("present", ["lat", "lon"])
def test_one_coordinate_column_without_the_other_is_a_one_line_error(tmp_path, fmt, present):
    frame = ror_rows().drop(columns=["true_lon"]).rename(columns={"true_lat": present})
    path = tmp_path / f"records.{fmt}"
    getattr(frame, f"to_{fmt}")(path, index=False)
    other = "lon" if present == "lat" else "lat"
    with pytest.raises(InputError, match=f"missing column '{other}'") as caught:
        plan_pieces([str(path)], {})
    assert "\n" not in str(caught.value)
    result = CliRunner().invoke(main, ["run", "--input", str(path), "--output", str(tmp_path)])
    assert result.exit_code == 3
    assert f"missing column '{other}'" in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_run_and_geocode_commands_place_rows_without_coordinates(files, fmt, tmp_path):
    runner = CliRunner()
    out = tmp_path / "out"
    result = runner.invoke(
        main, ["run", "--input", str(files[fmt]), "--output", str(out), "--workers", "1"]
    )
    assert result.exit_code == 0, result.output
    (folder,) = list(out.iterdir())
    summary = json.loads((folder / "summary.json").read_text())
    counts = summary["counts"]
    assert counts["rows_read"] == N_ROWS
    assert counts["rejected_by_reason"].get("bad coordinates") == 1
    geocoding = summary["geocoding"]["per_source"]["publication"]
    assert geocoding["rows_to_geocode"] == N_ROWS - 6
    assert geocoding["match_rate"] > 0.85
    assert summary["counts"]["clusters"] > 0

    target = tmp_path / f"geocoded.{fmt}"
    result = runner.invoke(main, ["geocode", "--input", str(files[fmt]), "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert f"{N_ROWS - 6:,} of {N_ROWS:,} rows geocoded" in result.output
    frame = pd.read_csv(target) if fmt == "csv" else pd.read_parquet(target)
    assert len(frame) == N_ROWS
    assert frame["lat"].dtype == np.float64
    methods = frame["geocode_method"].fillna("")
    assert (methods == "given").sum() == 5
    assert (methods == "").sum() == 1  # the unreadable pair, reported, not geocoded
    assert "not numbers" in result.output


def test_csv_rows_wider_than_their_header_are_an_error_not_a_shift(tmp_path):
    path = tmp_path / "rounds.csv"
    path.write_text("source,doc_id,year,city\nvc,d1,2020,Boston,\nvc,d2,2020,Austin,\n")
    with pytest.raises(InputError, match="more fields than the header"):
        plan_pieces([str(path)], {})


@pytest.mark.parametrize("geocoding", [True, False])
def test_demo_records_follow_the_geocoding_setting(geocoding):
    import dask

    settings = ReadSettings(
        rounding_deg=0.01, countries=known_economies(), geocoding=Geocoding(enabled=geocoding)
    )
    checked = demo_records(settings=settings, scale=0.02, seed=2025)
    with dask.config.set(scheduler="sync"):
        frame = checked.compute()
    text_rows = frame[frame["lat"].isna() | frame["geocode_method"].astype(str).ne("given")]
    assert len(text_rows) > 0
    not_geocoded = (text_rows["reason"].astype(str) == "not geocoded").mean()
    assert not_geocoded == (0.0 if geocoding else 1.0)
