"""A short CLI run on real data with the embedded default model (all-MiniLM-L6-v2): it must beat chance clearly."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from list_core.__main__ import main
from list_core.runs import RunDir

DATA = Path(__file__).resolve().parent.parent / "sample_data" / "uci_sentiment_sentences.csv"

pytestmark = pytest.mark.integration


def test_cli_quick_run_on_uci_sentiment_beats_chance(tmp_path):
    split = tmp_path / "split"
    assert main(["split", "--input", str(DATA), "--k", "16", "--seed", "0", "--out", str(split)]) == 0
    labeled = pd.read_csv(split / "labeled.csv")
    assert labeled["label"].value_counts().tolist() == [16, 16]

    out = tmp_path / "run"
    code = main(["train", "--labeled", str(split / "labeled.csv"), "--unlabeled", str(split / "unlabeled.csv"),
                 "--template", "{text} It was {mask}.", "--verbalizer", "0=terrible,1=great",
                 "--model", "default", "--preset", "quick", "--iterations", "1", "--device", "cpu", "--seed", "0",
                 "--set", "unlabeled_per_iteration=300", "--set", "student_steps=40", "--out", str(out), "--quiet"])
    assert code == 0
    run = RunDir(out)
    assert run.status()["state"] == "done"
    assert [m["iteration"] for m in run.metrics()] == [0, 1]
    weights = run.pseudo_labels()["weight"].dropna()
    assert len(weights) and weights.nunique() > 1  # learned weights, not all equal

    pred = tmp_path / "pred.csv"
    test_rows = tmp_path / "test_600.csv"  # a fixed slice keeps the test short; the split's test rows are shuffled
    pd.read_csv(split / "test.csv").head(600).to_csv(test_rows, index=False)
    assert main(["predict", "--run", str(out), "--input", str(test_rows), "--output", str(pred),
                 "--device", "cpu"]) == 0
    frame = pd.read_csv(pred).dropna(subset=["prediction"])
    accuracy = (frame["prediction"].astype(int) == frame["label"].astype(int)).mean()
    print(f"test accuracy {accuracy:.3f} on {len(frame)} rows")
    assert len(frame) > 500
    assert accuracy >= 0.6
