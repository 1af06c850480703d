"""The benchmark harness of issue 8 (``make bench``): runs the registered benchmarks on the local
PostgreSQL and Redis, each figure beside its reference measured in the same run, and writes
``docs/benchmarks.md`` (machine, date, commit, the table, notes on method, profiles).

    .venv/bin/python bench/run.py                 # everything, writes docs/benchmarks.md
    .venv/bin/python bench/run.py --only verify   # a subset (repeat --only, or a,b)
    .venv/bin/python bench/run.py --quick         # tiny sizes: checks the harness, not figures

A benchmark is a function ``run(ctx: Context) -> list[Row]`` (see ``bench/common.py``);
adding one is one line in ``BENCHMARKS``.
"""

import argparse
import importlib
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, Context, Row, postgres_version, setup_django  # noqa: E402

# name -> "module:function"; run in this order.
BENCHMARKS = {
    "verify": "bench.verify:run_single",  # 1. one eddsa-rdfc-2022 credential vs Node
    "batch": "bench.verify:run_batch",  # 2. the batch verify API vs raw Ed25519
    "http_verify": "bench.http_verify:run",  # 3. the verify endpoint over HTTP vs a bare view
    "issue": "bench.issue:run",  # 4. issuing (sign + store) per second
    "pdf": "bench.pdf:run",  # 5. certificate PDFs through Celery vs WeasyPrint alone
    "pages": "bench.pages:run",  # 6. course and lesson pages, uncached and cached, vs a bare view
    "ledger": "bench.ledger:run",  # 7. ledger postings at 1, 4, 16 writers vs django-hordak
    "reward_run": "bench.reward_run:run",  # 8. a reward run over 1M events, 20,000 drivers
    "ingest": "bench.ingest:run",  # 9. service-event ingestion, batches of 1,000
}

OUTPUT = ROOT / "docs" / "benchmarks.md"


def _as_row(row) -> Row:
    """Benchmarks 7 to 9 (bench/ledger.py and its neighbours) give their rows as dicts, keyed
    as the results table's columns."""
    if isinstance(row, Row):
        return row
    return Row(
        str(row["#"]),
        row["what"],
        row["figure"],
        row["unit"],
        reference=row.get("reference") or "—",
        reference_figure=row.get("reference figure"),
        target=row.get("target") or "—",
        met=row.get("met?"),
        notes=row.get("notes") or "",
    )


def _run(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    except OSError:
        return "—"
    return (done.stdout or done.stderr).strip() or "—"


def machine() -> dict:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as handle:
        kib = int(next(line for line in handle if line.startswith("MemTotal")).split()[1])
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram": f"{kib / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "node": _run(["node", "--version"]),
        "postgresql": postgres_version(),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def commit() -> str:
    sha = _run(["git", "rev-parse", "--short", "HEAD"])
    dirty = _run(["git", "status", "--porcelain", "--untracked-files=no"])
    return sha + (" (with uncommitted changes)" if dirty not in ("", "—") else "")


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def _met(row: Row) -> str:
    return {True: "yes", False: "**no**", None: "—"}[row.met]


def table(rows: list[Row]) -> str:
    lines = [
        "| # | what | figure | unit | reference | reference figure | ratio | target | met? |",
        "|---|---|---:|---|---|---:|---:|---|---|",
    ]
    for row in rows:
        ratio = f"{row.ratio:.2f}" if row.ratio is not None else "—"
        lines.append(
            f"| {row.number} | {row.what} | {_number(row.figure)} | {row.unit} | "
            f"{row.reference} | {_number(row.reference_figure)} | {ratio} | {row.target} | "
            f"{_met(row)} |"
        )
    return "\n".join(lines)


MISSES = (
    "Where a target is missed (**no** above), why and what was tried: rows 1, 2 and 4 in the "
    "row notes and the *findings* entries under Method below, and ADR 0010; rows 3, 5 and 6 "
    "in [`docs/benchmarks-findings-web.md`](benchmarks-findings-web.md); rows 7, 8 and 9 in "
    "[`docs/benchmarks-findings.md`](benchmarks-findings.md) (measured causes, the fixes made "
    "with their before and after, and what would be next)."
)


def write_report(path: Path, info: dict, rows: list[Row], ctx: Context, args, started) -> None:
    parts = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`bench/run.py`); see `bench/README.md` for what each "
        "benchmark does. Figures are medians of rounds in which the subject and its reference "
        "alternate in the same run (this machine is shared and noisy: read the ratios).",
        "",
        f"- date: {started:%Y-%m-%d %H:%M} UTC ({time.time() - started.timestamp():.0f} s)",
        f"- commit: {commit()}",
        f"- machine: {info['cpu']}, {info['cores']} cores, {info['ram']} RAM, "
        f"Linux {info['kernel']}; load average at the end {info['load']}",
        f"- software: Python {info['python']}, Node {info['node']}, "
        f"PostgreSQL {info['postgresql']}",
        f"- run: {ctx.rounds} rounds, per-core figures pinned to core {ctx.core}"
        + (
            ", **quick mode: sizes too small for the figures to mean anything**"
            if ctx.quick
            else ""
        )
        + (f", only {', '.join(args.only)}" if args.only else ""),
        "",
        table(rows),
        "",
        MISSES,
        "",
        "## Notes on each row",
        "",
    ]
    parts += [f"- **{row.number}** {row.notes}" for row in rows if row.notes]
    parts += ["", "## Method", ""]
    parts += [f"- **{name}**: {text}" for name, text in ctx.notes.items()]
    if ctx.profiles:
        parts += ["", "## Profiles (pyinstrument, this run)", ""]
        for name, text in ctx.profiles.items():
            parts += [f"<details><summary>{name}</summary>", "", "```", text, "```", "</details>"]
            parts.append("")
    path.write_text("\n".join(parts).rstrip() + "\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only", action="append", help=f"run only these (of {', '.join(BENCHMARKS)})"
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the harness")
    parser.add_argument("--rounds", type=int, help="rounds per figure (default 7, quick 2)")
    parser.add_argument("--core", type=int, help="the core per-core figures are pinned to")
    parser.add_argument("--no-profile", action="store_true", help="skip the pyinstrument trees")
    parser.add_argument("--keep-db", action="store_true", help="reuse roadwise_bench as it is")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="the Markdown report")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args()
    only = [name for item in args.only or [] for name in item.split(",") if name]
    unknown = [name for name in only if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    args.only = only
    cores = sorted(os.sched_getaffinity(0))
    ctx = Context(
        quick=args.quick,
        rounds=args.rounds or (2 if args.quick else 7),
        core=args.core if args.core is not None else cores[-1],
        profile=not args.no_profile,
    )
    started = datetime.now(UTC)
    setup_django(fresh=not args.keep_db)
    rows: list[Row] = []
    failed = []
    for name, target in BENCHMARKS.items():
        if only and name not in only:
            continue
        module_name, function_name = target.split(":")
        print(f"== {name}", flush=True)
        try:
            function = getattr(importlib.import_module(module_name), function_name)
            new_rows = [_as_row(row) for row in function(ctx)]
        except Exception:  # noqa: BLE001 - one broken benchmark must not hide the others
            traceback.print_exc()
            failed.append(name)
            rows.append(Row("!", f"{name}: failed (see the harness output)", None, ""))
            continue
        for row in new_rows:
            ratio = f" ratio {row.ratio:.2f}" if row.ratio is not None else ""
            print(f"   {row.number} {row.what}: {_number(row.figure)} {row.unit}{ratio}")
        rows.extend(new_rows)
    info = machine()
    write_report(args.output, info, rows, ctx, args, started)
    if args.json:
        args.json.write_text(
            json.dumps({"machine": info, "rows": [r.as_dict() for r in rows]}, indent=2)
        )
    print(f"wrote {args.output}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
