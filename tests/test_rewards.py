"""Action parsing and reward presets: every string gets a defined reward."""

import json

import pytest

from recgym.rewards import MAX_QUERY_CHARS, RewardPreset, extract_answer_query, format_answer, get_preset


def test_recr1_well_formed_and_malformed():
    p = RewardPreset("recr1")
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
    assert RewardPreset("plain").parse("  anything  ", "raw") == ("  anything  ", True)
    expand = RewardPreset("expand")
    assert expand.parse("insulated mug", "keep coffee hot") == ("keep coffee hot insulated mug", True)
    assert expand.parse('<answer>{"query": "thermos"}</answer>', "hot coffee") == ("hot coffee thermos", True)
    assert expand.parse("", "hot coffee") == ("hot coffee", True)
    assert expand.raw_action("hot coffee") == ""
    assert RewardPreset("plain").raw_action("q") == "q"
    assert json.loads(RewardPreset("recr1").raw_action("q").split("<answer>")[1].split("</answer>")[0]) == {
        "query": "q"
    }


def test_huge_action_is_cut():
    query, ok = RewardPreset("plain").parse("x" * 100_000, "")
    assert ok and len(query) == MAX_QUERY_CHARS


def test_bad_preset_and_types():
    with pytest.raises(ValueError, match="unknown reward preset"):
        RewardPreset("nope")
    with pytest.raises(TypeError, match="must be str"):
        get_preset("plain").parse(None, "")  # type: ignore[arg-type]
