"""Time ``sgs validate`` on a large real-shaped file: 10,000 rows, 25 columns of which 20 are not the standard's.

    python bench/validate_bench.py [--rows 10000] [--keep DIR]

Writes the workbook with the tests' generator (XlsxWriter, streamed; every tenth row a bad credit code, every
twentieth a date that is not one, and the 10 required fields the export lacks missing on every row), then
times the whole command as a user runs it (a fresh ``python -m sgs.cli validate`` process, text to a file)
and ``check_file`` alone in this process. Results in docs/scoring.md ("The pre-publication checker").
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from metrics.validate import check_file  # noqa: E402
from tests.test_validate_files import write_large  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, help="write the file here instead of a temporary folder")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="sgs-validate-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"validate-{args.rows}.xlsx"
    started = time.perf_counter()
    write_large(path, args.rows)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.2f} s")

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = folder / "validate.txt"
    started = time.perf_counter()
    with out.open("w", encoding="utf-8") as fh:
        done = subprocess.run([sys.executable, "-m", "sgs.cli", "validate", str(path), "--kind", "cf"],
                              stdout=fh, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    elapsed = time.perf_counter() - started
    lines = sum(1 for _ in out.open(encoding="utf-8"))
    print(f"sgs validate (new process, text): {elapsed:.2f} s, exit {done.returncode}, {lines} lines; "
          f"{done.stderr.strip()}")

    started = time.perf_counter()
    report = check_file(path, "cf")
    print(f"check_file in process: {time.perf_counter() - started:.2f} s, {len(report.problems)} problems, "
          f"{len(report.unrecognised)} unrecognised columns, {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
