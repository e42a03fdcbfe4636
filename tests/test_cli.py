"""The ``recgym`` command line (in-process through ``main``) and the report helpers it prints with."""

import json
import shlex

import gymnasium as gym
import pytest

import recgym  # noqa: F401  (registers the ids)
from recgym.agents import PseudoRelevanceFeedbackAgent, RandomAgent, RawQueryAgent, compare, evaluate
from recgym.cli import main, parse_set
from recgym.report import learning_curve, logged_algorithm, plot_learning_curve, results_table, rolling_mean

ENV = "RecR1/Shop-BM25-v0"
SMALL_SHOP = {"num_products": 400, "num_queries": 200}
ENV_KWARGS = json.dumps({"dataset_kwargs": SMALL_SHOP})
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# two steps of 4 completions x 8 tokens from the tiny random model, with validation each step so the plot has some
TINY_TRAIN = ["--model", "tiny", "--env-kwargs", ENV_KWARGS, "--set", "num_generations=4", "micro_batch_size=4",
              "max_new_tokens=8", "eval_every=1", "eval_max_examples=4", "save_every=0"]


def usage_error(capsys, argv: list[str]) -> str:
    """Run ``argv``, expect exit status 2, return what was printed to stderr."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    return capsys.readouterr().err


def test_eval_json_equals_evaluate(tmp_path, capsys):
    out = tmp_path / "results.json"
    argv = ["eval", "--env", ENV, "--env-kwargs", ENV_KWARGS, "--agent", "raw", "random", "--agent", "prf",
            "--num-envs", "16", "--out", str(out)]
    assert main(argv) == 0
    table = capsys.readouterr().out
    for text in ("NDCG@10", "Recall@100", "format-ok", "raw", "random", "prf", str(out)):
        assert text in table
    saved = json.loads(out.read_text())
    assert saved["env"] == ENV and saved["split"] == "test" and saved["reward"] == "recr1"
    assert list(saved["agents"]) == ["raw", "random", "prf"]
    # provenance: the exact command re-runs it; the commit is this checkout's
    assert shlex.split(saved["provenance"]["command"]) == ["recgym", *argv]
    assert saved["provenance"]["date"].startswith("20") and len(saved["provenance"]["commit"] or "0" * 40) == 40

    venv = gym.make_vec(ENV, num_envs=16, dataset_kwargs=SMALL_SHOP)
    expected = {
        "raw": evaluate(RawQueryAgent(), venv, "test"),
        "random": evaluate(RandomAgent(venv.single_action_space, seed=0), venv, "test"),
        "prf": evaluate(PseudoRelevanceFeedbackAgent(venv), venv, "test"),
    }
    for name, result in expected.items():
        assert saved["agents"][name] == json.loads(json.dumps(result)), name
    assert saved["agents"]["raw"]["reward"] > saved["agents"]["random"]["reward"]


def test_eval_baseline_prints_and_saves_paired_differences(tmp_path, capsys):
    out = tmp_path / "results.json"
    argv = ["eval", "--env", ENV, "--env-kwargs", ENV_KWARGS, "--agent", "raw", "prf", "--baseline", "raw",
            "--num-envs", "16", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    saved = json.loads(out.read_text())
    raw, prf = saved["agents"]["raw"], saved["agents"]["prf"]
    assert saved["baseline"] == "raw" and list(saved["comparison"]) == ["prf"]
    diff = saved["comparison"]["prf"]
    # the saved comparison is compare() of the saved per-example records, all of them paired
    assert diff == json.loads(json.dumps(compare(prf, raw))) and diff["n"] == raw["num_examples"] == 25
    for key, (lo, hi) in diff["ci"].items():
        assert lo <= diff[key] <= hi and diff[key] == pytest.approx(prf[key] - raw[key])
        assert diff["excludes_zero"][key] == (lo > 0 or hi < 0)
    # PRF's expansion finds more of the relevant products on this shop: a resolved gain in Recall@100
    assert diff["recall@100"] > 0 and diff["excludes_zero"]["recall@100"]
    # the tables: mean [lo, hi] per agent, then the differences, marked where the CI excludes 0
    lo, hi = raw["ci"]["ndcg@100"]
    assert "mean [lo, hi]: 95% bootstrap CI" in printed
    assert f"{raw['ndcg@100']:.4f} [{lo:.4f}, {hi:.4f}]" in printed
    lo, hi = diff["ci"]["recall@100"]
    [line] = [line for line in printed.splitlines() if line.startswith("prf - raw")]
    assert f"{diff['recall@100']:.4f} [{lo:.4f}, {hi:.4f}] *" in line
    assert "paired difference from raw" in printed
    same = compare(raw, raw)
    assert all(same[k] == 0.0 and same["ci"][k] == [0.0, 0.0] for k in raw["ci"])


def test_eval_reward_preset_and_max_examples(tmp_path, capsys):
    out = tmp_path / "r.json"
    argv = ["eval", "--env", ENV, "--env-kwargs", ENV_KWARGS, "--agent", "raw", "--reward", "expand",
            "--max-examples", "5", "--split", "val", "--out", str(out)]
    assert main(argv) == 0
    saved = json.loads(out.read_text())
    raw = saved["agents"]["raw"]
    assert saved["reward"] == "expand" and raw["num_examples"] == 5 and raw["split"] == "val"
    assert [r["action"] for r in raw["records"]] == [""] * 5  # expand's raw action: the env adds the query


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli-train") / "run"
    assert main(["train", "--env", ENV, "--num-steps", "2", "--out", str(out), *TINY_TRAIN]) == 0
    return out


def test_train_writes_metrics_checkpoint_and_final(trained_run, capsys):
    records = [json.loads(line) for line in (trained_run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2] and all("val/reward" in r for r in records)
    config = json.loads((trained_run / "config.json").read_text())
    assert config["num_generations"] == 4 and config["max_new_tokens"] == 8 and config["model_name_or_path"] is None
    assert (trained_run / "final" / "agent.json").is_file()
    assert (trained_run / "checkpoints" / "step-000002").is_dir()
    # --resume continues from the step-2 checkpoint instead of starting again
    assert main(["train", "--env", ENV, "--num-steps", "3", "--out", str(trained_run), "--resume", *TINY_TRAIN]) == 0
    records = [json.loads(line) for line in (trained_run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3]


def test_eval_trained_grpo_agent(trained_run, tmp_path, capsys):
    out = tmp_path / "r.json"
    spec = f"grpo:{trained_run / 'final'}"
    argv = ["eval", "--env", ENV, "--env-kwargs", ENV_KWARGS, "--agent", "raw", spec, "--max-examples", "8",
            "--num-envs", "8", "--out", str(out)]
    assert main(argv) == 0
    result = json.loads(out.read_text())["agents"][spec]
    assert result["num_examples"] == 8 and -2.0 <= result["reward"] <= 1.1
    assert spec in capsys.readouterr().out


def test_plot_writes_png(trained_run, tmp_path, capsys):
    target = tmp_path / "curve.png"
    assert main(["plot", str(trained_run), "--out", str(target)]) == 0
    data = target.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 10_000
    assert str(target) in capsys.readouterr().out
    assert main(["plot", str(trained_run)]) == 0  # default path inside the run
    assert (trained_run / "learning_curve.png").read_bytes().startswith(PNG_MAGIC)
    assert learning_curve(trained_run).axes[0].get_title() == f"GRPO learning curve: {trained_run.name}"


def test_plot_without_validation_and_errors(tmp_path, capsys):
    lines = [json.dumps({"step": s, "reward_mean": 0.1 * s}) for s in range(1, 31)]
    (tmp_path / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    assert plot_learning_curve(tmp_path, window=5).read_bytes().startswith(PNG_MAGIC)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SystemExit) as exc:
        main(["plot", str(empty)])
    assert exc.value.code == 1 and "metrics.jsonl not found" in capsys.readouterr().err
    (empty / "metrics.jsonl").write_text("\n")
    assert "is empty" in usage_error(capsys, ["plot", str(empty)])
    (empty / "metrics.jsonl").write_text('{"step": 1, "reward_mean": 0.5}\n{"step": 2, "rew')  # a killed run's tail
    with pytest.raises(ValueError, match=f"{empty / 'metrics.jsonl'}, line 2: malformed JSON"):
        plot_learning_curve(empty)


def test_the_curve_is_titled_by_the_algorithm_its_log_shows():
    assert logged_algorithm([{"step": 1, "reward_mean": 0.2}, {"step": 2, "val/reward": 0.1}]) == "GRPO"
    assert logged_algorithm([{"step": 1, "loss": 2.0, "target_tokens": 9.0}]) == "SFT"
    assert logged_algorithm([{"step": 1, "loss": 2.0}]) is None  # nothing tells: no algorithm in the title


def test_models_tiny(capsys):
    assert main(["models", "--model", "tiny"]) == 0
    out = capsys.readouterr().out
    assert "parameters: 20,544" in out and "in memory" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["eval", "--env", "RecR1/Nope-v0", "--agent", "raw"], "unknown env id 'RecR1/Nope-v0'"),
        (["eval", "--env", ENV, "--agent", "raw", "bogus"], "unknown agent 'bogus'"),
        (["eval", "--env", ENV, "--agent", "grpo"], "unknown agent 'grpo'"),
        (["eval", "--env", ENV, "--agent", "grpo:/no/such/dir", "--env-kwargs", ENV_KWARGS], "is not a folder"),
        (["eval", "--env", ENV, "--agent", "raw", "--env-kwargs", "{oops"], "not valid JSON"),
        (["eval", "--env", ENV, "--agent", "raw", "--env-kwargs", '{"reward": "plain"}', "--reward", "recr1"],
         "contradicts"),
        (["eval", "--env", ENV, "--agent", "raw", "--env-kwargs", ENV_KWARGS, "--split", "nope"], "--split nope"),
        (["eval", "--env", ENV, "--agent", "raw", "prf", "--baseline", "random"], "must be one of several"),
        (["eval", "--env", ENV, "--agent", "raw", "--baseline", "raw"], "got --agent raw"),
        (["train", "--env", ENV, "--set", "learning_rat=1e-5"], "no such GRPOConfig field; known:"),
        (["train", "--env", ENV, "--set", "num_steps=ten"], "expected int, got 'ten'"),
        (["train", "--env", ENV, "--set", "num_steps"], "takes key=value"),
        (["train", "--env", ENV, "--set", "num_generations=1"], "num_generations >= 2"),
        (["train", "--env", ENV, "--config", "/no/such.json"], "--config /no/such.json"),
    ],
)
def test_bad_arguments_fail_clearly(capsys, argv, message):
    assert message in usage_error(capsys, argv)


def test_argparse_level_errors(capsys):
    assert "invalid choice" in usage_error(capsys, ["eval", "--env", ENV, "--agent", "raw", "--reward", "nope"])
    assert "required" in usage_error(capsys, ["eval", "--env", ENV])


def test_parse_set_converts_to_field_types():
    parsed = parse_set(["learning_rate=1e-5", "eval_max_examples=none", "skip_zero_std_groups=false",
                        "lora_target_modules=q_proj, v_proj", "model_name_or_path=Qwen/Qwen2.5-0.5B-Instruct"])
    assert parsed == {"learning_rate": 1e-5, "eval_max_examples": None, "skip_zero_std_groups": False,
                      "lora_target_modules": ("q_proj", "v_proj"), "model_name_or_path": "Qwen/Qwen2.5-0.5B-Instruct"}


def test_results_table_plain_and_markdown():
    rows = {"raw": {"ndcg@10": 0.21994, "reward": 0.35, "records": []}, "long-agent-name": {"ndcg@10": 0.5}}
    text = results_table(rows, columns=("ndcg@10", "reward"))
    lines = text.splitlines()
    assert lines[0].split() == ["agent", "NDCG@10", "reward"] and len({len(line) for line in lines}) == 1
    assert "0.2199" in lines[2] and lines[3].rstrip().endswith("-")
    md = results_table(rows, columns=("ndcg@10",), markdown=True).splitlines()
    assert md[0] == "| agent | NDCG@10 |" and md[1] == "| --- | ---: |" and md[2] == "| raw | 0.2199 |"
    assert rolling_mean([1.0, 3.0, 5.0], 2) == [1.0, 2.0, 4.0]


def test_results_table_shows_intervals_where_a_row_has_them():
    rows = {"with-ci": {"ndcg@10": 0.25, "reward": -0.125, "ci": {"ndcg@10": [0.1, 0.4], "reward": [-0.25, 0.0]}},
            "plain": {"ndcg@10": 0.5}}
    lines = results_table(rows, columns=("ndcg@10", "reward")).splitlines()
    assert len({len(line) for line in lines}) == 1
    assert lines[2].split(maxsplit=1)[1].split() == ["0.2500", "[0.1000,", "0.4000]", "-0.1250", "[-0.2500,", "0.0000]"]
    assert lines[3].split() == ["plain", "0.5000", "-"]
    md = results_table(rows, columns=("ndcg@10", "reward"), markdown=True, digits=2, mark_nonzero=True)
    # * where the interval excludes 0 (ndcg@10), not where it touches 0 (reward)
    assert md.splitlines()[2] == "| with-ci | 0.25 [0.10, 0.40] * | -0.12 [-0.25, 0.00] |"


def test_eval_probe_measures_llm_agents_only(tmp_path, capsys):
    out = tmp_path / "probe.json"
    argv = ["eval", "--env", ENV, "--env-kwargs", ENV_KWARGS, "--agent", "raw", "prompt", "--model", "tiny",
            "--max-examples", "4", "--num-envs", "4", "--max-new-tokens", "4", "--probe", "ifeval",
            "--probe-max-prompts", "3", "--probe-max-new-tokens", "4", "--out", str(out)]
    assert main(argv) == 0
    table = capsys.readouterr().out
    assert "IF prompt strict" in table and "perplexity" in table
    agents = json.loads(out.read_text())["agents"]
    assert "ifeval/prompt_strict" not in agents["raw"]  # no model to probe
    probe = agents["prompt"]
    assert probe["ifeval/num_prompts"] == 3 and 0.0 <= probe["ifeval/prompt_loose"] <= 1.0
    assert probe["ifeval/prompt_strict"] <= probe["ifeval/prompt_loose"] and probe["perplexity"] > 1.0
    assert all(len(r["action"].split()) <= 4 for r in probe["records"])
