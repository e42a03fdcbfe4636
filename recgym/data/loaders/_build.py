"""Turning parsed records into a validated TaskDataset: unique ids, dropped-record accounting, leakage checks.

Shared by every loader so that they all drop unusable records the same way (counted, logged once, never
silently) and fail the same way when nothing usable is left.
"""

from __future__ import annotations

import functools
import gc
import logging
from collections import Counter
from collections.abc import Callable, Container, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from recgym.data.loaders._errors import DataFormatError
from recgym.data.types import SPLITS, Catalog, Example, TaskDataset, TaskKind, group_by_split

log = logging.getLogger("recgym.data.loaders")
F = TypeVar("F", bound=Callable[..., object])


def gc_paused(fn: F) -> F:
    """Decorator: pause Python's cyclic garbage collector while a loader runs.

    Loaders allocate millions of small, acyclic objects (ids, tuples, Examples); each allocation burst
    triggers full collections that re-scan everything already loaded, which made a 100k-user RecBole load
    about 2x slower. Nothing here creates reference cycles, so pausing loses nothing; the previous state is
    restored on exit, errors included.
    """

    @functools.wraps(fn)
    def wrapper(*args: object, **kwargs: object) -> object:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return wrapper  # type: ignore[return-value]


#: Spellings of the validation split found in the wild (RecBole writes ``valid``); all map to ``val``.
SPLIT_ALIASES: Mapping[str, str] = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "dev": "val",
    "test": "test",
    "testing": "test",
}


def normalize_split(value: str) -> str | None:
    """The canonical split name for ``value`` (``None`` when unknown)."""
    return SPLIT_ALIASES.get(value.strip().lower())


class ExampleCollector:
    """Accumulates ``(split, Example)`` pairs for one source file and builds the final TaskDataset.

    Example ids are made unique *within a split*: the same user may legitimately appear in ``val`` and ``test``
    (leave-one-out), but two records of one user in one split get ids ``u``, ``u#2``, ``u#3``... so that envs
    can address every example.
    """

    def __init__(self, source: Path, name: str, task: TaskKind) -> None:
        self.source = source
        self.name = name
        self.task = task
        self.pairs: list[tuple[str, Example]] = []
        self._keys: list[tuple[str, tuple]] = []  # (split, content key) for the cross-split overlap check
        self._ids: dict[str, dict[str, int]] = {}
        self.dropped: Counter[str] = Counter()
        self._dropped_sample: dict[str, str] = {}
        self.renamed = 0

    def count(self, split: str) -> int:
        """How many distinct example ids were kept so far in ``split`` (what ``max_users`` limits)."""
        return len(self._ids.get(split, ()))  # ids repeated in a split count once: they are one user

    def drop(self, reason: str, example_id: str, n: int = 1) -> None:
        """Record that a record was skipped (or ``n`` sub-records of it), remembering one id to quote."""
        self.dropped[reason] += n
        self._dropped_sample.setdefault(reason, example_id)

    def add(self, split: str, example_id: str, **fields: object) -> None:
        """Keep one example in ``split``; ``fields`` are the other Example attributes."""
        seen = self._ids.get(split)
        if seen is None:
            seen = self._ids[split] = {}
        n = seen.get(example_id, 0) + 1  # plain dict, not Counter: this runs once per record
        seen[example_id] = n
        uid = example_id if n == 1 else f"{example_id}#{n}"
        self.renamed += n > 1
        example = Example(example_id=uid, **fields)  # type: ignore[arg-type]
        self.pairs.append((split, example))
        # frozenset: order-free comparison of targets (for the cross-split overlap check)
        self._keys.append((split, (example_id, example.query, example.history, frozenset(example.relevant.items()))))

    def add_sequential(
        self, split: str, user_id: str, history: Sequence[str], target: str, known: Container[str], max_history: int
    ) -> None:
        """Keep a next-item example, dropping item ids the catalog lacks.

        Unknown history items are removed (counted) rather than discarding the user; an unknown target or a
        history left empty drops the record. The history is cut to its last ``max_history`` items afterwards,
        so the model sees up to ``max_history`` items it can actually look up.
        """
        if target not in known:
            self.drop("target item not in the items file", user_id)
            return
        kept = [h for h in history if h in known]
        if len(kept) < len(history):
            self.drop("history items not in the items file (removed from histories)", user_id, len(history) - len(kept))
        if not kept:
            self.drop("records with an empty history", user_id)
            return
        self.add(split, user_id, history=tuple(kept[-max_history:]), relevant={target: 1.0})

    def finish(self, catalog: Catalog) -> TaskDataset:
        """Log what was dropped, check something is left, and return the validated dataset."""
        for reason, n in sorted(self.dropped.items()):
            log.warning("%s: dropped %d %s (e.g. %r)", self.source, n, reason, self._dropped_sample[reason])
        if self.renamed:
            log.info(
                "%s: %d records repeat an id within their split; renamed with a '#n' suffix", self.source, self.renamed
            )
        if not self.pairs:
            detail = "; ".join(f"{n} {r}" for r, n in self.dropped.items()) or "no records"
            raise DataFormatError(f"{self.source}: no usable examples left ({detail})")
        self._warn_overlap()
        dataset = TaskDataset(name=self.name, task=self.task, catalog=catalog, splits=group_by_split(self.pairs))
        return dataset.validate()

    def _warn_overlap(self) -> None:
        """Warn when examples of a split repeat test examples verbatim: evaluating on them leaks test data."""
        test = {key for split, key in self._keys if split == "test"}
        if not test:
            return
        repeats = Counter(split for split, key in self._keys if split != "test" and key in test)
        for split, n in repeats.items():
            log.warning(
                "%s: %d examples of split %r are identical to test examples (same id, context and target)",
                self.source,
                n,
                split,
            )


def check_fractions(split_fractions: Mapping[str, float]) -> dict[str, float]:
    """Validate split fractions: known split names, non-negative, positive total."""
    fractions = dict(split_fractions)
    unknown = [s for s in fractions if s not in SPLITS]
    if unknown:
        raise ValueError(f"split_fractions has unknown split(s) {unknown}; use {list(SPLITS)}")
    if any(v < 0 for v in fractions.values()) or sum(fractions.values()) <= 0:
        raise ValueError(f"split_fractions must be non-negative and sum > 0, got {fractions}")
    return fractions


def check_positive(name: str, value: int | None, allow_none: bool = False) -> None:
    """ValueError unless ``value`` is a positive int (or None when allowed)."""
    if value is None and allow_none:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer{' or None' if allow_none else ''}, got {value!r}")
