"""The data model every recgym task is made of: a catalog of items and examples with graded relevance.

A task dataset is deliberately plain data (tuples, dicts, strings): loaders produce it, recommenders index its
catalog, envs render its examples into prompts. Nothing here knows about files or models.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

TaskKind = Literal["search", "sequential"]
SPLITS: tuple[str, ...] = ("train", "val", "test")


@dataclass(frozen=True)
class Catalog:
    """The items a recommender ranks: unique ids and, per id, named text fields (``title`` is required).

    Attributes:
        item_ids: Unique item ids, in a fixed order; recommenders return positions into this tuple.
        fields: Field name -> one string per item (same order as ``item_ids``). Must contain ``"title"``.
    """

    item_ids: tuple[str, ...]
    fields: Mapping[str, tuple[str, ...]]
    _position: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "item_ids", tuple(str(i) for i in self.item_ids))
        if "title" not in self.fields:
            raise ValueError(f"Catalog needs a 'title' field; got fields {sorted(self.fields)}")
        fields = {name: tuple("" if v is None else str(v) for v in values) for name, values in self.fields.items()}
        for name, values in fields.items():
            if len(values) != len(self.item_ids):
                raise ValueError(f"Catalog field {name!r} has {len(values)} values for {len(self.item_ids)} item ids")
        object.__setattr__(self, "fields", fields)
        position = {item_id: i for i, item_id in enumerate(self.item_ids)}
        if len(position) != len(self.item_ids):
            seen: set[str] = set()
            dup = next(i for i in self.item_ids if i in seen or seen.add(i))  # type: ignore[func-returns-value]
            raise ValueError(f"Catalog item ids must be unique; {dup!r} appears more than once")
        object.__setattr__(self, "_position", position)

    def __len__(self) -> int:
        return len(self.item_ids)

    @property
    def titles(self) -> tuple[str, ...]:
        return self.fields["title"]  # type: ignore[return-value]

    def texts(self, fields: Sequence[str] = ("title",), sep: str = " ") -> list[str]:
        """One document string per item: the named fields joined by ``sep`` (empty fields skipped)."""
        missing = [f for f in fields if f not in self.fields]
        if missing:
            raise KeyError(f"Catalog has no field(s) {missing}; available: {sorted(self.fields)}")
        columns = [self.fields[f] for f in fields]
        return [sep.join(v for v in values if v) for values in zip(*columns)]

    def position(self, item_id: str) -> int:
        """Position of ``item_id`` in ``item_ids``; KeyError naming the id when absent."""
        try:
            return self._position[item_id]
        except KeyError:
            raise KeyError(f"item id {item_id!r} is not in the catalog ({len(self)} items)") from None

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._position

    def fingerprint(self, fields: Sequence[str] = ("title",)) -> str:
        """A stable hash of the ids and the chosen text fields; keys on-disk index caches."""
        h = hashlib.sha256()
        for item_id, text in zip(self.item_ids, self.texts(fields, sep="\x1f")):
            h.update(item_id.encode("utf-8", "surrogatepass"))
            h.update(b"\x1e")
            h.update(text.encode("utf-8", "surrogatepass"))
            h.update(b"\x1d")
        return h.hexdigest()[:16]


@dataclass(frozen=True)
class Example:
    """One episode's ground truth.

    Attributes:
        example_id: Unique id within its dataset (query id, user id, ...).
        query: The shopper's request (product search); ``""`` for sequential tasks.
        history: Item ids the user interacted with, oldest first (sequential tasks); empty for search.
        relevant: Item id -> graded gain (> 0). Items absent here have gain 0.
    """

    example_id: str
    query: str = ""
    history: tuple[str, ...] = ()
    relevant: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskDataset:
    """A catalog plus examples per split (``train``/``val``/``test``; a split may be empty).

    Attributes:
        name: Short name used in logs and cache keys, e.g. ``"esci"`` or ``"shop"``.
        task: ``"search"`` (context is ``Example.query``) or ``"sequential"`` (context is ``Example.history``).
        catalog: The items.
        splits: Split name -> examples.
    """

    name: str
    task: TaskKind
    catalog: Catalog
    splits: Mapping[str, tuple[Example, ...]]

    def __post_init__(self) -> None:
        if self.task not in ("search", "sequential"):
            raise ValueError(f"task must be 'search' or 'sequential', got {self.task!r}")
        object.__setattr__(self, "splits", {s: tuple(v) for s, v in self.splits.items()})

    def split(self, name: str) -> tuple[Example, ...]:
        """The examples of split ``name``; a clear error when it is unknown or empty."""
        examples = self.splits.get(name, ())
        if not examples:
            available = {s: len(v) for s, v in self.splits.items() if v}
            raise ValueError(f"dataset {self.name!r} has no examples in split {name!r}; available: {available}")
        return examples  # type: ignore[return-value]

    def validate(self) -> TaskDataset:
        """Check every relevant/history id is in the catalog and every example has a positive-gain item."""
        for split, examples in self.splits.items():
            for ex in examples:
                if not all(math.isfinite(g) for g in ex.relevant.values()):
                    raise ValueError(f"{self.name}/{split}: example {ex.example_id!r} has a non-finite relevance gain")
                if not any(g > 0 for g in ex.relevant.values()):
                    raise ValueError(f"{self.name}/{split}: example {ex.example_id!r} has no relevant item")
                for item_id in (*ex.relevant, *ex.history):
                    if item_id not in self.catalog:
                        raise ValueError(
                            f"{self.name}/{split}: example {ex.example_id!r} refers to item {item_id!r}, "
                            "which is not in the catalog"
                        )
        return self


def hash_split(key: str, fractions: Mapping[str, float], seed: int = 0) -> str:
    """Deterministic split assignment from a key, independent of file order (for data without a split column)."""
    total = sum(fractions.values())
    if total <= 0 or any(v < 0 for v in fractions.values()):
        raise ValueError(f"split fractions must be non-negative and sum > 0, got {dict(fractions)}")
    digest = hashlib.blake2b(f"{seed}:{key}".encode("utf-8", "surrogatepass"), digest_size=8).digest()
    u = int.from_bytes(digest, "big") / 2**64
    acc = 0.0
    for name, frac in fractions.items():
        acc += frac / total
        if u < acc:
            return name
    return list(fractions)[-1]


def group_by_split(pairs: Iterable[tuple[str, Example]]) -> dict[str, tuple[Example, ...]]:
    """Collect ``(split, example)`` pairs into the ``splits`` mapping of a TaskDataset, in the given order."""
    out: dict[str, list[Example]] = {s: [] for s in SPLITS}
    for split, ex in pairs:
        out.setdefault(split, []).append(ex)
    return {s: tuple(v) for s, v in out.items()}
