"""IFEval-style instruction-following probe: load prompts, generate greedy answers, score them exactly as IFEval.

Why: Rec-R1 claims RL fine-tuning keeps a model's general abilities where SFT loses them (the paper reports SFT
losing ~27 IFEval points). Running this probe on a policy before and after ``recgym train`` measures that.

Scoring follows IFEval's ``evaluation_lib``:

* strict: an instruction is followed if its checker passes on the raw (non-blank) response;
* loose: it is followed if the checker passes on any of 8 variants of the response: the response, without its first
  line, without its last line, without both, and each of those four with every ``*`` removed (forgives a chatty
  "Sure! Here is..." first line, a closing remark, or markdown emphasis);
* prompt-level accuracy: fraction of prompts whose instructions are ALL followed; instruction-level accuracy:
  fraction of all instructions followed.

Instructions without a checker (``language:response_language``) are skipped and counted; a prompt whose
instructions are all unsupported is excluded (not generated, not in the denominators) and reported.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recgym.fileio import iter_jsonl, located_error
from recgym.probes.bundled import BUNDLED_PATH
from recgym.probes.instructions import check_instruction, is_supported

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

HUB_DATASET = "google/IFEval"
Row = dict[str, Any]
PromptSource = str | os.PathLike[str] | Sequence[Mapping[str, Any]] | None


# ------------------------------------------------------------------------------------------------------ loading
def _validate(row: Mapping[str, Any], where: str) -> Row:
    """A row in IFEval's format, checked and normalised (kwargs ``None`` entries dropped, key kept as is)."""
    missing = [field for field in ("prompt", "instruction_id_list", "kwargs") if field not in row]
    if missing:
        raise ValueError(f"{where}: not an IFEval row, missing {missing} (need key, prompt, instruction_id_list, "
                         f"kwargs)")
    ids, kwargs = list(row["instruction_id_list"]), list(row["kwargs"])
    if len(ids) != len(kwargs):
        raise ValueError(f"{where}: {len(ids)} instruction ids but {len(kwargs)} kwargs entries")
    clean = [{k: v for k, v in (kw or {}).items() if v is not None} for kw in kwargs]
    return {"key": row.get("key"), "prompt": str(row["prompt"]), "instruction_id_list": ids, "kwargs": clean}


def load_jsonl(path: str | os.PathLike[str]) -> list[Row]:
    """Rows from a local JSONL file in IFEval's format (the official ``input_data.jsonl`` or an export of the Hub
    set): one ``{key, prompt, instruction_id_list, kwargs}`` object per line; blank lines are ignored."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"IFEval prompt file {path} does not exist")
    rows = []
    for number, record in iter_jsonl(path, error=located_error):
        rows.append(_validate(record, f"{path}:{number}"))
    if not rows:
        raise ValueError(f"{path} holds no prompts")
    return rows


def load_hub(name: str = HUB_DATASET, split: str = "train") -> list[Row]:
    """The real IFEval prompts (541) from the Hugging Face Hub through ``datasets``.

    Raises:
        ImportError: ``datasets`` is not installed (it comes with ``pip install 'recgym[trl]'``).
        RuntimeError: the Hub is unreachable; download the set elsewhere and pass the JSONL file's path instead.
    """
    try:
        import datasets
    except ImportError as err:
        raise ImportError(
            "loading IFEval from the Hub needs the `datasets` package: pip install datasets (or 'recgym[trl]'); "
            "or pass a local IFEval JSONL file, or prompts='bundled' for the offline set"
        ) from err
    try:
        table = datasets.load_dataset(name, split=split)
    except Exception as err:  # datasets raises many types for offline / missing datasets
        raise RuntimeError(
            f"could not load {name!r} from the Hugging Face Hub ({type(err).__name__}: {err}); without Hub access, "
            f"save its rows as JSONL elsewhere and pass that file's path, or use prompts='bundled'"
        ) from err
    return [_validate(record, f"{name}[{i}]") for i, record in enumerate(table)]


def load_prompts(source: PromptSource = None) -> list[Row]:
    """IFEval rows from ``None``/``"bundled"`` (the offline set shipped with recgym), ``"hub"`` (``google/IFEval``),
    a path to a JSONL file, or a sequence of row mappings."""
    if source is None or (isinstance(source, str) and source == "bundled"):
        return load_jsonl(BUNDLED_PATH)
    if isinstance(source, str) and source == "hub":
        return load_hub()
    if isinstance(source, (str, os.PathLike)):
        return load_jsonl(source)
    return [_validate(row, f"prompts[{i}]") for i, row in enumerate(source)]


# ------------------------------------------------------------------------------------------------------ scoring
def loose_variants(response: str) -> list[str]:
    """IFEval's 8 loose variants: the response, without first line, without last line, without both; then each of
    those with every ``*`` removed."""
    lines = response.split("\n")
    trimmed = [response, "\n".join(lines[1:]).strip(), "\n".join(lines[:-1]).strip(), "\n".join(lines[1:-1]).strip()]
    return trimmed + [text.replace("*", "") for text in trimmed]


def _follows(instruction_id: str, kwargs: Mapping[str, Any], candidates: Sequence[str]) -> bool:
    """IFEval's rule: a blank candidate never follows an instruction; otherwise the checker decides."""
    return any(text.strip() and check_instruction(instruction_id, text, kwargs) for text in candidates)


def _score_row(row: Row, response: str) -> dict[str, Any]:
    kept = [(i, kw) for i, kw in zip(row["instruction_id_list"], row["kwargs"]) if is_supported(i)]
    variants = loose_variants(response)
    strict = [_follows(i, kw, [response]) for i, kw in kept]
    loose = [_follows(i, kw, variants) for i, kw in kept]
    return {
        "key": row["key"],
        "prompt": row["prompt"],
        "response": response,
        "instruction_id_list": [i for i, _ in kept],
        "strict": strict,
        "loose": loose,
        "follow_all_strict": all(strict),
        "follow_all_loose": all(loose),
        "skipped": [i for i in row["instruction_id_list"] if not is_supported(i)],
    }


def _score(rows: Sequence[Row], responses: Sequence[str | None]) -> dict[str, Any]:
    """Scores rows with at least one supported instruction; rows without one are excluded (their response may be
    ``None``: the probe does not generate them)."""
    records, excluded, skipped = [], [], Counter()
    for row, response in zip(rows, responses, strict=True):
        skipped.update(i for i in row["instruction_id_list"] if not is_supported(i))
        if not any(is_supported(i) for i in row["instruction_id_list"]):
            excluded.append(row["key"])
            continue
        if response is None:
            raise ValueError(f"prompt {row['key']!r} has supported instructions but no response")
        records.append(_score_row(row, response))
    if not records:
        raise ValueError(f"no prompt has a supported instruction (skipped ids: {dict(skipped)})")
    strict = [ok for r in records for ok in r["strict"]]
    loose = [ok for r in records for ok in r["loose"]]
    return {
        "prompt_strict": sum(r["follow_all_strict"] for r in records) / len(records),
        "prompt_loose": sum(r["follow_all_loose"] for r in records) / len(records),
        "inst_strict": sum(strict) / len(strict),
        "inst_loose": sum(loose) / len(loose),
        "num_prompts": len(records),
        "num_instructions": len(strict),
        "num_skipped_instructions": sum(skipped.values()),
        "skipped_instruction_ids": dict(sorted(skipped.items())),
        "num_excluded_prompts": len(excluded),
        "excluded_prompt_keys": excluded,
        "records": records,
    }


def score_responses(rows: Sequence[Mapping[str, Any]], responses: Sequence[str]) -> dict[str, Any]:
    """Score responses (``responses[i]`` answers ``rows[i]``) without a model.

    Returns:
        ``prompt_strict``, ``prompt_loose``, ``inst_strict``, ``inst_loose`` (accuracies in [0, 1]); counts
        ``num_prompts`` / ``num_instructions`` (scored), ``num_skipped_instructions`` with ``skipped_instruction_ids``
        (id -> count), ``num_excluded_prompts`` with ``excluded_prompt_keys``; and ``records``: per scored prompt its
        key, prompt, response, supported ``instruction_id_list``, per-instruction ``strict`` / ``loose`` booleans,
        ``follow_all_strict`` / ``follow_all_loose`` and the ``skipped`` ids.
    """
    if len(rows) != len(responses):
        raise ValueError(f"{len(rows)} rows but {len(responses)} responses")
    clean = [_validate(row, f"rows[{i}]") for i, row in enumerate(rows)]
    return _score(clean, [str(r) for r in responses])


# --------------------------------------------------------------------------------------------------- generation
def run_ifeval_probe(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    *,
    prompts: PromptSource = None,
    max_new_tokens: int = 256,
    batch_size: int = 8,
    system_prompt: str | None = None,
    progress: bool = True,
    max_prompts: int | None = None,
) -> dict[str, Any]:
    """Generate greedy answers to IFEval prompts with ``model`` and score them.

    Each prompt is one chat user turn (after ``system_prompt`` if given) rendered by the tokenizer's chat template
    through :class:`~recgym.agents.hf_policy.HFPolicy`; each batch of ``batch_size`` prompts is one ``generate`` call.
    IFEval itself uses up to 1280 new tokens; the default 256 keeps a CPU run short but truncates long answers
    (which then fail e.g. "at least N words" or end-phrase instructions): report ``max_new_tokens`` with the scores.
    The model's train/eval mode is restored afterwards, so the probe can run mid-training.

    Args:
        prompts: ``None``/``"bundled"``, ``"hub"``, a JSONL path or a sequence of rows (see :func:`load_prompts`).
        max_prompts: Use only the first this many prompts (a quicker, noisier probe).

    Returns:
        :func:`score_responses`'s dict plus ``max_new_tokens``, ``source`` and ``generation_seconds``.
    """
    from tqdm.auto import tqdm

    from recgym.agents.hf_policy import HFPolicy, SamplingConfig

    if batch_size < 1 or max_new_tokens < 1:
        raise ValueError("batch_size and max_new_tokens must be >= 1")
    if max_prompts is not None and max_prompts < 1:
        raise ValueError(f"max_prompts must be >= 1, got {max_prompts}")
    rows = load_prompts(prompts)[:max_prompts]
    todo = [i for i, row in enumerate(rows) if any(is_supported(x) for x in row["instruction_id_list"])]
    responses: list[str | None] = [None] * len(rows)
    was_training = model.training
    policy = HFPolicy(model, tokenizer, system_prompt=system_prompt)  # puts the model in eval mode
    sampling = SamplingConfig(max_new_tokens=max_new_tokens, temperature=0.0)
    start = time.perf_counter()
    try:
        batches = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
        for batch in tqdm(batches, desc="ifeval", unit="batch", disable=not progress):
            texts = policy.sample([rows[i]["prompt"] for i in batch], n=1, sampling=sampling).texts
            for i, text in zip(batch, texts, strict=True):
                responses[i] = text
    finally:
        model.train(was_training)
    result = _score(rows, responses)
    source = "bundled" if prompts is None else prompts if isinstance(prompts, (str, os.PathLike)) else "rows"
    result.update(max_new_tokens=max_new_tokens, source=str(source),
                  generation_seconds=round(time.perf_counter() - start, 2))
    return result
