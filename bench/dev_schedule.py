"""How the `quick` preset's self-training schedule was chosen: dev splits only, never test rows (issue #4).

For each data set and seed, `bench/quality.py --split dev` gives K labeled rows per class, an unlabeled pool and a
dev set carved from that pool (the fixed test rows stay unseen). Three first teachers are prompt-tuned from different
seeds (`ListTrainer.train_teachers`), then two students are self-trained from the same teachers:

  single  pseudo-labels of teacher 1 alone, the student starts from teacher 1 (the paper's single teacher)
  ens     mean probabilities of the 3 teachers, the student starts from the member that agrees most with the mean

and each student is scored on dev as it leaves the pseudo-labeled phase (`student`) and after the labeled
fine-tuning of the older quick preset at two learning rates (`ft0.001` = the old default, `ft0.0001`).
Everything else is the quick preset. One JSON line per (data set, seed, variant) goes to --out.

    python bench/dev_schedule.py --data sample_data/uci_sentiment_sentences.csv --seeds 0,1
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from quality import TASKS, dev_study_loop, dev_study_parser, make_split  # noqa: E402

# The labeled fine-tuning the older quick preset ran after the student (5 epochs, at most 40 steps).
FINETUNE = dict(student_finetune_epochs=5, student_finetune_max_steps=40)


def _rows(frame, labeled: bool = True) -> list[dict]:
    return [{"id": i, "text": t, **({"label": y} if labeled else {})}
            for i, (t, y) in enumerate(zip(frame["text"], frame["label"]))]


def run(data: str, seed: int, test_size: int, dev_size: int, threads: int) -> list[dict]:
    import numpy as np

    from list_core.config import ListConfig
    from list_core.trainer import ListTrainer, stage_seed

    stem = Path(data).stem
    labeled, unlabeled, dev = make_split({"data": data, "k": 16, "seed": seed, "split": "dev",
                                          "test_size": test_size, "dev_size": dev_size})
    task = TASKS[stem]
    cfg = ListConfig.from_preset("quick", template=task["template"], verbalizer=task["verbalizer"], seed=seed,
                                 threads=threads, device="cpu", teachers=3, **FINETUNE)
    tr = ListTrainer(cfg)
    model = tr.setup(["text"])
    lab, dv = tr.prepare(_rows(labeled), True), tr.prepare(_rows(dev), True)
    pool = tr.prepare(_rows(unlabeled, labeled=False), False)
    truth = np.array([tr.verbalizer_.labels.index(str(y)) for y in unlabeled["label"]])
    tr.init_prototype_rows(lab)
    t = time.time()
    _, extra, members = tr.train_teachers(lab, pool, dv)
    sample = tr._pool_sample(pool, 1)
    idx = np.asarray(sample.ids)
    accs = [tr.evaluate(dv, m)[0]["accuracy"] for m in members]
    chosen = extra["chosen_teacher"]
    ens_q, single_q = tr._pseudo_cache[1][0], tr._member_probs(sample, [members[0]])
    base = dict(data=stem, seed=seed, n_dev=len(dv), teacher_accs=accs, ens=extra["ensemble_accuracy"],
                chosen=chosen, pl_single=float((single_q.argmax(-1).numpy() == truth[idx]).mean()),
                pl_ens=float((ens_q.argmax(-1).numpy() == truth[idx]).mean()), t_teachers=round(time.time() - t))
    out = []
    for name, start, q in (("single", 0, single_q), ("ens", chosen, ens_q)):
        model.load_trainable(members[start])
        t = time.time()
        tr.train_student(sample, q, lab, 1)
        row = dict(base, variant=name, start_acc=accs[start], student=tr.evaluate(dv)[0]["accuracy"])
        student = model.snapshot()
        for lr in (1e-3, 1e-4):
            model.load_trainable(student)
            tr.train_labeled(lab, cfg.student_finetune_epochs, cfg.student_finetune_max_steps, lr, "finetune",
                             stage_seed(seed, 1, 3))
            row[f"ft{lr:g}"] = tr.evaluate(dv)[0]["accuracy"]
        row["seconds"] = round(time.time() - t)
        out.append(row)
    return out


def main(argv=None) -> int:
    ap = dev_study_parser(__doc__, "dev_schedule.jsonl")
    args = ap.parse_args(argv)
    return dev_study_loop(args, lambda data, seed: run(data, seed, args.test_size, args.dev_size, args.threads))


if __name__ == "__main__":
    sys.exit(main())
