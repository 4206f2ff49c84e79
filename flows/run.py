"""One ranking run, from inputs to a published run folder: the entry point of every caller.

The command line (:mod:`flows.cli`), a notebook or a scheduler's task call
:func:`run_ranking`; it raises a :class:`flows.errors.UserError` subclass for every failure
a user can fix, each with the command line's exit code.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dask.dataframe as dd

from core.gazetteer import GAZETTEER_CREDIT, load_cities
from core.records import NoUsableRecords
from flows.config import Config
from flows.errors import ConfigError, InputError
from flows.inputs import (
    ReadSettings,
    demo_records,
    input_fingerprints,
    load_cluster_names,
    read_records,
)
from flows.population import open_population_grid
from flows.publish import (
    check_output,
    find_previous_run,
    fingerprint,
    library_versions,
    new_run_id,
    publish_run,
    render_outputs,
)
from flows.rank import rank_records
from flows.readers import (
    SOURCE_FORMATS,
    SourcePlan,
    new_scratch,
    plan_source,
    read_source_records,
    remove_scratch,
    source_files,
)
from flows.report.notices import SYNTHETIC_INPUTS, SYNTHETIC_NOTICE, SYNTHETIC_TITLE_SUFFIX
from flows.runtime import cluster_failures, computing_on, dashboard_link
from flows.storage import StorageTarget
from flows.types import RECORDS_FORMAT, InputSpec, PreviousRun, RunResult, StageLog

log = logging.getLogger("icrank")

#: Input formats a run reads: the record contract and the source formats of core/readers.
INPUT_FORMATS = (RECORDS_FORMAT, *SOURCE_FORMATS)
TITLE = "Innovation cluster ranking"


def _input_specs(inputs: Sequence[InputSpec | str]) -> list[InputSpec]:
    specs = [InputSpec(i) if isinstance(i, str) else i for i in inputs]
    for spec in specs:
        if spec.format not in INPUT_FORMATS:
            raise ConfigError(
                f"input {spec.url}: unknown format {spec.format!r} "
                f"(known: {', '.join(INPUT_FORMATS)})"
            )
    return specs


def _by_format(specs: Sequence[InputSpec]) -> dict[tuple[str, str], list[InputSpec]]:
    # Inputs of one format with the same options share one collection.
    groups: dict[tuple[str, str], list[InputSpec]] = {}
    for spec in specs:
        key = (spec.format, json.dumps(dict(spec.options), sort_keys=True, default=str))
        groups.setdefault(key, []).append(spec)
    return groups


def fingerprint_inputs(
    specs: Sequence[InputSpec], storage_options: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Each input file with its size and version tag, and its format when not records."""
    out = []
    for (fmt, _), group in _by_format(specs).items():
        urls = [spec.url for spec in group]
        if fmt == RECORDS_FORMAT:
            out += input_fingerprints(urls, storage_options)
        else:
            files = source_files(urls, fmt, storage_options)
            out += [
                {**f, "format": fmt}
                for f in input_fingerprints(files, storage_options, accepts=lambda p: True)
            ]
    return out


@dataclass(frozen=True)
class InputPlan:
    """A run's inputs, found and checked before a cluster starts: the record tables as a
    collection, each source format as a :class:`flows.readers.SourcePlan`."""

    records: dd.DataFrame | None
    sources: list[SourcePlan]

    def read(
        self,
        settings: ReadSettings,
        storage_options: Mapping[str, Any],
        scratch: StorageTarget,
        *,
        piece_bytes: int,
    ) -> dd.DataFrame:
        """Stage *read + validate*: the sources are read now (to ``scratch``), on the active
        cluster; the result is lazy."""
        parts = [] if self.records is None else [self.records]
        for k, plan in enumerate(self.sources):
            folder = scratch.join(f"{k:02d}-{plan.fmt}")
            parts.append(
                read_source_records(
                    plan,
                    settings=settings,
                    storage_options=storage_options,
                    scratch=folder,
                    piece_bytes=piece_bytes,
                )
            )
        return parts[0] if len(parts) == 1 else dd.concat(parts)


def plan_inputs(
    specs: Sequence[InputSpec], settings: ReadSettings, storage_options: Mapping[str, Any]
) -> InputPlan:
    """Every input found, each with the reader of its format."""
    records, sources = [], []
    for (fmt, _), group in _by_format(specs).items():
        urls = [spec.url for spec in group]
        if fmt == RECORDS_FORMAT:
            records.append(read_records(urls, settings=settings, storage_options=storage_options))
        else:
            sources.append(plan_source(urls, fmt, group[0].options, storage_options))
    return InputPlan(
        records[0] if len(records) == 1 else dd.concat(records) if records else None, sources
    )


@contextlib.contextmanager
def _scratch_of(target: StorageTarget) -> Iterator[StorageTarget]:
    # Source files are read into a scratch folder of the output, removed however the run
    # ends.
    scratch = new_scratch(target)
    try:
        yield scratch
    finally:
        remove_scratch(scratch)


def _previous_run(url: str | None, config: Config) -> PreviousRun | None:
    if not url:
        return None
    earlier = find_previous_run(StorageTarget(url, config.storage_options))
    if earlier is None:
        log.warning("no complete earlier run in %s: previous_rank and rank_change stay empty", url)
    elif earlier.footprint_deg != config.footprint_deg:
        raise InputError(
            f"previous run {earlier.run_id} used footprint-deg {earlier.footprint_deg}, "
            f"this run {config.footprint_deg}: footprints cannot be matched"
        )
    return earlier


def run_ranking(
    config: Config,
    inputs: Sequence[InputSpec | str],
    output: str,
    *,
    previous: str | None = None,
    client: Any = None,
    progress: bool = False,
    notify: Callable[[str], None] | None = None,
) -> RunResult:
    """Rank the inputs' records and publish the run under ``<output>/<run-id>/``.

    Parameters
    ----------
    config : Config
        ``flows.config.load_config()``.
    inputs : sequence of InputSpec or str
        Record tables or source files (URLs of files, folders or globs, each in its
        format); empty: the config's ``inputs:``, and without those the embedded SYNTHETIC
        demo world.
    output : str
        Parent folder of the run folders, on any fsspec URL.
    previous : str, optional
        An earlier run folder, or a parent of run folders (its newest complete run), for
        year-over-year changes.
    client : distributed.Client, optional
        Where to compute. Default: the active client, if there is one, else a client of
        ``config.scheduler`` or of a local cluster of ``config.workers`` processes.
    progress : bool
        Show a progress bar while the records are aggregated.
    notify : callable, optional
        Receives the lines meant for a person watching (dashboard link, synthetic-data
        notice); default: the ``icrank`` logger.

    Returns
    -------
    RunResult

    Raises
    ------
    flows.errors.UserError
        ``ConfigError``, ``InputError``, ``OutputError`` or ``ClusterError``, one line.
    """
    notify = notify or log.info
    started = time.perf_counter()
    specs = _input_specs(inputs or config.inputs)
    synthetic = not specs
    parameters = config.ranking_parameters()
    target = StorageTarget(output, config.storage_options)
    check_output(target)
    stages = StageLog()
    # Inputs, aliases and the previous run are checked before a cluster starts.
    with stages("read+validate (plan)"):
        settings = ReadSettings.from_config(config)
        if synthetic:
            fingerprints: list[dict[str, Any]] = []
            checked = demo_records(
                settings=settings, scale=config.demo_scale, seed=config.demo_seed
            )
        else:
            fingerprints = fingerprint_inputs(specs, config.storage_options)
            plan = plan_inputs(specs, settings, config.storage_options)
    with stages("previous run"):
        earlier = _previous_run(previous, config)
        names = (
            load_cluster_names(config.names_url, config.storage_options)
            if config.names_url
            else None
        )
    with (
        contextlib.ExitStack() as stack,
        computing_on(
            client,
            scheduler=config.scheduler,
            workers=config.workers,
            worker_memory=config.worker_memory,
        ) as active,
        cluster_failures(active, stages),
    ):
        link = dashboard_link(active)
        if link:
            notify(f"Dask dashboard: {link}")
        if synthetic:
            notify(SYNTHETIC_NOTICE)
        else:
            scratch = stack.enter_context(_scratch_of(target))
            with stages("read sources"):
                checked = plan.read(
                    settings,
                    config.storage_options,
                    scratch,
                    piece_bytes=config.read_piece_bytes,
                )

        def population() -> object:
            return open_population_grid(
                config.population_url,
                footprint_deg=config.footprint_deg,
                storage_options=config.storage_options,
                cities=load_cities(),
            )

        try:
            ranking = rank_records(
                checked,
                config,
                cities=load_cities,
                population=population,
                previous=earlier,
                names=names,
                stages=stages,
                progress=progress,
            )
        except NoUsableRecords as exc:
            raise InputError(str(exc)) from None
    run_id = new_run_id(fingerprint({"inputs": fingerprints, "parameters": parameters}))
    ranking.summary = {
        "run_id": run_id,
        "synthetic": synthetic,
        "inputs": fingerprints or [SYNTHETIC_INPUTS],
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
            title=TITLE + (SYNTHETIC_TITLE_SUFFIX if synthetic else ""),
            tiles=config.report_tiles,
        )
        folder = publish_run(
            files, output=target, run_id=run_id, parameters=parameters, inputs=fingerprints
        )
    log.info("run %s finished in %.1f s", run_id, time.perf_counter() - started)
    return RunResult(run_id=run_id, folder=folder, ranking=ranking, synthetic=synthetic)
