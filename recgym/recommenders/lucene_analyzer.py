"""Lucene's English analysis (the token stream pyserini indexes and searches with), in pure Python.

Rec-R1's retriever is pyserini's ``LuceneSearcher``, whose default English analyzer (Anserini's
``DefaultEnglishAnalyzer``, i.e. Lucene's ``EnglishAnalyzer`` chain) is:

    StandardTokenizer -> EnglishPossessiveFilter -> LowerCaseFilter -> StopFilter (33 words) -> PorterStemFilter

This module reproduces it without Java:

* ``StandardTokenizer``: the Unicode UAX #29 word-break rules as Lucene 9's JFlex grammar applies them, as one
  regular expression over character classes built from :mod:`unicodedata` (letters, digits, marks) plus small
  tables of the word-break and emoji properties Python does not expose. Words keep inner apostrophes, dots and
  colons (``don't``, ``u.s.a``, ``x.com``, ``size:large``), numbers keep inner dots/commas (``2.5``, ``1,000``),
  letters and digits join (``10x12``, ``ps4``), underscores join words (``foo_bar``); each Han or Hiragana
  character, and each emoji sequence (``®`` and ``©`` included), is its own token; Thai/Lao/Khmer/Myanmar runs
  are one token; punctuation and symbols are dropped; tokens longer than 255 characters are cut in pieces.
* ``EnglishPossessiveFilter``: a trailing ``'s`` / ``’s`` / ``＇s`` is removed.
* ``LowerCaseFilter``: per-code-point lowercasing (Java's ``Character.toLowerCase``).
* ``StopFilter``: Lucene's ``EnglishAnalyzer.ENGLISH_STOP_WORDS_SET``.
* ``PorterStemFilter``: Lucene's ``PorterStemmer``, Martin Porter's ANSI C algorithm with its three departures
  from the 1980 paper (``-logi -> -log``, ``-bli -> -ble``, any doubled consonant but l/s/z undoubled after
  ``-ed``/``-ing``) and no stemming of words of 1-2 characters. (Snowball's ``porter`` in PyStemmer differs on
  exactly those points, so it is not used.)

``benchmarks/lucene_parity.py --write-golden`` records Lucene's own output for a few hundred strings in
``tests/fixtures/lucene_tokens.json``, which ``tests/test_lucene_analyzer.py`` compares against.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

ENGLISH_STOP_WORDS: frozenset[str] = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there these they "
    "this to was will with".split()
)
"""Lucene's ``EnglishAnalyzer.ENGLISH_STOP_WORDS_SET`` (33 words)."""

MAX_TOKEN_LENGTH = 255
"""``StandardTokenizer``'s default: longer tokens are split into pieces of this many UTF-16 units."""

# ---- character classes (UAX #29 word-break properties as Lucene 9.9's StandardTokenizer sees them) ----------------

_MID_LETTER = "\u003a\u00b7\u0387\u05f4\u2027\ufe13\ufe55\uff1a"
_MID_NUM_LET = "\u002e\u2018\u2019\u2024\ufe52\uff07\uff0e"
_MID_NUM = "\u002c\u003b\u037e\u0589\u060c\u060d\u066c\u07f8\u2044\ufe10\ufe14\ufe50\ufe54\uff0c\uff1b"
_EXTEND_NUM_LET = "\u005f\u202f\u203f\u2040\u2054\ufe33\ufe34\ufe4d\ufe4e\ufe4f\uff3f"
_EXTRA_LETTERS = "\u055b\u055c\u055e\u05f3\u066b\u3005\u303b\ua720\ua721\ua789\ua78a\uab5b"
_EXPLICIT = {
    **dict.fromkeys(_MID_LETTER, "M"), **dict.fromkeys(_MID_NUM_LET, "D"), **dict.fromkeys(_MID_NUM, "U"),
    **dict.fromkeys(_EXTEND_NUM_LET, "E"), **dict.fromkeys(_EXTRA_LETTERS, "L"), "'": "Q", '"': "W", "\u200d": "Z",
    "\u200b": "O", "\u3006": "O", "\u200c": "X", "\u200e": "X", "\u200f": "X", "\u1a7f": "X", "\uff9e": "X",
    "\uff9f": "X",
}  # fmt: skip
_KEYCAP_BASE = "0123456789#*"

# (first, last) code point ranges of the properties Python's unicodedata does not expose
# fmt: off
_HAN = ((0x2E80, 0x2FDF), (0x3007, 0x3007), (0x3021, 0x3029), (0x3038, 0x303A), (0x3400, 0x4DBF), (0x4E00, 0x9FFF),
        (0xF900, 0xFAFF), (0x20000, 0x2FFFF))
_HIRAGANA = ((0x3041, 0x309F), (0x1B001, 0x1B11F), (0x1B150, 0x1B152), (0x1F200, 0x1F200))
_KATAKANA = ((0x3031, 0x3035), (0x309B, 0x309C), (0x30A0, 0x30FA), (0x30FC, 0x30FF), (0x31F0, 0x31FF),
             (0x32D0, 0x32FE), (0x3300, 0x3357), (0xFF66, 0xFF9D), (0x1B000, 0x1B000), (0x1B164, 0x1B167))
_COMPLEX_CONTEXT = ((0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF), (0x1950, 0x19FF), (0x1A20, 0x1AAF),
                    (0xA9E0, 0xA9FF), (0xAA60, 0xAADF), (0x11700, 0x1174F))
_COMPLEX_CONTEXT_SYMBOLS = ((0x109E, 0x109F), (0x19DA, 0x19DA), (0x19DE, 0x19DF), (0x1AA0, 0x1AA6), (0x1AA8, 0x1AAD),
                            (0xAA77, 0xAA79), (0xAADE, 0xAADF), (0x1173A, 0x1173B), (0x1173F, 0x1173F))
_HEBREW_LETTER = ((0x05D0, 0x05EA), (0x05EF, 0x05F2), (0xFB1D, 0xFB1D), (0xFB1F, 0xFB28), (0xFB2A, 0xFB4F))
_LETTER_SYMBOLS = ((0x02C2, 0x02C5), (0x02D2, 0x02D7), (0x02DE, 0x02DF), (0x02ED, 0x02ED), (0x02EF, 0x02FF),
                   (0x24B6, 0x24E9), (0x1F130, 0x1F149), (0x1F150, 0x1F169), (0x1F170, 0x1F189))
_REGIONAL_INDICATOR = ((0x1F1E6, 0x1F1FF),)
_EMOJI_MODIFIER = ((0x1F3FB, 0x1F3FF),)
# Extended_Pictographic (Unicode emoji-data, as of Lucene's Unicode tables): emitted as emoji tokens
_PICTOGRAPHIC = ((0x00A9, 0x00A9), (0x00AE, 0x00AE), (0x203C, 0x203C), (0x2049, 0x2049), (0x2122, 0x2122),
                 (0x2139, 0x2139), (0x2194, 0x2199), (0x21A9, 0x21AA), (0x231A, 0x231B), (0x2328, 0x2328),
                 (0x2388, 0x2388), (0x23CF, 0x23CF), (0x23E9, 0x23F3), (0x23F8, 0x23FA), (0x24C2, 0x24C2),
                 (0x25AA, 0x25AB), (0x25B6, 0x25B6), (0x25C0, 0x25C0), (0x25FB, 0x25FE), (0x2600, 0x2605),
                 (0x2607, 0x2612), (0x2614, 0x2685), (0x2690, 0x2705), (0x2708, 0x2712), (0x2714, 0x2714),
                 (0x2716, 0x2716), (0x271D, 0x271D), (0x2721, 0x2721), (0x2728, 0x2728), (0x2733, 0x2734),
                 (0x2744, 0x2744), (0x2747, 0x2747), (0x274C, 0x274C), (0x274E, 0x274E), (0x2753, 0x2755),
                 (0x2757, 0x2757), (0x2763, 0x2767), (0x2795, 0x2797), (0x27A1, 0x27A1), (0x27B0, 0x27B0),
                 (0x27BF, 0x27BF), (0x2934, 0x2935), (0x2B05, 0x2B07), (0x2B1B, 0x2B1C), (0x2B50, 0x2B50),
                 (0x2B55, 0x2B55), (0x3030, 0x3030), (0x303D, 0x303D), (0x3297, 0x3297), (0x3299, 0x3299),
                 (0x1F000, 0x1F0FF), (0x1F10D, 0x1F10F), (0x1F12F, 0x1F12F), (0x1F16C, 0x1F16F),
                 (0x1F18E, 0x1F18E), (0x1F191, 0x1F19A), (0x1F1AD, 0x1F1E5), (0x1F201, 0x1F20F),
                 (0x1F21A, 0x1F21A), (0x1F22F, 0x1F22F), (0x1F232, 0x1F23A), (0x1F23C, 0x1F23F),
                 (0x1F249, 0x1F3FA), (0x1F400, 0x1F53D), (0x1F546, 0x1F64F), (0x1F680, 0x1F6FF),
                 (0x1F774, 0x1F77F), (0x1F7D5, 0x1F7FF), (0x1F80C, 0x1F80F), (0x1F848, 0x1F84F),
                 (0x1F85A, 0x1F85F), (0x1F888, 0x1F88F), (0x1F8AE, 0x1F8FF), (0x1F90C, 0x1F93A),
                 (0x1F93C, 0x1F945), (0x1F947, 0x1FAFF), (0x1FC00, 0x1FFFD))
_LEGACY_PICTOGRAPHIC = ((0x1FB00, 0x1FBFF),)  # reserved (pictographic) in Lucene's tables, digits included
# Characters newer than Lucene 9.9's Unicode 12.1 tables (Unicode 13-14), or ideographs of non-Han scripts
# (Tangut, Khitan, Nushu): Lucene's tokenizer drops them, found by probing every code point against it
_UNKNOWN = ((0x0870, 0x089F), (0x08B5, 0x08B5), (0x08BE, 0x08D2), (0x0B55, 0x0B55), (0x0C3C, 0x0C3C),
            (0x0C5D, 0x0C5D), (0x0CDD, 0x0CDD), (0x0D04, 0x0D04), (0x0D81, 0x0D81), (0x170D, 0x170D),
            (0x1715, 0x171F), (0x180F, 0x180F), (0x1ABF, 0x1ACE), (0x1B4C, 0x1B4C), (0x1DFA, 0x1DFA),
            (0x2C2F, 0x2C2F), (0x2C5F, 0x2C5F), (0x31BB, 0x31BF), (0xA7C0, 0xA7C1), (0xA7C7, 0xA7F6),
            (0xA82C, 0xA82C), (0xAB68, 0xAB69), (0x10570, 0x105BC), (0x10780, 0x107BA), (0x10E80, 0x10EB1),
            (0x10F70, 0x10F85), (0x10FB0, 0x10FC4), (0x11070, 0x11075), (0x110C2, 0x110C2), (0x11147, 0x11147),
            (0x111CE, 0x111CF), (0x11460, 0x11461), (0x11740, 0x11746), (0x11900, 0x11959), (0x11AB0, 0x11ABF),
            (0x11FB0, 0x11FB0), (0x12F90, 0x12FF0), (0x16A70, 0x16AC9), (0x16FE4, 0x1AFFE), (0x1B11F, 0x1B122),
            (0x1B170, 0x1B2FB), (0x1CF00, 0x1CF46), (0x1DF00, 0x1DF1E), (0x1E290, 0x1E2AE), (0x1E7E0, 0x1E7FE),
            (0x30000, 0x3FFFF))
# fmt: on
_SCANNED = (range(0x20000), range(0xE0000, 0xE1000))  # planes 2-3 are Han or unknown, 4-13 and 15-16 unused
_LETTER = frozenset(("Lu", "Ll", "Lt", "Lm", "Lo", "Nl"))


def _range_table() -> bytearray:
    """Code point -> the range table it belongs to (a class letter, or 0), for planes 0-1."""
    table = bytearray(0x20000)
    for cls, ranges in (
        ("P", _PICTOGRAPHIC), ("l", _LETTER_SYMBOLS), ("B", _HEBREW_LETTER), ("S", _COMPLEX_CONTEXT),
        ("s", _COMPLEX_CONTEXT_SYMBOLS), ("H", _HAN), ("H", _HIRAGANA), ("K", _KATAKANA), ("R", _REGIONAL_INDICATOR),
        ("m", _EMOJI_MODIFIER), ("p", _LEGACY_PICTOGRAPHIC), ("O", _UNKNOWN),
    ):  # fmt: skip
        for lo, hi in ranges:
            if lo < 0x20000:
                hi = min(hi, 0x1FFFF)
                table[lo : hi + 1] = cls.encode() * (hi + 1 - lo)
    return table


def _word_break_classes(cp: int, table: bytearray) -> str:
    """The classes of a code point, one letter each: L letter, B Hebrew letter, N numeric, K katakana, H Han or
    Hiragana (one character a token), S complex-context script (runs are one token), P pictographic (emoji),
    R regional indicator, E ExtendNumLet, X extend/format (absorbed by the preceding character), M MidLetter,
    D MidNumLet, U MidNum, Q ', W ", Z ZWJ, O other (a break). Complex-context marks are S and X, emoji
    modifiers P and X."""
    ranged = chr(table[cp]) if cp < 0x20000 and table[cp] else ""
    if ranged == "O":
        return "O"
    c = chr(cp)
    explicit = _EXPLICIT.get(c)
    if explicit is not None:
        return explicit
    cat = unicodedata.category(c)
    if ranged == "m":
        return "PX"
    if ranged in ("s", "p"):
        return ranged.upper()
    if ranged == "S":
        return "SX" if cat in ("Mn", "Mc") else ("S" if cat[0] == "L" else "N" if cat == "Nd" else "O")
    if cat in ("Mn", "Me", "Mc", "Cf"):
        return "X"
    if ranged in ("R", "K", "B") or ranged == "H" and cat != "Cn":
        return ranged
    if cat in _LETTER or ranged == "l":
        return "L"
    if cat == "Nd":
        return "N"
    return "P" if ranged == "P" else "O"


def _char_class(chars: list[int]) -> str:
    """A regex character class matching exactly the code points ``chars`` (sorted), as ranges."""
    parts, start, prev = [], chars[0], chars[0]
    for cp in chars[1:] + [-2]:
        if cp != prev + 1:
            parts.append(re.escape(chr(start)) + ("" if start == prev else "-" + re.escape(chr(prev))))
            start = cp
        prev = cp
    return "[" + "".join(parts) + "]"


@lru_cache(maxsize=1)
def _tokenizer_regex() -> re.Pattern[str]:
    members: dict[str, list[int]] = {}
    table = _range_table()
    for block in _SCANNED:
        for cp in block:
            if 0xD800 <= cp <= 0xDFFF or 0xAC00 <= cp <= 0xD7A3 or 0x4E00 <= cp <= 0x9FFF:
                continue  # surrogates, and the large uniform blocks added as ranges below
            for cls in _word_break_classes(cp, table):
                members.setdefault(cls, []).append(cp)
    members["L"] = sorted([*members["L"], *range(0xAC00, 0xD7A4)])  # Hangul syllables are letters
    members["H"] = sorted([*members["H"], *range(0x4E00, 0xA000), *range(0x20000, 0x30000)])
    c = {cls: _char_class(cps) for cls, cps in members.items()}
    x = f"{c['X']}|\u200d"  # WB4: extend/format/ZWJ characters are absorbed by what precedes them
    ex = lambda cls: f"{cls}(?:{x})*"  # noqa: E731
    letter, hebrew, num = ex(f"(?:{c['L']}|{c['B']})"), ex(c["B"]), ex(c["N"])
    kata, enl = ex(c["K"]), ex(c["E"])
    mid_letter = ex(f"[{c['M'][1:-1]}{c['D'][1:-1]}']")
    mid_num = ex(f"[{c['U'][1:-1]}{c['D'][1:-1]}']")
    alpha = f"{letter}(?:(?:(?:{enl})*|{mid_letter}){letter})*"
    number = f"{num}(?:(?:(?:{enl})*|{mid_num}){num})*"
    hebrew_q = f"{hebrew}(?:'(?:{x})*|\"(?:{x})*{hebrew})"
    katakana = f"{kata}(?:(?:{enl})*{kata})*"
    unit = f"(?:{katakana}|(?:{hebrew_q}|{number}|{alpha})+)"
    word = f"(?:{enl})*{unit}(?:(?:{enl})+{unit})*(?:{enl})*"
    emoji = (
        f"{c['R']}{{2}}(?:{x})*"  # a flag
        f"|[{re.escape(_KEYCAP_BASE)}]\ufe0f?\u20e3(?:{x})*"  # a keycap
        f"|{c['P']}(?:{c['X']}|\u200d(?:{c['P']})?)*"  # a pictograph (+ modifiers, selectors, ZWJ sequences)
    )
    single = f"{c['H']}(?:{x})*"
    complex_context = f"(?:{c['S']}(?:{x})*)+"
    return re.compile(f"{word}|{complex_context}|{single}|{emoji}")


# ---- PorterStemFilter: Lucene's PorterStemmer (Porter's ANSI C version) ------------------------------------------


class _Porter:
    """A direct port of ``org.apache.lucene.analysis.en.PorterStemmer`` over a list of UTF-16 code units."""

    __slots__ = ("b", "k", "j", "k0")

    def __init__(self, word: str) -> None:
        self.b, self.k0 = list(word), 0
        self.k = len(self.b) - 1
        self.j = 0

    def cons(self, i: int) -> bool:
        ch = self.b[i]
        if ch in "aeiou":
            return False
        if ch == "y":
            return True if i == self.k0 else not self.cons(i - 1)
        return True

    def m(self) -> int:
        n, i, j = 0, self.k0, self.j
        while True:
            if i > j:
                return n
            if not self.cons(i):
                break
            i += 1
        i += 1
        while True:
            while True:
                if i > j:
                    return n
                if self.cons(i):
                    break
                i += 1
            i += 1
            n += 1
            while True:
                if i > j:
                    return n
                if not self.cons(i):
                    break
                i += 1
            i += 1

    def vowel_in_stem(self) -> bool:
        return any(not self.cons(i) for i in range(self.k0, self.j + 1))

    def doublec(self, j: int) -> bool:
        return j >= self.k0 + 1 and self.b[j] == self.b[j - 1] and self.cons(j)

    def cvc(self, i: int) -> bool:
        if i < self.k0 + 2 or not self.cons(i) or self.cons(i - 1) or not self.cons(i - 2):
            return False
        return self.b[i] not in "wxy"

    def ends(self, s: str) -> bool:
        n = len(s)
        o = self.k - n + 1
        if o < self.k0 or "".join(self.b[o : self.k + 1]) != s:
            return False
        self.j = self.k - n
        return True

    def setto(self, s: str) -> None:
        o = self.j + 1
        self.b[o:] = list(s)
        self.k = self.j + len(s)

    def r(self, s: str) -> None:
        if self.m() > 0:
            self.setto(s)

    def step1(self) -> None:
        b = self.b
        if b[self.k] == "s":
            if self.ends("sses"):
                self.k -= 2
            elif self.ends("ies"):
                self.setto("i")
            elif b[self.k - 1] != "s":
                self.k -= 1
        del b[self.k + 1 :]
        if self.ends("eed"):
            if self.m() > 0:
                self.k -= 1
        elif (self.ends("ed") or self.ends("ing")) and self.vowel_in_stem():
            self.k = self.j
            del b[self.k + 1 :]
            if self.ends("at"):
                self.setto("ate")
            elif self.ends("bl"):
                self.setto("ble")
            elif self.ends("iz"):
                self.setto("ize")
            elif self.doublec(self.k):
                if b[self.k] not in "lsz":
                    self.k -= 1
            elif self.m() == 1 and self.cvc(self.k):
                self.setto("e")
        del b[self.k + 1 :]

    def step2(self) -> None:
        if self.ends("y") and self.vowel_in_stem():
            self.b[self.k] = "i"

    _STEP3 = {
        "a": (("ational", "ate"), ("tional", "tion")),
        "c": (("enci", "ence"), ("anci", "ance")),
        "e": (("izer", "ize"),),
        "l": (("bli", "ble"), ("alli", "al"), ("entli", "ent"), ("eli", "e"), ("ousli", "ous")),
        "o": (("ization", "ize"), ("ation", "ate"), ("ator", "ate")),
        "s": (("alism", "al"), ("iveness", "ive"), ("fulness", "ful"), ("ousness", "ous")),
        "t": (("aliti", "al"), ("iviti", "ive"), ("biliti", "ble")),
        "g": (("logi", "log"),),
    }
    _STEP4 = {
        "e": (("icate", "ic"), ("ative", ""), ("alize", "al")),
        "i": (("iciti", "ic"),),
        "l": (("ical", "ic"), ("ful", "")),
        "s": (("ness", ""),),
    }
    _STEP5 = {
        "a": ("al",), "c": ("ance", "ence"), "e": ("er",), "i": ("ic",), "l": ("able", "ible"),
        "n": ("ant", "ement", "ment", "ent"), "o": ("ion", "ou"), "s": ("ism",), "t": ("ate", "iti"), "u": ("ous",),
        "v": ("ive",), "z": ("ize",),
    }  # fmt: skip

    def _rules(self, table: dict, key: str) -> None:
        for suffix, repl in table.get(key, ()):
            if self.ends(suffix):
                self.r(repl)
                return

    def step5(self) -> None:
        if self.k == self.k0:
            return
        for suffix in self._STEP5.get(self.b[self.k - 1], ()):
            if self.ends(suffix):
                if suffix == "ion" and not (self.j >= 0 and self.b[self.j] in "st"):
                    continue
                if self.m() > 1:
                    self.k = self.j
                return

    def step6(self) -> None:
        self.j = self.k
        if self.b[self.k] == "e":
            a = self.m()
            if a > 1 or a == 1 and not self.cvc(self.k - 1):
                self.k -= 1
        if self.b[self.k] == "l" and self.doublec(self.k) and self.m() > 1:
            self.k -= 1

    def stem(self) -> str:
        if self.k > self.k0 + 1:
            self.step1()
            self.step2()
            if self.k != self.k0:
                self._rules(self._STEP3, self.b[self.k - 1])
            self._rules(self._STEP4, self.b[self.k])
            self.step5()
            self.step6()
        return "".join(self.b[: self.k + 1])


def _to_utf16_units(s: str) -> str:
    return "".join(chr(u) for u in memoryview(s.encode("utf-16-le")).cast("H"))


@lru_cache(maxsize=1 << 18)
def porter_stem(word: str) -> str:
    """Lucene's ``PorterStemFilter`` on one lowercased token (memoised: vocabularies are small)."""
    if len(word) < 3 or word.isascii() and word.isdigit():
        return word
    if all(ord(ch) <= 0xFFFF for ch in word):
        return _Porter(word).stem()
    stemmed = _Porter(_to_utf16_units(word)).stem()  # Java stems UTF-16 code units
    return stemmed.encode("utf-16-le", "surrogatepass").decode("utf-16-le")


# ---- the analyzer ---------------------------------------------------------------------------------------------------

_APOSTROPHES = ("'", "\u2019", "\uff07")
_LOWER_SPECIAL = {"\u0130": "i"}  # Java's Character.toLowerCase of İ; str.lower() gives "i̇"


def _lower(token: str) -> str:
    if token.isascii():
        return token.lower()
    # per code point, as Java's Character.toLowerCase (no final-sigma rule, no multi-character expansions)
    return "".join(_LOWER_SPECIAL.get(ch) or ch.lower() for ch in token)


def _utf16_len(token: str) -> int:
    return len(token) + sum(ord(ch) > 0xFFFF for ch in token)


def _split_long(token: str) -> list[str]:
    if _utf16_len(token) <= MAX_TOKEN_LENGTH:
        return [token]
    pieces, current, units = [], [], 0
    for ch in token:
        width = 2 if ord(ch) > 0xFFFF else 1
        if units + width > MAX_TOKEN_LENGTH:
            pieces.append("".join(current))
            current, units = [], 0
        current.append(ch)
        units += width
    return [*pieces, "".join(current)]


_ASCII_WORD = re.compile(
    # the tokenizer regex restricted to ASCII (no marks, emoji, CJK there): a much smaller, faster pattern
    r"_*(?:(?:[0-9](?:_*[0-9]|[,;.'][0-9])*|[A-Za-z](?:_*[A-Za-z]|[:.'][A-Za-z])*)+)"
    r"(?:_+(?:[0-9](?:_*[0-9]|[,;.'][0-9])*|[A-Za-z](?:_*[A-Za-z]|[:.'][A-Za-z])*)+)*_*"
)


def standard_tokenize(text: str) -> list[str]:
    """Lucene's ``StandardTokenizer`` (case and text as in the input)."""
    tokens = (_ASCII_WORD if text.isascii() else _tokenizer_regex()).findall(text)
    if any(len(t) > MAX_TOKEN_LENGTH // 2 for t in tokens):
        tokens = [piece for t in tokens for piece in _split_long(t)]
    return tokens


@lru_cache(maxsize=1 << 18)
def _filter(token: str) -> str | None:
    """Possessive, lowercase, stopword and stemming filters on one token (``None``: dropped)."""
    if len(token) >= 2 and token[-1] in "sS" and token[-2] in _APOSTROPHES:
        token = token[:-2]
    token = _lower(token)
    if token in ENGLISH_STOP_WORDS:
        return None
    return porter_stem(token)


@lru_cache(maxsize=1 << 18)
def _analyze_piece(piece: str) -> tuple[str, ...]:
    return tuple(term for term in map(_filter, standard_tokenize(piece)) if term is not None)


def clear_caches() -> None:
    """Forget every memoised token analysis (benchmarks time a cold first pass with it)."""
    for cached in (_analyze_piece, _filter, porter_stem):
        cached.cache_clear()


def lucene_analyze(text: str) -> list[str]:
    """The tokens Lucene's English analyzer (pyserini's default) makes of ``text``.

    Whitespace never joins a token (except U+202F, an ExtendNumLet), so the text is analysed one whitespace-separated
    piece at a time, each piece's terms memoised: queries and titles repeat their words."""
    if "\u202f" in text:
        return list(_analyze_piece(text))
    out: list[str] = []
    for piece in text.split():
        out += _analyze_piece(piece)
    return out


def lucene_tokenize(texts: Iterable[str]) -> list[list[str]]:
    """:func:`lucene_analyze` of each text."""
    return [lucene_analyze(t) for t in texts]
