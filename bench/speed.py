"""Speed and memory of the engine on this machine (issue #4, deliverable 2).

Measures, on the same texts (default: sample_data/uci_sentiment_sentences.csv):
  - raw frozen-encoder forward throughput (texts/s, inference mode) vs the engine's pseudo-labeling throughput;
  - a plain training step vs a meta re-weighted step (seconds, same batch);
  - parameter memory of one encoder + teacher and student adapter sets vs one encoder, and the process peak RSS;
  - pseudo-labeling time as the pool grows (1k, 4k, 16k) and teacher time as K grows;
  - wall time of a whole `quick` run: 2 classes x 16 labels, 2,000 unlabeled, 500 evaluation rows (--no-quick-run
    skips it).
Writes bench/results/speed.json and prints a markdown table. Numbers depend on load: run on a quiet machine.

    python bench/speed.py [--data FILE] [--threads N] [--batch 64] [--max-length 48] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def timed(fn, repeats: int) -> float:
    """Median seconds of `repeats` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor()


def main(argv=None) -> dict:
    import torch

    from list_core.config import ListConfig
    from list_core.data import read_table
    from list_core.reweight import kl_per_example
    from list_core.trainer import ListTrainer

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT / "sample_data" / "uci_sentiment_sentences.csv"))
    ap.add_argument("--model", default="default")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = all cores)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--max-length", type=int, default=48)
    ap.add_argument("--train-batch", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--pool-sizes", default="1000,4000,16000")
    ap.add_argument("--ks", default="8,16,32")
    ap.add_argument("--no-quick-run", action="store_true", help="skip timing a whole quick run")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "speed.json"))
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    frame, _ = read_table(args.data)
    texts = [t for t in frame["text"].tolist() if t.strip()]
    n = min(len(texts), 1024)
    labels = sorted(set(frame["label"]))[:2]
    cfg = ListConfig.from_preset("quick", verbalizer={labels[0]: "terrible", labels[1]: "great"}, model=args.model,
                                 max_length=args.max_length, eval_batch_size=args.batch, device="cpu")
    trainer = ListTrainer(cfg)
    model = trainer.setup(["text"])
    rows = [{"text": t} for t in texts[:n]]
    data = trainer.prepare(rows, labeled=False)
    tok = model.tokenizer
    results: dict = {"threads": torch.get_num_threads(), "batch": args.batch, "max_length": args.max_length,
                     "texts": n, "model": args.model}

    # 1. raw encoder: a separately loaded, plain pretrained encoder (no adapters, no head), batched in file order
    #    and padded to the longest in each batch: on the plain texts, and on the very prompt ids the engine feeds.
    from list_core.modeling import load_backbone

    plain_mlm, _, _ = load_backbone(args.model)
    plain = plain_mlm.base_model.eval()
    text_ids = [tok(r["text"], truncation=True, max_length=args.max_length)["input_ids"] for r in rows]
    prompt_ids = [e.input_ids for e in data.encoded]

    def raw_pass(inputs):
        with torch.inference_mode():
            for i in range(0, n, args.batch):
                chunk = inputs[i: i + args.batch]
                width = max(map(len, chunk))
                ids = torch.tensor([c + [tok.pad_token_id] * (width - len(c)) for c in chunk])
                plain(input_ids=ids, attention_mask=(ids != tok.pad_token_id).long())

    def engine_pass():
        trainer.predict_logits(data, model.snapshot())  # as pseudo-labeling runs: teacher params, sorted batches

    # Interleave the three so that load from other processes hits them alike.
    raw_text_s, raw_prompt_s, eng_s = [], [], []
    for _ in range(args.repeats):
        raw_text_s.append(timed(lambda: raw_pass(text_ids), 1))
        raw_prompt_s.append(timed(lambda: raw_pass(prompt_ids), 1))
        eng_s.append(timed(engine_pass, 1))
    med = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    results["raw_encoder_texts_per_s"] = n / med(raw_text_s)
    results["raw_encoder_on_prompts_texts_per_s"] = n / med(raw_prompt_s)
    results["pseudo_label_texts_per_s"] = n / med(eng_s)
    results["pseudo_label_vs_raw_on_prompts"] = med(raw_prompt_s) / med(eng_s)
    results["pseudo_label_vs_raw_on_texts"] = med(raw_text_s) / med(eng_s)
    results["mean_tokens_text"] = sum(map(len, text_ids)) / n
    results["mean_tokens_prompt"] = sum(map(len, prompt_ids)) / n

    # 2. plain step vs meta re-weighted step on the same batch.
    B = args.train_batch
    batch = trainer._collate(data.encoded[:B])
    meta_batch = trainer._collate(data.encoded[B: 2 * B])
    q = torch.softmax(torch.randn(B, 2), -1)
    meta_y = torch.randint(0, 2, (B,))
    opt = torch.optim.AdamW(list(model.trainable_state().values()), lr=1e-4)

    def plain_step():
        model.train()
        loss = kl_per_example(q, model.logits(batch)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    def meta_step():
        loss, _ = trainer.reweighted_loss(batch, q, meta_batch, meta_y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    results["plain_step_s"] = timed(plain_step, args.repeats)
    results["meta_step_s"] = timed(meta_step, args.repeats)
    results["meta_vs_plain"] = results["meta_step_s"] / results["plain_step_s"]

    # 3. memory: parameters of one encoder vs encoder + adapters/head + a teacher snapshot (what training holds).
    def nbytes(tensors):
        return sum(t.numel() * t.element_size() for t in tensors)

    counts = model.parameter_counts()
    encoder_bytes = nbytes(p for name, p in model.named_parameters() if name in set(
        n for n, _ in model.named_parameters()) and not p.requires_grad)
    trainable_bytes = nbytes(model.trainable_state().values())
    results["params"] = counts
    results["trainable_share_of_backbone"] = counts["trainable"] / counts["backbone"]
    results["encoder_param_mb"] = encoder_bytes / 2**20
    results["teacher_plus_student_param_mb"] = (encoder_bytes + 2 * trainable_bytes) / 2**20
    results["memory_ratio_vs_one_encoder_plus_adapters"] = (encoder_bytes + 2 * trainable_bytes) / (
        encoder_bytes + trainable_bytes)
    # With a seed ensemble of first teachers, the members' adapter sets are held too while they pseudo-label.
    held = cfg.teachers + 1
    results["teacher_ensemble_param_mb"] = (encoder_bytes + held * trainable_bytes) / 2**20
    results["memory_ratio_with_teacher_ensemble"] = (encoder_bytes + held * trainable_bytes) / (
        encoder_bytes + trainable_bytes)
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # 4. growth: pseudo-labeling time vs pool size (texts cycled), teacher epoch time vs K.
    growth = {}
    for size in [int(s) for s in args.pool_sizes.split(",") if s]:
        pool = [data.encoded[i % n] for i in range(size)]
        t = time.perf_counter()
        trainer.predict_logits(pool, model.snapshot())
        growth[f"pseudo_label_{size}_s"] = time.perf_counter() - t
    for k in [int(s) for s in args.ks.split(",") if s]:
        lab = trainer.prepare([{"text": t, "label": labels[i % 2]} for i, t in enumerate(texts[: 2 * k])], True)
        t = time.perf_counter()
        trainer.train_labeled(lab, epochs=1, max_steps=0, lr=1e-4, stage="teacher", seed=0)
        growth[f"teacher_epoch_k{k}_s"] = time.perf_counter() - t
    results["growth"] = growth

    # 5. a whole quick run as a user starts it: the template/verbalizer above, the file's real labels.
    if not args.no_quick_run:
        from list_core.data import few_shot_split

        two = frame[frame["label"].isin(labels)].reset_index(drop=True)
        lab_df, pool_df, test_df = few_shot_split(two, label_column="label", k=16, seed=0, test_size=500)
        as_rows = lambda df, with_label: [  # noqa: E731
            {"id": i, "text": t, **({"label": y} if with_label else {})}
            for i, (t, y) in enumerate(zip(df["text"], df["label"]))]
        quick = ListTrainer(ListConfig.from_preset("quick", verbalizer=cfg.verbalizer, model=args.model, seed=0,
                                                   device="cpu"))
        t = time.perf_counter()
        quick.fit(as_rows(lab_df, True), as_rows(pool_df.head(2000), False), as_rows(test_df, True))
        results["quick_run_s"] = time.perf_counter() - t
        results["quick_run_accuracy_by_iteration"] = [round(m["accuracy"], 4) for m in quick.history_]
        results["quick_run_sizes"] = {"labeled": len(lab_df), "unlabeled": min(2000, len(pool_df)),
                                      "eval": len(test_df)}
    results["load_average_1min"] = os.getloadavg()[0]
    # Which machine and library versions made these numbers (speed differs several-fold between CPUs).
    from list_core.job import environment_info

    results["environment"] = {**environment_info("cpu"), "cpu_model": _cpu_model()}

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    from list_core.runs import atomic_write_text

    atomic_write_text(out, json.dumps(results, indent=2) + "\n")
    print("| measure | value |\n|---|---|")
    for k, v in results.items():
        if isinstance(v, dict):
            for k2, v2 in v.items():
                print(f"| {k}.{k2} | {v2:.3f} |" if isinstance(v2, float) else f"| {k}.{k2} | {v2} |")
        else:
            print(f"| {k} | {v:.3f} |" if isinstance(v, float) else f"| {k} | {v} |")
    return results


if __name__ == "__main__":
    main()
