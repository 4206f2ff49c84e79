"""The ``icrank`` command line.

Exit codes: 0 success; 1 internal error (a bug: please report it); 2 bad usage or
configuration; 3 unusable input; 4 output or previous-run location unusable; 5 Dask
cluster unreachable.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import TYPE_CHECKING, Any

import click
import numpy as np
import pandas as pd

from flows import __version__

if TYPE_CHECKING:
    from flows.config import Config

SYNTHETIC_NOTICE = (
    "Demo data are SYNTHETIC: random records placed around real GeoNames cities, not WIPO figures."
)
EXIT_CONFIG, EXIT_INPUT, EXIT_OUTPUT, EXIT_CLUSTER = 2, 3, 4, 5


class Failure(click.ClickException):
    """A user-facing failure: one line on stderr and a documented exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="icrank")
def main() -> None:
    """Open, scalable innovation cluster ranking on Dask."""


@main.command()
@click.option(
    "--input",
    "inputs",
    multiple=True,
    metavar="URL",
    help="Record table (Parquet/CSV file, folder or glob, any fsspec URL); repeatable. "
    "Default: the embedded SYNTHETIC demo world.",
)
@click.option(
    "--output",
    default="./output",
    show_default=True,
    metavar="URL",
    help="Parent folder; each run writes <output>/<run-id>/.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="YAML file overriding the defaults.",
)
@click.option("--scheduler", metavar="ADDRESS", help="Existing Dask scheduler (tcp://host:8786).")
@click.option("--workers", type=click.IntRange(min=1), help="Local worker processes.")
@click.option(
    "--top", type=click.IntRange(min=1), help="Clusters shown and aggregated (config: top)."
)
@click.option(
    "--previous",
    metavar="URL",
    help="Earlier run (its folder, or a parent: the newest complete run in it).",
)
@click.option("--quiet", is_flag=True, help="No progress bar or stage log.")
def run(
    inputs: tuple[str, ...],
    output: str,
    config_file: str | None,
    scheduler: str | None,
    workers: int | None,
    top: int | None,
    previous: str | None,
    quiet: bool,
) -> None:
    """Rank innovation clusters and publish the outputs."""
    from flows.config import ConfigError, load_config
    from flows.inputs import InputError
    from flows.publish import OutputError
    from flows.runtime import ClusterError

    _configure_logging(quiet)
    try:
        config = load_config(
            config_file, environ=os.environ, overrides={"top": top} if top else None
        )
    except ConfigError as exc:
        raise Failure(str(exc), EXIT_CONFIG) from None
    try:
        result = _run(config, inputs, output, scheduler, workers, previous, quiet)
    except ConfigError as exc:
        raise Failure(str(exc), EXIT_CONFIG) from None
    except InputError as exc:
        raise Failure(str(exc), EXIT_INPUT) from None
    except OutputError as exc:
        raise Failure(str(exc), EXIT_OUTPUT) from None
    except ClusterError as exc:
        raise Failure(str(exc), EXIT_CLUSTER) from None
    _print_result(result, top=min(10, config.top))


def _configure_logging(quiet: bool) -> None:
    # Only our logger: the stage lines. Dask's own loggers stay at their configured levels.
    log = logging.getLogger("icrank")
    handler = next((h for h in log.handlers if getattr(h, "_icrank", False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
        handler._icrank = True  # type: ignore[attr-defined]
        log.addHandler(handler)
    # Whatever stderr is now (a test runner or notebook may have replaced it since).
    handler.setStream(sys.stderr)
    log.setLevel(logging.WARNING if quiet else logging.INFO)


def _run(
    config: Config,
    inputs: tuple[str, ...],
    output: str,
    scheduler: str | None,
    workers: int | None,
    previous: str | None,
    quiet: bool,
) -> dict[str, Any]:
    from core.gazetteer import GAZETTEER_CREDIT, load_cities
    from core.records import NoUsableRecords
    from core.regions import known_economies
    from flows.inputs import (
        Geocoding,
        InputError,
        demo_records,
        input_fingerprints,
        read_records,
    )
    from flows.population import PopulationSourceError, open_population_grid
    from flows.publish import (
        check_output,
        find_previous_run,
        fingerprint,
        library_versions,
        new_run_id,
        publish_run,
        render_outputs,
    )
    from flows.rank import StageLog, rank_records
    from flows.runtime import dashboard_link, dask_client
    from flows.storage import options_for

    log = logging.getLogger("icrank")
    started = time.perf_counter()
    stages = StageLog()
    synthetic = not inputs
    parameters = config.redacted()
    check_output(output, storage_options=config.storage_options)
    with dask_client(scheduler, workers=workers) as client:
        link = dashboard_link(client)
        if link:
            click.echo(f"Dask dashboard: {link}", err=True)
        with stages("read+validate (plan)"):
            countries = known_economies()
            fingerprints: list[dict[str, Any]] = []
            geocoding = Geocoding.from_params(config.geocoding, config.storage_options)
            if synthetic:
                click.echo(SYNTHETIC_NOTICE, err=True)
                checked = demo_records(
                    scale=config.demo_scale,
                    seed=config.demo_seed,
                    rounding_deg=config.rounding_deg,
                    countries=countries,
                    geocoding=geocoding,
                )
            else:
                fingerprints = input_fingerprints(inputs, config.storage_options)
                checked = read_records(
                    inputs,
                    storage_options=config.storage_options,
                    rounding_deg=config.rounding_deg,
                    countries=countries,
                    geocoding=geocoding,
                )
        with stages("previous run"):
            earlier = (
                find_previous_run(previous, storage_options=config.storage_options)
                if previous
                else None
            )
            if previous and earlier is None:
                log.warning(
                    "no complete earlier run in %s: previous_rank and rank_change stay empty",
                    previous,
                )
            if earlier is not None and earlier.footprint_deg != config.footprint_deg:
                raise InputError(
                    f"previous run {earlier.run_id} used footprint-deg {earlier.footprint_deg}, "
                    f"this run {config.footprint_deg}: footprints cannot be matched"
                )

        def population() -> object:
            return open_population_grid(
                config.population_url,
                footprint_deg=config.footprint_deg,
                storage_options=options_for(config.population_url or "", config.storage_options),
                cities=load_cities(),
            )

        try:
            ranking = rank_records(
                checked,
                config,
                cities=load_cities,
                population=population,
                previous=earlier,
                stages=stages,
                progress=not quiet and sys.stderr.isatty(),
            )
        except (PopulationSourceError, NoUsableRecords) as exc:
            raise InputError(str(exc)) from None
    run_id = new_run_id(fingerprint({"inputs": fingerprints or inputs, "parameters": parameters}))
    ranking.summary = {
        "run_id": run_id,
        "synthetic": synthetic,
        "inputs": fingerprints or ["embedded demo world (synthetic)"],
        "previous_run": earlier.run_id if earlier else None,
        "parameters": parameters,
        **ranking.summary,
        "timings": stages.timings,
        "versions": library_versions(),
        "credits": GAZETTEER_CREDIT,
    }
    with stages("publish"):
        files = render_outputs(
            ranking,
            footprint_deg=config.footprint_deg,
            top=config.top,
            title="Innovation cluster ranking" + (" — SYNTHETIC demo world" if synthetic else ""),
        )
        folder = publish_run(
            files,
            output=output,
            run_id=run_id,
            storage_options=config.storage_options,
            parameters=parameters,
            inputs=fingerprints,
        )
    log.info("run %s finished in %.1f s", run_id, time.perf_counter() - started)
    return {"ranking": ranking, "folder": folder, "synthetic": synthetic}


def _print_result(result: dict[str, Any], *, top: int) -> None:
    from core.gazetteer import GAZETTEER_CREDIT

    ranking = result["ranking"]
    table = ranking.rankings.head(top)
    if result["synthetic"]:
        click.echo(SYNTHETIC_NOTICE)
    window = ranking.summary["window"]
    click.echo(
        f"Top {len(table)} of {len(ranking.rankings)} clusters, "
        f"{window['start_year']}–{window['end_year']} (score = sum of shares of world totals):"
    )
    for row in table.itertuples(index=False):
        change = "" if pd.isna(row.rank_change) else f"  ({int(row.rank_change):+d})"
        click.echo(f"{row.rank:>4}. {row.name} ({row.economies}) score {row.score:.4f}{change}")
    click.echo(f"Outputs: {result['folder']}")
    click.echo(GAZETTEER_CREDIT)


@main.command("geocode")
@click.option(
    "--input",
    "input_url",
    required=True,
    metavar="URL",
    help="Record file (Parquet or CSV) on any fsspec URL.",
)
@click.option(
    "--output",
    "output_url",
    required=True,
    metavar="URL",
    help="Where to write the geocoded file (.parquet or .csv).",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="YAML file overriding the defaults (storage-options).",
)
def geocode_command(input_url: str, output_url: str, config_file: str | None) -> None:
    """Geocode the rows of a record file that lack coordinates, offline (GeoNames)."""
    import fsspec

    from core.gazetteer import GAZETTEER_CREDIT
    from core.records import coordinates_missing
    from flows.config import ConfigError, load_config
    from flows.inputs import Geocoding, InputError, plan_pieces, read_piece
    from flows.storage import describe, options_for, storage_errors

    try:
        config = load_config(config_file, environ=os.environ)
    except ConfigError as exc:
        raise Failure(str(exc), EXIT_CONFIG) from None
    if not output_url.lower().endswith((".parquet", ".csv")):
        raise Failure(f"output {output_url}: must end with .parquet or .csv", EXIT_CONFIG)
    try:
        geocoder = Geocoding.from_params(config.geocoding, config.storage_options)
        pieces = plan_pieces([input_url], config.storage_options)
        frame = pd.concat(
            [read_piece(p, config.storage_options) for p in pieces], ignore_index=True
        )
    except InputError as exc:
        raise Failure(str(exc), EXIT_INPUT) from None
    except (ValueError, *storage_errors()) as exc:
        raise Failure(f"input {input_url}: {describe(exc)}", EXIT_INPUT) from None
    frame = frame.drop(columns=["file", "row"])
    lacking = coordinates_missing(frame)
    for column in ("lat", "lon"):
        given = frame[column] if column in frame else pd.Series(np.nan, index=frame.index)
        frame[column] = pd.to_numeric(given, errors="coerce").astype(np.float64)
    unreadable = ~lacking & (frame["lat"].isna() | frame["lon"].isna()).to_numpy()
    frame["geocode_method"] = pd.Series(np.where(lacking | unreadable, "", "given"), dtype=object)
    frame["geocode_score"] = np.where(lacking | unreadable, np.nan, 1.0)
    if lacking.any():
        columns = [c for c in ("city", "state", "country", "address") if c in frame]
        found = geocoder(frame.loc[lacking, columns])
        for column in ("lat", "lon", "geocode_method", "geocode_score", "country"):
            frame.loc[lacking, column] = found[column].to_numpy()
    try:
        with fsspec.open(output_url, "wb", **options_for(output_url, config.storage_options)) as fh:
            if output_url.lower().endswith(".parquet"):
                frame.to_parquet(fh, index=False)
            else:
                fh.write(frame.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    except storage_errors() as exc:
        raise Failure(f"cannot write output {output_url}: {describe(exc)}", EXIT_OUTPUT) from None
    counts = frame.loc[lacking, "geocode_method"].value_counts()
    click.echo(
        f"{int(lacking.sum()):,} of {len(frame):,} rows geocoded: "
        + ", ".join(f"{m} {n:,}" for m, n in counts.items())
    )
    if unreadable.any():
        click.echo(
            f"{int(unreadable.sum()):,} rows have coordinates that are not numbers: "
            "written as empty, not geocoded",
            err=True,
        )
    click.echo(f"Output: {output_url}")
    click.echo(GAZETTEER_CREDIT)


@main.command("demo-data")
@click.option("--output", required=True, metavar="DIR", help="Folder to write the input files to.")
@click.option(
    "--scale",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Size of the world (1.0 = about 700k rows).",
)
@click.option("--seed", default=2025, show_default=True, type=click.IntRange(min=0))
@click.option(
    "--format", "fmt", type=click.Choice(["parquet", "csv"]), default="parquet", show_default=True
)
def demo_data(output: str, scale: float, seed: int, fmt: str) -> None:
    """Write the SYNTHETIC demo world's record files, one per source, to see the input format."""
    import fsspec
    from fsspec.implementations.local import LocalFileSystem

    from core.demo_world import DEMO_SOURCES, generate_demo_world
    from core.gazetteer import load_cities
    from flows.storage import describe, storage_errors

    world = generate_demo_world(load_cities(), scale=scale, seed=seed)
    try:
        fs, root = fsspec.core.url_to_fs(output)
        if isinstance(fs, LocalFileSystem):  # object stores have no folders to make
            fs.makedirs(root, exist_ok=True)
        for source in DEMO_SOURCES:
            part = world[world["source"] == source].reset_index(drop=True)
            path = f"{root.rstrip('/')}/{source}.{fmt}"
            with fs.open(path, "wb") as fh:
                if fmt == "parquet":
                    part.to_parquet(fh, index=False, row_group_size=250_000)
                else:
                    fh.write(part.to_csv(index=False, lineterminator="\n").encode("utf-8"))
            click.echo(f"{fs.unstrip_protocol(path)}: {len(part):,} rows")
    except storage_errors() as exc:
        raise Failure(f"cannot write demo data to {output}: {describe(exc)}", EXIT_OUTPUT) from None
    click.echo(SYNTHETIC_NOTICE)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
