"""Dev study: which pool texts should a person label next, after a first run?

Simulates the Label page's two orders. A first quick run is trained on K0 labels per class; then `add` more pool
texts get their (hidden, gold) labels in one of two orders, and a second quick run is trained on all of them:

  shuffled     the pool in a seeded random order (the Label page's default)
  uncertain    the first run's least confident pseudo-labels first (`Workspace.uncertainty_ranking`: the last
               iteration's pseudo-label confidence, lowest first)

Both second runs see the same first run, the same pool and seed; only which texts were labeled differs. Scored on a
dev set carved from the pool (test rows never read). One JSON line per (data set, seed).

    python bench/dev_label_order.py --data sample_data/uci_sentiment_sentences.csv --seeds 0,1 --threads 1
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from quality import TASKS, dev_study_loop, dev_study_parser, make_split  # noqa: E402


def quick_run(task: dict, labeled, pool: list[dict], dev, seed: int, threads: int) -> tuple[float, dict[int, float]]:
    """(dev accuracy, pool id -> confidence of the last iteration's pseudo-label) of one quick run."""
    import numpy as np

    from list_core.classifier import ListClassifier

    clf = ListClassifier(task["template"], task["verbalizer"], preset="quick", seed=seed, threads=threads,
                         device="cpu")
    examples: list[dict] = []
    # dev rows as the eval set: the engine then trains on every label (no held-out part), as in quality.py
    clf.fit(labeled[["text", "label"]], pool, dev[["text", "label"]],
            callbacks=[lambda e: examples.append(e) if e.get("type") == "examples" else None])
    accuracy = float(np.mean([str(p) == str(y) for p, y in zip(clf.predict(dev["text"].tolist()), dev["label"])]))
    last = examples[-1]["records"] if examples else {"id": [], "confidence": []}
    return accuracy, dict(zip((int(i) for i in last["id"]), (float(c) for c in last["confidence"])))


def run(data: str, seed: int, test_size: int, dev_size: int, threads: int, k0: int, add: int) -> dict:
    import numpy as np
    import pandas as pd

    stem = Path(data).stem
    task = TASKS[stem]
    spec = {"data": data, "k": k0, "seed": seed, "split": "dev", "test_size": test_size, "dev_size": dev_size}
    labeled, unlabeled, dev = make_split(spec)
    pool = [{"id": i, "text": t} for i, t in enumerate(unlabeled["text"].tolist())]
    first, confidence = quick_run(task, labeled, pool, dev, seed, threads)
    shuffled = [int(i) for i in np.random.default_rng(0).permutation(len(pool))]  # the Label page's order
    ranked = sorted(confidence, key=lambda i: (confidence[i], i))
    seen = set(ranked)
    orders = {"shuffled": shuffled, "uncertain": ranked + [i for i in shuffled if i not in seen]}
    row = {"data": stem, "seed": seed, "k0": k0, "add": add, "n_dev": len(dev), "threads": threads,
           "first_run": first}
    for name, order in orders.items():
        picked = order[:add]
        more = unlabeled.iloc[picked][["text", "label"]]
        row[f"{name}_added_per_class"] = more["label"].value_counts().to_dict()
        taken = set(picked)
        rest = [p for p in pool if p["id"] not in taken]
        row[name], _ = quick_run(task, pd.concat([labeled, more], ignore_index=True), rest, dev, seed, threads)
    return row


def main(argv=None) -> int:
    ap = dev_study_parser(__doc__, "dev_label_order.jsonl")
    ap.add_argument("--k0", type=int, default=8, help="labels per class before the first run")
    ap.add_argument("--add", type=int, default=16, help="pool texts labeled after the first run")
    args = ap.parse_args(argv)
    return dev_study_loop(args, lambda data, seed: run(data, seed, 300 if "brown" in Path(data).stem
                                                       else args.test_size, args.dev_size, args.threads,
                                                       args.k0, args.add))


if __name__ == "__main__":
    sys.exit(main())
