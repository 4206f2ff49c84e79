"""Table formats (core/readers/tables.py, patentsview.py, patstat.py, and their staging and
joins in flows/readers.py), on small tables written here in each source's published layout
where the truth must be known exactly."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from core.readers import patentsview, patstat
from core.readers.tables import JOINED, Table, bucket_of, join_phases, tables_of
from tests.support import invoke

PV = {
    "g_patent": "patent_id\tpatent_type\tpatent_date\tpatent_title\twipo_kind\tnum_claims\n"
    '"10000001"\t"utility"\t"2021-03-02"\t"A ""thing"""\t"B2"\t"12"\n'
    '"D0900001"\t"design"\t"2021-03-02"\t"Shape"\t"S1"\t"1"\n'
    '"10000002"\t"utility"\t"2020-01-07"\t"Other"\t"B1"\t"3"\n',
    "g_application": "application_id\tpatent_id\tpatent_application_type\tfiling_date\n"
    '"16000001"\t"10000001"\t"16"\t"2019-05-01"\n'
    '"16000002"\t"10000002"\t"16"\t"2018-11-30"\n'
    '"29000001"\t"D0900001"\t"29"\t"2019-05-01"\n',
    "g_inventor_disambiguated": "patent_id\tinventor_sequence\tinventor_id\t"
    "disambig_inventor_name_first\tdisambig_inventor_name_last\tgender_code\tlocation_id\n"
    '"10000001"\t"0"\t"fl:a_ln:x-1"\t"Ann"\t"X"\t"F"\t"loc-sj"\n'
    '"10000001"\t"1"\t"fl:b_ln:y-1"\t"Bo"\t"Müller"\t"M"\t"loc-bos"\n'
    '"10000001"\t"2"\t"fl:c_ln:z-1"\t"Cy"\t"Z"\t""\t"loc-tor"\n'
    '"10000002"\t"0"\t"fl:d_ln:w-1"\t"Di"\t"W"\t"F"\t""\n'
    '"D0900001"\t"0"\t"fl:e_ln:v-1"\t"Ed"\t"V"\t"M"\t"loc-sj"\n',
    "g_location_disambiguated": "location_id\tdisambig_city\tdisambig_state\t"
    "disambig_country\tlatitude\tlongitude\tcounty\tstate_fips\tcounty_fips\n"
    '"loc-sj"\t"San Jose"\t"CA"\t"US"\t"37.3394"\t"-121.895"\t"Santa Clara"\t"06"\t"085"\n'
    '"loc-bos"\t"Boston"\t"MA"\t"US"\t""\t""\t""\t""\t""\n'
    '"loc-tor"\t"Toronto"\t"ON"\t"CA"\t"43.6532"\t"-79.3832"\t""\t""\t""\n',
    "g_assignee_disambiguated": "patent_id\tassignee_sequence\tassignee_id\t"
    "disambig_assignee_individual_name_first\tdisambig_assignee_individual_name_last\t"
    "disambig_assignee_organization\tassignee_type\tlocation_id\n"
    '"10000001"\t"0"\t"a1"\t""\t""\t"Acme, Inc."\t"2"\t"loc-sj"\n'
    '"10000001"\t"1"\t"a2"\t""\t""\t"Beta GmbH"\t"3"\t""\n'
    '"10000002"\t"0"\t"a3"\t"Di"\t"W"\t""\t"4"\t""\n',
    "g_cpc_current": "patent_id\tcpc_sequence\tcpc_section\tcpc_class\tcpc_subclass\t"
    "cpc_group\tcpc_type\n"
    '"10000001"\t"0"\t"H"\t"H04"\t"H04W"\t"H04W72/04"\t"inventional"\n'
    '"10000001"\t"1"\t"G"\t"G06"\t"G06F"\t"G06F16/24"\t"additional"\n',
}

PS = {
    "tls201_part01": "appln_id,appln_auth,appln_nr,appln_kind,appln_filing_date,"
    "appln_filing_year,appln_nr_epodoc,appln_nr_original,ipr_type,receiving_office,"
    "internat_appln_id,int_phase,reg_phase,nat_phase,earliest_filing_date,"
    "earliest_filing_year,earliest_filing_id,earliest_publn_date,earliest_publn_year,"
    "earliest_pat_publn_id,granted,docdb_family_id,inpadoc_family_id,docdb_family_size,"
    "nb_citing_docdb_fam,nb_applicants,nb_inventors\n"
    "500001,WO,2019US012345,W,2019-03-01,2019,WO2019US12345,PCT/US2019/012345,PI,US,0,N,N,N,"
    "2018-03-02,2018,500002,2019-09-06,2019,1,N,1,1,2,0,1,3\n"
    "500002,US,201815900001,A,2018-03-02,2018,US20180900001,15/900001,PI,,0,N,N,N,"
    "2018-03-02,2018,500002,2019-09-06,2019,2,Y,1,1,2,0,1,1\n"
    "500003,EP,19700001,A,2019-01-05,9999,EP19700001,19700001.1,PI,,0,N,N,N,"
    "2019-01-05,2019,500003,2019-07-01,2019,3,N,2,2,1,0,1,1\n",
    "tls206_part01": "person_id,person_name,person_name_orig_lg,person_address,"
    "person_ctry_code,nuts,nuts_level,doc_std_name_id,doc_std_name,psn_id,psn_name,psn_level,"
    "psn_sector,han_id,han_name,han_harmonized\n"
    '10,"ACME, INC.",,"1 Infinite Loop, Cupertino, CA 95014",US,,9,1,ACME INC,1,ACME INC,2,'
    "COMPANY,1,ACME INC,1\n"
    '11,"SMITH, Ann",,"12 Main Street, Boston, MA 02110",US,,9,2,SMITH ANN,2,SMITH ANN,0,'
    "INDIVIDUAL,0,,0\n"
    '12,"MÜLLER, Bo",,,DE,DE212,3,3,MUELLER BO,3,MUELLER BO,0,INDIVIDUAL,0,,0\n'
    '13,"ZHAO, Cy",,,,,9,4,ZHAO CY,4,ZHAO CY,0,INDIVIDUAL,0,,0\n',
    "tls207_part01": "person_id,appln_id,applt_seq_nr,invt_seq_nr\n"
    "10,500001,1,0\n11,500001,0,1\n12,500001,0,2\n13,500001,0,3\n11,500002,1,1\n"
    "12,500003,0,1\n",
    "tls209_part01": "appln_id,ipc_class_symbol,ipc_class_level,ipc_version,ipc_value,"
    "ipc_position,ipc_gener_auth\n"
    "500001,G06F  16/24,A,2019-01-01,I,L,EP\n500001,H04W  72/04,A,2009-01-01,I,F,EP\n",
}


def write_tables(folder: Path, tables: dict[str, str], suffix: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in tables.items():
        with zipfile.ZipFile(folder / f"{name}{suffix}.zip", "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(f"{name}{suffix}", text)
    return folder


def pandas_tables(module, tables: dict[str, str], sep: str, options=None) -> dict:
    import io

    out = {}
    for table in module.TABLES:
        name = next((n for n in tables if table.holds(n + ".")), None)
        if name is None:
            continue
        raw = pd.read_csv(io.StringIO(tables[name]), sep=sep, dtype=str, keep_default_na=False)
        raw = raw.assign(row=np.arange(len(raw)), file=name, order=np.arange(len(raw)))
        chunk = pa.Table.from_pandas(raw, preserve_index=False)
        out[table.name] = module.prepare(table.name, chunk, options=options or {})
    return out


def bucketed_join(module, tables: dict, *, buckets: int, options=None) -> pd.DataFrame:
    """The phases as the flow runs them: each table split by the bucket of its phase's key,
    one join per bucket, each output split again by the next phase's key."""
    options = options or {}
    joined = None
    for step in module.PHASES:
        outputs = []
        for bucket in range(buckets):
            inputs = {
                name: frame.filter(bucket_of(frame[step.key], buckets=buckets) == bucket)
                for name, frame in tables.items()
                if name in step.tables
            }
            if joined is not None:
                inputs[JOINED] = joined.filter(
                    bucket_of(joined[step.key], buckets=buckets) == bucket
                )
            outputs.append(step.join(inputs, options=options))
        joined = pa.concat_tables(outputs)
    return joined


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["file", "row"]).reset_index(drop=True).astype(object)


@pytest.mark.parametrize("buckets", [2, 3, 7])
@pytest.mark.parametrize(
    ("module", "tables", "sep"), [(patentsview, PV, "\t"), (patstat, PS, ",")], ids=["pv", "ps"]
)
def test_joins_bucket_by_bucket_equal_the_join_of_whole_tables(module, tables, sep, buckets):
    prepared = pandas_tables(
        module, tables, sep, {"applications": "all"} if module is patstat else None
    )
    options = {"applications": "all"} if module is patstat else {}
    whole = module.records(join_phases(module.PHASES, prepared, options=options), options=options)
    split = module.records(
        bucketed_join(module, prepared, buckets=buckets, options=options), options=options
    )
    assert len(whole) == len(split) > 0
    pd.testing.assert_frame_equal(comparable(split), comparable(whole))
    # Every bucket was used by some key, so the split was real.
    keys = pa.chunked_array(
        [
            f[s.key].combine_chunks()
            for s in module.PHASES
            for n, f in prepared.items()
            if n in s.tables
        ]
    )
    assert len(set(bucket_of(keys, buckets=buckets))) > 1


def test_a_key_has_one_bucket_whatever_its_dtype_and_missing_keys_share_one():
    keys = ["10000001", "loc-sj", "", None, "Müller"]
    plain = bucket_of(pa.array(keys), buckets=11)
    large = bucket_of(pa.array(keys, pa.large_string()), buckets=11)
    chunked = bucket_of(pa.chunked_array([keys[:2], keys[2:]]), buckets=11)
    assert plain.tolist() == large.tolist() == chunked.tolist()
    assert ((plain >= 0) & (plain < 11)).all()
    assert plain[2] == plain[3]
    assert len(set(bucket_of(pa.array([str(i) for i in range(1000)]), buckets=11))) == 11


def texts(values: pd.Series) -> list:
    return [v if isinstance(v, str) else None for v in values]


def test_tables_are_found_by_their_published_names():
    tables = (Table("g_patent", r"g_patent\.", ("patent_id",)), Table("tls201", r"tls201_", ()))
    found = tables_of(
        ["g_patent.tsv.zip", "g_patent_abstract.tsv.zip", "tls201_part02.zip", "tls201_part01.zip"],
        tables,
    )
    assert found == {
        "g_patent": ["g_patent.tsv.zip"],
        "tls201": ["tls201_part01.zip", "tls201_part02.zip"],
    }
    with pytest.raises(ValueError, match="no g_patent table"):
        tables_of(["g_patent_abstract.tsv.zip"], tables[:1])


def test_patentsview_gives_one_row_per_inventor_with_a_third_each():
    tables = pandas_tables(patentsview, PV, "\t")
    out = patentsview.records(patentsview.join(tables, options={}), options={})
    out = out.sort_values(["doc_id", "inventor_sequence"]).reset_index(drop=True)
    # The design patent is left out; the 3-inventor patent gives three thirds.
    assert out["doc_id"].tolist() == ["10000001"] * 3 + ["10000002"]
    assert out["weight"].round(6).tolist() == [0.333333] * 3 + [1.0]
    assert out["country"].tolist()[:3] == ["US", "US", "CA"]
    assert out["city"].tolist()[:3] == ["San Jose", "Boston", "Toronto"]
    assert out["lat"].iloc[0] == pytest.approx(37.3394) and np.isnan(out["lat"].iloc[1])
    assert out["year"].tolist() == [2019, 2019, 2019, 2018]
    assert out["organization"].tolist() == ["Acme, Inc."] * 3 + ["Di W"]
    assert out["field"].tolist()[:3] == ["H04W72/04"] * 3 and pd.isna(out["field"].iloc[3])
    assert texts(out["no_address"]) == [None] * 3 + [patentsview.NO_LOCATION]
    grant = patentsview.records(
        patentsview.join(tables, options={"year": "grant"}), options={"year": "grant"}
    )
    assert sorted(grant["year"].unique().tolist()) == [2020, 2021]
    every = pandas_tables(patentsview, PV, "\t", {"patent_types": None})
    joined = patentsview.join(every, options={"patent_types": None})
    assert "D0900001" in joined["patent_id"].to_pylist()


def test_patstat_counts_inventors_of_pct_applications():
    tables = pandas_tables(patstat, PS, ",")
    out = patstat.records(patstat.join(tables, options={}), options={})
    out = out.sort_values("invt_seq_nr").reset_index(drop=True)
    assert out["doc_id"].tolist() == ["500001"] * 3
    assert out["weight"].round(6).tolist() == [0.333333] * 3
    assert texts(out["country"]) == ["US", "DE", None]
    assert out["address"].tolist()[0] == "12 Main Street, Boston, MA 02110"
    assert out["organization"].tolist() == ["ACME, INC."] * 3
    assert out["field"].tolist() == ["H04W72/04"] * 3
    assert texts(out["no_address"]) == [None, None, patstat.NO_ADDRESS]
    assert out["year"].tolist() == [2019] * 3
    firsts = patstat.join(
        pandas_tables(patstat, PS, ",", {"applications": "first-filings"}),
        options={"applications": "first-filings"},
    )
    # 500002 (its own first filing) and 500003, whose filing year 9999 means unknown.
    years = dict(zip(firsts["appln_id"].to_pylist(), firsts["year"].to_pylist(), strict=True))
    assert years == {500002: 2018, 500003: None}  # PATSTAT ids are integers
    with pytest.raises(ValueError, match="applications must be one of"):
        patstat.check_options({"applications": "some"})


def one_line_failure(result, code: int, *needles: str) -> None:
    assert result.exit_code == code, result.output
    last = result.output.strip().splitlines()[-1]
    assert all(n in last for n in needles), last
    assert "Traceback" not in result.output


def test_convert_streams_the_zipped_tables_and_joins_them(tmp_path):
    folder = write_tables(tmp_path / "pv", PV, ".tsv")
    out = tmp_path / "records"
    result = invoke(
        "convert", "--format", "patentsview", "--input", str(folder), "--output", str(out)
    )
    assert result.exit_code == 0, result.output
    records = pd.read_parquet(out).sort_values(["doc_id", "inventor_sequence"])
    rejects = pd.read_parquet(tmp_path / "records-rejects")
    assert records["doc_id"].tolist() == ["10000001"] * 3
    assert rejects["no_address"].tolist() == [patentsview.NO_LOCATION]
    # The source's identifiers and the file each row came from are kept.
    assert records["inventor_id"].tolist()[0] == "fl:a_ln:x-1"
    assert set(records["file"]) == {"g_inventor_disambiguated.tsv.zip"}
    assert not any(p.name.startswith(".icrank") for p in out.iterdir())


def test_convert_joins_bucket_by_bucket_like_whole_tables(tmp_path):
    import dask

    from flows.readers import convert_source, join_buckets, plan_source
    from flows.storage import StorageTarget
    from tests.support import table_records

    folder = write_tables(tmp_path / "ps", PS, ".csv")
    plan = plan_source([str(folder)], "patstat", {"applications": "all"}, {})
    # Pieces of 64 bytes: several pieces per table and several buckets per join.
    assert join_buckets(plan, {}, 64) > 3
    with dask.config.set(scheduler="sync"):
        files, kept, lost = convert_source(
            plan,
            output=StorageTarget(str(tmp_path / "out"), {}),
            storage_options={},
            piece_bytes=64,
        )
    whole = table_records(patstat, folder, {"applications": "all"})
    assert (files, kept + lost) == (4, len(whole))
    got = pd.concat([pd.read_parquet(tmp_path / "out"), pd.read_parquet(tmp_path / "out-rejects")])
    columns = ["doc_id", "person_id", "weight", "organization", "field", "address", "year"]

    def rows(frame):
        return sorted(
            map(
                str,
                frame[columns].astype(object).where(frame[columns].notna()).itertuples(index=False),
            )
        )

    assert rows(got) == rows(whole)
    assert not any(p.name.startswith(".icrank") for p in (tmp_path / "out").iterdir())


def test_table_format_mistakes_are_one_line(tmp_path):
    folder = write_tables(tmp_path / "ps", PS, ".csv")
    (folder / "tls207_part01.csv.zip").unlink()
    result = invoke(
        "convert", "--format", "patstat", "--input", str(folder), "--output", str(tmp_path / "o")
    )
    one_line_failure(result, 3, "not a patstat folder", "no tls207_pers_appln table")

    broken = dict(PS, tls207_part01=PS["tls207_part01"].replace("invt_seq_nr", "inventor"))
    folder = write_tables(tmp_path / "ps2", broken, ".csv")
    result = invoke(
        "convert", "--format", "patstat", "--input", str(folder), "--output", str(tmp_path / "o2")
    )
    one_line_failure(result, 3, "tls207_part01.csv.zip", "missing column 'invt_seq_nr'")

    (folder / "tls201_part01.csv.zip").write_bytes(b"appln_id,appln_kind\n1,W\n")
    result = invoke(
        "convert", "--format", "patstat", "--input", str(folder), "--output", str(tmp_path / "o5")
    )
    one_line_failure(result, 3, "tls201_part01.csv.zip: not a zip file")

    result = invoke(
        "convert",
        "--format",
        "patstat",
        "--input",
        str(folder),
        "--output",
        str(tmp_path / "o3"),
        "--option",
        "year=grant",
    )
    one_line_failure(result, 2, "year must be one of filing, priority")
    result = invoke(
        "convert",
        "--format",
        "patstat",
        "--input",
        str(folder),
        "--output",
        str(tmp_path / "o3"),
        "--option",
        "year",
    )
    one_line_failure(result, 2, "--option takes KEY=VALUE")

    folder = write_tables(
        tmp_path / "pv", {k: v for k, v in PV.items() if k != "g_application"}, ".tsv"
    )
    result = invoke(
        "convert",
        "--format",
        "patentsview",
        "--input",
        str(folder),
        "--output",
        str(tmp_path / "o4"),
    )
    one_line_failure(result, 2, "year: filing needs the g_application table")


def test_text_strips_and_empties_become_missing_in_any_layout():
    from core.readers.tables import integers, numbers, text

    values = pa.array(["  a ", "", "   ", None, "b", "x y"])
    expected = ["a", None, None, None, "b", "x y"]
    assert text(values).to_pylist() == expected
    assert text(values.slice(1)).to_pylist() == expected[1:]  # an array with an offset
    assert text(pa.chunked_array([values[:2], values[2:]])).to_pylist() == expected
    assert integers(pa.array(["7", " 8 ", "", "9.6", "x", None])).to_pylist() == [
        7,
        8,
        None,
        10,
        None,
        None,
    ]
    assert numbers(pa.array(["-121.9", "", "1e3", "n/a"])).to_pylist() == [-121.9, None, 1e3, None]
