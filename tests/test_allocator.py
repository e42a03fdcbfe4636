"""recgym.allocator: glibc's mmap threshold pinned, checked on each block's own header (glibc marks a chunk it
served with mmap by the IS_MMAPPED bit, 0x2, of the size word just before the pointer), in fresh interpreters."""

import ctypes
import ctypes.util
import json
import subprocess
import sys

import pytest

from recgym.agents import GRPOConfig
from recgym.allocator import pin_mmap_threshold

GLIBC = hasattr(ctypes.CDLL(ctypes.util.find_library("c")), "gnu_get_libc_version")


# a script that runs PIN, then allocates and frees three 1 MiB blocks, printing which were mmapped
_PINNED = """
import ctypes, ctypes.util
from recgym.allocator import pin_mmap_threshold
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype, libc.malloc.argtypes, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_size_t], [ctypes.c_void_p]
PIN
served = []
for _ in range(3):
    block = libc.malloc(2**20)
    served.append(ctypes.c_size_t.from_address(block - ctypes.sizeof(ctypes.c_size_t)).value & 2 and 1)
    libc.free(block)
print(served)
"""


def _served_by_mmap(script: str) -> list[int]:
    """Run ``script`` in a fresh interpreter (a long-lived process may serve a 1 MiB block from free heap space it
    already has, whatever the threshold) and read the list of 0/1 (block mmapped) it prints last."""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not GLIBC, reason="needs glibc")
def test_pinned_threshold_serves_a_freed_then_reallocated_block_with_mmap():
    """glibc raises its threshold when an mmapped block is freed, so unpinned only the first 1 MiB block is an
    mmap; pinned at 128 KiB each of them is."""
    assert _served_by_mmap(_PINNED.replace("PIN", "assert pin_mmap_threshold(128)")) == [1, 1, 1]
    assert _served_by_mmap(_PINNED.replace("PIN", "")) == [1, 0, 0]


def test_bad_thresholds_are_refused():
    with pytest.raises(ValueError, match="KiB"):
        pin_mmap_threshold(0)
    with pytest.raises(ValueError, match="KiB"):
        pin_mmap_threshold(64 * 1024)
    with pytest.raises(ValueError, match="mmap_threshold_kib"):
        GRPOConfig(mmap_threshold_kib=0)
    assert GRPOConfig(mmap_threshold_kib=None).mmap_threshold_kib is None


_TRAINER = """import gymnasium as gym, recgym
from recgym.agents import GRPOConfig, make_agent
venv = gym.make_vec("RecR1/Shop-BM25-v0", num_envs=4, split="train", reward="expand")
make_agent("grpo", venv, config=GRPOConfig(num_generations=4, mmap_threshold_kib=THRESHOLD), model="tiny")"""


@pytest.mark.skipif(not GLIBC, reason="needs glibc")
@pytest.mark.parametrize("threshold, mmapped", [("128", [1, 1, 1]), ("None", [0, 0])])
def test_trainer_applies_its_threshold_only_when_set(threshold, mmapped):
    """In a fresh process: a trainer built with mmap_threshold_kib=128 pins it; with None glibc adapts as usual
    (by then its threshold has risen past 1 MiB, or does after the first block: the last two come from the heap)."""
    served = _served_by_mmap(_PINNED.replace("PIN", _TRAINER.replace("THRESHOLD", threshold)))
    assert served[-len(mmapped):] == mmapped
