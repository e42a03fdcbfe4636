"""A thin wrapper over a Hugging Face causal LM: render observations as chat prompts, sample completions, and score
completion tokens (log-probs and entropy) for policy-gradient training.

Shapes: ``B`` prompts, ``n`` samples per prompt, ``N = B * n`` completion rows, ``P`` prompt tokens, ``C`` completion
tokens (right padded), ``V`` vocabulary size.

Shared prefixes (:mod:`recgym.agents.kv_cache`): a batch's prompts are laid out ``[shared prefix | padding | own
suffix]`` and the prefix runs once, both when sampling and when scoring completions for the loss.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers import GenerationConfig, PreTrainedModel, PreTrainedTokenizerBase

from recgym.agents.kv_cache import (
    MIN_SHARED_PREFIX,
    accepts_logits_to_keep,
    cache_keyword,
    prefix_aligned,
    prefix_cache,
    prompt_cache,
    shared_columns,
    shared_prefix_length,
)
from recgym.models import stop_token_ids


@dataclass(frozen=True)
class Rollout:
    """Sampled completions with the (repeated) prompts they continue; row ``i`` belongs to prompt ``i // n``.

    Attributes:
        prompt_ids: ``[N, P]`` prompt tokens, left padded.
        prompt_mask: ``[N, P]`` 1 on real prompt tokens.
        completion_ids: ``[N, C]`` sampled tokens, right padded with the pad token.
        completion_mask: ``[N, C]`` 1 on sampled tokens up to and including the first stop token (a multi-turn
            rollout, :mod:`recgym.agents.grpo.multiturn`: 1 on the policy's turns, 0 on the env's text between them).
        texts: ``N`` decoded completions (special tokens dropped): the actions sent to the env.
    """

    prompt_ids: torch.Tensor
    prompt_mask: torch.Tensor
    completion_ids: torch.Tensor
    completion_mask: torch.Tensor
    texts: list[str]

    def __len__(self) -> int:
        return len(self.texts)

    def select(self, rows: torch.Tensor | slice | Sequence[int]) -> Rollout:
        """The rollout restricted to some rows (a slice, a list of indices or a 1-D index tensor)."""
        index = rows if isinstance(rows, slice) else torch.as_tensor(rows, dtype=torch.long)
        texts = self.texts[index] if isinstance(index, slice) else [self.texts[i] for i in index.tolist()]
        return Rollout(
            self.prompt_ids[index],
            self.prompt_mask[index],
            self.completion_ids[index],
            self.completion_mask[index],
            texts,
        )


@dataclass(frozen=True)
class SamplingConfig:
    """How completions are decoded.

    Attributes:
        max_new_tokens: Length cap of a completion.
        temperature: Softmax temperature; ``0`` means greedy decoding.
        top_p: Nucleus sampling mass (1.0 keeps the whole distribution). Ignored when greedy.
    """

    max_new_tokens: int = 64
    temperature: float = 0.0
    top_p: float = 1.0

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0


class HFPolicy:
    """A causal LM that reads an observation (the full user prompt text) and writes an action (the completion).

    The model is kept in eval mode: dropout off, so the log-probs the trainer recomputes are exactly those of the
    policy that sampled (the PPO ratio starts at 1). Gradients still flow when the caller enables them.
    """

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        system_prompt: str | None = None,
        share_prefix: bool = True,
        response_prefix: str = "",
    ) -> None:
        if tokenizer.pad_token_id is None:
            raise ValueError("tokenizer needs a pad token; load it through recgym.models.prepare_tokenizer")
        # the caller's tokenizer is used as given, never modified: prompts are padded here (prefix_aligned, flush on
        # the right as generation needs), so the tokenizer's own padding settings are never used
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.system_prompt = system_prompt
        self.share_prefix = share_prefix
        self.response_prefix = response_prefix
        self.stop_ids = stop_token_ids(tokenizer, model)

    # ----------------------------------------------------------------------------------------------------- prompts
    def render(self, observations: Sequence[str]) -> list[str]:
        """Chat-template each observation as one user turn (after the optional system prompt), ready for the reply,
        which starts with ``response_prefix`` (the policy writes only what follows it; the action is that part).

        Tokenizers without a chat template (base models) get the observation text as is.
        """
        if self.tokenizer.chat_template is None:
            texts = [obs if self.system_prompt is None else f"{self.system_prompt}\n\n{obs}" for obs in observations]
        else:
            system = [] if self.system_prompt is None else [{"role": "system", "content": self.system_prompt}]
            texts = [
                self.tokenizer.apply_chat_template(
                    [*system, {"role": "user", "content": obs}], tokenize=False, add_generation_prompt=True
                )
                for obs in observations
            ]
        return [text + self.response_prefix for text in texts]

    def encode(self, observations: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(ids, mask)`` of the rendered prompts, prefix-aligned (see the module docstring; plain left padding
        when the prompts share fewer than ``MIN_SHARED_PREFIX`` tokens or ``share_prefix`` is off). The template
        already holds any BOS token."""
        return self.align(self.tokenizer(self.render(observations), add_special_tokens=False)["input_ids"])

    def align(self, rows: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(ids, mask)`` of token-id rows, prefix-aligned as :meth:`encode` lays them out, on the model's device."""
        shared = shared_prefix_length(rows) if self.share_prefix else 0
        ids, mask = prefix_aligned(rows, shared if shared >= MIN_SHARED_PREFIX else 0, self.tokenizer.pad_token_id)
        return ids.to(self.model.device), mask.to(self.model.device)

    # -------------------------------------------------------------------------------------------------- sampling
    @torch.no_grad()
    def sample(self, observations: Sequence[str], n: int = 1, sampling: SamplingConfig | None = None) -> Rollout:
        """``n`` completions per observation from ONE ``generate`` call (KV cache on); row ``i`` continues
        observation ``i // n``.

        Uses torch's global RNG, so ``torch.manual_seed`` makes sampling reproducible.
        """
        prompt_ids, prompt_mask = self.encode(observations)
        completion_ids, prompt_ids, prompt_mask = self._generate(prompt_ids, prompt_mask, n, sampling)
        completion_mask = self.completion_mask(completion_ids)
        visible = torch.where(completion_mask.bool(), completion_ids, self.tokenizer.pad_token_id)
        texts = self.tokenizer.batch_decode(visible, skip_special_tokens=True)
        return Rollout(prompt_ids, prompt_mask, completion_ids, completion_mask, [t.strip() for t in texts])

    @torch.no_grad()
    def sample_from_ids(
        self, contexts: Sequence[Sequence[int]], n: int = 1, sampling: SamplingConfig | None = None, stop: Any = None
    ) -> list[list[int]]:
        """``n`` continuations of each token-id context (a rendered prompt and what followed it: a multi-turn
        rollout's turns so far) from ONE ``generate`` call, laid out and cached as :meth:`sample` lays out prompts;
        row ``i`` continues context ``i // n``. Each runs up to and including its first stop token; ``stop`` (an HF
        ``StoppingCriteria``) may end rows earlier, and the caller cuts those.

        Identical contexts are run through the model once and their KV cache shared: in a multi-turn rollout the
        G episodes of a group often searched the same query, so their contexts after the search are equal, and
        prefilling ~G times fewer rows is most of a later turn's cost."""
        distinct: dict[tuple[int, ...], int] = {}
        of = [distinct.setdefault(tuple(c), len(distinct)) for c in contexts]
        rows = torch.tensor(of).repeat_interleave(n)
        completion_ids, _, _ = self._generate(*self.align(list(distinct)), 1, sampling, stop, rows=rows)
        lengths = self.completion_mask(completion_ids).sum(dim=1).tolist()
        return [row[:length] for row, length in zip(completion_ids.tolist(), lengths)]

    def _generate(
        self, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor, n: int, sampling: SamplingConfig | None, stop=None,
        rows: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(completion_ids, prompt_ids, prompt_mask)``: ``n`` completions per prompt row, the prompts repeated;
        or, given ``rows``, one completion per entry, row ``i`` continuing prompt row ``rows[i]`` (``n`` must be 1)."""
        sampling = sampling or SamplingConfig()
        if rows is None:  # rows are grouped by prompt (what num_return_sequences does; greedy decoding accepts it)
            rows = torch.arange(len(prompt_ids)).repeat_interleave(n)
        elif n != 1:
            raise ValueError("pass n or rows, not both")
        # Each prompt is run through the model once (its shared prefix once for all) and its KV cache copied to
        # its rows; generate() then runs only the last prompt column and the new tokens.
        extra: dict[str, Any] = {} if stop is None else {"stopping_criteria": [stop]}
        if self.share_prefix and prompt_ids.shape[1] > 1:
            extra[cache_keyword(self.model)] = prompt_cache(self.model, prompt_ids, prompt_mask, rows)
        prompt_ids, prompt_mask = prompt_ids[rows], prompt_mask[rows]
        options: dict[str, Any] = {"do_sample": False}
        if not sampling.greedy:
            # top_k=0 disables HF's default top-k of 50 so only top_p truncates, as in vLLM/verl rollouts.
            options = {"do_sample": True, "temperature": sampling.temperature, "top_p": sampling.top_p, "top_k": 0}
        config = GenerationConfig(
            max_new_tokens=sampling.max_new_tokens,
            eos_token_id=self.stop_ids,
            pad_token_id=self.tokenizer.pad_token_id,
            use_cache=True,
            **options,
        )
        output = self.model.generate(
            input_ids=prompt_ids, attention_mask=prompt_mask, generation_config=config, **extra
        )
        return output[:, prompt_ids.shape[1] :], prompt_ids, prompt_mask

    def teacher_forced(
        self,
        observations: Sequence[str],
        completions: Sequence[str | Sequence[tuple[str, bool]]],
        max_completion_tokens: int | None = None,
    ) -> Rollout:
        """Given completions as a :class:`Rollout` (for supervised training): each completion's tokens, cut to
        ``max_completion_tokens``, then the end-of-turn token, so the model also learns to stop.

        A completion may also be a multi-turn transcript, ``(text, trained)`` segments in order: the policy's turns
        (``True``) and the env's text between them (``False``: in the context, masked out of the loss). Each segment
        is tokenized on its own, as :func:`recgym.agents.grpo.multiturn.play_episodes` builds a rollout, and each
        policy turn is cut to ``max_completion_tokens``."""
        if len(observations) != len(completions):
            raise ValueError(f"{len(observations)} observations but {len(completions)} completions")
        prompt_ids, prompt_mask = self.encode(observations)
        eos = self.stop_ids[0]
        rows: list[list[tuple[int, int]]] = []  # (token id, trained?)
        texts = []
        for completion in completions:
            segments = [(completion, True)] if isinstance(completion, str) else list(completion)
            row: list[tuple[int, int]] = []
            for text, trained in segments:
                ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
                row += [(i, int(trained)) for i in (ids[:max_completion_tokens] if trained else ids)]
            rows.append(row + [(eos, 1)])
            texts.append("".join(text for text, _ in segments))
        width = max(len(r) for r in rows)
        completion_ids = torch.full((len(rows), width), self.tokenizer.pad_token_id, dtype=torch.long)
        completion_mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            completion_ids[i, : len(row)] = torch.tensor([t for t, _ in row])
            completion_mask[i, : len(row)] = torch.tensor([m for _, m in row])
        device = self.model.device
        completion_ids, completion_mask = completion_ids.to(device), completion_mask.to(device)
        return Rollout(prompt_ids, prompt_mask, completion_ids, completion_mask, texts)

    def completion_mask(self, completion_ids: torch.Tensor) -> torch.Tensor:
        """1 on tokens up to and including the first stop token; what generate() pads after it is masked out
        (pad usually equals eos, so padding cannot be told apart by id)."""
        is_stop = torch.isin(completion_ids, torch.tensor(self.stop_ids, device=completion_ids.device))
        stopped_before = (is_stop.cumsum(dim=1) - is_stop.long()) > 0
        return (~stopped_before).long()

    # ------------------------------------------------------------------------------------------------- scoring
    def token_logprobs(
        self, batch: Rollout, temperature: float = 1.0, with_entropy: bool = False, chunk_rows: int = 1024
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Log-probs ``[N, C]`` of the completion tokens given their prompts, in one forward (differentiable).

        See :func:`completion_logprobs`; this uses the policy's own model.
        """
        return completion_logprobs(self.model, batch, temperature, with_entropy, chunk_rows, self.share_prefix)

    @torch.no_grad()
    def batched_logprobs(
        self,
        batch: Rollout,
        micro_batch_size: int,
        temperature: float = 1.0,
        model: torch.nn.Module | None = None,
    ) -> torch.Tensor:
        """No-grad log-probs ``[N, C]`` of a whole batch, one forward per micro-batch (old/reference policies)."""
        model = self.model if model is None else model
        parts = [
            completion_logprobs(
                model, batch.select(slice(i, i + micro_batch_size)), temperature, share_prefix=self.share_prefix
            )[0]
            for i in range(0, len(batch), micro_batch_size)
        ]
        return torch.cat(parts, dim=0)


def completion_logprobs(
    model: torch.nn.Module,
    batch: Rollout,
    temperature: float = 1.0,
    with_entropy: bool = False,
    chunk_rows: int = 1024,
    share_prefix: bool = True,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Log-probs of each completion token under ``model`` (logits divided by ``temperature``, the distribution the
    tokens were sampled from), and optionally the entropy of that distribution (detached; for logging).

    Compute stays small: the prefix every row shares (a whole GRPO group shares its entire prompt) runs once and its
    KV cache is repeated to the rows (exact, gradients included); all-padding columns are dropped; logits are made
    only for completion positions (``logits_to_keep`` where the model takes it) and the log-softmax runs over
    ``chunk_rows`` positions at a time instead of materialising a second ``[N, C, V]`` tensor. Positions the mask
    leaves out (past a row's stop token; in a multi-turn rollout also the env's text between turns) get 0.
    """
    num_rows, width = batch.completion_ids.shape
    keep = batch.prompt_mask.any(dim=0)  # padding columns shared by every row of this micro-batch
    prompt_ids, prompt_mask = batch.prompt_ids[:, keep], batch.prompt_mask[:, keep]
    # through the last scored token: a multi-turn completion has unscored env tokens between its turns
    scored = batch.completion_mask.any(dim=0).nonzero()
    length = int(scored[-1]) + 1 if len(scored) else 0
    completion_ids = batch.completion_ids[:, :length]
    input_ids = torch.cat([prompt_ids, completion_ids], dim=1)
    attention_mask = torch.cat([prompt_mask, torch.ones_like(completion_ids)], dim=1)
    # generate() derives positions from the attention mask; do the same so scores match what was sampled.
    position_ids = (attention_mask.cumsum(dim=1) - 1).clamp(min=0)

    # At least the last prompt column stays uncached: its logits predict the first completion token.
    shared = min(shared_columns(prompt_ids, prompt_mask), prompt_ids.shape[1] - 1)
    inputs: dict[str, Any] = {"attention_mask": attention_mask}
    if share_prefix and shared >= MIN_SHARED_PREFIX and num_rows > 1:
        inputs[cache_keyword(model)] = prefix_cache(model, input_ids[:1, :shared], num_rows)
    else:
        shared = 0
    inputs.update(input_ids=input_ids[:, shared:], position_ids=position_ids[:, shared:])
    # Logits at position t predict token t + 1: the completion is predicted from the last prompt position onwards.
    if accepts_logits_to_keep(model):
        logits = model(**inputs, use_cache=shared > 0, logits_to_keep=length + 1).logits[:, :-1]
    else:
        logits = model(**inputs, use_cache=shared > 0).logits[:, prompt_ids.shape[1] - shared - 1 : -1]
    logp, entropy = chunked_logprobs(logits, completion_ids, temperature, with_entropy, chunk_rows)

    mask = batch.completion_mask[:, :length].to(logp.dtype)
    logp = _pad_columns(logp * mask, width)
    entropy = None if entropy is None else _pad_columns(entropy * mask, width)
    return logp, entropy


def chunked_logprobs(
    logits: torch.Tensor,
    token_ids: torch.Tensor,
    temperature: float = 1.0,
    with_entropy: bool = False,
    chunk_rows: int = 1024,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``log softmax(logits / T)[token]`` per position, ``chunk_rows`` positions at a time (fp32 inside a chunk)."""
    shape = token_ids.shape
    flat_logits = logits.reshape(-1, logits.shape[-1])
    flat_ids = token_ids.reshape(-1, 1)
    logps, entropies = [], []
    for start in range(0, flat_ids.shape[0], chunk_rows):
        chunk = flat_logits[start : start + chunk_rows].float() / temperature
        normaliser = torch.logsumexp(chunk, dim=-1)
        logps.append(chunk.gather(-1, flat_ids[start : start + chunk_rows]).squeeze(-1) - normaliser)
        if with_entropy:
            with torch.no_grad():
                probs = torch.softmax(chunk, dim=-1)
                entropies.append(normaliser - (probs * chunk).sum(dim=-1))
    logp = torch.cat(logps).reshape(shape) if logps else flat_logits.new_zeros(shape)
    entropy = None
    if with_entropy:
        entropy = torch.cat(entropies).reshape(shape) if entropies else flat_logits.new_zeros(shape)
    return logp, entropy


def _pad_columns(values: torch.Tensor, width: int) -> torch.Tensor:
    return torch.nn.functional.pad(values, (0, width - values.shape[1]))
