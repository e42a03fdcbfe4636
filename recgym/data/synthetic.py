"""The embedded shop: a SYNTHETIC catalog with shopper queries and purchase histories, built in code from a seed.

Nothing here is real shopper behaviour. The shop exists so recgym runs, tests and demos work offline in a second,
and so that a query rewriter has something real to learn: the shoppers' words and the catalog's words differ the way
they do in product search, and the labels say exactly which products satisfy a request.

The catalog
    Each product is a product type from ``shop_vocabulary.PRODUCT_TABLE`` (15 categories x 6 types) with a brand,
    a style/material, a size/variant, one or two features and a colour. Titles read like marketplace titles:
    ``"Thermora Stainless Steel Travel Mug, 16 oz, Leak-Proof Lid, Matte Black"``. Catalog fields: ``title``,
    ``category``, ``brand``, ``product_type``, ``description``.

Search queries (``make_shop``, task ``"search"``)
    A query picks a target product and says (1) a *need* of its product type in everyday words
    (``"something to keep my coffee hot on the commute"``), which never uses the type's name, then (2) up to three
    of the target's attributes, each narrowing the type's products, until the target is the only match or the
    attributes run out. Most shoppers state attributes in everyday words (``metal``, ``black``, ``large``) and leave
    out the ones that only have catalog words; a quarter also name the brand and a tenth use the catalog's own
    words (``conical burr``), so the raw query is weak but not useless. Labels, within the target's type: gain 1.0
    for products with every stated attribute (usually just the target), 0.3 with some, 0.1 with none, at most
    ``MAX_RELEVANT`` items.

Purchase histories (``make_shop_sequential``, task ``"sequential"``)
    A user has one or two favourite categories and sometimes a favourite brand or colour. Each purchase is most
    often a type bought together with their latest favourite-type purchase (``>`` in the table: a travel mug, then
    a French press), sometimes another of a type already bought, otherwise any favourite type; the product is
    drawn with the user's preferences. The last purchase is held out as the target (gain 1.0); it is never an item
    of the history.

Measured with BM25 over titles on the test split at seed 0 (NDCG@100): search, raw query 0.26, raw query plus the
target's product type name 0.90, the target's title 0.93, three random catalog words 0.01; sequential, the last
three history titles 0.08, the target's type and brand 0.62, random words 0.002. A rewriter that maps needs (or a
history) onto catalog words has most of that gap to win.

Both datasets are split train/val/test about 70/15/15 by a hash of the example id, and are identical for the same
arguments in any process (seeded numpy generators, no set or hash ordering).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

import numpy as np

from recgym.data import shop_vocabulary as vocab
from recgym.data.types import Catalog, Example, TaskDataset, group_by_split, hash_split

SPLIT_FRACTIONS: dict[str, float] = {"train": 0.70, "val": 0.15, "test": 0.15}
GAIN_EXACT, GAIN_PARTIAL, GAIN_SAME_TYPE = 1.0, 0.3, 0.1
MAX_RELEVANT = 30  # keeps NDCG informative: a query's label set is its product type at most
BRAND_RATE = 0.25  # share of queries naming the brand
JARGON_RATE = 0.1  # share of queries stating attributes in the catalog's own words ("conical burr")
MAX_CONSTRAINTS = 3
HISTORY_LENGTHS = (3, 10)  # inclusive range of purchases before the target

_T = TypeVar("_T")
_CATALOG_STREAM, _QUERY_STREAM, _USER_STREAM = 0, 1, 2


@dataclass(frozen=True)
class Term:
    """One option as titles write it (``catalog``) and as shoppers say it (``everyday``, lower case)."""

    catalog: str
    everyday: str

    @classmethod
    def parse(cls, text: str) -> Term:
        catalog, _, everyday = text.partition("=")
        return cls(catalog.strip(), (everyday or catalog).strip().lower())


@dataclass(frozen=True, eq=False)  # parsed once; identity is equality
class ProductType:
    """A kind of product: its title noun, options, selling points, the needs it meets and what goes with it."""

    name: str
    category: str
    styles: tuple[Term, ...]
    sizes: tuple[Term, ...]
    features: tuple[Term, ...]
    complements: tuple[str, ...]
    needs: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Category:
    name: str
    brands: tuple[str, ...]
    types: tuple[ProductType, ...]


def _split_list(text: str, sep: str = ",") -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(sep) if part.strip())


def _terms(text: str) -> tuple[Term, ...]:
    return tuple(map(Term.parse, _split_list(text)))


@lru_cache(maxsize=1)
def shop_categories() -> tuple[Category, ...]:
    """The categories of ``shop_vocabulary.PRODUCT_TABLE``, parsed and checked (complements must name real types)."""
    blocks: list[tuple[str, tuple[str, ...], list[dict]]] = []  # (category, brands, product type fields)
    for raw in vocab.PRODUCT_TABLE.strip().splitlines():
        line = raw.strip()
        if line.startswith("#"):
            category, _, brands = line[1:].partition(":")
            blocks.append((category.strip(), _split_list(brands), []))
        elif line.startswith("+"):
            features, _, complements = line[1:].partition(">")
            blocks[-1][2][-1].update(features=_terms(features), complements=_split_list(complements))
        elif line.startswith("?"):
            blocks[-1][2][-1]["needs"] += _split_list(line[1:], ";")
        elif line:
            name, styles, sizes = _split_list(line, "|")
            spec = {"name": name, "category": blocks[-1][0], "styles": _terms(styles), "sizes": _terms(sizes)}
            blocks[-1][2].append({**spec, "features": (), "complements": (), "needs": ()})
    categories = tuple(
        Category(name, brands + vocab.HOUSE_BRANDS, tuple(ProductType(**spec) for spec in specs))
        for name, brands, specs in blocks
    )
    known = {t.name for c in categories for t in c.types}
    for t in (t for c in categories for t in c.types):
        unknown = [x for x in t.complements if x not in known]
        if unknown or not (t.styles and t.sizes and t.features and t.needs):
            raise ValueError(f"shop vocabulary: type {t.name!r} lacks options or names unknown types {unknown}")
    return categories


@dataclass(frozen=True)
class _Product:
    """One catalog item: a product type with one value per attribute slot (``brand style size colour features``)."""

    ptype: ProductType
    brand: Term
    style: Term
    size: Term
    colour: Term
    features: tuple[Term, ...]

    def satisfies(self, slot: str, term: Term) -> bool:
        """Whether a shopper asking for ``term`` in ``slot`` would accept this product."""
        return term in self.features if slot == "feature" else getattr(self, slot) == term

    def title(self) -> str:
        features = ", ".join(f.catalog for f in self.features)
        return (
            f"{self.brand.catalog} {self.style.catalog} {self.ptype.name}, {self.size.catalog}, {features}, "
            f"{self.colour.catalog}"
        )

    def description(self) -> str:
        features = "; ".join(f.catalog for f in self.features)
        return (
            f"{self.ptype.name} by {self.brand.catalog} in {self.colour.catalog}, {self.size.catalog}. "
            f"{self.style.catalog} build; {features}. From the {self.ptype.category} range."
        )


def _pick(rng: np.random.Generator, items: Sequence[_T]) -> _T:
    return items[int(rng.integers(len(items)))]


def _rng(seed: int, stream: int) -> np.random.Generator:
    """An independent generator per purpose, so the catalog does not change when the query count does."""
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    return np.random.default_rng([seed, stream])


def _draw_products(rng: np.random.Generator, category: Category, ptype: ProductType, count: int) -> list[_Product]:
    """``count`` products of one type, no two alike in all attributes (so no two titles are the same)."""
    brands, colours = tuple(map(Term.parse, category.brands)), tuple(map(Term.parse, vocab.COLOURS))
    products: list[_Product] = []
    seen: set[tuple[object, ...]] = set()
    for _ in range(50 * count):
        if len(products) == count:
            break
        n_features = 1 + int(rng.random() < 0.5)
        features = tuple(ptype.features[i] for i in sorted(rng.choice(len(ptype.features), n_features, replace=False)))
        product = _Product(
            ptype, _pick(rng, brands), _pick(rng, ptype.styles), _pick(rng, ptype.sizes), _pick(rng, colours), features
        )
        key = (product.brand, product.style, product.size, product.colour, product.features)
        if key not in seen:  # membership only: the set is never iterated, so order stays seed-determined
            seen.add(key)
            products.append(product)
    if len(products) < count:
        raise ValueError(f"asked for {count} {ptype.name!r} products; only {len(products)} distinct ones exist")
    return products


class _Shop:
    """The generated catalog: products in catalog order, their ids, and positions per product type."""

    def __init__(self, seed: int, num_products: int) -> None:
        pairs = [(c, t) for c in shop_categories() for t in c.types]
        if num_products < len(pairs):
            raise ValueError(f"num_products must be at least {len(pairs)} (one per product type), got {num_products}")
        rng = _rng(seed, _CATALOG_STREAM)
        counts = np.full(len(pairs), num_products // len(pairs))
        counts[rng.permutation(len(pairs))[: num_products % len(pairs)]] += 1
        drawn = [p for (c, t), n in zip(pairs, counts) for p in _draw_products(rng, c, t, int(n))]
        self.products = [drawn[i] for i in rng.permutation(len(drawn))]
        self.ids = [f"p{i:05d}" for i in range(len(self.products))]
        self.types = {t.name: t for _, t in pairs}
        positions: dict[str, list[int]] = {name: [] for name in self.types}
        for i, p in enumerate(self.products):
            positions[p.ptype.name].append(i)
        self.by_type = {name: np.array(v, dtype=np.int64) for name, v in positions.items()}
        self.brand_codes = {b: i for i, b in enumerate(dict.fromkeys(p.brand.catalog for p in self.products))}
        self.colour_codes = {c: i for i, c in enumerate(dict.fromkeys(p.colour.catalog for p in self.products))}
        self.brands = np.array([self.brand_codes[p.brand.catalog] for p in self.products])
        self.colours = np.array([self.colour_codes[p.colour.catalog] for p in self.products])

    def catalog(self) -> Catalog:
        products = self.products
        return Catalog(
            item_ids=tuple(self.ids),
            fields={
                "title": tuple(p.title() for p in products),
                "category": tuple(p.ptype.category for p in products),
                "brand": tuple(p.brand.catalog for p in products),
                "product_type": tuple(p.ptype.name for p in products),
                "description": tuple(p.description() for p in products),
            },
        )


# ---- search task ----------------------------------------------------------------------------------------------


def _sayable(slot: str, term: Term, jargon: bool) -> bool:
    """Whether a shopper would state this attribute. Without catalog jargon, shoppers state colours and the options
    that have everyday words (``metal``, ``large``) but not catalog-only words (``Conical Burr``, ``Full Tang``),
    which would give away the product type."""
    return jargon or slot in ("brand", "colour") or term.everyday != term.catalog.lower()


def _constraints(
    rng: np.random.Generator, target: _Product, same_type: Sequence[_Product], brand: bool, jargon: bool
) -> list[tuple[str, Term]]:
    """Attributes of ``target`` a shopper states, in random order; each must narrow the matching products, and
    they stop once the target is the only match (or after ``MAX_CONSTRAINTS``). A brand mention comes first."""
    slots = [("style", "size", "colour", "feature")[i] for i in rng.permutation(4)]
    chosen: list[tuple[str, Term]] = []
    matches = list(same_type)
    for slot in ["brand", *slots] if brand else slots:
        options = target.features if slot == "feature" else (getattr(target, slot),)
        options = [term for term in options if _sayable(slot, term, jargon)]
        if not options:
            continue
        term = _pick(rng, options)
        narrowed = [p for p in matches if p.satisfies(slot, term)]
        if len(narrowed) < len(matches) or slot == "brand":
            chosen.append((slot, term))
            matches = narrowed
        if len(matches) <= 1 or len(chosen) == MAX_CONSTRAINTS:
            break
    return chosen


def _query_text(rng: np.random.Generator, need: str, constraints: Sequence[tuple[str, Term]], jargon: bool) -> str:
    """The need, then each constraint in shopper words (catalog words for a jargon query), lower case."""
    phrases = [
        _pick(rng, vocab.SLOT_PHRASES[slot]).format(term.catalog if jargon else term.everyday)
        for slot, term in constraints
    ]
    return (need + _pick(rng, vocab.JOINERS) + ", ".join(phrases) if phrases else need).lower()


def _graded_labels(
    rng: np.random.Generator, shop: _Shop, constraints: Sequence[tuple[str, Term]], same_type: np.ndarray
) -> dict[str, float]:
    """Gain per product of the target's type by how many stated attributes it has; the best ``MAX_RELEVANT`` kept
    (ties broken at random, so a capped label set is not biased towards early catalog positions)."""
    scored = []
    for noise, i in zip(rng.random(len(same_type)), same_type.tolist()):
        satisfied = sum(shop.products[i].satisfies(slot, term) for slot, term in constraints)
        gain = GAIN_EXACT if satisfied == len(constraints) else GAIN_PARTIAL if satisfied else GAIN_SAME_TYPE
        scored.append((-gain, noise, i))
    scored.sort()
    return {shop.ids[i]: -neg_gain for neg_gain, _, i in scored[:MAX_RELEVANT]}


def make_shop(seed: int = 0, num_products: int = 3000, num_queries: int = 1500) -> TaskDataset:
    """The synthetic product-search task (``name="shop"``): need-style queries with graded labels.

    Args:
        seed: Non-negative seed; the same arguments give the same dataset in any process.
        num_products: Catalog size, at least one per product type (90). The catalog is the one
            ``make_shop_sequential`` builds for the same ``seed`` and ``num_products``.
        num_queries: Distinct queries, split about 70/15/15 into train/val/test.
    """
    shop = _Shop(seed, num_products)
    rng = _rng(seed, _QUERY_STREAM)
    seen_text: set[str] = set()
    pairs: list[tuple[str, Example]] = []
    for _ in range(50 * num_queries):
        if len(pairs) == num_queries:
            break
        target = _pick(rng, shop.products)
        same_type = shop.by_type[target.ptype.name]
        brand, jargon = bool(rng.random() < BRAND_RATE), bool(rng.random() < JARGON_RATE)
        constraints = _constraints(rng, target, [shop.products[i] for i in same_type], brand, jargon)
        text = _query_text(rng, _pick(rng, target.ptype.needs), constraints, jargon)
        if text in seen_text:  # the same query in two splits would leak labels
            continue
        seen_text.add(text)
        example = Example(f"q{len(pairs):05d}", query=text, relevant=_graded_labels(rng, shop, constraints, same_type))
        pairs.append((hash_split(example.example_id, SPLIT_FRACTIONS, seed), example))
    if len(pairs) < num_queries:
        raise ValueError(f"num_queries={num_queries} is too many: only {len(pairs)} distinct queries were found")
    return TaskDataset(name="shop", task="search", catalog=shop.catalog(), splits=group_by_split(pairs)).validate()


# ---- sequential task ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Shopper:
    """A synthetic user's tastes: favourite types (one or two categories) and optional brand/colour preference."""

    types: tuple[ProductType, ...]
    brand: str | None
    colour: str | None

    def appeal(self, shop: _Shop) -> np.ndarray:
        """Relative purchase odds of every catalog product: the preferred brand x8, the preferred colour x4."""
        brand, colour = shop.brand_codes.get(self.brand or "", -1), shop.colour_codes.get(self.colour or "", -1)
        return np.where(shop.brands == brand, 8.0, 1.0) * np.where(shop.colours == colour, 4.0, 1.0)


def _make_shopper(rng: np.random.Generator) -> _Shopper:
    categories = shop_categories()
    order = rng.permutation(len(categories))
    favourites = [categories[order[0]]] + ([categories[order[1]]] if rng.random() < 0.35 else [])
    brand = _pick(rng, favourites[0].brands) if rng.random() < 0.5 else None
    colour = Term.parse(_pick(rng, vocab.COLOURS)).catalog if rng.random() < 0.35 else None
    return _Shopper(tuple(t for c in favourites for t in c.types), brand, colour)


def _next_type(rng: np.random.Generator, shop: _Shop, shopper: _Shopper, bought: Sequence[int]) -> ProductType:
    """Mostly a complement of the latest purchase of a favourite type (so interests do not drift away along chains
    of complements), sometimes a type bought before, else any favourite type."""
    r = rng.random()
    anchors = [shop.products[i].ptype for i in bought if shop.products[i].ptype in shopper.types]
    if anchors and r < 0.55:
        owned = [shop.products[i].ptype.name for i in bought]
        fresh = [c for c in anchors[-1].complements if c not in owned]
        return shop.types[_pick(rng, fresh or anchors[-1].complements)]
    if bought and r < 0.70:
        return shop.products[_pick(rng, bought)].ptype
    return _pick(rng, shopper.types)


def _purchases(rng: np.random.Generator, shop: _Shop, shopper: _Shopper, count: int) -> list[int]:
    """``count`` distinct catalog positions, oldest first, following the shopper's tastes."""
    appeal = shopper.appeal(shop)  # set to 0 once bought: no product is bought twice
    bought: list[int] = []
    while len(bought) < count:
        candidates = shop.by_type[_next_type(rng, shop, shopper, bought).name]
        if not appeal[candidates].any():  # all of that type bought already (tiny catalogs): anything else will do
            candidates = np.arange(len(appeal))
        odds = np.cumsum(appeal[candidates])
        j = int(np.searchsorted(odds, rng.random() * odds[-1], side="right"))
        bought.append(int(candidates[min(j, int(np.searchsorted(odds, odds[-1])))]))  # min(): float rounding guard
        appeal[bought[-1]] = 0.0
    return bought


def make_shop_sequential(seed: int = 0, num_products: int = 3000, num_users: int = 2000) -> TaskDataset:
    """The synthetic next-purchase task (``name="shopseq"``): histories of 3-10 items, the next purchase held out.

    Args:
        seed: Non-negative seed; the same arguments give the same dataset in any process.
        num_products: Catalog size; the catalog equals ``make_shop``'s for the same ``seed`` and ``num_products``.
        num_users: Users (one example each), split about 70/15/15 into train/val/test.
    """
    shop = _Shop(seed, num_products)
    rng = _rng(seed, _USER_STREAM)
    pairs: list[tuple[str, Example]] = []
    for u in range(num_users):
        shopper = _make_shopper(rng)
        length = int(rng.integers(HISTORY_LENGTHS[0], HISTORY_LENGTHS[1] + 1))
        *history, target = (shop.ids[i] for i in _purchases(rng, shop, shopper, length + 1))
        example = Example(f"u{u:05d}", history=tuple(history), relevant={target: 1.0})
        pairs.append((hash_split(example.example_id, SPLIT_FRACTIONS, seed), example))
    dataset = TaskDataset(name="shopseq", task="sequential", catalog=shop.catalog(), splits=group_by_split(pairs))
    return dataset.validate()
