"""Configuration: defaults + schema, precedence CLI > environment > file > defaults."""

from __future__ import annotations

import dataclasses

import pytest

from flows.config import ConfigError, env_settings, load_config


def test_defaults_load_and_are_frozen():
    config = load_config()
    assert config.top == 100 and config.footprint_deg == 0.05
    assert set(config.sources) == {"patent", "publication", "vc"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.top = 3


def test_precedence_cli_over_environment_over_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("top: 7\nnoise-min-records: 9\nsources: {vc: {eps-km: 20}}\n")
    from_file = load_config(str(path))
    assert (from_file.top, from_file.noise_min_records) == (7, 9)
    assert from_file.sources["vc"].eps_km == 20 and from_file.sources["patent"].eps_km == 13
    env = {"ICRANK__TOP": "8", "ICRANK__SOURCES__VC__EPS_KM": "25"}
    from_env = load_config(str(path), environ=env)
    assert from_env.top == 8 and from_env.sources["vc"].eps_km == 25
    assert from_env.noise_min_records == 9
    from_cli = load_config(str(path), environ=env, overrides={"top": 3})
    assert from_cli.top == 3


def test_environment_keys_map_underscores_to_dashes():
    assert env_settings({"ICRANK__WINDOW__START_YEAR": "2020", "PATH": "/bin"}) == {
        "window": {"start-year": 2020}
    }


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"top": 0}, "top"),
        ({"topp": 3}, "unknown key"),
        ({"sources": {"patent": {"eps-km": -1}}}, "sources.patent.eps-km"),
        ({"footprint-deg": 0.07}, "footprint-deg"),
        ({"rounding-deg": 0.02, "footprint-deg": 0.05}, "multiple of rounding-deg"),
        ({"window": {"start-year": 2024, "end-year": 2020}}, "after end-year"),
        (
            {"sources": {s: {"share-weight": 0} for s in ("patent", "publication", "vc")}},
            "share-weight",
        ),
    ],
)
def test_bad_values_are_one_line_errors(settings, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_config(overrides=settings)
    assert "\n" not in str(info.value)


def test_bad_file_and_environment(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(str(tmp_path / "missing.yaml"))
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(str(path))
    with pytest.raises(ConfigError, match="noise-min-records"):
        load_config(environ={"ICRANK__NOISE_MIN_RECORDS": "many"})


def test_secrets_are_redacted():
    config = load_config(
        overrides={"storage-options": {"key": "AKIA", "secret": "s3cr3t", "endpoint_url": "x"}}
    )
    assert config.storage_options["secret"] == "s3cr3t"
    shown = config.redacted()["storage-options"]
    assert shown == {"key": "***", "secret": "***", "endpoint_url": "x"}
    assert "s3cr3t" not in repr(config.redacted())


def test_sources_are_the_table_of_sources_and_nothing_else():
    from core.sources import SOURCES

    assert tuple(load_config().sources) == SOURCES
    with pytest.raises(ConfigError, match="sources: unknown key 'standards'"):
        load_config(overrides={"sources": {"standards": {"eps-km": 5}}})
    with pytest.raises(ConfigError, match="sources.vc.eps-km"):
        load_config(overrides={"sources": {"vc": {"eps-km": 0}}})


def test_where_a_run_computes_is_configured_but_not_part_of_its_parameters(tmp_path):
    config = load_config(environ={"ICRANK__DASK__SCHEDULER": "tcp://10.0.0.1:8786"})
    assert config.scheduler == "tcp://10.0.0.1:8786" and config.workers is None
    assert "dask" in config.redacted() and "dask" not in config.ranking_parameters()
    assert load_config(overrides={"dask": {"workers": 3}}).workers == 3
    with pytest.raises(ConfigError, match="dask.workers"):
        load_config(overrides={"dask": {"workers": 0}})


def test_inputs_list_names_each_input_with_its_format_and_options(tmp_path):
    from flows.types import InputSpec

    path = tmp_path / "inputs.yaml"
    path.write_text(
        "inputs:\n"
        "  - {url: s3://b/works/, format: openalex, options: {institutions-url: s3://b/i/}}\n"
        "  - {url: data/records.parquet}\n"
    )
    config = load_config(str(path))
    assert config.inputs == (
        InputSpec("s3://b/works/", "openalex", {"institutions-url": "s3://b/i/"}),
        InputSpec("data/records.parquet"),
    )
    assert "inputs" not in config.ranking_parameters()  # fingerprinted file by file instead
    with pytest.raises(ConfigError, match=r"inputs\.0\.format"):
        load_config(overrides={"inputs": [{"url": "x", "format": "ris"}]})
