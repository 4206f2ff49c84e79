"""The data types of a run (flows.types): stage timings, input specs, the run's result."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pandas as pd
import pytest

from flows import types
from flows.types import RECORDS_FORMAT, InputSpec, Ranking, RunResult, StageLog


@pytest.fixture
def clock(monkeypatch):
    """A fake ``time.perf_counter`` for flows.types: each call returns the next value."""
    ticks: list[float] = []

    def perf_counter() -> float:
        return ticks.pop(0)

    monkeypatch.setattr(types, "time", SimpleNamespace(perf_counter=perf_counter))
    return ticks


def test_stage_log_accumulates_timings_per_stage(clock):
    stages = StageLog()
    clock += [10.0, 11.25, 20.0, 20.5, 30.0, 30.125]
    with stages("read"):
        pass
    with stages("cluster"):
        pass
    with stages("read"):  # a stage entered twice adds up
        pass
    assert stages.timings == {"read": 1.375, "cluster": 0.5}
    assert list(stages.timings) == ["read", "cluster"]
    assert clock == []


def test_stage_log_rounds_to_milliseconds(clock):
    stages = StageLog()
    clock += [0.0, 0.123456, 1.0, 1.000444]
    with stages("a"):
        pass
    assert stages.timings == {"a": 0.123}
    with stages("a"):
        pass
    assert stages.timings == {"a": 0.123}  # 0.123 + 0.000444, rounded


def test_stage_log_logs_one_line_per_stage(clock, caplog):
    stages = StageLog()
    clock += [0.0, 1.25, 5.0, 7.5]
    with caplog.at_level(logging.INFO, logger="icrank"):
        with stages("read"):
            pass
        with stages("publish"):
            pass
    records = [r for r in caplog.records if r.name == "icrank"]
    assert [r.levelno for r in records] == [logging.INFO, logging.INFO]
    messages = [r.getMessage() for r in records]
    assert all("\n" not in m for m in messages)
    assert messages[0].split() == ["stage", "read", "1.25", "s"]
    assert messages[1].split() == ["stage", "publish", "2.50", "s"]


def test_stage_log_measures_real_time():
    stages = StageLog()
    with stages("work"):
        sum(range(1000))
    assert 0 <= stages.timings["work"] < 5


def test_a_raising_stage_propagates_its_error_and_keeps_its_time(caplog):
    stages = StageLog()
    with (
        caplog.at_level(logging.INFO, logger="icrank"),
        pytest.raises(KeyError, match="boom"),
        stages("broken"),
    ):
        raise KeyError("boom")
    assert "broken" in stages.timings and "stage broken" in caplog.text


def test_input_spec_defaults_to_the_record_format():
    spec = InputSpec("s3://bucket/records/*.parquet")
    assert spec.format == RECORDS_FORMAT == "records"
    assert spec.options == {}
    assert InputSpec("x").options is not spec.options
    assert InputSpec("x", format="other", options={"a": 1}).options == {"a": 1}


def test_run_result_summary_is_the_rankings_summary():
    empty = pd.DataFrame()
    summary = {"run_id": "r1", "synthetic": False}
    ranking = Ranking(empty, empty, empty, empty, empty, empty, summary)
    result = RunResult(run_id="r1", folder="file:///out/r1", ranking=ranking, synthetic=False)
    assert result.summary is summary
    ranking.summary = {"run_id": "r2"}
    assert result.summary == {"run_id": "r2"}
