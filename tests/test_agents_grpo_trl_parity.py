"""recgym's GRPO loss equals TRL's on the same batch, for every loss_type x importance_sampling_level.

TRL's side is its real code path: a ``GRPOTrainer`` built by TRL's own ``__init__`` (tiny in-process model saved to
a folder, as TRL's tests use tiny models), whose ``_compute_loss`` is called in training mode on two micro-batches
of a gradient-accumulation window. Only the policy forward (``_get_per_token_logps_and_entropies``) is replaced, so
that both sides see the same log-probs and entropies; everything after it (ratios, clipping, KL, entropy mask,
normalisation) is TRL's.
"""

from __future__ import annotations

import itertools

import pytest
import torch

pytest.importorskip("trl")
from datasets import Dataset  # noqa: E402  (TRL brings datasets)
from trl import GRPOConfig as TRLConfig  # noqa: E402
from trl import GRPOTrainer  # noqa: E402

from recgym.agents.grpo.loss import LOSS_TYPES, clipped_policy_loss, high_entropy_mask  # noqa: E402
from recgym.models import tiny_policy  # noqa: E402

N, C, MICRO = 4, 5, 2  # 4 completions of up to 5 tokens, two micro-batches of 2 (TRL: gradient accumulation 2)


def tiny_batch() -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    old = -torch.rand(N, C, generator=gen) * 3 - 0.1
    # Ratios between ~0.6 and ~1.6: several tokens outside [0.8, 1.28], so both clip sides bind.
    logp = old + (torch.rand(N, C, generator=gen) - 0.45)
    ref = logp + (torch.rand(N, C, generator=gen) - 0.5)  # |ref - logp| < 0.5: the k3 clamp never binds
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]])
    return {
        "logp": logp,
        "old": old,
        "ref": ref,
        "adv": torch.tensor([1.3, -0.7, 0.4, -1.1]),
        "mask": mask,
        "entropy": torch.rand(N, C, generator=gen) * 2,
    }


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("tiny")
    model, tokenizer = tiny_policy(seed=0)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


def trl_loss(model_dir: str, tmp_path, batch, settings: dict) -> tuple[float, torch.Tensor]:
    """TRL's loss over the two micro-batches (summed, as gradient accumulation does) and its gradient on logp."""
    _, tokenizer = tiny_policy(seed=0)
    args = TRLConfig(
        output_dir=str(tmp_path),
        use_cpu=True,
        bf16=False,
        report_to=[],
        per_device_train_batch_size=MICRO,
        gradient_accumulation_steps=N // MICRO,
        num_generations=2,
        max_completion_length=C,
        activation_checkpointing=False,
        model_init_kwargs={"dtype": "float32"},
        **settings,
    )
    trainer = GRPOTrainer(
        model=model_dir,
        reward_funcs=lambda completions, **kwargs: [0.0] * len(completions),
        args=args,
        train_dataset=Dataset.from_dict({"prompt": ["a", "b"]}),
        processing_class=tokenizer,
    )
    trainer.model.train()  # the training-mode normalisers
    trainer.current_gradient_accumulation_steps = N // MICRO  # what Trainer sets for each accumulation window
    logp = batch["logp"].clone().requires_grad_(True)
    total = 0.0
    for start in range(0, N, MICRO):
        rows = slice(start, start + MICRO)
        trainer._get_per_token_logps_and_entropies = lambda *a, rows=rows, **k: (
            logp[rows], batch["entropy"][rows], None
        )
        inputs = {
            "prompt_ids": torch.zeros(MICRO, 2, dtype=torch.long),
            "prompt_mask": torch.ones(MICRO, 2, dtype=torch.long),
            "completion_ids": torch.zeros(MICRO, C, dtype=torch.long),
            "completion_mask": batch["mask"][rows],
            "advantages": batch["adv"][rows],
            "old_per_token_logps": batch["old"][rows],
            "ref_per_token_logps": batch["ref"][rows],
            "num_items_in_batch": batch["mask"].sum(),  # TRL counts the whole generation batch
        }
        loss = trainer._compute_loss(trainer.model, inputs)
        loss.backward()
        total += float(loss.detach())
    return total, logp.grad


def recgym_loss(batch, settings: dict) -> tuple[float, torch.Tensor]:
    logp = batch["logp"].clone().requires_grad_(True)
    total = 0.0
    for start in range(0, N, MICRO):
        rows = slice(start, start + MICRO)
        quantile = settings.get("top_entropy_quantile", 1.0)
        keep = high_entropy_mask(batch["entropy"][rows], batch["mask"][rows], quantile) if quantile < 1 else None
        loss, _ = clipped_policy_loss(
            logp[rows],
            batch["old"][rows],
            batch["ref"][rows] if settings["beta"] else None,
            batch["adv"][rows],
            batch["mask"][rows],
            epsilon=settings["epsilon"],
            epsilon_high=settings.get("epsilon_high"),
            beta=settings["beta"],
            num_tokens=batch["mask"].sum(),
            loss_type=settings["loss_type"],
            importance_sampling_level=settings["importance_sampling_level"],
            entropy_mask=keep,
            use_bias_correction_kl=settings.get("use_bias_correction_kl", True),  # TRL's default
            num_sequences=N,
            max_completion_length=C,
            num_micro_batches=N // MICRO,
        )
        loss.backward()
        total += float(loss.detach())
    return total, logp.grad


CASES = [
    {"loss_type": loss_type, "importance_sampling_level": level, "epsilon": 0.2, "beta": beta}
    for loss_type, level, beta in itertools.product(LOSS_TYPES, ("token", "sequence"), (0.0, 0.04))
]
# recgym's default KL (verl's plain k3, Rec-R1) is TRL's with the bias correction off.
CASES += [
    {"loss_type": loss_type, "importance_sampling_level": "token", "epsilon": 0.2, "beta": 0.04,
     "use_bias_correction_kl": False}
    for loss_type in LOSS_TYPES
]
# DAPO's clip-higher and the 80/20 high-entropy mask, on top of two loss types.
CASES += [
    {"loss_type": "dapo", "importance_sampling_level": "token", "epsilon": 0.2, "epsilon_high": 0.28, "beta": 0.0},
    {"loss_type": "grpo", "importance_sampling_level": "token", "epsilon": 0.2, "top_entropy_quantile": 0.4,
     "beta": 0.04},
    {"loss_type": "dr_grpo", "importance_sampling_level": "sequence", "epsilon": 0.1, "epsilon_high": 0.3,
     "top_entropy_quantile": 0.5, "beta": 0.0},
]


@pytest.mark.parametrize("settings", CASES, ids=lambda s: "-".join(f"{k}={v}" for k, v in s.items()))
def test_loss_and_gradient_equal_trl(model_dir, tmp_path, settings) -> None:
    batch = tiny_batch()
    ours, our_grad = recgym_loss(batch, settings)
    theirs, their_grad = trl_loss(model_dir, tmp_path, batch, settings)
    assert abs(ours - theirs) < 1e-5, (ours, theirs)
    torch.testing.assert_close(our_grad, their_grad, atol=1e-6, rtol=1e-5)
    assert abs(ours) > 1e-3  # a real, non-trivial loss was compared
