"""Rule-verifiable instruction checkers with IFEval's instruction ids and keyword arguments.

IFEval (Zhou et al. 2023, google-research ``instruction_following_eval``) scores instruction following with
deterministic rules ("answer in lowercase", "exactly 3 bullet points", "end with this phrase"), so a model's general
ability can be measured offline and before/after RL fine-tuning. Each checker here is a plain function
``check(response, **kwargs) -> bool`` registered under IFEval's id with IFEval's kwarg names, so rows of the real
``google/IFEval`` set are scored as they are.

recgym does NOT depend on the reference implementations (``instruction_following_eval`` or the ``if-verifiable``
package): they need nltk with its punkt tokenizer data (a network download at run time) and langdetect. The rules
were re-implemented from their documented semantics. Where the result can differ from IFEval's:

* ``length_constraints:number_sentences``: sentences come from a small regex splitter (:func:`split_sentences`), not
  nltk's punkt model. They agree on ordinary prose; they can differ on rare abbreviations, ellipses and quotes.
* ``change_case:english_lowercase`` / ``english_capital``: only the case is checked. IFEval also requires
  langdetect to call the text English, so a non-English all-lowercase answer passes here and fails there.
* ``change_case:capital_word_frequency``: words are ``\\w+`` runs joined by inner hyphens/apostrophes, not nltk's
  ``word_tokenize``; a capitalised contraction ("DON'T") counts once here and twice there.
* ``keywords:*`` and ``detectable_content:postscript`` match their kwargs literally (escaped); IFEval compiles
  them as regular expressions (identical for plain words, which is all the real set holds).
* ``language:response_language`` is not supported (it needs langdetect); it is skipped and counted by the scorer.

Word counts (``\\w+`` runs) are exactly IFEval's.
"""

from __future__ import annotations

import inspect
import json
import re
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

RELATIONS = ("less than", "at least")
UNSUPPORTED: dict[str, str] = {
    "language:response_language": "needs a language detector (langdetect), which recgym does not depend on",
}


class UnsupportedInstructionError(KeyError):
    """An instruction id with no checker here; scorers skip and count such instructions."""


def _compare(count: int, threshold: int, relation: str) -> bool:
    if relation == "less than":
        return count < int(threshold)
    if relation == "at least":
        return count >= int(threshold)
    raise ValueError(f"relation must be one of {RELATIONS}, got {relation!r}")


# ---------------------------------------------------------------------------------------------- text counting
_WORD = re.compile(r"\w+")
_CAPS_WORD = re.compile(r"\w+(?:[-'’]\w+)*")
# Sentence-final punctuation (with closing quotes/brackets) that is followed by whitespace or the end of the text.
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s|$)")
_TOKEN_BEFORE = re.compile(r"([\w.]+)$")
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st jr sr inc ltd co corp vs etc e.g i.e cf approx fig no vol dept est jan feb mar apr jun jul "
    "aug sep sept oct nov dec mt ave u.s u.k a.m p.m".split()
)


def count_words(text: str) -> int:
    """Number of ``\\w+`` runs: IFEval's word count (nltk's ``RegexpTokenizer(r"\\w+")``), so "don't" is 2 words."""
    return len(_WORD.findall(text))


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``: split after ``.``, ``!`` or ``?`` followed by whitespace, except after a known
    abbreviation ("Dr.", "e.g.") or a single-letter initial ("J. Smith"); fragments without a word are dropped.

    A regex stand-in for nltk's punkt model, which IFEval uses and which needs a data download. Newlines alone do
    not end a sentence (as in punkt), so an unpunctuated bullet list is one sentence.
    """
    sentences, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        if match.group().startswith("."):
            before = _TOKEN_BEFORE.search(text, start, match.start())
            token = before.group(1).lower() if before else ""
            if token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha()):
                continue
        sentences.append(text[start : match.end()].strip())
        start = match.end()
    sentences.append(text[start:].strip())
    return [s for s in sentences if _WORD.search(s)]


def count_sentences(text: str) -> int:
    return len(split_sentences(text))


# --------------------------------------------------------------------------------------------------- checkers
def english_lowercase(response: str) -> bool:
    """change_case:english_lowercase: no capital letter anywhere (and at least one cased letter)."""
    return response.islower()


def english_capital(response: str) -> bool:
    """change_case:english_capital: no lowercase letter anywhere (and at least one cased letter)."""
    return response.isupper()


def capital_word_frequency(response: str, *, capital_frequency: int, capital_relation: str) -> bool:
    """change_case:capital_word_frequency: the number of ALL-CAPS words compared with ``capital_frequency``."""
    capitals = sum(word.isupper() for word in _CAPS_WORD.findall(response))
    return _compare(capitals, capital_frequency, capital_relation)


def number_bullet_lists(response: str, *, num_bullets: int) -> bool:
    """detectable_format:number_bullet_lists: exactly ``num_bullets`` lines starting with ``*`` (not ``**``) or
    ``-`` (IFEval counts both markdown bullet styles)."""
    stars = re.findall(r"^\s*\*[^*].*$", response, flags=re.MULTILINE)
    dashes = re.findall(r"^\s*-.*$", response, flags=re.MULTILINE)
    return len(stars) + len(dashes) == int(num_bullets)


def json_format(response: str) -> bool:
    """detectable_format:json_format: the whole response parses as JSON, optionally inside ``` / ```json fences."""
    text = response.strip()
    for fence in ("```json", "```Json", "```JSON", "```"):
        if text.startswith(fence):
            text = text[len(fence) :]
            break
    text = text.removesuffix("```").strip()
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def title(response: str) -> bool:
    """detectable_format:title: a non-blank title wrapped in double angular brackets on one line, <<like this>>."""
    return any(inner.strip("<>").strip() for inner in re.findall(r"<<([^\n]+)>>", response))


def number_highlighted_sections(response: str, *, num_highlights: int) -> bool:
    """detectable_format:number_highlighted_sections: at least ``num_highlights`` non-blank *single-line* spans
    between asterisks; a ``**bold**`` span counts once (IFEval's two patterns)."""
    single = [s for s in re.findall(r"\*([^\n*]*)\*", response) if s.strip()]
    double = [s for s in re.findall(r"\*\*([^\n*]*)\*\*", response) if s.strip()]
    return len(single) + len(double) >= int(num_highlights)


def multiple_sections(response: str, *, section_spliter: str, num_sections: int) -> bool:
    """detectable_format:multiple_sections: at least ``num_sections`` headers "<spliter> <number>" (case-sensitive)."""
    headers = re.findall(re.escape(section_spliter.strip()) + r"\s?\d+", response)
    return len(headers) >= int(num_sections)


CONSTRAINED_OPTIONS = ("My answer is yes.", "My answer is no.", "My answer is maybe.")


def constrained_response(response: str) -> bool:
    """detectable_format:constrained_response: the response contains one of IFEval's three fixed answers."""
    return any(option in response for option in CONSTRAINED_OPTIONS)


def keyword_existence(response: str, *, keywords: list[str]) -> bool:
    """keywords:existence: every keyword occurs, case-insensitively, anywhere (also inside longer words)."""
    return all(re.search(re.escape(k), response, flags=re.IGNORECASE) for k in keywords)


def forbidden_words(response: str, *, forbidden_words: list[str]) -> bool:
    """keywords:forbidden_words: no forbidden word occurs as a whole word, case-insensitively."""
    return not any(re.search(rf"\b{re.escape(w)}\b", response, flags=re.IGNORECASE) for w in forbidden_words)


def keyword_frequency(response: str, *, keyword: str, frequency: int, relation: str) -> bool:
    """keywords:frequency: case-insensitive occurrences of ``keyword`` (substrings count) against ``frequency``."""
    count = len(re.findall(re.escape(keyword.strip()), response, flags=re.IGNORECASE))
    return _compare(count, frequency, relation)


def letter_frequency(response: str, *, letter: str, let_frequency: int, let_relation: str) -> bool:
    """keywords:letter_frequency: case-insensitive count of one letter against ``let_frequency``."""
    return _compare(Counter(response.lower())[letter.strip().lower()], let_frequency, let_relation)


def number_words(response: str, *, num_words: int, relation: str) -> bool:
    """length_constraints:number_words: :func:`count_words` against ``num_words``."""
    return _compare(count_words(response), num_words, relation)


def number_sentences(response: str, *, num_sentences: int, relation: str) -> bool:
    """length_constraints:number_sentences: :func:`count_sentences` against ``num_sentences``."""
    return _compare(count_sentences(response), num_sentences, relation)


def number_paragraphs(response: str, *, num_paragraphs: int) -> bool:
    """length_constraints:number_paragraphs: exactly ``num_paragraphs`` parts between markdown dividers ``***``;
    an empty part is allowed only at the very start or end."""
    parts = re.split(r"\s?\*\*\*\s?", response)
    blank = [i for i, part in enumerate(parts) if not part.strip()]
    if any(0 < i < len(parts) - 1 for i in blank):
        return False
    return len(parts) - len(blank) == int(num_paragraphs)


def nth_paragraph_first_word(response: str, *, num_paragraphs: int, nth_paragraph: int, first_word: str) -> bool:
    """length_constraints:nth_paragraph_first_word: ``num_paragraphs`` non-blank paragraphs separated by blank lines
    (``\\n\\n``), and paragraph ``nth_paragraph`` (1-based) starts with ``first_word`` (case and trailing punctuation
    ignored). As in IFEval, the n-th part is taken before blank parts are dropped."""
    parts = response.split("\n\n")
    count = sum(1 for part in parts if part.strip())
    nth = int(nth_paragraph)
    if not 1 <= nth <= count or not parts[nth - 1].strip():
        return False
    word = parts[nth - 1].split()[0].lstrip("'").lstrip('"')
    word = re.split(r"[.,?!'\"]", word, maxsplit=1)[0].lower()
    return count == int(num_paragraphs) and word == first_word.lower()


def end_checker(response: str, *, end_phrase: str) -> bool:
    """startend:end_checker: the response (trimmed of spaces and enclosing double quotes) ends with the phrase,
    case-insensitively."""
    return response.strip().strip('"').lower().endswith(end_phrase.strip().lower())


def quotation(response: str) -> bool:
    """startend:quotation: the whole (trimmed) response is wrapped in double quotation marks."""
    text = response.strip()
    return len(text) > 1 and text[0] == '"' and text[-1] == '"'


def no_comma(response: str) -> bool:
    """punctuation:no_comma: no ASCII comma anywhere."""
    return "," not in response


def postscript(response: str, *, postscript_marker: str) -> bool:
    """detectable_content:postscript: the marker occurs (case-insensitively) anywhere; "P.S." and "P.P.S" also
    match with a space after an inner dot ("p. s.")."""
    marker = postscript_marker.strip()
    if marker == "P.P.S":
        pattern = r"p\.\s?p\.\s?s"
    elif marker == "P.S.":
        pattern = r"p\.\s?s\."
    else:
        pattern = re.escape(marker.lower())
    return re.search(pattern, response.lower()) is not None


def number_placeholders(response: str, *, num_placeholders: int) -> bool:
    """detectable_content:number_placeholders: at least ``num_placeholders`` square-bracket spans like [name]."""
    return len(re.findall(r"\[.*?\]", response)) >= int(num_placeholders)


def repeat_prompt(response: str, *, prompt_to_repeat: str) -> bool:
    """combination:repeat_prompt: the response starts with the request, word for word (case-insensitively)."""
    return response.strip().lower().startswith(prompt_to_repeat.strip().lower())


def two_responses(response: str) -> bool:
    """combination:two_responses: exactly two different non-blank answers separated by ``******``; a blank part is
    allowed only at the very start or end."""
    parts = response.split("******")
    if any(not part.strip() for part in parts[1:-1]):
        return False
    answers = [part.strip() for part in parts if part.strip()]
    return len(answers) == 2 and answers[0] != answers[1]


CHECKERS: dict[str, Callable[..., bool]] = {
    "change_case:english_lowercase": english_lowercase,
    "change_case:english_capital": english_capital,
    "change_case:capital_word_frequency": capital_word_frequency,
    "detectable_format:number_bullet_lists": number_bullet_lists,
    "detectable_format:json_format": json_format,
    "detectable_format:title": title,
    "detectable_format:number_highlighted_sections": number_highlighted_sections,
    "detectable_format:multiple_sections": multiple_sections,
    "detectable_format:constrained_response": constrained_response,
    "keywords:existence": keyword_existence,
    "keywords:forbidden_words": forbidden_words,
    "keywords:frequency": keyword_frequency,
    "keywords:letter_frequency": letter_frequency,
    "length_constraints:number_words": number_words,
    "length_constraints:number_sentences": number_sentences,
    "length_constraints:number_paragraphs": number_paragraphs,
    "length_constraints:nth_paragraph_first_word": nth_paragraph_first_word,
    "startend:end_checker": end_checker,
    "startend:quotation": quotation,
    "punctuation:no_comma": no_comma,
    "detectable_content:postscript": postscript,
    "detectable_content:number_placeholders": number_placeholders,
    "combination:repeat_prompt": repeat_prompt,
    "combination:two_responses": two_responses,
}
"""IFEval instruction id -> checker. Every id of the public IFEval set except ``language:response_language``."""

# Keyword arguments each checker takes (all after the response).
_KWARGS: dict[str, frozenset[str]] = {
    name: frozenset(list(inspect.signature(fn).parameters)[1:]) for name, fn in CHECKERS.items()
}


def is_supported(instruction_id: str) -> bool:
    return instruction_id in CHECKERS


def check_instruction(instruction_id: str, response: str, kwargs: Mapping[str, Any] | None = None) -> bool:
    """Whether ``response`` follows one instruction.

    ``kwargs`` entries that are ``None`` are dropped first: the Hub copy of IFEval stores every instruction's kwargs
    as one wide record with ``None`` for the arguments an instruction does not take.

    Raises:
        UnsupportedInstructionError: no checker for this id.
        ValueError: missing or unexpected kwargs, or an unknown relation.
    """
    checker = CHECKERS.get(instruction_id)
    if checker is None:
        reason = UNSUPPORTED.get(instruction_id, "unknown instruction id")
        raise UnsupportedInstructionError(f"{instruction_id}: {reason}")
    given = {k: v for k, v in (kwargs or {}).items() if v is not None}
    expected = _KWARGS[instruction_id]
    missing = sorted(expected - set(given))
    unexpected = sorted(set(given) - expected)
    if missing or unexpected:
        raise ValueError(
            f"{instruction_id} takes kwargs {sorted(expected)}; missing {missing}, unexpected {unexpected}"
        )
    return bool(checker(response, **given))
