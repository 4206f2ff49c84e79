"""flows/run.py: a ranking run from Python, on the caller's client, with typed errors."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from flows.config import load_config
from flows.errors import ConfigError, InputError, OutputError, UserError
from flows.run import run_ranking
from flows.types import InputSpec
from tests.support import only_run

DEMO = {"demo": {"scale": 0.02}}


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory):
    from core.demo_world import generate_demo_world
    from core.gazetteer import load_cities

    folder = tmp_path_factory.mktemp("records")
    world = generate_demo_world(load_cities(), scale=0.02, seed=7)
    world.iloc[: len(world) // 2].to_parquet(folder / "a.parquet", index=False)
    world.iloc[len(world) // 2 :].to_csv(folder / "b.csv", index=False)
    return folder


@pytest.mark.slow
def test_a_run_on_the_callers_client_publishes_and_leaves_the_client_open(
    client, demo_files, tmp_path
):
    lines: list[str] = []
    config = load_config(overrides=DEMO)
    inputs = [InputSpec(str(demo_files / "a.parquet")), str(demo_files / "b.csv")]
    result = run_ranking(config, inputs, str(tmp_path), client=client, notify=lines.append)
    folder = only_run(tmp_path)
    assert result.folder.endswith(folder.name) and result.run_id == folder.name
    assert result.synthetic is False and not any("SYNTHETIC" in line for line in lines)
    assert any(line.startswith("Dask dashboard: ") for line in lines)
    published = pd.read_parquet(folder / "rankings.parquet")
    pd.testing.assert_frame_equal(published, result.ranking.rankings, check_dtype=False)
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["counts"]["rows_read"] == result.summary["counts"]["rows_read"] > 0
    assert [i["url"].rsplit("/", 1)[-1] for i in summary["inputs"]] == ["a.parquet", "b.csv"]
    assert "dask" not in summary["parameters"]  # where it ran is not what it ranked
    # The caller's client is still usable: the run did not close it.
    assert client.submit(lambda: 41 + 1).result() == 42


@pytest.mark.slow
def test_without_a_client_the_active_one_is_used_and_the_demo_is_announced(client, tmp_path):
    lines: list[str] = []
    with client.as_current():
        result = run_ranking(load_config(overrides=DEMO), [], str(tmp_path), notify=lines.append)
    assert result.synthetic and result.summary["synthetic"] is True
    assert any("SYNTHETIC" in line for line in lines)
    assert len(result.ranking.rankings) > 0


@pytest.mark.parametrize(
    ("inputs", "output", "error", "needle"),
    [
        ([InputSpec("x.parquet", format="ris")], None, ConfigError, "unknown format 'ris'"),
        (["{tmp}/missing.parquet"], None, InputError, "missing.parquet"),
        ([], "{tmp}/file.txt/out", OutputError, "cannot write output"),
    ],
)
def test_user_failures_raise_typed_one_line_errors_before_any_cluster(
    tmp_path, inputs, output, error, needle
):
    (tmp_path / "file.txt").write_text("a file where a folder should be")
    inputs = [i.format(tmp=tmp_path) if isinstance(i, str) else i for i in inputs]
    output = (output or "{tmp}/out").format(tmp=tmp_path)
    config = load_config(overrides={**DEMO, "dask": {"scheduler": "tcp://127.0.0.1:1"}})
    with pytest.raises(error) as info:
        run_ranking(config, inputs, output)
    message = str(info.value)
    assert needle in message and "\n" not in message
    assert isinstance(info.value, UserError) and info.value.exit_code in (2, 3, 4)


def test_every_user_error_kind_has_its_documented_exit_code():
    from flows.errors import ClusterError

    codes = {cls: cls("x").exit_code for cls in (ConfigError, InputError, OutputError)}
    assert codes == {ConfigError: 2, InputError: 3, OutputError: 4}
    assert ClusterError("x").exit_code == 5
    assert all(issubclass(cls, ValueError) for cls in codes)  # callers catching ValueError


@pytest.mark.slow
def test_names_given_by_cluster_id_replace_the_gazetteers_and_unknown_ids_are_warned(
    client, tmp_path
):
    first = run_ranking(load_config(overrides=DEMO), [], str(tmp_path / "a"), client=client)
    top = first.ranking.rankings.iloc[0]
    names = tmp_path / "names.csv"
    names.write_text(f"cluster_id,name\n{top['cluster_id']},Greater Demo City\nzzzzzzz,Nowhere\n")
    config = load_config(overrides={**DEMO, "names-url": str(names)})
    again = run_ranking(config, [], str(tmp_path / "b"), client=client)
    ranked = again.ranking.rankings.set_index("cluster_id")["name"]
    assert ranked[top["cluster_id"]] == "Greater Demo City"
    others = first.ranking.rankings.set_index("cluster_id")["name"].drop(top["cluster_id"])
    assert ranked.drop(top["cluster_id"]).to_dict() == others.to_dict()
    assert any("names-url: 1 cluster ids match no cluster" in w for w in again.summary["warnings"])


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (None, "names.csv: cannot read"),
        ("id,name\nu09wn13,Paris\n", "no 'cluster_id' column"),
        ("cluster_id,name\nu09wn13,\n", "line 2: empty name"),
        (
            "cluster_id,name\nu09wn13,Paris\nu09wn13,Lutetia\n",
            "line 3: cluster_id 'u09wn13' given twice",
        ),
    ],
)
def test_a_bad_names_file_is_a_one_line_input_error_before_any_cluster(tmp_path, text, needle):
    if text is not None:
        (tmp_path / "names.csv").write_text(text)
    overrides = {
        **DEMO,
        "names-url": str(tmp_path / "names.csv"),
        "dask": {"scheduler": "tcp://127.0.0.1:1"},
    }
    with pytest.raises(InputError) as info:
        run_ranking(load_config(overrides=overrides), [], str(tmp_path / "out"))
    assert needle in str(info.value) and "\n" not in str(info.value)
