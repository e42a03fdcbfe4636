"""The two task families as thin `RecTextEnv` subclasses (they differ only in what the dataset's context is)."""

from __future__ import annotations

from recgym.data.types import TaskDataset
from recgym.envs.text_env import RecTextEnv


class ProductSearchEnv(RecTextEnv):
    """Product search: the observation asks to rewrite a shopper's request; see :class:`RecTextEnv`.

    ## Version History
    * v0: initial release.
    """

    def __init__(self, dataset: TaskDataset, *args, **kwargs) -> None:
        if dataset.task != "search":
            raise ValueError(f"ProductSearchEnv needs a 'search' dataset, got {dataset.name!r} ({dataset.task})")
        super().__init__(dataset, *args, **kwargs)


class SequentialRecEnv(RecTextEnv):
    """Sequential recommendation: the observation lists the user's last purchases (``Item i: <title>``) and asks for
    a query for the next one; the raw baseline query is the latest history titles. See :class:`RecTextEnv`.

    ## Version History
    * v0: initial release.
    """

    def __init__(self, dataset: TaskDataset, *args, **kwargs) -> None:
        if dataset.task != "sequential":
            raise ValueError(f"SequentialRecEnv needs a 'sequential' dataset, got {dataset.name!r} ({dataset.task})")
        super().__init__(dataset, *args, **kwargs)


def env_class_for(dataset: TaskDataset) -> type[RecTextEnv]:
    return ProductSearchEnv if dataset.task == "search" else SequentialRecEnv
