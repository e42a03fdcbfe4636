"""Action parsing and reward presets: every string gets a defined reward."""

import json
import random
import re
import time

import pytest

from recgym.rewards import (
    MAX_QUERY_CHARS,
    extract_answer_query,
    format_answer,
    get_preset,
    last_answer_block,
    valid_unicode,
)


def test_recr1_well_formed_and_malformed():
    p = get_preset("recr1")
    assert p.parse('<think>x</think><answer>{"query": "travel mug"}</answer>', "raw") == ("travel mug", True)
    assert p.reward(True, 0.25) == pytest.approx(0.35)
    assert p.reward(True, 0.0) == pytest.approx(0.1)
    for bad in [
        "",
        "travel mug",
        "<answer>travel mug</answer>",
        '<answer>{"query": 3}</answer>',
        '<answer>{"q": "x"}</answer>',
        "<answer>{broken</answer>",
        '<answer>["query"]</answer>',
    ]:
        query, ok = p.parse(bad, "raw")
        assert (query, ok) == ("", False), bad
        assert p.reward(ok, 0.9) == -2.0


def test_recr1_uses_last_answer_block_and_unicode():
    action = '<answer>{"query": "a"}</answer> then <answer>{"query": "café ☕"}</answer>'
    assert extract_answer_query(action) == "café ☕"
    assert extract_answer_query(format_answer('he said "hi"')) == 'he said "hi"'


def test_plain_and_expand():
    assert get_preset("plain").parse("  anything  ", "raw") == ("  anything  ", True)
    expand = get_preset("expand")
    assert expand.parse("insulated mug", "keep coffee hot") == ("keep coffee hot insulated mug", True)
    assert expand.parse('<answer>{"query": "thermos"}</answer>', "hot coffee") == ("hot coffee thermos", True)
    assert expand.parse("", "hot coffee") == ("hot coffee", True)
    assert expand.raw_action("hot coffee") == ""
    assert get_preset("plain").raw_action("q") == "q"
    assert json.loads(get_preset("recr1").raw_action("q").split("<answer>")[1].split("</answer>")[0]) == {
        "query": "q"
    }


def test_huge_action_is_cut():
    query, ok = get_preset("plain").parse("x" * 100_000, "")
    assert ok and len(query) == MAX_QUERY_CHARS


def test_bad_preset_and_types():
    with pytest.raises(ValueError, match="unknown reward preset"):
        get_preset("nope")
    with pytest.raises(TypeError, match="must be str"):
        get_preset("plain").parse(None, "")  # type: ignore[arg-type]


def test_lone_surrogates_become_replacement_characters():
    """Issue #15, defect 1: ``json.loads`` turns pure-ASCII escapes into lone surrogates, which tokenizers reject;
    every preset hands the recommender valid Unicode (a pair written as two code points is joined)."""
    ascii_action = r'<answer>{"query": "mug \ud800 \udfff x"}</answer>'
    for preset in ("recr1", "expand"):
        query, ok = get_preset(preset).parse(ascii_action, "raw")
        assert ok and query.endswith("mug \ufffd \ufffd x")
        query.encode("utf-8")
    for preset in ("plain", "expand"):
        query, _ = get_preset(preset).parse("a\ud800b \ud83d\ude00", "raw")
        assert query.endswith("a\ufffdb \U0001f600")
    assert valid_unicode("plain text") == "plain text"
    assert valid_unicode(format_answer("ok")) == format_answer("ok")


def test_answer_parsing_is_linear_in_the_action_length():
    """Issue #15, defect 2: the lazy regex rescanned from every unclosed ``<answer>``: 128 kB took 9 s."""
    for action in ["<answer>" * 16_384, "<answer>" * 131_072 + "</answer>", "</answer><answer>x" * 60_000]:
        start = time.perf_counter()
        for preset in ("recr1", "expand"):
            get_preset(preset).parse(action, "raw")
        assert time.perf_counter() - start < 1.0, len(action)
    tail = '<answer>{"query": "last"}</answer>'
    assert extract_answer_query("<answer>" * 100_000 + tail) is None  # the first open tag owns the block
    assert extract_answer_query("</answer>" * 100_000 + tail) == "last"


def test_last_answer_block_is_exactly_what_findall_found():
    """The linear walk keeps the old semantics: ``findall(r"<answer>(.*?)</answer>", re.S | re.I)[-1]``."""
    pattern = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)
    tokens = ["<answer>", "</answer>", "<ANSWER>", "</Answer>", "<anſwer>", "x", "<", ">", "/", "</answer", "\n"]
    rng = random.Random(0)
    for _ in range(20_000):
        action = "".join(rng.choice(tokens) for _ in range(rng.randint(0, 10)))
        blocks = pattern.findall(action)
        assert last_answer_block(action) == (blocks[-1] if blocks else None), action
