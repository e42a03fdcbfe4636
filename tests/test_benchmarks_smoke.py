"""Smoke tests of the benchmark scripts that have no test of their own: large_catalog.py (every phase, each in its
own process, on a 5,000-item catalog), remote_catalog.py (3,000 items) and grpo_memory.py (the tiny model)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "large_catalog.py"


def _load_script():
    if str(SCRIPT.parent) not in sys.path:  # the script imports its sibling bench_timing, as when run from there
        sys.path.insert(0, str(SCRIPT.parent))
    spec = importlib.util.spec_from_file_location("large_catalog", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_large_catalog_benchmark_runs_small(tmp_path, capsys):
    bench = _load_script()
    args = ["--num-items", "5000", "--queries", "64", "--dense-queries", "64", "--repeats", "1"]
    # no encoder (torch model load) and small chunks: the store + search path still runs, on random unit vectors
    args += ["--encode-sample", "0", "--chunks", "1024,4096", "--cache-dir", str(tmp_path)]
    results = bench.main(args)

    expected = {f"bm25-{p}" for p in ("index-recgym", "index-raw", "serve-mmap", "serve-ram")}
    expected |= {f"dense-{p}-{t}" for p in ("index", "serve") for t in ("float16", "float32")}
    assert set(results) == expected
    for phase in ("bm25-index-recgym", "bm25-index-raw", "dense-index-float16", "dense-index-float32"):
        assert {"seconds", "peak", "base", "disk"} <= set(results[phase])
        assert all(results[phase][key] > 0 for key in ("seconds", "peak", "base", "disk"))
    for phase in ("bm25-serve-mmap", "bm25-serve-ram"):
        assert all(results[phase][key] > 0 for key in ("load_s", "peak", "qps_recgym", "qps_raw", "ratio"))
    for dtype in ("float16", "float32"):
        serve = results[f"dense-serve-{dtype}"]
        assert all(serve[f"qps_{chunk}"] > 0 and serve[f"peak_{chunk}"] > 0 for chunk in (1024, 4096))
        assert serve["qps_peer"] > 0 and serve["same_top_k"] > 0.9  # chunked search ranks as one full matmul
    # the float16 store is half the float32 one
    assert results["dense-index-float16"]["disk"] * 2 == results["dense-index-float32"]["disk"]
    out = capsys.readouterr().out
    assert "BM25 serve" in out and "Dense search" in out and "recgym / raw" in out


def test_prefix_cache_benchmark_runs_small(capsys):
    """benchmarks/prefix_cache.py end to end on the tiny random model: both peers run and agree."""
    path = SCRIPT.parent / "prefix_cache.py"
    spec = importlib.util.spec_from_file_location("prefix_cache", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = module.main(["--model", "tiny", "--prompts", "2", "--group", "3", "--new-tokens", "3", "--repeats", "1"])
    assert results["check"]["same_tokens"] == 1.0 and results["check"]["max_logp_diff"] < 1e-4
    assert all(results[p]["cached"] > 0 and results[p]["uncached"] > 0 for p in ("sample", "update", "turn"))
    assert "cached / uncached" in capsys.readouterr().out


def test_env_throughput_benchmark_runs_small():
    """benchmarks/env_throughput.py on the synthetic shop at a tiny size: both peers run and the ratio prints."""
    import subprocess

    done = subprocess.run(
        [sys.executable, "env_throughput.py", "--batch", "8", "--steps", "2", "--repeats", "1"],
        cwd=SCRIPT.parent, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "raw bm25s" in done.stdout and "ratio env / raw:" in done.stdout


def test_remote_catalog_benchmark_runs_small(tmp_path, monkeypatch):
    """benchmarks/remote_catalog.py: the served recommender ranks as the in-process one (the script checks), and
    both rates come back."""
    for module in ("fastapi", "uvicorn", "httpx"):
        pytest.importorskip(module, reason="the serve extra (pip install -e '.[serve]') is not installed")
    monkeypatch.setenv("RECGYM_CACHE", str(tmp_path))
    _load_script()  # puts benchmarks/ on sys.path: remote_catalog imports large_catalog and bench_timing
    path = SCRIPT.parent / "remote_catalog.py"
    spec = importlib.util.spec_from_file_location("remote_catalog", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.main(["--num-items", "3000", "--queries", "128", "--repeats", "1"])
    assert result["items"] == 3000 and result["in-process_qps"] > 0 and result["remote_qps"] > 0
    assert result["ratio"] == pytest.approx(result["remote_qps"] / result["in-process_qps"])


def test_grpo_memory_benchmark_runs_tiny():
    """benchmarks/grpo_memory.py on the tiny model: every phase of a step is sampled, and no phase's peak exceeds
    the kernel's high-water mark."""
    _load_script()  # benchmarks/ on sys.path, as when run from there
    spec = importlib.util.spec_from_file_location("grpo_memory", SCRIPT.parent / "grpo_memory.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.main(["--model", "tiny", "--steps", "1", "--max-new-tokens", "4", "--interval", "0.0005"])
    assert {"loaded", "ru_maxrss", "generate", "env"} <= set(result)
    phases = [v for k, v in result.items() if k not in ("loaded", "ru_maxrss", "sec_per_step")]
    assert all(0 < v <= result["ru_maxrss"] * 1.01 for v in phases)  # 1%: the kernel counts RSS in per-CPU batches
