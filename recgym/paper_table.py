"""``recgym bench --suite paper``: the paper-style results tables, measured on whatever data is present (not a speed
benchmark: ``benchmarks/`` times things).

For every task of the suite whose data is found (the synthetic shop always is), every registered recommender id of
that task is evaluated on its test split with the raw query, pseudo-relevance feedback, the zero-shot LLM and,
where a trained agent is given, GRPO. The output is one table per task in the paper's metrics (product search:
NDCG@100 and Recall@100; sequential recommendation: NDCG@10/@50 and Recall@10/@50), each number with its 95%
bootstrap CI and each row with its number of examples and the ``recgym eval`` command that reproduces it, written
between markers into a Markdown file (``docs/results.md``) so the hand-written analysis around it survives re-runs.
"""

from __future__ import annotations

import argparse
import json
import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recgym.agents.registry import AGENT_KINDS
from recgym.envs.task import task_of
from recgym.paths import cache_dir
from recgym.report import estimate_cell
from recgym.rewards import preset_names
from recgym.stats import DESCRIPTION
from recgym.tasks import TASKS, spec_for_id_task

BEGIN, END = "<!-- recgym bench --suite paper: begin -->", "<!-- recgym bench --suite paper: end -->"
SEARCH_METRICS = {"ndcg@100": "NDCG@100", "recall@100": "Recall@100"}
SEQUENTIAL_METRICS = {"ndcg@10": "NDCG@10", "ndcg@50": "NDCG@50", "recall@10": "Recall@10", "recall@50": "Recall@50"}


@dataclass(frozen=True)
class BenchTask:
    """One table of the suite.

    Attributes:
        title: Table heading.
        id_task: The ``RecR1/<id_task>-<Recommender>-v0`` family; every recommender registered for it is run.
        folders: Data folders tried in order under ``--data-root`` (prepared-cache names first, then the layout of
            the shared data slices); empty for the built-in synthetic shop.
        dataset_kwargs: Passed to the env (e.g. a category).
        max_examples: Default cap on test examples (large splits); ``--max-examples`` overrides it.
        recommenders: Which registered recommenders to run (``None``: all of the family that need no server).
    """

    title: str
    id_task: str
    folders: tuple[str, ...] = ()
    dataset_kwargs: dict[str, Any] = field(default_factory=dict)
    max_examples: int | None = None
    recommenders: tuple[str, ...] | None = None


def paper_suite() -> tuple[BenchTask, ...]:
    """The paper-table suite, from the task registry (``TaskSpec.suite``): real-data tables first, then the
    synthetic shop's, each group in registration order."""
    specs = sorted(TASKS.values(), key=lambda spec: spec.synthetic)  # stable: keeps the registration order
    return tuple(
        BenchTask(t.title, spec.id_task, t.folders, dict(t.dataset_kwargs), t.max_examples)
        for spec in specs
        for t in spec.suite
    )


PAPER_SUITE: tuple[BenchTask, ...] = paper_suite()
SUITES = {"paper": PAPER_SUITE}


class _MemoAgent:
    """Answers an observation seen before from memory: the frozen LLM's greedy output depends on the prompt
    alone, so the recommenders of one task share its generations."""

    def __init__(self, agent: Any) -> None:
        self.agent, self.memory = agent, {}

    def act(self, observations: list[str], infos: list[dict] | None = None) -> list[str]:
        todo = [o for o in dict.fromkeys(observations) if o not in self.memory]
        if todo:
            self.memory.update(zip(todo, self.agent.act(todo)))
        return [self.memory[o] for o in observations]


def env_ids(task: BenchTask) -> list[str]:
    spec = spec_for_id_task(task.id_task)
    recs = spec.offline_recommenders() if task.recommenders is None else task.recommenders
    return [f"RecR1/{task.id_task}-{rec}-v0" for rec in recs]


def find_data(task: BenchTask, data_root: Path) -> Path | None:
    """The task's data folder under ``data_root``; None when absent (the task is skipped)."""
    return next((data_root / f for f in task.folders if (data_root / f).is_dir()), None)


def run_suite(
    suite: Sequence[BenchTask],
    data_root: Path,
    agents: Sequence[str] = ("raw", "prf", "prompt"),
    trained: dict[str, list[str]] | None = None,
    reward: str = "expand",
    max_examples: int | None = None,
    num_envs: int = 32,
    model: str | None = None,
    max_new_tokens: int = 32,
    on_task: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Evaluate ``agents`` (+ ``trained``: env id -> saved GRPO/SFT agent folders) on every env of every task with
    data; returns ``{"tasks": [...], "skipped": [...]}`` with per-row metrics, timings and commands. ``on_task`` is
    called with the report so far after each task (the CLI saves it, so an interrupted run keeps what it measured)."""
    import gymnasium as gym

    import recgym  # noqa: F401  (registers the ids)
    from recgym.agents import evaluate
    from recgym.agents.registry import make_agent, options_for, saved_spec

    llm = None
    tasks: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    report = {"suite": "paper", "reward": reward, "tasks": tasks, "skipped": skipped}
    for task in suite:
        folder = None
        if task.folders:
            folder = find_data(task, data_root)
            if folder is None:
                skipped.append({"title": task.title, "looked_in": [str(data_root / f) for f in task.folders]})
                continue
        env_kwargs: dict[str, Any] = {"reward": reward, "split": "test"}
        if folder is not None:
            env_kwargs["data_dir"] = str(folder)
        if task.dataset_kwargs:
            env_kwargs["dataset_kwargs"] = task.dataset_kwargs
        cap = max_examples if max_examples is not None else task.max_examples
        memo = None
        rows = []
        for env_id in env_ids(task):
            venv = gym.make_vec(env_id, num_envs=num_envs, **env_kwargs)
            specs = [*agents, *(saved_spec(f) for f in (trained or {}).get(env_id, []))]
            for spec in specs:
                if spec == "prompt":  # one LLM for the whole suite, its answers shared by a task's recommenders
                    if llm is None:
                        llm = make_agent(spec, venv, model=model, max_new_tokens=max_new_tokens, batch_size=num_envs)
                    memo = memo or _MemoAgent(llm)
                    agent: Any = memo
                else:
                    agent = make_agent(spec, venv, **options_for(spec, {"model": model}))
                started = time.perf_counter()
                result = evaluate(agent, venv, split="test", max_examples=cap)
                print(f"{env_id}  {spec}: ndcg@10 {result.get('ndcg@10', 0):.4f}  ndcg@100 "
                      f"{result.get('ndcg@100', 0):.4f}  ({result['num_examples']} examples, "
                      f"{time.perf_counter() - started:.0f} s)", flush=True)
                rows.append({
                    "env": env_id, "agent": spec, "num_examples": result["num_examples"],
                    "total_examples": task_of(venv).num_examples("test"),
                    "metrics": {k: v for k, v in result.items() if isinstance(v, float)},
                    "ci": result["ci"],
                    "seconds": round(time.perf_counter() - started, 1),
                    "command": eval_command(env_id, env_kwargs, spec, cap, model, max_new_tokens),
                })
            venv.close()
        kind = spec_for_id_task(task.id_task).kind
        tasks.append({"title": task.title, "data_dir": None if folder is None else str(folder), "kind": kind,
                      "rows": rows})
        if on_task is not None:
            on_task(report)
    return report


def eval_command(
    env_id: str, env_kwargs: dict[str, Any], spec: str, cap: int | None, model: str | None, max_new_tokens: int
) -> str:
    """The ``recgym eval`` line that reproduces one row."""
    extra = {k: v for k, v in env_kwargs.items() if k != "reward"}
    parts = ["recgym", "eval", "--env", env_id, "--reward", env_kwargs["reward"], "--agent", spec]
    if extra:
        parts += ["--env-kwargs", json.dumps(extra)]
    if cap is not None:
        parts += ["--max-examples", str(cap)]
    if spec == "prompt":
        parts += ["--max-new-tokens", str(max_new_tokens)] + (["--model", model] if model else [])
    return shlex.join(parts)


def render_markdown(report: dict[str, Any], command: str) -> str:
    """The suite's tables (one per task), their commands, and the tasks skipped for want of data."""
    out = [BEGIN, "", f"Generated by `{command}` (reward preset `{report['reward']}`, test split).", ""]
    for task in report["tasks"]:
        metrics = SEQUENTIAL_METRICS if task["kind"] == "sequential" else SEARCH_METRICS
        first = task["rows"][0]
        where = f"data: `{task['data_dir']}`" if task["data_dir"] else "built-in seeded synthetic data"
        out += [f"### {task['title']}", "",
                f"{where}; {first['num_examples']} of {first['total_examples']} test examples; "
                f"mean [lo, hi]: {DESCRIPTION}.", ""]
        out.append("| recommender | agent | n | " + " | ".join(metrics.values()) + " |")
        out.append("| --- | --- | ---: | " + " | ".join("---:" for _ in metrics) + " |")
        for row in task["rows"]:
            rec = row["env"].split("-")[-2]
            kind = AGENT_KINDS.get(row["agent"].partition(":")[0])
            name = row["agent"] if kind is None else kind.title
            # rows saved before CIs were measured (a merged older report) show the mean alone
            cells = [estimate_cell(row["metrics"].get(k, float("nan")), row.get("ci", {}).get(k)) for k in metrics]
            out.append(f"| {rec} | {name} | {row['num_examples']} | " + " | ".join(cells) + " |")
        out += ["", "Commands, one per row:", "", "```"] + [row["command"] for row in task["rows"]] + ["```", ""]
    if report["skipped"]:
        out += ["Skipped (no data found): " + "; ".join(
            f"{s['title']} (looked in {', '.join(f'`{p}`' for p in s['looked_in'])})" for s in report["skipped"]), ""]
    return "\n".join([*out, END])


def merge_reports(old: dict[str, Any], new: dict[str, Any], suite: Sequence[BenchTask]) -> dict[str, Any]:
    """``old`` with the tasks ``new`` re-ran replaced (by title), in the suite's order."""
    tasks = {t["title"]: t for t in old["tasks"]} | {t["title"]: t for t in new["tasks"]}
    rerun = {t["title"] for t in new["tasks"]} | {s["title"] for s in new["skipped"]}
    skipped = [s for s in old["skipped"] if s["title"] not in rerun] + new["skipped"]
    order = [t.title for t in suite]
    ordered = sorted(tasks.values(), key=lambda t: order.index(t["title"]) if t["title"] in order else len(order))
    return {**new, "tasks": ordered, "skipped": skipped}


def write_section(path: Path, section: str) -> None:
    """Replace the marked section of ``path`` (or append it) and leave everything else untouched."""
    text = path.read_text() if path.is_file() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + ("\n\n" if text else "") + section + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


# ----------------------------------------------------------------------------------------------------------- CLI
def trained_item(item: str) -> tuple[str, str]:
    """``--trained ENV_ID=FOLDER`` -> ``(env id, folder)``; argparse reports a bad one as a usage error."""
    env_id, sep, path = item.partition("=")
    if not sep or not Path(path).is_dir():
        raise argparse.ArgumentTypeError(f"takes ENV_ID=FOLDER of a saved agent, got {item!r}")
    return env_id, path


def cmd_bench(args: argparse.Namespace) -> int:
    trained: dict[str, list[str]] = {}
    for env_id, path in args.trained:
        trained.setdefault(env_id, []).append(path)
    data_root = Path(args.data_root).expanduser() if args.data_root else cache_dir() / "data"
    command = _command_line(args)
    suite = SUITES[args.suite]
    previous = None
    if args.only:
        suite = tuple(t for t in suite if t.id_task in args.only)
        if args.json and Path(args.json).is_file():  # re-running some tasks: keep the others' saved rows
            previous = json.loads(Path(args.json).read_text())

    def save(report: dict[str, Any]) -> None:
        if previous is not None:
            report = merge_reports(previous, report, SUITES[args.suite])
        if args.out:
            write_section(Path(args.out), render_markdown(report, command))
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(report, indent=1) + "\n")

    report = run_suite(suite, data_root, args.agent, trained, args.reward, args.max_examples,
                       args.num_envs, args.model, args.max_new_tokens, on_task=save)
    save(report)
    print(render_markdown(report if previous is None else merge_reports(previous, report, SUITES[args.suite]), command))
    if args.out:
        print(f"wrote the section into {args.out}")
    return 0


def _command_line(args: argparse.Namespace) -> str:
    """The bench command as run, for the generated section's header."""
    parts = ["recgym", "bench", "--suite", args.suite, "--reward", args.reward, "--agent", *args.agent]
    for flag, value in (("--data-root", args.data_root), ("--max-examples", args.max_examples),
                        ("--model", args.model), ("--out", args.out)):
        if value is not None:
            parts += [flag, str(value)]
    if args.trained:
        parts += ["--trained", *(f"{env_id}={path}" for env_id, path in args.trained)]
    if args.only:
        parts += ["--only", *args.only]
    return shlex.join(parts)


def add_parser(subparsers: Any) -> None:
    """Register ``recgym bench`` (see :mod:`recgym.cli`)."""
    p = subparsers.add_parser("bench", help="the paper-style results tables on every env whose data is present")
    p.add_argument("--suite", choices=tuple(SUITES), default="paper")
    p.add_argument("--data-root", help="folder holding the datasets' folders (default: the recgym data cache)")
    p.add_argument("--agent", nargs="+", choices=("raw", "prf", "prompt"), default=["raw", "prf", "prompt"])
    p.add_argument("--trained", nargs="+", action="extend", default=[], metavar="ENV_ID=FOLDER", type=trained_item,
                   help="a saved GRPO (or SFT) agent to add as a row of that env")
    p.add_argument("--reward", choices=preset_names(), default="expand",
                   help="reward preset: how actions become queries (raw and PRF rows do not depend on it)")
    p.add_argument("--only", nargs="+", metavar="ID_TASK",
                   help="run only these task families (e.g. Shop ShopSeq); with --json, the other tasks' saved rows "
                        "are kept and the section is written whole")
    p.add_argument("--max-examples", type=int, help="cap on test examples per task (default: the task's own)")
    p.add_argument("--num-envs", type=int, default=32)
    p.add_argument("--model", help="zero-shot LLM (default: offline SmolLM2-135M-Instruct)")
    p.add_argument("--max-new-tokens", type=int, default=32, help="zero-shot LLM completion cap")
    p.add_argument("--out", help="Markdown file whose marked section is replaced (e.g. docs/results.md)")
    p.add_argument("--json", help="also write every row (metrics, timings, commands) to this JSON file")
    p.set_defaults(func=cmd_bench)
