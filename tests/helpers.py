"""Tiny in-memory datasets shared by env tests (no files, no generator)."""

from recgym.data import Catalog, Example, TaskDataset

TITLES = {
    "mug": "Insulated Stainless Steel Travel Mug 16 oz",
    "press": "French Press Coffee Maker Glass",
    "headset": "Wireless Gaming Headset for PS5",
    "knife": "Stainless Steel Chef Knife 8 inch",
    "grinder": "Coffee Grinder Burr Electric",
    "lamp": "LED Desk Lamp Dimmable",
}
CATALOG = Catalog(item_ids=tuple(TITLES), fields={"title": tuple(TITLES.values())})


def tiny_search_dataset() -> TaskDataset:
    ex = [
        Example("q0", query="keep my coffee hot on the commute", relevant={"mug": 1.0, "press": 0.1}),
        Example("q1", query="headphones for playstation", relevant={"headset": 1.0}),
        Example("q2", query="café grinder ☕", relevant={"grinder": 1.0}),
    ]
    return TaskDataset("tiny", "search", CATALOG, {"train": tuple(ex), "val": (ex[0],), "test": tuple(ex[1:])})


def tiny_sequential_dataset() -> TaskDataset:
    ex = [
        Example("u0", history=("press", "grinder"), relevant={"mug": 1.0}),
        Example("u1", history=("lamp",), relevant={"headset": 1.0}),
    ]
    return TaskDataset("tinyseq", "sequential", CATALOG, {"train": tuple(ex), "test": tuple(ex)})
