"""Prompt templates: how an example becomes the observation text an LLM policy reads.

A template with ``feedback=n`` also shows the recommender's top ``n`` titles for the raw query (``{results}``): the
black box's first page of results, the same feedback pseudo-relevance feedback reads, so the policy can pick the
product words from what the shop actually sells instead of recalling them.

The defaults follow the Rec-R1 paper's prompts (product search: "You are an expert in query generation...";
sequential recommendation: a shopping assistant reading the user's last purchases as ``Item i: <title>``) and ask for
the paper's ``<think>...</think><answer>{"query": ...}</answer>`` format. Templates are plain ``str.format`` strings,
so users override them by passing their own :class:`PromptTemplate`; the placeholders are ``{query}`` (search) and
``{history}`` (sequential, already rendered).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from recgym.data.types import Catalog, Example

SEARCH_TEMPLATE = (
    "You are an expert in query generation. A shopper typed the request below into an e-commerce search engine "
    "that ranks products by their titles. Rewrite it into a query that will retrieve the products the "
    "shopper wants: use the words such products' titles would use (product type, key attributes, brand).\n\n"
    "Shopper request: {query}\n\n"
    "Show your reasoning in <think> </think> tags, then give the final query in <answer> </answer> tags as JSON, "
    'for example <think> ... </think><answer>{{"query": "insulated stainless steel travel mug"}}</answer>.'
)

EXPAND_SEARCH_TEMPLATE = (
    "You are an expert in query generation for an e-commerce search engine that matches words in product titles. "
    "Write a few extra keywords (product type, attributes) to add to the shopper's request so the search finds "
    "the right products. Reply with the keywords only.\n\n"
    "Shopper request: {query}"
)

SEQUENTIAL_TEMPLATE = (
    "You are a helpful shopping assistant. A user bought the following items, oldest first:\n{history}\n\n"
    "Write a search query for the product the user is most likely to buy next; a search engine will match it "
    "against product titles. Show your reasoning in <think> </think> tags, then give the query in "
    '<answer> </answer> tags as JSON, for example <answer>{{"query": "wireless controller for switch"}}</answer>.'
)

EXPAND_SEQUENTIAL_TEMPLATE = (
    "You are a helpful shopping assistant. A user bought the following items, oldest first:\n{history}\n\n"
    "Write a few keywords describing the product the user is most likely to buy next. Reply with the keywords only."
)


PRODUCT_TYPE_SEARCH_TEMPLATE = (
    'A shopper typed this request into a shop\'s search engine: "{query}"\n'
    "What kind of product are they looking for? Answer with the product type only, in 1-3 words."
)

PRODUCT_TYPE_SEQUENTIAL_TEMPLATE = (
    "A user bought the following items, oldest first:\n{history}\n\n"
    "What kind of product will they buy next? Answer with the product type only, in 1-3 words."
)


PRODUCT_TYPE_RESULTS_SEARCH_TEMPLATE = (
    'A shopper typed this request into a shop\'s search engine: "{query}"\n'
    "The search engine's top results:\n{results}\n"
    "What kind of product are they looking for? Answer with the product type only, in 1-3 words."
)

PRODUCT_TYPE_RESULTS_SEQUENTIAL_TEMPLATE = (
    "A user bought the following items, oldest first:\n{history}\n\n"
    "A search for their latest items returns:\n{results}\n\n"
    "What kind of product will they buy next? Answer with the product type only, in 1-3 words."
)


AGENT_TOOLS = (
    "You may search the engine up to {max_searches} times before you answer: write <search> query </search> and "
    "its top {results_per_search} product titles come back between <information> and </information>. When you "
    "are ready, give your final answer in <answer> </answer> tags, for example {answer_example}. Write one "
    "<search> or one <answer> per turn; you may think in <think> </think> tags first."
)

AGENT_TOOL_CALLS = (
    "You may call the search tool up to {max_searches} times before you answer; each call returns the top "
    "{results_per_search} product titles for its query. Then call the answer tool once with your final query."
)
"""The tools paragraph for function-calling trainers (TRL's ``environment_factory``: ``search`` and ``answer`` are
tools there, not tags)."""

AGENT_SEARCH_TEMPLATE = (
    "You are an expert in query generation. A shopper typed the request below into an e-commerce search engine "
    "that ranks products by their titles. Find the query that retrieves the products the shopper wants: use the "
    "words such products' titles use (product type, key attributes, brand).\n\n"
    "Shopper request: {query}\n\n{tools}"
)

AGENT_SEQUENTIAL_TEMPLATE = (
    "You are a helpful shopping assistant. A user bought the following items, oldest first:\n{history}\n\n"
    "Find a search query for the product the user is most likely to buy next; the search engine matches it "
    "against product titles.\n\n{tools}"
)

# The transcript a search agent's observation grows by, one entry per turn (recgym.envs.agent_env renders them).
AGENT_SEARCH_TURN = "\n<search>{query}</search>\n<information>\n{results}\n</information>\n{budget}"
AGENT_RESULT_ITEM = "{i}. {title}"
AGENT_NO_RESULTS = "(no results)"
AGENT_INVALID_TURN = (
    "\nInvalid action: write <search> query </search> to search or <answer> ... </answer> to answer.\n{budget}"
)
AGENT_SEARCHES_LEFT = "Searches left: {left}.\n"
AGENT_ANSWER_NOW = "No searches left: give your final answer in <answer> </answer> tags now.\n"


@dataclass(frozen=True)
class PromptTemplate:
    """How examples render into prompts, and what the raw-query baseline sends.

    Attributes:
        search: Template for product-search examples; ``{query}`` is the shopper's request.
        sequential: Template for sequential examples; ``{history}`` is the rendered item list.
        history_item: Format of one history line; ``{i}`` (1-based) and ``{title}``.
        max_history: Only the last ``max_history`` items are shown (paper: 10).
        raw_history_items: How many of the most recent history titles form the raw query of a sequential example.
        feedback: How many of the recommender's top titles for the raw query fill ``{results}`` (0: none, and no
            search at render time).
        result_item: Format of one result line; ``{i}`` (1-based) and ``{title}``.
    """

    search: str = SEARCH_TEMPLATE
    sequential: str = SEQUENTIAL_TEMPLATE
    history_item: str = "Item {i}: {title}"
    max_history: int = 10
    raw_history_items: int = 3
    feedback: int = 0
    result_item: str = "- {title}"

    def history_titles(self, example: Example, catalog: Catalog) -> list[str]:
        titles = catalog.titles
        return [titles[catalog.position(i)] for i in example.history[-self.max_history :]]

    def render(self, example: Example, catalog: Catalog, results: Sequence[str] = ()) -> str:
        """The observation text for ``example``; ``results`` are the feedback titles (``feedback > 0``)."""
        shown = "\n".join(self.result_item.format(i=i + 1, title=t) for i, t in enumerate(results))
        if example.history:
            lines = [
                self.history_item.format(i=i + 1, title=t) for i, t in enumerate(self.history_titles(example, catalog))
            ]
            return self.sequential.format(history="\n".join(lines), results=shown)
        return self.search.format(query=example.query, results=shown)

    def raw_query(self, example: Example, catalog: Catalog) -> str:
        """The query the raw baseline sends: the request itself, or the latest history titles joined."""
        if example.history:
            recent = self.history_titles(example, catalog)[-self.raw_history_items :]
            return " ".join(recent)
        return example.query


PAPER = PromptTemplate()
EXPAND = PromptTemplate(search=EXPAND_SEARCH_TEMPLATE, sequential=EXPAND_SEQUENTIAL_TEMPLATE)
PRODUCT_TYPE = PromptTemplate(search=PRODUCT_TYPE_SEARCH_TEMPLATE, sequential=PRODUCT_TYPE_SEQUENTIAL_TEMPLATE)
"""A short question whose answer is a product type: with the ``expand`` preset and a response prefix such as
``"The shopper is looking for a"`` (``GRPOConfig.cpu()``), a small model's few sampled tokens name a product,
which is what BM25 over titles rewards (docs/training.md has the ablation)."""

PRODUCT_TYPE_RESULTS = PromptTemplate(
    search=PRODUCT_TYPE_RESULTS_SEARCH_TEMPLATE, sequential=PRODUCT_TYPE_RESULTS_SEQUENTIAL_TEMPLATE, feedback=3
)
"""``product-type`` plus the black box's top 3 titles for the raw query: with the prefix, a sample beats the raw
query about twice as often before training (docs/training.md, part 1)."""


def agent_template(
    max_searches: int, results_per_search: int, answer_examples: tuple[str, str], tools: str = AGENT_TOOLS
) -> PromptTemplate:
    """The search agent's prompt (:class:`~recgym.envs.agent_env.SearchAgentEnv`): the paper's task plus the tools
    and their budget. ``answer_examples`` are a well-formed final answer for a search and for a sequential example
    (they depend on the reward preset, which this module does not know); ``tools`` is :data:`AGENT_TOOLS` (tags)
    or :data:`AGENT_TOOL_CALLS` (function calls)."""

    def fill(template: str, answer_example: str) -> str:
        # filled ahead of PromptTemplate.render: keep its placeholders, escape the example's JSON braces
        escaped = answer_example.replace("{", "{{").replace("}", "}}")
        budget = {"max_searches": max_searches, "results_per_search": results_per_search, "answer_example": escaped}
        return template.format(query="{query}", history="{history}", tools=tools.format(**budget))

    return PromptTemplate(
        search=fill(AGENT_SEARCH_TEMPLATE, answer_examples[0]),
        sequential=fill(AGENT_SEQUENTIAL_TEMPLATE, answer_examples[1]),
    )


TEMPLATES: dict[str, PromptTemplate] = {
    "paper": PAPER,
    "expand": EXPAND,
    "product-type": PRODUCT_TYPE,
    "product-type-results": PRODUCT_TYPE_RESULTS,
}
"""Named templates: the env's ``prompt=`` takes a name as well as a :class:`PromptTemplate`."""


def resolve_template(prompt: PromptTemplate | str | None, default: str = "paper") -> PromptTemplate:
    """The template for an env's ``prompt=`` argument: a template as is, a name from :data:`TEMPLATES`, or, for
    ``None``, the template named ``default`` (the reward preset's ``default_prompt``)."""
    if prompt is None:
        prompt = default
    if isinstance(prompt, PromptTemplate):
        return prompt
    if isinstance(prompt, str) and prompt in TEMPLATES:
        return TEMPLATES[prompt]
    raise ValueError(f"prompt must be a PromptTemplate or one of {sorted(TEMPLATES)}, got {prompt!r}")
