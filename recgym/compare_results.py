"""``recgym compare``: paired differences between agents of saved ``recgym eval --out`` files.

An ablation often compares runs evaluated at different times (a new recipe against the one in docs/results/).
Re-evaluating the old runs is slow and their checkpoints may be gone; their per-example records are in the JSON.
This command pairs those records example by example (:func:`recgym.agents.compare`: an error unless both sides are
the same examples in the same order) and prints, per metric, each side's mean with its CI and the paired
difference from the baseline with its paired CI::

    recgym compare --baseline docs/results/old_val.json grpo:runs/a-s0/final grpo:runs/a-s1/final \\
                   --agent new_val.json grpo:runs/b-s0/final grpo:runs/b-s1/final [--out diff.json]

Several agents named after one file form ONE side: the per-example mean of their records (e.g. the seeds of a
recipe), so "recipe B minus recipe A, averaged over seeds" is paired over examples with the seed noise averaged in.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from recgym.agents.base import METRIC_KEYS, compare, summarize
from recgym.stats import DESCRIPTION

KEYS: tuple[str, ...] = (*METRIC_KEYS, "reward")


def load_side(spec: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """``[FILE, AGENT, ...]`` -> (a label, an ``evaluate``-like result whose records average the named agents)."""
    if len(spec) < 2:
        raise ValueError(f"a side is FILE AGENT [AGENT ...], got {' '.join(spec)!r}")
    path, names = Path(spec[0]), list(spec[1:])
    saved = json.loads(path.read_text())
    agents = saved.get("agents", {})
    missing = [n for n in names if n not in agents]
    if missing:
        raise ValueError(f"{path} has no agent(s) {missing}; it has {sorted(agents)}")
    runs = [agents[n].get("records") or [] for n in names]
    if not all(runs):
        raise ValueError(f"{path}: every agent needs its per-example 'records' (recgym eval --out writes them)")
    for name, records in zip(names[1:], runs[1:]):  # the averaged agents must be on the same examples too
        compare({"records": runs[0], "ci": {}}, {"records": records, "ci": {}})
    keys = [k for k in KEYS if all(k in r for records in runs for r in records)]
    averaged = [
        {"index": first["index"], "example_id": first.get("example_id", first["index"]),
         **{k: float(np.mean([records[i][k] for records in runs])) for k in keys}}
        for i, first in enumerate(runs[0])
    ]
    result = {**summarize(averaged), "records": averaged, "num_examples": len(averaged), "agents": names}
    label = names[0] if len(names) == 1 else f"mean of {len(names)}"
    return f"{label} ({path.name})", result


def cmd_compare(args: Any) -> int:
    from recgym.provenance import provenance
    from recgym.report import COLUMNS, results_table

    try:
        base_label, base = load_side(args.baseline)
        sides = dict(load_side(spec) for spec in args.agent)
        diffs = {label: compare(result, base) for label, result in sides.items()}
    except (ValueError, OSError, json.JSONDecodeError) as err:
        print(f"recgym compare: error: {err}", file=sys.stderr)
        return 2
    if len(sides) < len(args.agent):
        print("recgym compare: error: the same side is named twice", file=sys.stderr)
        return 2
    columns = [k for k in COLUMNS if k in base["ci"] and all(k in r["ci"] for r in sides.values())]
    print(f"mean [lo, hi]: {DESCRIPTION}; n = {base['num_examples']} examples")
    for label, result in {base_label: base, **sides}.items():
        if len(result["agents"]) > 1:
            print(f"  {label}: the per-example mean of {', '.join(result['agents'])}")
    print(results_table({base_label: base, **sides}, columns=columns))
    print(f"\npaired difference from {base_label}; * = the CI excludes 0")
    print(results_table({f"{label} - baseline": d for label, d in diffs.items()}, columns=columns, mark_nonzero=True))
    if args.out:
        strip = lambda r: {k: v for k, v in r.items() if k != "records"}  # noqa: E731 (the inputs hold the records)
        record = {"provenance": provenance(["recgym", *args.argv]), "baseline": {base_label: strip(base)},
                  "agents": {label: strip(r) for label, r in sides.items()}, "comparison": diffs}
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(record, indent=1) + "\n")
        print(f"wrote {args.out}")
    return 0


def add_parser(subparsers: Any) -> None:
    """Register ``recgym compare`` (see ``recgym.cli.COMMAND_MODULES``)."""
    p = subparsers.add_parser("compare", help="paired differences between agents of saved `recgym eval --out` files")
    p.add_argument("--baseline", nargs="+", required=True, metavar="FILE AGENT",
                   help="the side the others are compared with: a JSON file and one or more of its agents (averaged)")
    p.add_argument("--agent", nargs="+", action="append", required=True, metavar="FILE AGENT",
                   help="a side to compare: a JSON file and one or more of its agents (averaged); repeatable")
    p.add_argument("--out", help="write the means, CIs and paired differences as JSON")
    p.set_defaults(func=cmd_compare)


__all__ = ["add_parser", "load_side"]
