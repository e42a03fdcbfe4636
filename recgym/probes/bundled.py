"""The bundled offline IFEval-style prompt set: short general-English tasks, each with one or two verifiable
instructions, generated from templates with a fixed seed.

Why a bundled set: the real ``google/IFEval`` prompts live on the Hugging Face Hub, which recgym must not need; this
set lets `recgym eval --probe ifeval` measure instruction following anywhere. It is smaller (50 prompts, ~70
instructions) and easier than IFEval, so its numbers are not comparable with published IFEval scores; compare a
model with itself before and after training.

The file ``recgym/probes/data/ifeval_bundled.jsonl`` is exactly ``write_bundled_prompts()``'s output (a test checks
this); to change the set, edit the generator and run
``python -c "from recgym.probes.bundled import write_bundled_prompts; write_bundled_prompts()"``.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

BUNDLED_PATH = Path(__file__).resolve().parent / "data" / "ifeval_bundled.jsonl"
BUNDLED_SEED = 7
BUNDLED_SIZE = 50

TASKS: tuple[str, ...] = (
    "Write a short note about how honeybees make honey.",
    "Describe a quiet morning at a mountain lake.",
    "List some simple ways to save water at home.",
    "Explain why the sky looks blue on a clear day.",
    "Write a short story about an umbrella that gets lost on a train.",
    "Describe how to plant a tomato seedling in a garden.",
    "Write a short note about the history of the bicycle.",
    "Explain how a rainbow forms after a storm.",
    "Give advice to someone who is learning to cook for the first time.",
    "Describe the sounds of a busy city street at night.",
    "Write a short note about why sleep matters for students.",
    "Explain how a library organises its books.",
    "Describe a walk through an autumn forest.",
    "List a few reasons people enjoy keeping a diary.",
    "Write a short note about the life of a lighthouse keeper.",
    "Explain the difference between weather and climate.",
    "Describe how bread rises while it bakes.",
    "Write a short letter thanking a neighbour for their help.",
    "Explain why the moon changes shape during the month.",
    "Describe a busy market on a Saturday morning.",
    "Write a short note about how to care for a houseplant.",
    "Explain how volcanoes are formed.",
    "Describe the first snowfall of winter in a small town.",
    "List some good habits for staying focused while studying.",
    "Write a short poem about the sea.",
    "Explain how a compass helps people find their way.",
    "Describe what a good friend is like.",
    "Write a short note about the importance of bees for farming.",
    "Explain why leaves change colour in the autumn.",
    "Describe a family picnic in a park.",
    "Write a short note about learning to play the piano.",
    "Explain how recycling paper works.",
    "Describe the view from the top of a tall hill.",
    "Give tips for a first visit to a museum.",
    "Write a short note about how trains changed travel.",
    "Explain how the human heart pumps blood.",
    "Describe a rainy afternoon spent indoors.",
    "Write a short note about the benefits of walking every day.",
    "Explain why people celebrate the new year.",
    "Describe an old clock tower in the middle of a village.",
    "Write a short story about a cat who wants to fly.",
    "Explain how clouds form in the sky.",
    "Describe how to make a cup of tea.",
    "Write a short note about the history of paper.",
    "Explain why exercise is good for the mind.",
    "Describe a journey on a small boat along a river.",
    "Write a short note about how maps are made.",
    "Explain how seeds travel to new places.",
    "Describe a school playground at lunchtime.",
    "Write a short note about the night sky in the desert.",
)

KEYWORDS = ("light", "window", "garden", "river", "morning", "friend", "music", "journey", "stone", "colour")
COMMON_WORDS = ("very", "really", "thing", "good", "nice", "important")
END_PHRASES = ("Any other questions?", "Is there anything else I can help with?", "That is all for now.")
FIRST_WORDS = ("first", "then", "today", "finally", "often", "sometimes")

# An instruction template: (rng, task) -> (kwargs in IFEval's names, the instruction sentence for the prompt).
Template = Callable[[random.Random, str], tuple[dict[str, Any], str]]


def _relation(rng: random.Random) -> str:
    return rng.choice(("less than", "at least"))


def _number_words(rng: random.Random, task: str) -> tuple[dict[str, Any], str]:
    relation = _relation(rng)
    num = rng.randint(60, 120) if relation == "less than" else rng.randint(40, 100)
    return {"num_words": num, "relation": relation}, f"Answer with {relation} {num} words."


def _number_sentences(rng: random.Random, task: str) -> tuple[dict[str, Any], str]:
    relation = _relation(rng)
    num = rng.randint(3, 6) if relation == "less than" else rng.randint(2, 5)
    return {"num_sentences": num, "relation": relation}, f"Your response should contain {relation} {num} sentences."


def _keyword_frequency(rng: random.Random, task: str) -> tuple[dict[str, Any], str]:
    keyword, num, relation = rng.choice(KEYWORDS), rng.randint(2, 4), _relation(rng)
    text = f'In your response, the word "{keyword}" should appear {relation} {num} times.'
    return {"keyword": keyword, "frequency": num, "relation": relation}, text


def _letter_frequency(rng: random.Random, task: str) -> tuple[dict[str, Any], str]:
    letter, num, relation = rng.choice("aeinorst"), rng.randint(5, 15), _relation(rng)
    text = f'In your response, the letter "{letter}" should appear {relation} {num} times.'
    return {"letter": letter, "let_frequency": num, "let_relation": relation}, text


def _capital_words(rng: random.Random, task: str) -> tuple[dict[str, Any], str]:
    num, relation = rng.randint(2, 5), _relation(rng)
    text = f"In your response, words written in ALL CAPITAL letters should appear {relation} {num} times."
    return {"capital_frequency": num, "capital_relation": relation}, text


def _bullets(rng: random.Random, task: str) -> tuple[dict[str, Any], str]:
    num = rng.randint(2, 5)
    text = f"Your answer must contain exactly {num} bullet points, written in markdown like:\n* A point.\n* Another."
    return {"num_bullets": num}, text


def _highlights(rng: random.Random, task: str) -> tuple[dict[str, Any], str]:
    num = rng.randint(1, 3)
    text = f"Highlight at least {num} parts of your answer with markdown, for example *a highlighted part*."
    return {"num_highlights": num}, text


def _sections(rng: random.Random, task: str) -> tuple[dict[str, Any], str]:
    spliter, num = rng.choice(("Section", "SECTION")), rng.randint(2, 3)
    text = (f"Your response must have {num} sections. Start each section with {spliter} X, for example:\n"
            f"{spliter} 1\n[first section]\n{spliter} 2\n[second section]")
    return {"section_spliter": spliter, "num_sections": num}, text


def _paragraphs(rng: random.Random, task: str) -> tuple[dict[str, Any], str]:
    num = rng.randint(2, 4)
    return {"num_paragraphs": num}, f"Write exactly {num} paragraphs, separated by the markdown divider ***."


def _nth_paragraph(rng: random.Random, task: str) -> tuple[dict[str, Any], str]:
    num = rng.randint(2, 3)
    nth, word = rng.randint(1, num), rng.choice(FIRST_WORDS)
    text = (f"Write {num} paragraphs, separated from each other by one blank line. "
            f"Paragraph {nth} must start with the word \"{word}\".")
    return {"num_paragraphs": num, "nth_paragraph": nth, "first_word": word}, text


def _keywords(rng: random.Random, task: str) -> tuple[dict[str, Any], str]:
    words = sorted(rng.sample(KEYWORDS, 2))
    return {"keywords": words}, f'Include the keywords "{words[0]}" and "{words[1]}" in your response.'


def _forbidden(rng: random.Random, task: str) -> tuple[dict[str, Any], str]:
    words = sorted(rng.sample(COMMON_WORDS, 2))
    return {"forbidden_words": words}, f'Do not use the words "{words[0]}" or "{words[1]}" in your response.'


def _end(rng: random.Random, task: str) -> tuple[dict[str, Any], str]:
    phrase = rng.choice(END_PHRASES)
    return {"end_phrase": phrase}, f'Finish your response with the exact phrase "{phrase}" and nothing after it.'


def _postscript(rng: random.Random, task: str) -> tuple[dict[str, Any], str]:
    marker = rng.choice(("P.S.", "P.P.S"))
    return {"postscript_marker": marker}, f"At the end of your response, add a postscript starting with {marker}"


def _placeholders(rng: random.Random, task: str) -> tuple[dict[str, Any], str]:
    num = rng.randint(1, 3)
    text = f"Include at least {num} placeholders written in square brackets, such as [name]."
    return {"num_placeholders": num}, text


def _fixed(text: str) -> Template:
    return lambda rng, task: ({}, text)


def _repeat(rng: random.Random, task: str) -> tuple[dict[str, Any], str]:
    text = ("First repeat the request above word for word, then give your answer. Write nothing before the "
            "repeated request, and do not repeat this sentence.")
    return {"prompt_to_repeat": task}, text


TEMPLATES: dict[str, Template] = {
    "change_case:english_lowercase": _fixed("Your entire response must be in English and in lowercase letters only."),
    "change_case:english_capital": _fixed("Your entire response must be in English and in capital letters only."),
    "change_case:capital_word_frequency": _capital_words,
    "detectable_format:number_bullet_lists": _bullets,
    "detectable_format:json_format": _fixed("Wrap your entire output in JSON format; you may use markdown ticks ```."),
    "detectable_format:title": _fixed("Give your answer a title in double angular brackets, like <<my title>>."),
    "detectable_format:number_highlighted_sections": _highlights,
    "detectable_format:multiple_sections": _sections,
    "keywords:existence": _keywords,
    "keywords:forbidden_words": _forbidden,
    "keywords:frequency": _keyword_frequency,
    "keywords:letter_frequency": _letter_frequency,
    "length_constraints:number_words": _number_words,
    "length_constraints:number_sentences": _number_sentences,
    "length_constraints:number_paragraphs": _paragraphs,
    "length_constraints:nth_paragraph_first_word": _nth_paragraph,
    "startend:end_checker": _end,
    "startend:quotation": _fixed("Wrap your entire response in double quotation marks."),
    "punctuation:no_comma": _fixed("Do not use any commas in your response."),
    "detectable_content:postscript": _postscript,
    "detectable_content:number_placeholders": _placeholders,
    "combination:repeat_prompt": _repeat,
    "combination:two_responses": _fixed("Give two different responses, separated by six asterisk symbols: ******."),
}
"""Every supported IFEval id except ``detectable_format:constrained_response`` (it needs a yes/no question)."""

# Instructions that constrain the whole answer's shape: used alone, as in IFEval's conflict table.
_ALONE = {"detectable_format:json_format", "combination:repeat_prompt", "combination:two_responses"}
_CONFLICTS = [
    {"change_case:english_lowercase", "change_case:english_capital", "change_case:capital_word_frequency"},
    {"length_constraints:number_paragraphs", "length_constraints:nth_paragraph_first_word",
     "length_constraints:number_sentences", "detectable_format:multiple_sections"},
    {"startend:quotation", "detectable_format:title", "startend:end_checker"},
    {"detectable_format:number_bullet_lists", "detectable_format:number_highlighted_sections"},
    {"keywords:frequency", "keywords:forbidden_words"},
]


def _compatible(first: str, second: str) -> bool:
    if first == second or first in _ALONE or second in _ALONE:
        return False
    return not any(first in group and second in group for group in _CONFLICTS)


def bundled_prompts(seed: int = BUNDLED_SEED, size: int = BUNDLED_SIZE) -> list[dict[str, Any]]:
    """The bundled rows in IFEval's format ``{key, prompt, instruction_id_list, kwargs}``; deterministic in ``seed``.

    Prompt ``i`` gets instruction ``ids[i % len(ids)]`` (so each id appears at least twice in 50 prompts) and, half
    of the time, a second compatible one. Tasks are used in a seeded order, each at most once per cycle.
    """
    rng = random.Random(seed)
    ids = list(TEMPLATES)
    tasks = list(TASKS)
    rng.shuffle(tasks)
    rows = []
    for i in range(size):
        task = tasks[i % len(tasks)]
        chosen = [ids[i % len(ids)]]
        if rng.random() < 0.5 and chosen[0] not in _ALONE:
            chosen.append(rng.choice([other for other in ids if _compatible(chosen[0], other)]))
        built = [TEMPLATES[name](rng, task) for name in chosen]
        prompt = task
        for _, text in built:  # a multi-line instruction (bullets, sections example) gets lines of its own
            prompt += ("\n" if "\n" in text or "\n" in prompt else " ") + text
        rows.append({"key": i + 1, "prompt": prompt, "instruction_id_list": chosen, "kwargs": [k for k, _ in built]})
    return rows


def dumps_jsonl(rows: list[dict[str, Any]]) -> str:
    """One JSON object per line, keys in IFEval's order, UTF-8 kept readable."""
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def write_bundled_prompts(path: str | os.PathLike[str] = BUNDLED_PATH) -> Path:
    """Regenerate the bundled JSONL file (default: the one shipped inside the package)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps_jsonl(bundled_prompts()), encoding="utf-8")
    return path
