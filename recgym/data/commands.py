"""``recgym data fetch | prepare | info``: the real datasets of the Rec-R1 paper, from download to env-ready folders.

    recgym data fetch esci --category Video_Games      # raw files -> <cache>/data/raw/<dataset>/
    recgym data prepare esci --category Video_Games    # -> <cache>/data/esci, what RecR1/ESCI-* reads
    recgym data info                                   # what is downloaded / prepared

Registered on ``recgym`` through ``recgym.cli.COMMAND_MODULES``. Every failure inside a command (no network, a bad
download, a missing or malformed raw file) prints one line and exits with status 1; a command line argparse rejects
exits with status 2; docs/data.md has the details.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from recgym.data.sources import MIRROR_ENV, SOURCES, dataset_files, raw_root
from recgym.paths import data_cache_dir

DATA_SUFFIXES = (".jsonl", ".parquet", ".inter", ".item", ".csv")


def add_parser(subparsers: Any) -> None:
    """Register ``data`` and its sub-commands on the ``recgym`` parser's ``subparsers``."""
    data = subparsers.add_parser("data", help="download and prepare the paper's real datasets (ESCI, C4, Amazon 2023)")
    sub = data.add_subparsers(dest="data_command", required=True)
    names = tuple(SOURCES)
    category_help = ("Amazon Reviews 2023 categories, e.g. Video_Games (default: the paper's); for amazon-c4 "
                     "prepare: keep queries of these pool categories")  # fmt: skip
    raw_help = "root of the raw downloads (default <cache>/data/raw); files go to ROOT/<dataset>/"

    fe = sub.add_parser("fetch", help="download raw files (resumable, validated) into the recgym data cache")
    fe.add_argument("dataset", choices=names)
    fe.add_argument("--category", nargs="+", action="extend", metavar="C", help=category_help)
    fe.add_argument("--dest", help=raw_help)
    fe.add_argument("--mirror", help=f"base URL holding <dataset>/<upstream path> (or ${MIRROR_ENV})")
    fe.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help="seconds to connect, and to get at least 1 KiB (or the rest of the file) in every window",
    )
    fe.add_argument("--deadline", type=float, metavar="S", help="seconds each whole file may take (default: none)")
    fe.add_argument("--no-progress", action="store_true", help="no progress bars")
    fe.set_defaults(func=cmd_fetch)

    pr = sub.add_parser("prepare", help="build the Rec-R1 task files from the raw files (deterministic per seed)")
    pr.add_argument("dataset", choices=names)
    pr.add_argument("--category", nargs="+", action="extend", metavar="C", help=category_help)
    pr.add_argument("--seed", type=int, default=0, help="seeds ESCI negatives and the C4 split")
    pr.add_argument("--out", help="output folder (default: the env ids' cache folder, e.g. <cache>/data/esci)")
    pr.add_argument("--raw", help=raw_help)
    pr.add_argument("--negatives", type=int, default=50, help="ESCI: sampled same-category negatives per query")
    pr.add_argument("--max-history", type=int, default=10, help="sequential: history items kept (latest)")
    pr.set_defaults(func=cmd_prepare)

    info = sub.add_parser("info", help="list cached raw files (complete/partial) and prepared folders (row counts)")
    info.add_argument("--raw", help=raw_help)
    info.set_defaults(func=cmd_info)


def _fail(args: argparse.Namespace, err: BaseException) -> int:
    print(f"recgym data {args.data_command}: error: {err}", file=sys.stderr)
    return 1


def cmd_fetch(args: argparse.Namespace) -> int:
    from recgym.data.fetch import FetchError, fetch

    try:
        paths = fetch(args.dataset, args.category, root=args.dest, mirror=args.mirror, timeout=args.timeout,
                      deadline=args.deadline, progress=not args.no_progress)  # fmt: skip
    except (FetchError, ValueError, OSError) as err:
        return _fail(args, err)
    except Exception as err:  # the promise is one line for every failure; the type tells a bug from the network
        return _fail(args, RuntimeError(f"{type(err).__name__}: {' '.join(str(err).split())[:300]}"))
    for path in paths:
        print(f"ok  {_size(path.stat().st_size):>9}  {path}")
    flags = f" --category {' '.join(args.category)}" if args.category else ""
    print(f"next: recgym data prepare {args.dataset}{flags}")
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    from recgym.data.prepare import prepare

    try:
        manifests = prepare(args.dataset, args.category, seed=args.seed, out=args.out, root=args.raw,
                            negatives=args.negatives, max_history=args.max_history)  # fmt: skip
    except (ValueError, OSError) as err:  # DataFormatError is a ValueError, RawDataMissingError an OSError
        return _fail(args, err)
    task = {"esci": "ESCI", "amazon-c4": "C4", "amazon-reviews-2023": "SeqRec"}[args.dataset]
    for manifest in manifests:
        counts = ", ".join(f"{k}={v:,}" for k, v in manifest["counts"].items())
        print(f"wrote {manifest['out']}  ({counts})")
        print(f"  gym.make('RecR1/{task}-BM25-v0', data_dir={manifest['out']!r})")
    return 0


# ------------------------------------------------------------------------------------------------------ info
def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def raw_rows(root: str | Path | None = None) -> list[tuple[str, str, str, str]]:
    """``(dataset, file, status, size)`` for the default files of each dataset and any other file on disk."""
    rows = []
    for name in SOURCES:
        folder = raw_root(root) / name
        known = {f.name: f for d in SOURCES for f in dataset_files(d) if f.source == name}
        # hidden files are fetch's bookkeeping (locks, resume records, validation memos), not data
        on_disk = (
            {p.name.removesuffix(".part") for p in folder.iterdir() if not p.name.startswith(".")}
            if folder.is_dir()
            else set()
        )
        for file_name in sorted(set(known) | on_disk):
            path = folder / file_name
            part = path.with_name(file_name + ".part")
            if path.is_file():
                rows.append((name, file_name, "complete", _size(path.stat().st_size)))
            elif part.is_file():
                rows.append((name, file_name, "partial", _size(part.stat().st_size)))
            else:
                rows.append((name, file_name, "missing", "-"))
    return rows


def _count_rows(path: Path) -> int:
    """Records in a data file: Parquet metadata, else non-blank lines (minus the header of headed formats)."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_metadata(path).num_rows
    n = 0
    with path.open("rb") as f:
        for line in f:
            n += bool(line.strip())
    return n - (path.suffix in (".inter", ".item", ".csv"))


def prepared_rows() -> list[tuple[str, str, str]]:
    """``(folder, what, rows)`` for each prepared data folder (an env's cache folder and its category folders)."""
    from recgym.data.prepare import MANIFEST

    folders = []
    for name in dict.fromkeys(s.prepared for s in SOURCES.values()):
        base = data_cache_dir(name)
        folders += [base, *sorted(p for p in base.iterdir() if p.is_dir())] if base.is_dir() else []
    rows = []
    for folder in folders:
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in DATA_SUFFIXES)
        if not files:
            continue
        manifest = folder / MANIFEST
        what = "user files"
        if manifest.is_file():
            meta = json.loads(manifest.read_text())
            what = f"{meta.get('dataset')} seed={meta.get('seed', '-')} {','.join(meta.get('categories', [])) or 'all'}"
        counts = ", ".join(f"{p.name}={_count_rows(p):,}" for p in files)
        rows.append((str(folder), what, counts))
    return rows


def cmd_info(args: argparse.Namespace) -> int:
    print(f"raw downloads ({raw_root(args.raw)}):")
    print(_table([("dataset", "file", "status", "size"), *raw_rows(args.raw)]))
    print(f"\nprepared ({data_cache_dir('')}):")
    prepared = prepared_rows()
    print(_table([("folder", "built by", "rows"), *prepared]) if prepared else "(none)")
    return 0
