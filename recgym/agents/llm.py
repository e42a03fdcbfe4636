"""What every LLM agent shares: an HF causal LM (:class:`HFPolicy`) that acts by decoding each prompt, and a saved
form of ``directory/policy`` (the ``save_pretrained`` weights, full or a LoRA adapter, and the tokenizer) plus
``agent.json`` (the class and what it needs to rebuild the agent).

The zero-shot :class:`recgym.agents.PromptingAgent` and the trained :class:`recgym.agents.GRPOAgent` and
:class:`recgym.agents.SFTAgent` (through :class:`recgym.agents.policy_trainer.PolicyTrainer`) subclass
:class:`LLMAgent`; a subclass sets ``policy``, ``act_sampling`` and ``act_batch_size`` and says what its
``agent.json`` records (:meth:`LLMAgent.agent_params`) and how it is rebuilt from that (:meth:`LLMAgent.from_saved`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from recgym.agents.base import read_agent_file, write_agent_file
from recgym.agents.hf_policy import HFPolicy, SamplingConfig
from recgym.models import prepare_tokenizer
from recgym.paths import POLICY_DIR


class LLMAgent:
    """An agent whose actions an HF causal LM writes; subclasses build the policy and name what they save.

    Attributes:
        policy: The model, its tokenizer and chat rendering (system prompt, response prefix).
        act_sampling: Decoding settings of :meth:`act` and :meth:`episode_records`.
        act_batch_size: Observations per ``generate`` call of :meth:`act`.
    """

    policy: HFPolicy
    act_sampling: SamplingConfig
    act_batch_size: int

    # ------------------------------------------------------------------------------------------------ acting
    def act(self, observations: list[str], infos: list[dict] | None = None) -> list[str]:
        """One completion per observation (greedy unless ``act_sampling`` says otherwise), ``act_batch_size``
        prompts per ``generate`` call; the infos are not needed."""
        width = self.act_batch_size
        actions: list[str] = []
        for start in range(0, len(observations), width):
            batch = list(observations[start : start + width])
            actions.extend(self.policy.sample(batch, n=1, sampling=self.act_sampling).texts)
        return actions

    def episode_records(self, venv: Any, indices: list[int], split: str) -> list[dict[str, Any]]:
        """Whole episodes of a multi-turn search-agent vector env (sub-env ``j`` plays ``indices[j]``), one
        :func:`recgym.agents.evaluate` record each; ``evaluate`` calls this on such an env instead of :meth:`act`.

        The episodes are played as GRPO trains on that env (:func:`recgym.agents.grpo.multiturn.play_episodes`):
        the first observation rendered as a prompt once, then the policy's turns and the env's appended text
        continuing as token ids, decoded with ``act_sampling`` (greedy by default)."""
        from recgym.agents.grpo.multiturn import play_episodes

        return play_episodes(self.policy, venv, indices, 1, self.act_sampling, split).records

    # ------------------------------------------------------------------------------------------ persistence
    def agent_params(self) -> dict[str, Any]:
        """What ``agent.json`` records besides the class (JSON values): all :meth:`from_saved` needs."""
        raise NotImplementedError

    @classmethod
    def from_saved(cls, params: dict[str, Any], folder: Path, model: PreTrainedModel | None = None,
                   tokenizer: PreTrainedTokenizerBase | None = None) -> LLMAgent:
        """The agent saved with ``params`` (its :meth:`agent_params`) and the weights in ``folder``;
        ``model``/``tokenizer``: a base model the saved weights need (a LoRA adapter's), if any."""
        raise NotImplementedError

    def save(self, directory: str | os.PathLike[str]) -> None:
        """The policy (full weights, or only a LoRA adapter) and tokenizer in ``directory/policy``, so the saved agent
        loads offline, and :meth:`agent_params` in ``agent.json``."""
        directory = Path(directory)
        self.policy.model.save_pretrained(directory / POLICY_DIR)
        self.policy.tokenizer.save_pretrained(directory / POLICY_DIR)
        write_agent_file(directory, self, **self.agent_params())

    @classmethod
    def load(
        cls,
        directory: str | os.PathLike[str],
        env: Any = None,
        model: PreTrainedModel | None = None,
        tokenizer: PreTrainedTokenizerBase | None = None,
    ) -> LLMAgent:
        """The agent saved in ``directory``. ``env`` is accepted for the common agent signature (an LLM agent reads
        only the prompt); ``model`` and ``tokenizer`` are the base model of an agent saved as a LoRA adapter
        (default: the one its config names); self-contained agents ignore them."""
        _, params = read_agent_file(directory)
        return cls.from_saved(params, Path(directory) / POLICY_DIR, model, tokenizer)


def load_saved_policy(folder: str | os.PathLike[str]) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """``(model, tokenizer)`` of full weights saved in ``folder`` (self-contained: no base model needed)."""
    model = AutoModelForCausalLM.from_pretrained(folder)
    return model, prepare_tokenizer(AutoTokenizer.from_pretrained(folder), model)
