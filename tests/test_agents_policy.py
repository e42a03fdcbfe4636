"""HFPolicy on a tiny random Llama: prompt rendering, batched sampling, and completion log-probs that agree with
what ``generate`` sampled from."""

from __future__ import annotations

import pytest
import torch
from transformers import GenerationConfig

from recgym.agents import hf_policy, kv_cache
from recgym.agents.hf_policy import HFPolicy, SamplingConfig, chunked_logprobs
from recgym.agents.prompting import PromptingAgent
from recgym.models import tiny_policy

PROMPTS = ["rewrite query red shoes", "rewrite query blue waterproof jacket for a small phone case"]


@pytest.fixture
def policy() -> HFPolicy:
    model, tokenizer = tiny_policy(seed=0)
    return HFPolicy(model, tokenizer)


def test_render_uses_the_chat_template_and_optional_system_prompt(policy: HFPolicy) -> None:
    (plain,) = policy.render(["red shoes"])
    assert plain == "<|im_start|>user\nred shoes<|im_end|>\n<|im_start|>assistant\n"
    policy.system_prompt = "search"
    (with_system,) = policy.render(["red shoes"])
    assert with_system.startswith("<|im_start|>system\nsearch<|im_end|>\n<|im_start|>user\n")


def test_sample_returns_groups_of_n_with_left_padded_prompts(policy: HFPolicy) -> None:
    torch.manual_seed(0)
    rollout = policy.sample(PROMPTS, n=3, sampling=SamplingConfig(max_new_tokens=5, temperature=1.0, top_p=0.9))
    assert len(rollout) == 6 and rollout.completion_ids.shape == (6, 5)
    # rows 0-2 continue prompt 0, rows 3-5 prompt 1; the shorter prompt is padded on the left
    assert all(torch.equal(rollout.prompt_ids[0], rollout.prompt_ids[i]) for i in (1, 2))
    assert rollout.prompt_mask[0, 0] == 0 and rollout.prompt_mask[3].all()
    assert rollout.completion_mask[:, 0].all()
    decoded = policy.tokenizer.batch_decode(rollout.completion_ids, skip_special_tokens=True)
    assert [d.strip() for d in decoded] == rollout.texts
    torch.manual_seed(0)
    again = policy.sample(PROMPTS, n=3, sampling=SamplingConfig(max_new_tokens=5, temperature=1.0, top_p=0.9))
    assert torch.equal(again.completion_ids, rollout.completion_ids)


def test_the_callers_tokenizer_is_left_as_it_was() -> None:
    model, tokenizer = tiny_policy(seed=0)
    tokenizer.padding_side = "right"  # e.g. a tokenizer the caller pads for training elsewhere

    def settings() -> dict:
        return {k: getattr(tokenizer, k) for k in ("padding_side", "truncation_side", "pad_token", "eos_token")}

    before = settings()
    policy = HFPolicy(model, tokenizer, share_prefix=False)
    rollout = policy.sample(PROMPTS, n=1, sampling=SamplingConfig(max_new_tokens=3))
    assert settings() == before and before["padding_side"] == "right"
    # the policy still pads its prompts on the left, flush with where generation continues
    assert rollout.prompt_mask[0, 0] == 0 and rollout.prompt_mask[:, -1].all()
    assert tokenizer(PROMPTS, padding=True)["attention_mask"][0][-1] == 0  # and the caller's pads on the right


def test_greedy_sampling_with_n_repeats_the_same_completion(policy: HFPolicy) -> None:
    rollout = policy.sample(PROMPTS, n=2, sampling=SamplingConfig(max_new_tokens=4))
    assert len(rollout) == 4
    assert rollout.texts[0] == rollout.texts[1] and rollout.texts[2] == rollout.texts[3]


def test_completion_mask_keeps_tokens_through_the_first_stop(policy: HFPolicy) -> None:
    eos = policy.tokenizer.eos_token_id
    ids = torch.tensor([[5, eos, eos, eos], [5, 6, 7, 8], [eos, eos, 9, eos]])
    mask = policy.completion_mask(ids)
    assert mask.tolist() == [[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]]


def test_logprobs_equal_the_distribution_generate_sampled_from(policy: HFPolicy) -> None:
    """Batched left-padded prompts: positions must follow the attention mask exactly as generate() does."""
    ids, mask = policy.encode(PROMPTS)
    config = GenerationConfig(
        max_new_tokens=6, do_sample=True, temperature=0.7, top_k=0, top_p=1.0,
        output_logits=True, return_dict_in_generate=True,
        eos_token_id=policy.stop_ids, pad_token_id=policy.tokenizer.pad_token_id,
    )
    torch.manual_seed(1)
    out = policy.model.generate(input_ids=ids, attention_mask=mask, generation_config=config)
    completion = out.sequences[:, ids.shape[1]:]
    raw_logits = torch.stack(out.logits, dim=1)  # [B, C, V], before temperature
    expected = torch.log_softmax(raw_logits / 0.7, dim=-1).gather(-1, completion.unsqueeze(-1)).squeeze(-1)
    batch = hf_policy.Rollout(ids, mask, completion, policy.completion_mask(completion), [""] * len(PROMPTS))
    logp, _ = policy.token_logprobs(batch, temperature=0.7)
    expected = expected * batch.completion_mask
    torch.testing.assert_close(logp, expected, atol=1e-5, rtol=1e-5)


def test_logits_to_keep_path_equals_the_slicing_path(policy: HFPolicy, monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(0)
    rollout = policy.sample(PROMPTS, n=2, sampling=SamplingConfig(max_new_tokens=4, temperature=1.0))
    kept, kept_entropy = policy.token_logprobs(rollout, with_entropy=True)
    for module in (hf_policy, kv_cache):
        monkeypatch.setattr(module, "accepts_logits_to_keep", lambda model: False)
    sliced, sliced_entropy = policy.token_logprobs(rollout, with_entropy=True)
    torch.testing.assert_close(kept, sliced)
    torch.testing.assert_close(kept_entropy, sliced_entropy)


def test_chunked_logprobs_and_entropy_match_a_direct_softmax() -> None:
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 5, 11, generator=gen) * 3
    ids = torch.randint(0, 11, (3, 5), generator=gen)
    logp, entropy = chunked_logprobs(logits, ids, temperature=0.5, with_entropy=True, chunk_rows=4)
    dist = torch.distributions.Categorical(logits=logits / 0.5)
    torch.testing.assert_close(logp, dist.log_prob(ids))
    torch.testing.assert_close(entropy, dist.entropy())


def test_batched_logprobs_match_one_forward_and_are_differentiable_otherwise(policy: HFPolicy) -> None:
    torch.manual_seed(0)
    rollout = policy.sample(PROMPTS, n=3, sampling=SamplingConfig(max_new_tokens=4, temperature=1.0))
    whole, _ = policy.token_logprobs(rollout)
    assert whole.requires_grad
    pieces = policy.batched_logprobs(rollout, micro_batch_size=4)
    assert not pieces.requires_grad
    torch.testing.assert_close(pieces, whole.detach(), atol=1e-5, rtol=1e-5)


def test_prompting_agent_is_greedy_by_default_and_round_trips(tmp_path) -> None:
    model, tokenizer = tiny_policy(seed=3)
    agent = PromptingAgent(model, tokenizer, sampling=SamplingConfig(max_new_tokens=4))
    first = agent.act(PROMPTS)
    assert first == agent.act(PROMPTS) and len(first) == 2
    agent.save(tmp_path / "prompting")
    from recgym.agents import load_agent

    loaded = load_agent(tmp_path / "prompting")
    assert isinstance(loaded, PromptingAgent)
    assert loaded.act(PROMPTS) == first


# ------------------------------------------------------------------------------------- shared-prefix KV caching
TEMPLATE = "You rewrite shopper requests into product search queries for a shop. Request: "
LONG_PROMPTS = [TEMPLATE + "red shoes", TEMPLATE + "a blue waterproof jacket for hiking", TEMPLATE + "mug"]


def test_shared_prefix_length_and_prefix_aligned_layout() -> None:
    assert kv_cache.shared_prefix_length([[1, 2, 3, 4], [1, 2, 5], [1, 2, 3]]) == 2
    # every row keeps at least one token of its own, even when one row is a prefix of another or all are equal
    assert kv_cache.shared_prefix_length([[7, 8, 9], [7, 8, 9]]) == 2
    ids, mask = kv_cache.prefix_aligned([[1, 2, 3, 4], [1, 2, 5]], shared=2, pad_id=0)
    assert ids.tolist() == [[1, 2, 3, 4], [1, 2, 0, 5]] and mask.tolist() == [[1, 1, 1, 1], [1, 1, 0, 1]]
    ids, mask = kv_cache.prefix_aligned([[1, 2, 3, 4], [1, 2, 5]], shared=0, pad_id=0)
    assert ids.tolist() == [[1, 2, 3, 4], [0, 1, 2, 5]]  # plain left padding
    assert kv_cache.shared_columns(ids, mask) == 0


def _pair() -> tuple[HFPolicy, HFPolicy]:
    model, tokenizer = tiny_policy(seed=0)
    return HFPolicy(model, tokenizer, share_prefix=True), HFPolicy(model, tokenizer, share_prefix=False)


def test_prompts_are_prefix_aligned_when_they_share_a_template() -> None:
    shared, plain = _pair()
    ids, mask = shared.encode(LONG_PROMPTS)
    common = kv_cache.shared_columns(ids, mask)
    assert common >= kv_cache.MIN_SHARED_PREFIX
    assert mask[:, :common].all()  # the template is one block of columns, the padding comes after it
    plain_ids, plain_mask = plain.encode(LONG_PROMPTS)
    for row in range(len(LONG_PROMPTS)):  # same tokens per row, only placed differently
        assert ids[row][mask[row].bool()].tolist() == plain_ids[row][plain_mask[row].bool()].tolist()


def test_cached_sampling_draws_exactly_what_uncached_sampling_draws() -> None:
    shared, plain = _pair()
    sampling = SamplingConfig(max_new_tokens=6, temperature=1.0, top_p=0.9)
    torch.manual_seed(3)
    a = shared.sample(LONG_PROMPTS, n=4, sampling=sampling)
    torch.manual_seed(3)
    b = plain.sample(LONG_PROMPTS, n=4, sampling=sampling)
    assert torch.equal(a.completion_ids, b.completion_ids) and a.texts == b.texts
    greedy = SamplingConfig(max_new_tokens=6)
    assert shared.sample(LONG_PROMPTS, sampling=greedy).texts == plain.sample(LONG_PROMPTS, sampling=greedy).texts


def test_cached_logprobs_and_gradients_equal_the_full_forward() -> None:
    """The prefix runs once and its cache is repeated to the rows: log-probs AND parameter gradients must be those
    of running every row in full (the repeat's backward sums the rows' gradients into the prefix)."""
    shared, plain = _pair()
    torch.manual_seed(0)
    rollout = shared.sample(LONG_PROMPTS, n=3, sampling=SamplingConfig(max_new_tokens=5, temperature=1.0))
    assert kv_cache.shared_columns(rollout.prompt_ids, rollout.prompt_mask) >= kv_cache.MIN_SHARED_PREFIX
    grads = []
    for policy in (shared, plain):
        policy.model.zero_grad()
        logp, _ = policy.token_logprobs(rollout, temperature=0.8)
        (logp * torch.linspace(0.5, 1.5, logp.numel()).view_as(logp)).sum().backward()
        grads.append((logp.detach(), [p.grad.clone() for p in policy.model.parameters()]))
    torch.testing.assert_close(grads[0][0], grads[1][0], atol=1e-5, rtol=1e-5)
    for g_shared, g_full in zip(grads[0][1], grads[1][1]):
        torch.testing.assert_close(g_shared, g_full, atol=1e-5, rtol=1e-4)


def test_response_prefix_is_prompt_not_action(policy: HFPolicy) -> None:
    policy.response_prefix = "The shopper wants a"
    (text,) = policy.render(["red shoes"])
    assert text.endswith("<|im_start|>assistant\nThe shopper wants a")
    rollout = policy.sample(["red shoes"], sampling=SamplingConfig(max_new_tokens=3))
    assert not rollout.texts[0].startswith("The shopper wants a")


def test_identical_contexts_are_prefilled_once_and_sample_as_if_each_were_run() -> None:
    shared, plain = _pair()
    a, b = (shared.tokenizer(text, add_special_tokens=False)["input_ids"] for text in shared.render(LONG_PROMPTS[:2]))
    contexts = [a, b, a, a]  # a multi-turn group whose episodes mostly searched the same query
    batches = []
    hook = shared.model.register_forward_pre_hook(lambda _, args, kw: batches.append(len(kw["input_ids"])),
                                                  with_kwargs=True)
    sampling = SamplingConfig(max_new_tokens=6, temperature=1.0, top_p=0.9)
    try:
        torch.manual_seed(5)
        cached = shared.sample_from_ids(contexts, n=2, sampling=sampling)
    finally:
        hook.remove()
    # the prefill: the template prefix once, then the two distinct contexts' rest; generate then steps all 8 rows
    assert batches[:2] == [1, 2] and set(batches[2:]) == {8}
    torch.manual_seed(5)
    assert cached == plain.sample_from_ids(contexts, n=2, sampling=sampling)  # no cache: every row in full
    greedy = SamplingConfig(max_new_tokens=6)
    alone = [shared.sample_from_ids([c], sampling=greedy)[0] for c in (a, b)]
    assert shared.sample_from_ids(contexts, sampling=greedy) == [alone[0], alone[1], alone[0], alone[0]]
