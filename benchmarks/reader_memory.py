"""Peak worker memory of ``icrank convert`` on a generated input at 1× and 10×: readers
stream, so ten times the input must not need more memory per worker (goal: within 20 %).

Each format's input is generated from its fixtures in ``tests/data`` (records repeated, or
tables of fresh patents for the table formats), as ONE file per table at 1× and 10× the
size, so that only streaming within a file can keep memory flat. ``icrank convert`` runs in
a fresh process with two local workers; the resident memory of every process of its tree
is sampled every 50 ms. Printed per format: input size, time, the peak of the largest
worker at both sizes, their ratio, and the peak of the whole tree.

    python benchmarks/reader_memory.py [--mb 40] [--piece-mib 4] [--formats openalex,...]
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"


def _repeat_to(body: bytes, size: int) -> bytes:
    return body * max(1, -(-size // max(len(body), 1)))


def openalex_input(folder: Path, size: int) -> list[str]:
    sys.path.insert(0, str(Path(__file__).parent))
    from reader_openalex import generated_file

    one = generated_file(1000)
    data = generated_file(max(1000, size * 1000 // len(one)))
    (folder / "part_000.gz").write_bytes(gzip.compress(data, compresslevel=1))
    return ["--input", str(folder / "part_000.gz")]


def scopus_input(folder: Path, size: int) -> list[str]:
    text = (DATA / "scopus" / "export_2023.csv").read_bytes()
    header, body = text.split(b"\n", 1)
    (folder / "export.csv").write_bytes(header + b"\n" + _repeat_to(body, size))
    return ["--input", str(folder / "export.csv")]


def wos_input(folder: Path, size: int) -> list[str]:
    text = (DATA / "wos" / "savedrecs_2024.txt").read_bytes()
    start, end = text.index(b"\nPT ") + 1, text.rindex(b"\nEF")
    (folder / "savedrecs.txt").write_bytes(
        text[:start] + _repeat_to(text[start:end] + b"\n", size) + b"EF\n"
    )
    return ["--input", str(folder / "savedrecs.txt")]


def deals_input(folder: Path, size: int) -> list[str]:
    text = (DATA / "deals" / "funding_rounds.csv").read_bytes()
    header, body = text.split(b"\n", 1)
    (folder / "rounds.csv").write_bytes(header + b"\n" + _repeat_to(body, size))
    return [
        "--input",
        str(folder / "rounds.csv"),
        "--mapping",
        str(ROOT / "deploy" / "deals-mapping-example.yaml"),
    ]


def _zip(path: Path, name: str, text: str) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr(name, text)


#: Six CPC (and IPC) groups, the number a patent has on average in PatentsView.
CPC = [
    ("H", "H04W72/04"),
    ("H", "H04L5/00"),
    ("G", "G06F16/24"),
    ("G", "G06N3/08"),
    ("H", "H04B7/06"),
    ("Y", "Y02D30/70"),
]
CITIES = [
    ("San Jose", "CA", "US", 37.34, -121.89),
    ("Boston", "MA", "US", 42.36, -71.06),
    ("Austin", "TX", "US", 30.27, -97.74),
    ("Toronto", "ON", "CA", 43.65, -79.38),
    ("Tokyo", "", "JP", 35.69, 139.69),
]


def _published_header(folder: str, table: str) -> list[str]:
    # The columns of a table as its fixture holds them: the source's published layout.
    path = next((DATA / folder).glob(f"{table}*.zip"))
    with zipfile.ZipFile(path) as archive:
        first = archive.read(archive.namelist()[0]).decode("utf-8-sig").splitlines()[0]
    return [c.strip('"') for c in first.split("\t" if folder == "patentsview" else ",")]


def _rows(header: list[str], values: dict[str, str], *, sep: str, quote: bool) -> str:
    # One row in a published layout: the given columns, the others "0" (most of the other
    # columns are counts, flags and ids), so that a plain parse has the source's width.
    cells = [values.get(c, "0") for c in header]
    return sep.join(f'"{v}"' for v in cells) if quote else sep.join(cells)


def patentsview_input(folder: Path, size: int) -> list[str]:
    """PatentsView tables in their published layout (every column of the fixtures' headers)."""
    patents = max(1000, size // 700)  # about 700 bytes of table rows per patent
    headers = {
        t: _published_header("patentsview", t)
        for t in (
            "g_patent",
            "g_application",
            "g_inventor_disambiguated",
            "g_assignee_disambiguated",
            "g_cpc_current",
            "g_location_disambiguated",
        )
    }
    rows: dict[str, list[str]] = {t: ["\t".join(f'"{c}"' for c in h)] for t, h in headers.items()}

    def add(table: str, **values: str) -> None:
        rows[table].append(_rows(headers[table], values, sep="\t", quote=True))

    for p in range(patents):
        pid = str(10_000_000 + p)
        add(
            "g_patent",
            patent_id=pid,
            patent_type="utility",
            patent_date="2021-03-02",
            patent_title=f"Device and method for processing signals {p}",
            wipo_kind="B2",
            num_claims="12",
            withdrawn="0",
            filename="ipg210302.xml",
        )
        add(
            "g_application",
            application_id=f"16/{p}",
            patent_id=pid,
            patent_application_type="16",
            filing_date="2019-05-01",
            series_code="16",
            rule_47_flag="FALSE",
        )
        for k in range(3):
            add(
                "g_inventor_disambiguated",
                patent_id=pid,
                inventor_sequence=str(k),
                inventor_id=f"fl:a_ln:inventor-{p}-{k}",
                disambig_inventor_name_first="Ann",
                disambig_inventor_name_last=f"Inventor{k}",
                gender_code="F",
                location_id=f"loc-{(p + k) % 500}",
            )
        add(
            "g_assignee_disambiguated",
            patent_id=pid,
            assignee_sequence="0",
            assignee_id=f"asg-{p % 97}",
            disambig_assignee_individual_name_first="",
            disambig_assignee_individual_name_last="",
            disambig_assignee_organization=f"Company {p % 97}, Inc.",
            assignee_type="2",
            location_id="loc-1",
        )
        for k, (section, group) in enumerate(CPC):  # about 6 current CPC groups a patent
            add(
                "g_cpc_current",
                patent_id=pid,
                cpc_sequence=str(k),
                cpc_section=section,
                cpc_class=group[:3],
                cpc_subclass=group[:4],
                cpc_group=group,
                cpc_type="inventional" if k == 0 else "additional",
            )
    for i in range(500):
        city, state, country, lat, lon = CITIES[i % len(CITIES)]
        add(
            "g_location_disambiguated",
            location_id=f"loc-{i}",
            disambig_city=city,
            disambig_state=state,
            disambig_country=country,
            latitude=str(lat + i / 1e4),
            longitude=str(lon),
            county="Santa Clara",
            state_fips="06",
            county_fips="085",
        )
    for name, lines in rows.items():
        _zip(folder / f"{name}.tsv.zip", f"{name}.tsv", "\n".join(lines) + "\n")
    return ["--input", str(folder)]


def patstat_input(folder: Path, size: int) -> list[str]:
    """PATSTAT tables in their published layout (every column of the fixtures' headers)."""
    applications = max(1000, size // 750)
    headers = {t: _published_header("patstat", t) for t in ("tls201", "tls206", "tls207", "tls209")}
    rows: dict[str, list[str]] = {t: [",".join(h)] for t, h in headers.items()}

    def add(table: str, **values: str) -> None:
        rows[table].append(_rows(headers[table], values, sep=",", quote=False))

    for a in range(applications):
        add(
            "tls201",
            appln_id=str(a + 1),
            appln_auth="WO",
            appln_nr=str(2019000000 + a),
            appln_kind="W",
            appln_filing_date="2019-05-01",
            appln_filing_year="2019",
            earliest_filing_year="2018",
            earliest_filing_id=str(a + 1),
            earliest_filing_date="2018-05-02",
            granted="N",
            nb_applicants="1",
        )
        add(
            "tls207",
            person_id=str(900000000 + a % 97),
            appln_id=str(a + 1),
            applt_seq_nr="1",
            invt_seq_nr="0",
        )
        for k, (_, group) in enumerate(CPC):  # about 6 IPC symbols an application
            add(
                "tls209",
                appln_id=str(a + 1),
                ipc_class_symbol=f"{group[:4]}  {group[4:]}",
                ipc_class_level="A",
                ipc_version="2006-01-01",
                ipc_value="I",
                ipc_position="F" if k == 0 else "L",
                ipc_gener_auth="EP",
            )
        for k in range(3):
            person = 3 * a + k + 1
            add(
                "tls207",
                person_id=str(person),
                appln_id=str(a + 1),
                applt_seq_nr="0",
                invt_seq_nr=str(k + 1),
            )
            city, _, country, _, _ = CITIES[(a + k) % len(CITIES)]
            add(
                "tls206",
                person_id=str(person),
                person_name=f"INVENTOR {person}",
                person_address=f'"{k + 1} Main Street, {city}"',
                person_ctry_code=country,
                doc_std_name=f"INVENTOR {person}",
                psn_name=f"INVENTOR {person}",
                psn_sector="INDIVIDUAL",
            )
    for c in range(97):
        add(
            "tls206",
            person_id=str(900000000 + c),
            person_name=f"COMPANY {c} INC.",
            person_address="",
            person_ctry_code="US",
            psn_sector="COMPANY",
        )
    for name, lines in rows.items():
        _zip(folder / f"{name}_part01.zip", f"{name}_part01.csv", "\n".join(lines) + "\n")
    return ["--input", str(folder)]


INPUTS: dict[str, Callable[[Path, int], list[str]]] = {
    "openalex": openalex_input,
    "scopus": scopus_input,
    "wos": wos_input,
    "deals": deals_input,
    "patentsview": patentsview_input,
    "patstat": patstat_input,
}


def _tree_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def measured_convert(fmt: str, args: list[str], output: Path, config: Path) -> dict[str, float]:
    """Run ``icrank convert`` in a fresh process; its time and peak memories."""
    cmd = [sys.executable, "-m", "flows.cli", "convert", "--format", fmt, *args]
    cmd += ["--output", str(output), "--config", str(config)]
    started = time.perf_counter()
    proc = psutil.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    worker_peak = tree_peak = 0
    while proc.poll() is None:
        try:
            children = proc.children(recursive=True)
            sizes = [c.memory_info().rss for c in children if c.is_running()]
            tree_peak = max(tree_peak, proc.memory_info().rss + sum(sizes))
            worker_peak = max(worker_peak, *sizes, 0)
        except psutil.Error:
            pass
        time.sleep(0.05)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{fmt}: convert failed ({proc.returncode}): {err.decode()[-2000:]}")
    return {
        "seconds": time.perf_counter() - started,
        "worker_mb": worker_peak / 2**20,
        "tree_mb": tree_peak / 2**20,
        "rows": float(out.decode().split(" rows written")[0].split()[-1].replace(",", "")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=40.0, help="Size of the 1x input (MB).")
    parser.add_argument("--formats", default=",".join(INPUTS))
    parser.add_argument("--piece-mib", type=float, default=4.0, help="read-piece-mib")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="icrank-reader-memory-"))
    config = work / "config.yaml"
    # Small pieces, so that the 1x input already holds many of them: memory is then at its
    # steady state at both sizes (with 32 MiB pieces that takes inputs of gigabytes).
    config.write_text(f"dask: {{workers: 2}}\nread-piece-mib: {args.piece_mib}\n")
    print(
        f"{'format':12} {'scale':>5} {'input MB':>9} {'rows':>10} {'s':>6} "
        f"{'worker MB':>9} {'tree MB':>8}"
    )
    try:
        for fmt in args.formats.split(","):
            peaks = []
            for scale in (1, 10):
                folder = work / f"{fmt}-{scale}"
                folder.mkdir()
                size = int(args.mb * scale * 2**20)
                cli_args = INPUTS[fmt](folder, size)
                result = measured_convert(fmt, cli_args, work / f"{fmt}-{scale}-out", config)
                peaks.append(result["worker_mb"])
                print(
                    f"{fmt:12} {scale:>4}x {_tree_bytes(folder) / 2**20:9.1f} "
                    f"{result['rows']:10,.0f} {result['seconds']:6.1f} "
                    f"{result['worker_mb']:9.0f} {result['tree_mb']:8.0f}",
                    flush=True,
                )
                shutil.rmtree(folder)
                shutil.rmtree(work / f"{fmt}-{scale}-out", ignore_errors=True)
                shutil.rmtree(work / f"{fmt}-{scale}-out-rejects", ignore_errors=True)
            ratio = peaks[1] / peaks[0]
            verdict = "ok" if ratio <= 1.2 else "MISSED"
            print(f"{fmt:12} peak worker memory 10x / 1x = {ratio:.2f} (goal <= 1.20: {verdict})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
