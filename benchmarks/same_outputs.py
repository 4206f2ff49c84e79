"""Do two versions of icrank publish the same rankings? For refactors that must change nothing.

Runs ``icrank run`` of this checkout and of an earlier commit (``git archive`` into a temporary
folder, run with ``PYTHONPATH``) on the same inputs, each with its own gazetteer cache, and
compares the SHA-256 of every published table, of ``summary.json`` without its run-specific
keys, and of the rankings of a second run against the first (``--previous``). Inputs: the
embedded SYNTHETIC demo world, its record files as CSV, and a world of real organisation
strings (``../shared/realdata/ror_organisations.csv``, ROR, CC0) as CSV and Parquet, half of
it with coordinates and half to geocode.

    python benchmarks/same_outputs.py --against 0fb6846

Prints one line per input and table, and exits 1 when anything differs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
ROR = ROOT.parent / "shared" / "realdata" / "ror_organisations.csv"
RUN_SPECIFIC = ("run_id", "timings", "versions", "parameters", "inputs")


def real_world(folder: Path) -> list[Path]:
    """Each ROR organisation as one record; every other one without coordinates."""
    ror = pd.read_csv(ROR, dtype=str, keep_default_na=False)
    n = len(ror)
    records = pd.DataFrame(
        {
            "source": [("publication", "patent", "vc")[i % 3] for i in range(n)],
            "doc_id": [str(i // 2) for i in range(n)],
            "year": [2019 + i % 5 for i in range(n)],
            "city": ror["city"],
            "state": ror["subdivision"],
            "country": ror["country"],
            "lat": [ror["lat"][i] if i % 2 else "" for i in range(n)],
            "lon": [ror["lon"][i] if i % 2 else "" for i in range(n)],
        }
    )
    records.to_csv(folder / "ror.csv", index=False)
    records.to_parquet(folder / "ror.parquet", index=False)
    return [folder / "ror.csv", folder / "ror.parquet"]


def digests(run: Path) -> dict[str, str]:
    out = {
        f.name: hashlib.sha256(f.read_bytes()).hexdigest()[:16]
        for f in sorted(run.iterdir())
        if f.suffix in (".parquet", ".csv", ".geojson")
    }
    summary = json.loads((run / "summary.json").read_text())
    for key in RUN_SPECIFIC:
        summary.pop(key, None)
    out["summary.json (ranking part)"] = hashlib.sha256(
        json.dumps(summary, sort_keys=True).encode()
    ).hexdigest()[:16]
    return out


def run_version(code: Path, cache: Path, args: list[str], output: Path) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(code), ICRANK_CACHE_DIR=str(cache))
    where = subprocess.run(
        [sys.executable, "-c", "import flows; print(flows.__file__)"],
        env=env,
        cwd=code,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not where.startswith(str(code)):
        raise SystemExit(f"version in {code} would import {where}: not a comparison")
    command = [sys.executable, "-m", "flows.cli", "run", "--quiet", *args]
    for out, extra in ((output, []), (output.with_name(output.name + "-again"), ["--previous"])):
        extra = [*extra, str(output)] if extra else []
        # Run from the code's folder: ``python -m`` puts the working folder first on the path,
        # ahead of PYTHONPATH and of an editable install's finder.
        done = subprocess.run(
            [*command, "--output", str(out), *extra],
            env=env,
            cwd=code,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            raise SystemExit(f"{code}: icrank run {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    (first,) = [p for p in output.iterdir() if p.is_dir()]
    (second,) = [p for p in output.with_name(output.name + "-again").iterdir() if p.is_dir()]
    found = digests(first)
    found["rankings.parquet (with --previous)"] = digests(second)["rankings.parquet"]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", required=True, help="earlier commit to compare with")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="icrank-same-") as tmp:
        tmp = Path(tmp)
        earlier = tmp / "earlier"
        earlier.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.against], capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(earlier)], input=archive.stdout, check=True)
        demo_csv = tmp / "demo-csv"
        subprocess.run(
            [sys.executable, "-m", "flows.cli", "demo-data", "--output", str(demo_csv)]
            + ["--scale", "0.1", "--format", "csv"],
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        inputs = {"demo world (embedded)": [], "demo world (CSV files)": ["--input", str(demo_csv)]}
        for path in real_world(tmp):
            inputs[f"ROR organisations ({path.suffix[1:]})"] = ["--input", str(path)]
        differ = 0
        for label, run_args in inputs.items():
            slug = "".join(c if c.isalnum() else "-" for c in label)
            found = {
                name: run_version(code, tmp / f"cache-{name}", run_args, tmp / f"{name}-{slug}")
                for name, code in (("earlier", earlier), ("this", ROOT))
            }
            for table, digest in found["this"].items():
                same = found["earlier"].get(table) == digest
                differ += not same
                print(f"{label:32} {table:36} {digest} {'same' if same else 'DIFFERENT'}")
        print("identical" if not differ else f"{differ} outputs differ")
        return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
