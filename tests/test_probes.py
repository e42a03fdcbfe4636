"""recgym.probes: IFEval-style checkers on hand-written responses, strict/loose scoring with hand-computed accuracies,
prompt loading (bundled, local JSONL, Hub error), the generation probe on the tiny model, and perplexity."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
import torch

from recgym.models import load_default_policy, tiny_policy
from recgym.probes import PROBES, load_prompts, perplexity, run_ifeval_probe, run_probe, score_responses
from recgym.probes.bundled import BUNDLED_PATH, TEMPLATES, bundled_prompts, dumps_jsonl
from recgym.probes.ifeval import loose_variants
from recgym.probes.instructions import (
    CHECKERS,
    UnsupportedInstructionError,
    check_instruction,
    count_sentences,
    count_words,
)

LOW, AT = "less than", "at least"

# (instruction id, kwargs, response, expected), each verified by hand.
CASES = [
    ("change_case:english_lowercase", {}, "the sea is calm today.", True),
    ("change_case:english_lowercase", {}, "The sea is calm today.", False),
    ("change_case:english_capital", {}, "THE SEA IS CALM!", True),
    ("change_case:english_capital", {}, "THE SEA is CALM!", False),
    ("change_case:capital_word_frequency", {"capital_frequency": 5, "capital_relation": AT},
     "I LOVE THE SEA and the SKY", True),  # I, LOVE, THE, SEA, SKY
    ("change_case:capital_word_frequency", {"capital_frequency": 5, "capital_relation": LOW},
     "I LOVE THE SEA and the SKY", False),
    ("detectable_format:number_bullet_lists", {"num_bullets": 3}, "Points:\n* one\n* two\n* three", True),
    ("detectable_format:number_bullet_lists", {"num_bullets": 4}, "Points:\n* one\n* two\n* three", False),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2}, "- one\n- two\n**Bold** is not a bullet", True),
    ("detectable_format:json_format", {}, '```json\n{"topic": "sea", "lines": [1, 2]}\n```', True),
    ("detectable_format:json_format", {}, '{"topic": "sea"}', True),
    ("detectable_format:json_format", {}, 'Here it is: {"topic": "sea"}', False),
    ("detectable_format:title", {}, "<<A Day at the Sea>>\nThe waves were high.", True),
    ("detectable_format:title", {}, "<<   >> no real title", False),
    ("detectable_format:title", {}, "A Day at the Sea", False),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2}, "*waves* and *sand* here", True),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 3}, "*waves* and *sand* here", False),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 1}, "a **bold** word", True),
    ("detectable_format:multiple_sections", {"section_spliter": "Section", "num_sections": 2},
     "Section 1\nWaves.\nSection 2\nSand.", True),
    ("detectable_format:multiple_sections", {"section_spliter": "Section", "num_sections": 3},
     "Section 1\nWaves.\nSection 2\nSand.", False),
    ("detectable_format:multiple_sections", {"section_spliter": "SECTION", "num_sections": 1}, "Section 1\nx", False),
    ("detectable_format:constrained_response", {}, "I thought about it. My answer is maybe.", True),
    ("detectable_format:constrained_response", {}, "Maybe.", False),
    ("keywords:existence", {"keywords": ["river", "garden"]}, "The River runs past the garden.", True),
    ("keywords:existence", {"keywords": ["river", "moon"]}, "The River runs past the garden.", False),
    ("keywords:forbidden_words", {"forbidden_words": ["good", "very"]}, "What goodness, a nice day.", True),
    ("keywords:forbidden_words", {"forbidden_words": ["good", "very"]}, "It was a Very nice day.", False),
    ("keywords:frequency", {"keyword": "light", "frequency": 3, "relation": AT}, "light, more Light, lightly", True),
    ("keywords:frequency", {"keyword": "light", "frequency": 3, "relation": LOW}, "light, more Light, lightly", False),
    ("keywords:letter_frequency", {"letter": "a", "let_frequency": 3, "let_relation": AT}, "bAnana", True),
    ("keywords:letter_frequency", {"letter": "a", "let_frequency": 3, "let_relation": LOW}, "bAnana", False),
    ("length_constraints:number_words", {"num_words": 6, "relation": LOW}, "one two three four five", True),
    ("length_constraints:number_words", {"num_words": 5, "relation": LOW}, "one two three four five", False),
    ("length_constraints:number_words", {"num_words": 6, "relation": AT}, "don't stop, go on now", True),  # 6
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": AT}, "One. Two! Three?", True),
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": LOW}, "One. Two! Three?", False),
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": LOW}, "Dr. Smith came. He sat.", True),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 3}, "Waves.\n***\nSand.\n***\nShells.", True),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "Waves.\n***\nSand.\n***\nShells.", False),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "***\nWaves.\n***\nSand.", True),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "Waves.\n***\n \n***\nSand.", False),
    ("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "then"},
     "First we walk.\n\nThen, we swim.", True),
    ("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "first"},
     "First we walk.\n\nThen, we swim.", False),
    ("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 3, "nth_paragraph": 2, "first_word": "then"},
     "First we walk.\n\nThen, we swim.", False),
    ("startend:end_checker", {"end_phrase": "Any other questions?"}, '"Nice day. any other questions?"', True),
    ("startend:end_checker", {"end_phrase": "Any other questions?"}, "Any other questions? Bye.", False),
    ("startend:quotation", {}, '  "Hello there."\n', True),
    ("startend:quotation", {}, 'Hello "there"', False),
    ("punctuation:no_comma", {}, "hello world", True),
    ("punctuation:no_comma", {}, "hello, world", False),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "See you.\nP.S. Bring a hat.", True),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "See you.\np. s. bring a hat.", True),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "See you. Bring a hat.", False),
    ("detectable_content:postscript", {"postscript_marker": "P.P.S"}, "See you.\nP.P.S hat", True),
    ("detectable_content:number_placeholders", {"num_placeholders": 2}, "Dear [name], see you at [place].", True),
    ("detectable_content:number_placeholders", {"num_placeholders": 3}, "Dear [name], see you at [place].", False),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Describe the sea."}, "describe the sea. It is big.", True),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Describe the sea."}, "Sure. Describe the sea.", False),
    ("combination:two_responses", {}, "A cat.\n******\nA dog.", True),
    ("combination:two_responses", {}, "A cat.\n******\nA cat.", False),
    ("combination:two_responses", {}, "A cat.\n******\n\n******\nA dog.", False),
]


@pytest.mark.parametrize(("instruction_id", "kwargs", "response", "expected"), CASES)
def test_checker_on_hand_written_response(instruction_id: str, kwargs: dict, response: str, expected: bool) -> None:
    assert check_instruction(instruction_id, response, kwargs) is expected


def test_every_checker_has_a_passing_and_a_failing_case() -> None:
    seen = {(i, expected) for i, _, _, expected in CASES}
    assert {(i, flag) for i in CHECKERS for flag in (True, False)} <= seen
    assert len(CHECKERS) >= 15


def test_counting_helpers() -> None:
    assert count_words("don't stop-me now") == 5  # \w+ runs, as IFEval
    assert count_sentences("Mr. J. Smith met e.g. Dr. Who at 3.5 p.m. today. Then they left!") == 2
    assert count_sentences("") == 0


def test_check_instruction_errors() -> None:
    with pytest.raises(UnsupportedInstructionError, match="langdetect"):
        check_instruction("language:response_language", "bonjour", {"language": "fr"})
    with pytest.raises(ValueError, match="missing"):
        check_instruction("detectable_format:number_bullet_lists", "* a", {})
    with pytest.raises(ValueError, match="relation"):
        check_instruction("length_constraints:number_words", "a b", {"num_words": 3, "relation": "at most"})
    # The Hub copy stores unused kwargs as None: they are ignored.
    assert check_instruction("punctuation:no_comma", "a b", {"num_words": None, "keywords": None})


# ------------------------------------------------------------------------------------------------------ scoring
def test_loose_variants_are_ifevals_eight() -> None:
    assert loose_variants("*a*\nb\nc") == ["*a*\nb\nc", "b\nc", "*a*\nb", "b", "a\nb\nc", "b\nc", "a\nb", "b"]


def test_chatty_first_or_last_line_fails_strict_but_passes_loose() -> None:
    rows = [
        {"key": 1, "prompt": "p", "instruction_id_list": ["change_case:english_lowercase"], "kwargs": [{}]},
        {"key": 2, "prompt": "p", "instruction_id_list": ["startend:end_checker"],
         "kwargs": [{"end_phrase": "Any other questions?"}]},
        {"key": 3, "prompt": "p", "instruction_id_list": ["startend:quotation"], "kwargs": [{}]},
    ]
    responses = [
        "Sure! Here is my answer:\nthe sea is calm today.",
        "The sea is calm. Any other questions?\nLet me know if you need more!",
        '**"The sea is calm."**',
    ]
    result = score_responses(rows, responses)
    assert [r["strict"] for r in result["records"]] == [[False], [False], [False]]
    assert [r["loose"] for r in result["records"]] == [[True], [True], [True]]


def test_hand_computed_accuracies_with_skipped_and_excluded() -> None:
    rows = [
        {"key": 1, "prompt": "a", "instruction_id_list": ["change_case:english_lowercase", "punctuation:no_comma"],
         "kwargs": [{}, {}]},
        {"key": 2, "prompt": "b",
         "instruction_id_list": ["startend:end_checker", "detectable_format:number_bullet_lists"],
         "kwargs": [{"end_phrase": "Any other questions?"}, {"num_bullets": 2}]},
        {"key": 3, "prompt": "c", "instruction_id_list": ["keywords:existence", "language:response_language"],
         "kwargs": [{"keywords": ["moon"], "language": None}, {"language": "fr", "keywords": None}]},
        {"key": 4, "prompt": "d", "instruction_id_list": ["language:response_language"],
         "kwargs": [{"language": "de"}]},
    ]
    responses = [
        "Sure! Here it is:\nthe sea is calm and blue.",  # lowercase: strict F, loose T; no comma: T, T
        "* waves\n* sand\nAny other questions?",  # end phrase T, T; two bullets T, T
        "The sun is bright.",  # no "moon": F, F; the language instruction is skipped
        "Das Meer ist ruhig.",  # only unsupported instructions: excluded
    ]
    result = score_responses(rows, responses)
    assert result["prompt_strict"] == pytest.approx(1 / 3)
    assert result["prompt_loose"] == pytest.approx(2 / 3)
    assert result["inst_strict"] == pytest.approx(3 / 5)
    assert result["inst_loose"] == pytest.approx(4 / 5)
    assert (result["num_prompts"], result["num_instructions"]) == (3, 5)
    assert result["num_skipped_instructions"] == 2
    assert result["skipped_instruction_ids"] == {"language:response_language": 2}
    assert (result["num_excluded_prompts"], result["excluded_prompt_keys"]) == (1, [4])
    assert result["records"][2]["skipped"] == ["language:response_language"]
    assert result["records"][0]["strict"] == [False, True] and result["records"][0]["loose"] == [True, True]


def test_blank_response_follows_nothing_and_lengths_must_match() -> None:
    rows = [{"key": 1, "prompt": "p", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]}]
    assert score_responses(rows, ["   "])["inst_loose"] == 0.0
    with pytest.raises(ValueError, match="1 rows but 2 responses"):
        score_responses(rows, ["a", "b"])


# ------------------------------------------------------------------------------------------------------ loading
def test_bundled_file_equals_generator_output() -> None:
    rows = bundled_prompts()
    assert BUNDLED_PATH.read_text(encoding="utf-8") == dumps_jsonl(rows)
    assert 40 <= len(rows) <= 60 and len({r["key"] for r in rows}) == len(rows)
    assert {i for r in rows for i in r["instruction_id_list"]} == set(TEMPLATES)
    for row in rows:  # every bundled kwargs set is accepted by its checker
        for instruction_id, kwargs in zip(row["instruction_id_list"], row["kwargs"], strict=True):
            check_instruction(instruction_id, "x", kwargs)
    assert load_prompts() == load_prompts("bundled") == rows


def test_local_jsonl_in_ifeval_format(tmp_path: Path) -> None:
    path = tmp_path / "ifeval.jsonl"
    hub_style = {"num_bullets": 2, "keywords": None, "end_phrase": None}
    lines = [
        {"key": 1000, "prompt": "List two seas.", "instruction_id_list": ["detectable_format:number_bullet_lists"],
         "kwargs": [hub_style]},
        {"key": 1001, "prompt": "Say hi in French.", "instruction_id_list": ["language:response_language"],
         "kwargs": [{"language": "fr"}]},
    ]
    path.write_text(json.dumps(lines[0]) + "\n\n" + json.dumps(lines[1]) + "\n", encoding="utf-8")
    rows = load_prompts(path)
    assert [r["key"] for r in rows] == [1000, 1001]
    assert rows[0]["kwargs"] == [{"num_bullets": 2}]
    result = score_responses(rows, ["* Baltic\n* Adriatic", "Salut"])
    assert result["prompt_strict"] == 1.0 and result["num_excluded_prompts"] == 1

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"key": 1, "prompt": "p"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.jsonl:1: not an IFEval row"):
        load_prompts(bad)
    with pytest.raises(FileNotFoundError):
        load_prompts(tmp_path / "missing.jsonl")


def test_hub_without_datasets_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes `import datasets` fail
    with pytest.raises(ImportError, match="needs the `datasets` package"):
        load_prompts("hub")


# --------------------------------------------------------------------------------------------------- with models
@pytest.fixture(scope="module")
def tiny() -> tuple:
    return tiny_policy()


def test_run_ifeval_probe_on_tiny_model(tiny: tuple) -> None:
    model, tokenizer = tiny
    rows = [*bundled_prompts()[:3], {"key": 99, "prompt": "Say hi in French.",
                                     "instruction_id_list": ["language:response_language"],
                                     "kwargs": [{"language": "fr"}]}]
    model.train()
    result = run_ifeval_probe(model, tokenizer, prompts=rows, max_new_tokens=8, batch_size=2, progress=False)
    assert model.training  # mode restored
    for key in ("prompt_strict", "prompt_loose", "inst_strict", "inst_loose"):
        assert 0.0 <= result[key] <= 1.0
    assert result["prompt_strict"] <= result["prompt_loose"] and result["inst_strict"] <= result["inst_loose"]
    assert result["num_prompts"] == len(result["records"]) == 3 and result["num_excluded_prompts"] == 1
    record = result["records"][0]
    assert record["key"] == 1 and isinstance(record["response"], str)
    assert len(record["strict"]) == len(record["loose"]) == len(record["instruction_id_list"])


def test_run_probe_registry(tiny: tuple) -> None:
    model, tokenizer = tiny
    assert "ifeval" in PROBES
    result = run_probe("ifeval", model, tokenizer, prompts=bundled_prompts()[:2], max_new_tokens=4, progress=False)
    for key in ("ifeval/prompt_strict", "ifeval/prompt_loose", "ifeval/inst_strict", "ifeval/inst_loose"):
        assert 0.0 <= result[key] <= 1.0
    assert math.isfinite(result["perplexity"]) and result["perplexity"] > 1
    assert len(result["ifeval/records"]) == 2
    with pytest.raises(ValueError, match="unknown probe"):
        run_probe("mmlu", model, tokenizer)


def test_perplexity_matches_one_forward_when_the_text_fits(tiny: tuple) -> None:
    model, tokenizer = tiny
    text = "the red mug and the blue lamp . a small chair with a large table"
    ids = tokenizer(text, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        expected = math.exp(float(model(input_ids=ids, labels=ids).loss))
    assert perplexity(model, tokenizer, text) == pytest.approx(expected, rel=1e-5)
    # Sliding windows score every token once: finite, > 1, and close to the full-context value on this short text.
    windowed = perplexity(model, tokenizer, text, max_length=6, stride=3)
    assert math.isfinite(windowed) and windowed > 1
    default = perplexity(model, tokenizer)  # the bundled general-English text, longer than one window
    assert math.isfinite(default) and default > 1
    with pytest.raises(ValueError, match="stride"):
        perplexity(model, tokenizer, text, max_length=8, stride=8)


@pytest.mark.slow
def test_perplexity_of_real_smollm2_is_sane() -> None:
    model, tokenizer = load_default_policy()
    value = perplexity(model, tokenizer)
    assert 5 < value < 150, value  # models README: ~48 on an English paragraph
