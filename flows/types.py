"""The data types a run passes between its stages and returns."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

log = logging.getLogger("icrank")

#: The record contract (README "Input contract"): the format of an input without one.
RECORDS_FORMAT = "records"


@dataclass(frozen=True)
class InputSpec:
    """One input of a run: a URL (file, folder or glob on any fsspec filesystem) in a format.

    ``format`` names the reader (today only the record contract); ``options`` are the
    reader's own settings.
    """

    url: str
    format: str = RECORDS_FORMAT
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class StageLog:
    """Logs one line per stage with its wall time, and keeps the timings for the summary."""

    timings: dict[str, float] = field(default_factory=dict)
    current: str | None = None
    """The stage running now (the innermost), for error messages."""

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        outer, self.current = self.current, name
        try:
            yield
            self.current = outer
        finally:
            # A failing stage's time is kept too: it says where a failed run spent it.
            elapsed = time.perf_counter() - start
            self.timings[name] = round(self.timings.get(name, 0.0) + elapsed, 3)
            log.info("stage %-22s %7.2f s", name, elapsed)


@dataclass(frozen=True)
class PreviousRun:
    """What year-over-year matching needs of an earlier run."""

    run_id: str
    footprint_deg: float
    rankings: pd.DataFrame
    footprints: pd.DataFrame


@dataclass
class Ranking:
    """Every table a run publishes."""

    rankings: pd.DataFrame
    footprints: pd.DataFrame
    locations: pd.DataFrame
    noise: pd.DataFrame
    economies: pd.DataFrame
    rejects: pd.DataFrame
    summary: dict[str, Any]
    profiles: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Leading organisations and fields per cluster and source (``core.profiles``)."""


@dataclass(frozen=True)
class RunResult:
    """What :func:`flows.run.run_ranking` published."""

    run_id: str
    folder: str
    """URL of the run's folder (``<output>/<run_id>``)."""
    ranking: Ranking
    synthetic: bool
    """Whether the inputs were the embedded SYNTHETIC demo world."""

    @property
    def summary(self) -> dict[str, Any]:
        return self.ranking.summary
