"""Print the suite's summary table from the rows each benchmark saved:
``python -m bench.summary DIR`` (``scripts/bench.sh`` does this after a run).

One line per figure: the baseline, ours, the ratio ours / baseline, the target and whether
this run met it. Markdown, so that it can go into ``bench/README.md`` as printed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ORDER = (
    "bench_entity",
    "bench_hooks",
    "bench_otel",
    "bench_worker_cost",
    "bench_growth",
    "bench_pure",
)


def _number(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m bench.summary RESULTS_DIR")
    directory = Path(args[0])
    found = {p.stem: json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))}
    names = [n for n in ORDER if n in found] + [n for n in found if n not in ORDER]
    print("| # | figure | baseline | ours | ratio | target | result |")
    print("|---|---|---:|---:|---:|---|---|")
    notes: list[str] = []
    for name in names:
        for row in found[name]["rows"]:
            met = row["met"]
            result = "met" if met else ("(reported)" if met is None else "**missed**")
            print(
                f"| {row['row']} | {row['what']} | {_number(row['baseline'])} | "
                f"{_number(row['ours'])} | {row['ratio']:.2f} | {row['target']} | {result} |"
            )
        notes.extend(found[name].get("notes", []))
    missing = [n for n in ORDER if n not in found]
    if missing:
        print(f"\n(not run: {', '.join(missing)})")
    if notes:
        print()
        for note in notes:
            print(f"- {note}")


if __name__ == "__main__":
    main()
