"""The ``icrank`` command line.

Exit codes: 0 success; 1 internal error (a bug: please report it); 2 bad usage or
configuration; 3 unusable input; 4 output or previous-run location unusable; 5 Dask
cluster unreachable.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click
import pandas as pd

from flows import __version__
from flows.errors import ConfigError, InputError, OutputError, UserError
from flows.report.notices import GAZETTEER_CREDIT, SYNTHETIC_NOTICE
from flows.types import InputSpec

if TYPE_CHECKING:
    from flows.types import RunResult

#: ``--format`` choices; flows.run.INPUT_FORMATS holds the same names (tests check it).
INPUT_FORMAT_NAMES = ("records", "wos", "scopus", "openalex", "deals", "patentsview", "patstat")


#: ``--option KEY=VALUE`` of ``run`` and ``convert``.
format_option = click.option(
    "--option",
    "format_options",
    multiple=True,
    metavar="KEY=VALUE",
    help="A reader option of --format, e.g. year=grant (patentsview); repeatable.",
)


class Failure(click.ClickException):
    """A user-facing failure: one line on stderr and a documented exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn every :class:`flows.errors.UserError` into one line and its exit code."""
    try:
        yield
    except UserError as exc:
        raise Failure(str(exc), exc.exit_code) from None


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
    "--format",
    "fmt",
    type=click.Choice(INPUT_FORMAT_NAMES),
    default="records",
    show_default=True,
    help="Format of every --input: our record contract, or a source's own export format.",
)
@click.option(
    "--institutions",
    metavar="URL",
    help="openalex: the institutions entity (files or folder), for coordinates.",
)
@click.option("--mapping", metavar="URL", help="deals: the YAML mapping of the table's columns.")
@format_option
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
    "--worker-memory",
    metavar="SIZE",
    help="Memory per local worker, e.g. 3GB (config: dask.worker-memory); spilled and capped "
    "as Dask does.",
)
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
    fmt: str,
    institutions: str | None,
    mapping: str | None,
    format_options: tuple[str, ...],
    output: str,
    config_file: str | None,
    scheduler: str | None,
    workers: int | None,
    worker_memory: str | None,
    top: int | None,
    previous: str | None,
    quiet: bool,
) -> None:
    """Rank innovation clusters and publish the outputs."""
    from flows.config import load_config
    from flows.run import run_ranking

    _configure_logging(quiet)
    overrides: dict[str, Any] = {"top": top} if top else {}
    where = {"scheduler": scheduler, "workers": workers, "worker-memory": worker_memory}
    if any(v is not None for v in where.values()):
        overrides["dask"] = {k: v for k, v in where.items() if v is not None}
    with user_errors():
        config = load_config(config_file, environ=os.environ, overrides=overrides)
        result = run_ranking(
            config,
            input_specs(
                inputs, fmt, institutions=institutions, mapping=mapping, options=format_options
            ),
            output,
            previous=previous,
            progress=not quiet and sys.stderr.isatty(),
            notify=lambda line: click.echo(line, err=True),
        )
    _print_result(result, top=min(10, config.top))


def _format_options(pairs: tuple[str, ...], fmt: str) -> dict[str, Any]:
    import yaml

    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.UsageError(f"--option takes KEY=VALUE, got {pair!r}")
        if fmt == "records":
            raise click.UsageError("--option applies to a source --format, not records")
        # YAML values, so that lists and numbers read as in the config's inputs: list.
        options[key.strip()] = yaml.safe_load(value) if value.strip() else None
    return options


def input_specs(
    urls: tuple[str, ...],
    fmt: str,
    *,
    institutions: str | None,
    mapping: str | None,
    options: tuple[str, ...] = (),
) -> list[InputSpec]:
    """``--input`` URLs in the ``--format`` given, with that format's options."""
    given_options = _format_options(options, fmt)
    options_urls = {"institutions-url": institutions, "mapping-url": mapping}
    for flag, value in (("--institutions", institutions), ("--mapping", mapping)):
        needs = "openalex" if flag == "--institutions" else "deals"
        if value and fmt != needs:
            raise click.UsageError(f"{flag} applies to --format {needs}, not {fmt}")
    if fmt == "deals" and urls and not mapping:
        raise click.UsageError("--format deals needs --mapping (a YAML mapping of the columns)")
    given = {k: v for k, v in options_urls.items() if v} | given_options
    return [InputSpec(url, fmt, given) for url in urls]


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
    # A lost scheduler makes the client log a traceback per reconnection attempt; the run
    # then ends in one line of its own (exit 5), which says all of it. (Importing distributed
    # sets its loggers' levels from its configuration, so it is imported first.)
    import distributed  # noqa: F401

    for name in QUIETED_DISTRIBUTED_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)


# The scheduler's line about a task that killed its workers (a local cluster's scheduler runs
# in this process) is said again by the run's own last line (exit 6).
QUIETED_DISTRIBUTED_LOGGERS = (
    "distributed.client",
    "distributed.utils",
    "distributed.comm",
    "distributed.scheduler",
)


def _print_result(result: RunResult, *, top: int) -> None:
    ranking = result.ranking
    table = ranking.rankings.head(top)
    if result.synthetic:
        click.echo(SYNTHETIC_NOTICE)
    window = ranking.summary["window"]
    click.echo(
        f"Top {len(table)} of {len(ranking.rankings)} clusters, "
        f"{window['start_year']}–{window['end_year']} (score = sum of shares of world totals):"
    )
    for row in table.itertuples(index=False):
        change = "" if pd.isna(row.rank_change) else f"  ({int(row.rank_change):+d})"
        click.echo(f"{row.rank:>4}. {row.name} ({row.economies}) score {row.score:.4f}{change}")
    click.echo(f"Outputs: {result.folder}")
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
    from core.records import geocoded_table
    from flows.config import load_config
    from flows.inputs import Geocoding, plan_pieces, read_piece
    from flows.storage import StorageTarget, describe, storage_errors

    with user_errors():
        config = load_config(config_file, environ=os.environ)
        if not output_url.lower().endswith((".parquet", ".csv")):
            raise ConfigError(f"output {output_url}: must end with .parquet or .csv")
        geocoder = Geocoding.from_params(config.geocoding, config.storage_options)
        try:
            pieces = plan_pieces([input_url], config.storage_options)
            frame = pd.concat(
                [read_piece(p, config.storage_options) for p in pieces], ignore_index=True
            )
        except UserError:
            raise
        except (ValueError, *storage_errors()) as exc:
            raise InputError(f"input {input_url}: {describe(exc)}") from None
        table, geocoded, unreadable = geocoded_table(frame.drop(columns=["file", "row"]), geocoder)
        try:
            StorageTarget(output_url, config.storage_options).write_table("", table)
        except storage_errors() as exc:
            raise OutputError(f"cannot write output {output_url}: {describe(exc)}") from None
    counts = table.loc[geocoded, "geocode_method"].value_counts()
    click.echo(
        f"{int(geocoded.sum()):,} of {len(table):,} rows geocoded: "
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


@main.command("convert")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(INPUT_FORMAT_NAMES[1:]),
    required=True,
    help="The source format of every --input.",
)
@click.option("--input", "inputs", multiple=True, required=True, metavar="URL", help="Repeatable.")
@click.option(
    "--output",
    required=True,
    metavar="URL",
    help="Folder of the Parquet dataset; rejects go to <output>-rejects/.",
)
@click.option("--institutions", metavar="URL", help="openalex: the institutions entity.")
@click.option("--mapping", metavar="URL", help="deals: the YAML mapping of the table's columns.")
@format_option
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="YAML file overriding the defaults (storage-options, dask).",
)
def convert_command(
    fmt: str,
    inputs: tuple[str, ...],
    output: str,
    institutions: str | None,
    mapping: str | None,
    format_options: tuple[str, ...],
    config_file: str | None,
) -> None:
    """Convert source files to the record contract (Parquet parts), streamed."""
    from flows.config import load_config
    from flows.readers import convert_source, plan_source
    from flows.runtime import computing_on
    from flows.storage import StorageTarget

    (spec, *_) = input_specs(
        inputs, fmt, institutions=institutions, mapping=mapping, options=format_options
    )
    with user_errors():
        config = load_config(config_file, environ=os.environ)
        target = StorageTarget(output, config.storage_options)
        # Missing inputs are found before a cluster starts.
        plan = plan_source(list(inputs), fmt, spec.options, config.storage_options)
        with computing_on(None, scheduler=config.scheduler, workers=config.workers):
            files, rows, rejected = convert_source(
                plan,
                output=target,
                storage_options=config.storage_options,
                piece_bytes=config.read_piece_bytes,
            )
    click.echo(f"{files:,} {fmt} files: {rows:,} rows written to {target.url_of()}")
    if rejected:
        click.echo(f"{rejected:,} rows without a place: {target.url_of()}-rejects", err=True)


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
    from core.demo_world import DEMO_SOURCES, generate_demo_world
    from core.gazetteer import load_cities
    from flows.storage import StorageTarget, describe, storage_errors

    world = generate_demo_world(load_cities(), scale=scale, seed=seed)
    folder = StorageTarget(output)
    with user_errors():
        try:
            folder.makedirs()
            for source in DEMO_SOURCES:
                part = world[world["source"] == source].reset_index(drop=True)
                name = f"{source}.{fmt}"
                folder.write_table(name, part, row_group_size=250_000)
                click.echo(f"{folder.url_of(name)}: {len(part):,} rows")
        except storage_errors() as exc:
            raise OutputError(f"cannot write demo data to {output}: {describe(exc)}") from None
    click.echo(SYNTHETIC_NOTICE)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
