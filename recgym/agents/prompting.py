"""The zero-shot LLM baseline: a frozen chat model answers each prompt, greedy or sampled."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from recgym.agents.hf_policy import HFPolicy, SamplingConfig
from recgym.agents.llm import LLMAgent, load_saved_policy
from recgym.models import load_default_policy


class PromptingAgent(LLMAgent):
    """A frozen HF causal LM acting on observations (no training).

    Args:
        model, tokenizer: The LM (e.g. from ``recgym.models.load_default_policy``).
        sampling: Decoding settings; the default is greedy with 64 new tokens.
        system_prompt: Optional system turn before each observation.
        batch_size: Observations per ``generate`` call.
        response_prefix: Text the reply starts with (assistant prefill); the action is what the model writes after it.
    """

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        sampling: SamplingConfig | None = None,
        system_prompt: str | None = None,
        batch_size: int = 16,
        response_prefix: str = "",
    ) -> None:
        self.policy = HFPolicy(model, tokenizer, system_prompt=system_prompt, response_prefix=response_prefix)
        self.act_sampling = sampling or SamplingConfig()
        self.act_batch_size = batch_size

    @classmethod
    def from_pretrained(cls, name_or_path: str | None = None, **kwargs) -> PromptingAgent:
        """Load the model by name or path (``None``: offline SmolLM2-135M-Instruct) and wrap it."""
        model, tokenizer = load_default_policy(name_or_path)
        return cls(model, tokenizer, **kwargs)

    # ------------------------------------------------------------------------------------------ persistence
    def agent_params(self) -> dict[str, Any]:
        return {
            "sampling": dataclasses.asdict(self.act_sampling),
            "system_prompt": self.policy.system_prompt,
            "batch_size": self.act_batch_size,
            "response_prefix": self.policy.response_prefix,
        }

    @classmethod
    def from_saved(cls, params: dict[str, Any], folder: Path, model: PreTrainedModel | None = None,
                   tokenizer: PreTrainedTokenizerBase | None = None) -> PromptingAgent:
        """The saved weights are the whole model: ``model``/``tokenizer`` are not needed and ignored."""
        return cls(
            *load_saved_policy(folder),
            sampling=SamplingConfig(**params["sampling"]),
            system_prompt=params["system_prompt"],
            batch_size=params["batch_size"],
            response_prefix=params.get("response_prefix", ""),
        )
