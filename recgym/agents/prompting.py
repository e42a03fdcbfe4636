"""The zero-shot LLM baseline: a frozen chat model answers each prompt, greedy or sampled."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from recgym.agents.base import read_agent_file, write_agent_file
from recgym.agents.hf_policy import HFPolicy, SamplingConfig
from recgym.models import load_default_policy, prepare_tokenizer

POLICY_DIR = "policy"


class PromptingAgent:
    """A frozen HF causal LM acting on observations (no training).

    Args:
        model, tokenizer: The LM (e.g. from ``recgym.models.load_default_policy``).
        sampling: Decoding settings; the default is greedy with 64 new tokens.
        system_prompt: Optional system turn before each observation.
        response_prefix: Text the reply starts with (assistant prefill); the action is what the model writes after it.
        batch_size: Observations per ``generate`` call.
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
        self.sampling = sampling or SamplingConfig()
        self.batch_size = batch_size

    @classmethod
    def from_pretrained(cls, name_or_path: str | None = None, **kwargs) -> PromptingAgent:
        """Load the model by name or path (``None``: offline SmolLM2-135M-Instruct) and wrap it."""
        model, tokenizer = load_default_policy(name_or_path)
        return cls(model, tokenizer, **kwargs)

    def act(self, observations: list[str], infos: list[dict] | None = None) -> list[str]:
        actions: list[str] = []
        for start in range(0, len(observations), self.batch_size):
            batch = observations[start : start + self.batch_size]
            actions.extend(self.policy.sample(batch, n=1, sampling=self.sampling).texts)
        return actions

    def save(self, directory: str | os.PathLike[str]) -> None:
        """Weights and tokenizer go to ``directory/policy`` so the saved agent loads offline."""
        directory = Path(directory)
        self.policy.model.save_pretrained(directory / POLICY_DIR)
        self.policy.tokenizer.save_pretrained(directory / POLICY_DIR)
        write_agent_file(
            directory,
            self,
            sampling=dataclasses.asdict(self.sampling),
            system_prompt=self.policy.system_prompt,
            batch_size=self.batch_size,
            response_prefix=self.policy.response_prefix,
        )

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> PromptingAgent:
        _, params = read_agent_file(directory)
        path = Path(directory) / POLICY_DIR
        model = AutoModelForCausalLM.from_pretrained(path)
        tokenizer = prepare_tokenizer(AutoTokenizer.from_pretrained(path), model)
        return cls(
            model,
            tokenizer,
            sampling=SamplingConfig(**params["sampling"]),
            system_prompt=params["system_prompt"],
            batch_size=params["batch_size"],
            response_prefix=params.get("response_prefix", ""),
        )
