"""The quality benchmark's bookkeeping: which runs are averaged together and which rows are marked as measured by
older engine code (the numbers themselves come from real runs, never from here)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
quality = pytest.importorskip("quality")


def _run(method: str, seed: int, acc: float, sha: str, teachers: int = 3, finished: str = "2026-11-23 10:00:00"):
    run = {"data": "x/uci.csv", "k": 16, "seed": seed, "method": method, "split": "test", "test_size": 500,
           "status": "ok", "accuracy": acc, "macro_f1": acc, "seconds": 10.0, "n_eval": 500,
           "trainable_params": 10, "engine": {"list_core_sha256": sha}, "finished_at": finished}
    if method != "embed-logreg":
        run["config"] = {"preset": "quick", "teachers": teachers, "seed": seed, "threads": 1, "iterations": 1}
    return run


def test_rows_from_older_engine_code_are_marked_and_footnoted():
    current = quality.engine_fingerprint()["list_core_sha256"]
    runs = [_run("embed-logreg", 0, 0.8, "old"), _run("list", 0, 0.7, "old", teachers=1),
            _run("list", 0, 0.9, current), _run("list", 1, 0.8, current)]
    rows = {(r["method"], tuple(r["seeds"])): r for r in quality.aggregate(runs)}
    assert rows[("embed-logreg", (0,))]["engine_current"] is True  # baselines do not run list_core
    assert rows[("list", (0,))]["engine_current"] is False
    fresh = rows[("list", (0, 1))]
    assert fresh["engine_current"] is True
    assert fresh["accuracy_mean"] == pytest.approx(85.0)
    table = quality.to_markdown(quality.aggregate(runs))
    assert table.count("†") == 2  # the stale row and the footnote
    current_part, stale_part = table.split("† Measured")
    assert "list (1 it.) † | 0 |" in stale_part  # superseded rows live below the current table
    assert "| list (1 it.) | 0,1 |" in current_part and "†" not in current_part


def test_a_group_mixing_engine_versions_is_not_current():
    current = quality.engine_fingerprint()["list_core_sha256"]
    rows = quality.aggregate([_run("list", 0, 0.9, current), _run("list", 1, 0.8, "old")])
    assert len(rows) == 1 and rows[0]["engine_current"] is False
    assert "†" not in quality.to_markdown(quality.aggregate([_run("list", 0, 0.9, current)]))


def test_list_is_compared_with_each_method_seed_by_seed():
    """The paired table: list minus each method on the seeds both measured (one labeled set per seed), so a lead
    that is one seed's luck reads as such. Stale rows and rows of other settings are left out."""
    current = quality.engine_fingerprint()["list_core_sha256"]
    runs = ([_run("list", s, a, current) for s, a in ((0, 0.90), (1, 0.80), (2, 0.85))]
            + [_run("setfit", s, a, current) for s, a in ((0, 0.88), (1, 0.82), (2, 0.80), (3, 0.9))]
            + [_run("prompt-adapter", 0, 0.5, "old"), _run("prompt-adapter", 1, 0.5, "old")])
    rows = quality.aggregate(runs)
    pairs = quality.paired(rows)
    assert [(p["method"], p["seeds"], p["ahead"], p["behind"]) for p in pairs] == [("setfit", [0, 1, 2], 2, 1)]
    assert pairs[0]["diff_mean"] == pytest.approx((2 - 2 + 5) / 3)
    assert "| uci | 16 | test | setfit | 0,1,2 | +1.7 ± 3.5 | 2 / 1 |" in quality.to_markdown(rows)


def test_older_engine_rows_with_the_same_per_seed_accuracies_are_counted_not_repeated():
    """Each engine change re-measures the engine rows; the superseded rows that gave exactly the same per-seed
    accuracies filled quality.md with copies. They are counted; a row that differs is still shown, marked."""
    current = quality.engine_fingerprint()["list_core_sha256"]
    runs = [_run("list", 0, 0.9, "old", teachers=1), _run("list", 1, 0.8, "old", teachers=1),
            _run("list", 0, 0.9, current), _run("list", 1, 0.8, current),
            _run("prompt-adapter", 0, 0.7, "older", teachers=2), _run("prompt-adapter", 0, 0.6, current)]
    table = quality.to_markdown(quality.aggregate(runs))
    assert "1 row measured with older engine sources gave exactly the per-seed accuracies" in table
    assert "| prompt-adapter † | 0 | 70.0" in table and "| list (1 it.) † |" not in table


def test_dev_study_loop_appends_every_row_as_it_comes(tmp_path):
    import argparse

    out = tmp_path / "study.jsonl"
    args = argparse.Namespace(seeds="0,1", data=["a.csv", "b.csv"], out=str(out))
    calls = []

    def run(data, seed):
        calls.append((data, seed))
        return [{"data": data, "seed": seed, "v": 1}, {"data": data, "seed": seed, "v": 2}] if data == "a.csv" \
            else {"data": data, "seed": seed}

    assert quality.dev_study_loop(args, run) == 0
    assert calls == [("a.csv", 0), ("b.csv", 0), ("a.csv", 1), ("b.csv", 1)]
    assert len(out.read_text().splitlines()) == 6


def test_dev_study_settings_are_checked_and_kept_apart_on_resume():
    assert quality.parse_settings(["temperature=0.5", "reweight=false"]) == {"temperature": 0.5, "reweight": False}
    for bad in (["temperature=-1"], ["no_such_knob=1"], ["temperature"]):
        with pytest.raises((ValueError, TypeError)):
            quality.parse_settings(bad)
    plain = {"data": "x/uci.csv", "k": 16, "seed": 0, "method": "list", "split": "dev", "test_size": 500}
    assert quality.run_key(plain) != quality.run_key({**plain, "settings": {"temperature": 0.5}})
    assert quality.run_key(plain) == quality.run_key({**plain, "settings": {}})  # runs from before --set existed


def test_mlm_warmup_trains_only_the_head_and_saves_a_body_the_engine_reads_as_having_one(saved_model_dir, tmp_path):
    """The dev study's warm-up (bench/dev_mlm_warmup.py) may move the MLM head's transform and vocabulary bias only:
    the encoder and the word embeddings (the vocabulary rows) stay as loaded, and the saved checkpoint is loaded by
    the engine as a body with a trained MLM head, so the paper's reading (mask position, label words) applies."""
    import torch
    from transformers import AutoModelForMaskedLM

    from list_core.modeling import load_backbone

    import dev_mlm_warmup as warmup
    texts = ["great movie and good food", "terrible film , really bad service", "love the plot and the acting",
             "the battery broke , awful phone", "this is not fun", "very good , excellent service"] * 4
    stats = warmup.warm_head(str(saved_model_dir), texts, tmp_path / "warm", seed=0, epochs=2, batch_size=8)
    assert stats["mlm_states"] > 0 and stats["mlm_steps"] > 0
    before = AutoModelForMaskedLM.from_pretrained(str(saved_model_dir)).state_dict()
    model, _, head_pretrained = load_backbone(str(tmp_path / "warm"))
    after = model.state_dict()
    assert head_pretrained
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert "cls.predictions.transform.dense.weight" in changed
    assert all(k.startswith("cls.predictions.") for k in changed), sorted(changed)
    assert torch.equal(model.get_output_embeddings().weight, model.get_input_embeddings().weight)
