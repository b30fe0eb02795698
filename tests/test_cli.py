"""`python -m list_core` in-process: train and predict with the tiny saved model, and one-line errors."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.conftest import toy_rows, unlabeled_rows
from list_core.__main__ import main
from list_core.runs import RunDir

TINY = ["--set", "teacher_epochs=2", "--set", "teacher_max_steps=0", "--set", "teacher_min_steps=0", "--set", "labeled_batch_size=4",
        "--set", "unlabeled_per_iteration=16", "--set", "student_steps=4", "--set", "unlabeled_batch_size=4",
        "--set", "meta_batch_size=4", "--set", "student_finetune_epochs=1", "--set", "max_length=32",
        "--set", "adapter_dim=4", "--set", "eval_batch_size=8", "--iterations", "1", "--device", "cpu",
        "--seed", "0"]
TEMPLATE = "{text} it was {mask} ."


@pytest.fixture
def files(tmp_path):
    labeled = tmp_path / "labeled.csv"
    unlabeled = tmp_path / "unlabeled.csv"
    pd.DataFrame(toy_rows(6)).drop_duplicates("text").to_csv(labeled, index=False)
    pd.DataFrame(unlabeled_rows(10)).to_csv(unlabeled, index=False)
    return labeled, unlabeled


def train_args(model_dir, labeled, unlabeled, out, template=TEMPLATE, verbalizer="neg=terrible,pos=great",
               extra=()):
    return ["train", "--labeled", str(labeled), "--unlabeled", str(unlabeled), "--template", template,
            "--verbalizer", verbalizer, "--model", str(model_dir), "--out", str(out), "--quiet", *TINY, *extra]


def assert_one_line_error(capsys, code, *needles):
    err = capsys.readouterr().err
    assert code != 0
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, err
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
    return errors[0]


def test_train_then_predict(tmp_path, files, saved_model_dir, capsys):
    labeled, unlabeled = files
    out = tmp_path / "run"
    assert main(train_args(saved_model_dir, labeled, unlabeled, out)) == 0
    run = RunDir(out)
    assert run.status()["state"] == "done"
    assert [m["iteration"] for m in run.metrics()] == [0, 1]
    assert run.finished_iterations() == [0, 1] and run.pseudo_path.exists()
    spec = json.loads(run.config_path.read_text())
    assert spec["config"]["model"] == str(saved_model_dir) and spec["config"]["student_steps"] == 4
    assert spec["sources"]["labeled"] == str(labeled)
    from list_core.__main__ import _report

    capsys.readouterr()
    assert _report(run) == 0  # what a run without --quiet prints at the end
    n_eval = run.status()["info"]["n_eval"]  # the last accuracy comes with its range on the rows that measured it
    assert n_eval > 0 and f"on {n_eval} held-out labeled examples" in capsys.readouterr().out

    inp = tmp_path / "new.csv"
    inp.write_text("text,other\ngreat movie,1\nterrible film,2\n,3\nlove it,4\n", encoding="utf-8")
    pred = tmp_path / "pred.csv"
    assert main(["predict", "--run", str(out), "--input", str(inp), "--output", str(pred), "--device", "cpu"]) == 0
    frame = pd.read_csv(pred)
    # Every input row and column is kept, in order; predictions are added.
    assert frame["other"].tolist() == [1, 2, 3, 4]
    assert frame["text"].fillna("").tolist() == ["great movie", "terrible film", "", "love it"]
    assert {"prediction", "confidence"} <= set(frame.columns)
    scored = frame.drop(index=2)
    assert set(scored["prediction"]) <= {"neg", "pos"}
    assert scored["confidence"].between(0.5, 1.0).all()
    assert pd.isna(frame.loc[2, "prediction"])  # the empty row gets no prediction
    own = tmp_path / "own.csv"  # a file with its own prediction / confidence columns keeps them, as in the app
    own.write_text("text,prediction,confidence\ngreat movie,human: pos,high\n", encoding="utf-8")
    assert main(["predict", "--run", str(out), "--input", str(own), "--output", str(pred), "--device", "cpu"]) == 0
    frame = pd.read_csv(pred)
    assert frame[["prediction", "confidence"]].values.tolist() == [["human: pos", "high"]]
    assert frame["list_prediction"].tolist()[0] in {"neg", "pos"} and 0.5 <= frame["list_confidence"][0] <= 1


def test_non_utf8_file_is_decoded_with_a_fallback(tmp_path, files, saved_model_dir):
    labeled, unlabeled = files
    latin = tmp_path / "latin1.csv"
    frame = pd.read_csv(labeled)
    frame.loc[0, "text"] = "great café movie"
    latin.write_bytes(frame.to_csv(index=False).encode("latin-1"))
    with pytest.raises(UnicodeDecodeError):
        latin.read_bytes().decode("utf-8")
    out = tmp_path / "run"
    assert main(train_args(saved_model_dir, latin, unlabeled, out)) == 0
    assert RunDir(out).status()["state"] == "done"
    texts = pd.read_parquet(out / "data" / "labeled.parquet")["text"].tolist()
    assert "great café movie" in texts


def test_broken_template_without_mask(tmp_path, files, saved_model_dir, capsys):
    labeled, unlabeled = files
    code = main(train_args(saved_model_dir, labeled, unlabeled, tmp_path / "run", template="{text} it was great"))
    assert_one_line_error(capsys, code, "{mask}")
    assert not (tmp_path / "run").exists()


def test_template_column_missing_from_the_file(tmp_path, files, saved_model_dir, capsys):
    labeled, unlabeled = files
    code = main(train_args(saved_model_dir, labeled, unlabeled, tmp_path / "run", template="{review} it was {mask}"))
    assert_one_line_error(capsys, code, "review")


def test_label_column_that_does_not_exist(tmp_path, files, saved_model_dir, capsys):
    labeled, unlabeled = files
    code = main(train_args(saved_model_dir, labeled, unlabeled, tmp_path / "run",
                           extra=["--label-column", "sentiment"]))
    assert_one_line_error(capsys, code, "sentiment")


def test_empty_file(tmp_path, files, saved_model_dir, capsys):
    _, unlabeled = files
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    code = main(train_args(saved_model_dir, empty, unlabeled, tmp_path / "run"))
    assert_one_line_error(capsys, code, "empty")


def test_unknown_model_path(tmp_path, files, capsys):
    labeled, unlabeled = files
    code = main(train_args(tmp_path / "no_such_model", labeled, unlabeled, tmp_path / "run"))
    assert_one_line_error(capsys, code, "no_such_model")


def test_multi_token_label_word(tmp_path, files, saved_model_dir, capsys):
    labeled, unlabeled = files
    code = main(train_args(saved_model_dir, labeled, unlabeled, tmp_path / "run", verbalizer="neg=terrible,pos=greats"))
    line = assert_one_line_error(capsys, code, "'greats'", "single-token")
    assert "e.g." in line


def test_bad_verbalizer_spec(tmp_path, files, saved_model_dir, capsys):
    labeled, unlabeled = files
    code = main(train_args(saved_model_dir, labeled, unlabeled, tmp_path / "run", verbalizer="neg:terrible"))
    assert_one_line_error(capsys, code, "'='")


def test_missing_labeled_file(tmp_path, files, saved_model_dir, capsys):
    _, unlabeled = files
    code = main(train_args(saved_model_dir, tmp_path / "nope.csv", unlabeled, tmp_path / "run"))
    assert_one_line_error(capsys, code, "nope.csv")


def test_predict_without_a_run(tmp_path, capsys):
    inp = tmp_path / "in.csv"
    inp.write_text("text\ngreat\n")
    code = main(["predict", "--run", str(tmp_path / "norun"), "--input", str(inp), "--output",
                 str(tmp_path / "o.csv")])
    assert_one_line_error(capsys, code, "norun")


def run_split(tmp_path, rows, k):
    """`split` on a CSV of `rows`: (labeled, unlabeled, test) frames as written."""
    src = tmp_path / "all.csv"
    pd.DataFrame(rows).to_csv(src, index=False)
    out = tmp_path / "split"
    assert main(["split", "--input", str(src), "--k", str(k), "--out", str(out)]) == 0
    return (pd.read_csv(out / "labeled.csv"), pd.read_csv(out / "unlabeled.csv"),
            pd.read_csv(out / "test.csv", keep_default_na=False))


def test_split_makes_k_per_class(tmp_path):
    rows = [{"text": f"great movie {i}", "label": "pos"} for i in range(30)]
    rows += [{"text": f"bad film {i}", "label": "neg"} for i in range(30)]
    labeled, unlabeled, test = run_split(tmp_path, rows, 4)
    assert labeled["label"].value_counts().to_dict() == {"pos": 4, "neg": 4}
    assert "label" not in unlabeled.columns
    assert len(labeled) + len(unlabeled) + len(test) == 60
    assert not set(labeled["text"]) & set(test["text"])


def test_resume_needs_only_the_run_directory(tmp_path, files, saved_model_dir, capsys):
    """The README's `train --out RUN_DIR --resume`: no data, template or label words (the run has its own), and
    flags given anyway are named as ignored instead of changing the run."""
    labeled, unlabeled = files
    out = tmp_path / "run"
    assert main(train_args(saved_model_dir, labeled, unlabeled, out)) == 0
    config = json.loads(RunDir(out).config_path.read_text())["config"]
    capsys.readouterr()
    assert main(["train", "--out", str(out), "--resume", "--seed", "7"]) == 0
    err = capsys.readouterr().err
    assert "--seed ignored" in err and "Traceback" not in err
    assert RunDir(out).status()["state"] == "done"
    assert json.loads(RunDir(out).config_path.read_text())["config"] == config


def test_a_new_run_still_needs_its_data_and_prompt(tmp_path, capsys):
    code = main(["train", "--out", str(tmp_path / "run"), "--template", TEMPLATE])
    assert code == 2
    assert_one_line_error(capsys, code, "--labeled is required", "--resume")
    code = main(["train", "--labeled", "x.csv", "--out", str(tmp_path / "run")])
    assert code == 2
    assert_one_line_error(capsys, code, "--template and --verbalizer are required")


def test_set_takes_the_fields_that_have_their_own_flags(tmp_path, files, saved_model_dir):
    labeled, unlabeled = files
    out = tmp_path / "run"
    args = train_args(saved_model_dir, labeled, unlabeled, out)
    args = args[:args.index("--seed")] + ["--set", "seed=3", "--set", "iterations=0"] + args[args.index("--seed") + 2:]
    args.remove("--iterations")
    args.remove("1")
    assert main(args) == 0
    config = json.loads(RunDir(out).config_path.read_text())["config"]
    assert config["seed"] == 3 and config["iterations"] == 0 and config["student_steps"] == 4


@pytest.mark.parametrize("setting, needle", [
    ("foo=1", "no such config field"),
    ("studnet_steps=3", "did you mean student_steps"),
    ("reweight", "FIELD=VALUE"),
    ("student_steps=abc", "student_steps takes a whole number"),
    ("reweight=yes", "reweight takes true or false"),
    ("labeled_lr=fast", "labeled_lr takes a number"),
    ("preset=paper", "--preset"),
    ("seed=5", "seed is given twice"),  # train_args also passes --seed 0
])
def test_a_bad_set_is_a_one_line_usage_error(tmp_path, files, saved_model_dir, capsys, setting, needle):
    labeled, unlabeled = files
    code = main(train_args(saved_model_dir, labeled, unlabeled, tmp_path / "run", extra=["--set", setting]))
    assert code == 2
    assert_one_line_error(capsys, code, needle)
    assert not (tmp_path / "run").exists()


def test_help_lists_only_the_public_verbs(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    assert "SUPPRESS" not in out and "worker" not in out and "{train,predict,split}" in out


def test_split_puts_rows_without_a_label_in_the_unlabeled_pool(tmp_path):
    rows = [{"text": f"great movie {i}", "label": "pos"} for i in range(40)]
    rows += [{"text": f"bad film {i}", "label": "neg"} for i in range(40)]
    rows += [{"text": f"some text {i}", "label": ""} for i in range(30)]
    labeled, unlabeled, test = run_split(tmp_path, rows, 16)
    assert labeled["label"].value_counts().to_dict() == {"pos": 16, "neg": 16}
    assert set(test["label"]) == {"pos", "neg"}
    assert sum(t.startswith("some text") for t in unlabeled["text"]) == 30
    assert len(labeled) + len(unlabeled) + len(test) == 110


def test_split_reads_labels_with_surrounding_spaces_as_train_does(tmp_path):
    # 'pos ' (an Excel cell with a trailing space) is the class 'pos', not a class of its own that takes K more rows.
    rows = [{"text": f"review {i}", "label": ["neg", "pos", "neg", "pos "][i % 4]} for i in range(40)]
    labeled, unlabeled, test = run_split(tmp_path, rows, 4)
    assert labeled["label"].value_counts().to_dict() == {"pos": 4, "neg": 4}
    assert set(test["label"]) == {"pos", "neg"}
    assert len(labeled) + len(unlabeled) + len(test) == 40


def test_resume_refuses_a_run_that_is_still_training(tmp_path, files, saved_model_dir, capsys):
    """`train --out RUN_DIR --resume` while the run trains in another terminal (or the app's worker) started a second
    trainer on the same directory: both wrote its checkpoints, metrics and status, and the run read 'done' while the
    first still trained. It is refused, saying which process trains it; the run is left as it is."""
    import os

    from list_core.runs import process_start

    labeled, unlabeled = files
    out = tmp_path / "run"
    assert main(train_args(saved_model_dir, labeled, unlabeled, out)) == 0
    run = RunDir(out)
    run.write_status(state="running", pid=os.getpid(), pid_started=process_start(os.getpid()), stage="student")
    metrics = run.metrics_path.read_text()
    capsys.readouterr()
    code = main(["train", "--out", str(out), "--resume", "--quiet"])
    assert code == 2
    assert_one_line_error(capsys, code, "still running", str(os.getpid()))
    assert run.status()["state"] == "running" and run.metrics_path.read_text() == metrics


def test_a_model_given_by_a_relative_path_is_found_from_another_directory(tmp_path, files, saved_model_dir,
                                                                           monkeypatch):
    """`--model ./my-bert` (README) was recorded as given: `predict --run` or `train --resume` from any other
    directory failed with `model path './my-bert' does not exist`. The run records the model's absolute path."""
    import os

    labeled, unlabeled = files
    monkeypatch.chdir(saved_model_dir.parent)
    out = tmp_path / "run"
    args = train_args(saved_model_dir, labeled, unlabeled, out)
    args[args.index("--model") + 1] = os.path.join(".", saved_model_dir.name)
    assert main(args) == 0
    assert json.loads(RunDir(out).config_path.read_text())["config"]["model"] == str(saved_model_dir)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    inp = tmp_path / "new.csv"
    inp.write_text("text\ngreat movie\n", encoding="utf-8")
    assert main(["predict", "--run", str(out), "--input", str(inp), "--output", "pred.csv", "--device", "cpu"]) == 0
    assert pd.read_csv(elsewhere / "pred.csv")["prediction"].isin(["neg", "pos"]).all()


def test_device_cuda_without_a_gpu_is_refused_before_the_run_directory(tmp_path, files, saved_model_dir, capsys,
                                                                          monkeypatch):
    """`--device cuda` on a machine without a CUDA GPU failed after the run directory was made: the run read
    'failed' and the same --out was refused ('already holds a run') when the command was given again with
    --device cpu. It is refused before anything is written."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    labeled, unlabeled = files
    out = tmp_path / "run"
    args = train_args(saved_model_dir, labeled, unlabeled, out)
    args[args.index("--device") + 1] = "cuda"
    code = main(args)
    assert code == 2
    assert_one_line_error(capsys, code, "no CUDA GPU", "--device cpu")
    assert not out.exists()
    args[args.index("--device") + 1] = "cpu"
    assert main(args) == 0


def test_the_accuracy_warning_of_the_command_line_says_what_to_do_on_the_command_line(tmp_path, files,
                                                                                       saved_model_dir, capsys):
    """A run measured on a few held-out labels printed '... or pick a labeled file as the evaluation set on the
    Data page': advice for the app, where a command-line user has no Data page. It names --eval."""
    from list_core.__main__ import _report

    labeled, unlabeled = files
    out = tmp_path / "run"
    assert main(train_args(saved_model_dir, labeled, unlabeled, out)) == 0  # 2 held-out labels: a wide range
    capsys.readouterr()
    assert _report(RunDir(out)) == 0
    printed = capsys.readouterr().out
    assert "held-out labeled examples" in printed and "--eval" in printed and "Data page" not in printed


def test_predict_reads_the_text_columns_the_run_was_trained_with(tmp_path, files, saved_model_dir, capsys):
    """A run trained with `--text-column sentence`: `predict --run RUN --input FILE` on a file like the training
    files failed with `text column 'text' not found; columns are: sentence, label` unless --text-column was given
    again. The run's own text columns are read when the file has them, else the template's placeholders."""
    labeled, unlabeled = files
    for path in files:
        pd.read_csv(path).rename(columns={"text": "sentence"}).to_csv(path, index=False)
    out = tmp_path / "run"
    assert main(train_args(saved_model_dir, labeled, unlabeled, out, extra=["--text-column", "sentence"])) == 0
    inp = tmp_path / "new.csv"
    inp.write_text("sentence,label\ngreat movie,pos\n,neg\n", encoding="utf-8")
    pred = tmp_path / "pred.csv"
    assert main(["predict", "--run", str(out), "--input", str(inp), "--output", str(pred), "--device", "cpu"]) == 0
    frame = pd.read_csv(pred)
    assert frame["prediction"][0] in {"neg", "pos"} and pd.isna(frame["prediction"][1])
    inp.write_text("text\ngreat movie\n", encoding="utf-8")  # a file with the template's own column still works
    assert main(["predict", "--run", str(out), "--input", str(inp), "--output", str(pred), "--device", "cpu"]) == 0
    inp.write_text("text,sentence\n,great movie\n", encoding="utf-8")  # both: the column the run was trained on
    assert main(["predict", "--run", str(out), "--input", str(inp), "--output", str(pred), "--device", "cpu"]) == 0
    assert pd.read_csv(pred)["prediction"][0] in {"neg", "pos"}
    inp.write_text("other\ngreat movie\n", encoding="utf-8")  # neither: the error names both and --text-column
    capsys.readouterr()
    code = main(["predict", "--run", str(out), "--input", str(inp), "--output", str(pred), "--device", "cpu"])
    assert_one_line_error(capsys, code, "'text'", "'sentence'", "--text-column")


def test_eval_rows_that_are_labeled_examples_are_left_out_of_the_evaluation(tmp_path, files, saved_model_dir,
                                                                            capsys):
    """`--eval` with rows that are also in `--labeled` (the same file, or overlapping splits) measured accuracy on
    texts the model was trained on, reported as 'evaluation on eval set' without a word. As in the app, such rows
    are left out of the evaluation, and the command says how many."""
    labeled, unlabeled = files
    ev = tmp_path / "eval.csv"
    new = pd.DataFrame([{"text": "good movie", "label": "pos"}, {"text": "bad movie", "label": "neg"}])
    pd.concat([pd.read_csv(labeled), new]).to_csv(ev, index=False)
    out = tmp_path / "run"
    args = [a for a in train_args(saved_model_dir, labeled, unlabeled, out, extra=["--eval", str(ev)])
            if a != "--quiet"]
    assert main(args) == 0
    frozen = pd.read_parquet(out / "data" / "eval.parquet")
    assert sorted(frozen["text"]) == ["bad movie", "good movie"]
    spec = json.loads(RunDir(out).config_path.read_text())
    assert spec["counts"]["eval"] == 2 and spec["sources"]["eval_rows_left_out_as_labeled"] == len(
        pd.read_csv(labeled))
    assert f"{len(pd.read_csv(labeled))} evaluation rows are labeled examples" in capsys.readouterr().err
    assert RunDir(out).metrics()[-1]["eval_source"] == "eval set"



def test_predicted_confidences_are_written_with_six_decimals(tmp_path, files, saved_model_dir, home):
    """The confidence is rounded to 6 decimals, but as float32 (the model's probabilities) it was written with the
    float32 value's 16 digits, e.g. 0.6122239828109741. The app's 'Predict a file' did the same."""
    import io

    from list_core import workspace as W
    from list_core.classifier import ListClassifier

    labeled, unlabeled = files
    out = tmp_path / "run"
    assert main(train_args(saved_model_dir, labeled, unlabeled, out)) == 0
    inp, pred = tmp_path / "new.csv", tmp_path / "pred.csv"
    inp.write_text("text\ngreat movie\nterrible film\nlove it\n", encoding="utf-8")
    assert main(["predict", "--run", str(out), "--input", str(inp), "--output", str(pred), "--device", "cpu"]) == 0
    written = pd.read_csv(pred, dtype=str)["confidence"]
    assert all(len(c.split(".")[1]) <= 6 for c in written), written.tolist()
    data, _ = W.Workspace("p").predict_upload(ListClassifier.load(out), "new.csv", inp.read_bytes())
    written = pd.read_csv(io.BytesIO(data), dtype=str)["confidence"]
    assert all(len(c.split(".")[1]) <= 6 for c in written), written.tolist()


def test_predict_maps_the_columns_of_an_app_run_by_its_field_map(tmp_path, saved_model_dir, monkeypatch):
    """A run made in the app (or its exported model zip) records the workspace's text columns in the pool's order
    and how they map to the template's fields: '{sentence2} ? {mask} , {s1}' over sentence1, sentence2 reads
    sentence2 into {sentence2} and sentence1 into {s1}. `predict` reads a file with those columns by that map, not
    by position (which would swap the two texts)."""
    from list_core.classifier import ListClassifier

    rows = [{"sentence2": f"great movie {i}", "s1": "love it", "label": "pos"} for i in range(4)]
    rows += [{"sentence2": f"bad film {i}", "s1": "hate it", "label": "neg"} for i in range(4)]
    labeled = tmp_path / "pairs.csv"
    pd.DataFrame(rows).to_csv(labeled, index=False)
    out = tmp_path / "run"
    args = train_args(saved_model_dir, labeled, labeled, out, template="{sentence2} ? {mask} , {s1}")
    args[args.index("--unlabeled"):args.index("--unlabeled") + 2] = []
    assert main(args) == 0
    spec = json.loads((out / "config.json").read_text())
    spec["sources"] = {"workspace": "w", "text_columns": ["sentence1", "sentence2"],
                       "field_map": {"sentence1": "s1", "sentence2": "sentence2"}}
    (out / "config.json").write_text(json.dumps(spec))
    seen = []
    real = ListClassifier.predict_proba
    monkeypatch.setattr(ListClassifier, "predict_proba", lambda self, r: seen.extend(r) or real(self, r))
    inp = tmp_path / "new.csv"
    inp.write_text("sentence1,sentence2\nfirst text,second text\n", encoding="utf-8")
    assert main(["predict", "--run", str(out), "--input", str(inp), "--output", str(tmp_path / "p.csv")]) == 0
    assert seen[0]["sentence2"] == "second text" and seen[0]["s1"] == "first text"


def test_predict_to_json_lines_keeps_the_inputs_numbers_and_booleans(tmp_path, files, saved_model_dir):
    """`predict` read every cell as a string, so a JSON Lines file written back said "n": "3" and "ok": "true"
    where the input said 3 and true. Written as JSON (Lines), the input's own values are kept; CSV stays text."""
    from list_core.classifier import ListClassifier

    labeled, unlabeled = files
    out = tmp_path / "run"
    assert main(train_args(saved_model_dir, labeled, unlabeled, out)) == 0
    assert len(ListClassifier.load(out).history_) == len(RunDir(out).metrics()) == 2  # a run's history, loaded
    rows = [{"text": "great movie", "n": 3, "score": 0.5, "ok": True, "meta": {"a": [1, 2]}, "note": None},
            {"text": "terrible film", "n": 10, "score": 1.25, "ok": False, "meta": {}, "note": "x"}]
    inp, pred = tmp_path / "new.jsonl", tmp_path / "pred.jsonl"
    inp.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert main(["predict", "--run", str(out), "--input", str(inp), "--output", str(pred), "--device", "cpu"]) == 0
    written = [json.loads(line) for line in pred.read_text(encoding="utf-8").splitlines()]
    for got, given in zip(written, rows):
        assert {k: got[k] for k in given} == given
        assert got["prediction"] in ("neg", "pos") and isinstance(got["confidence"], float)
    pred_csv = tmp_path / "pred.csv"
    assert main(["predict", "--run", str(out), "--input", str(inp), "--output", str(pred_csv), "--device", "cpu"]) == 0
    assert pd.read_csv(pred_csv, dtype=str)["ok"].tolist() == ["true", "false"]


def test_pair_rows_without_one_of_their_texts_are_left_out_and_get_no_prediction(tmp_path, saved_model_dir, capsys):
    """The loader keeps a pair row with one blank text (only a row blank in every column is 'empty'): `train`
    tuned the teacher on a labeled premise alone, pseudo-labeled pool premises alone and measured on evaluation
    premises alone, and `predict` answered them as if the hypothesis were empty. They are left out, by count, and
    get no prediction."""
    from list_core.classifier import ListClassifier

    def pairs(n, blank_every):
        return [{"premise": f"great movie {i}" if i % 2 else f"bad film {i}",
                 "hypothesis": "" if i % blank_every == 0 else f"love it {i}" if i % 2 else f"hate it {i}",
                 "label": "pos" if i % 2 else "neg"} for i in range(n)]

    labeled, unlabeled, ev = tmp_path / "l.csv", tmp_path / "u.csv", tmp_path / "e.csv"
    pd.DataFrame(pairs(12, 6)).to_csv(labeled, index=False)
    pd.DataFrame(pairs(30, 3)).assign(premise=lambda f: "pool " + f["premise"]).drop(columns="label").to_csv(
        unlabeled, index=False)
    pd.DataFrame(pairs(8, 4)).assign(premise=lambda f: "eval " + f["premise"]).to_csv(ev, index=False)
    out = tmp_path / "run"
    template = "{premise} ? {mask} , {hypothesis}"
    args = [a for a in train_args(saved_model_dir, labeled, unlabeled, out, template=template,
                                  extra=["--eval", str(ev)]) if a != "--quiet"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "2 labeled rows with a blank premise or hypothesis: left out (a pair needs both texts)" in err
    assert "10 unlabeled rows with a blank premise or hypothesis: left out" in err
    assert "2 evaluation rows with a blank premise or hypothesis: left out" in err
    counts = json.loads(RunDir(out).config_path.read_text())["counts"]
    assert (counts["labeled"], counts["unlabeled"], counts["eval"]) == (10, 20, 6)
    seen = []
    real = ListClassifier.predict_proba
    inp, pred = tmp_path / "new.csv", tmp_path / "pred.csv"
    inp.write_text("premise,hypothesis\nA dog runs.,An animal moves.\nA cat sleeps.,\n,It rests.\n,\n",
                   encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ListClassifier, "predict_proba", lambda self, r: seen.extend(r) or real(self, r))
        assert main(["predict", "--run", str(out), "--input", str(inp), "--output", str(pred), "--device", "cpu"]) == 0
    assert [r["premise"] for r in seen] == ["A dog runs."]
    assert "2 input rows with a blank premise or hypothesis: no prediction" in capsys.readouterr().err
    frame = pd.read_csv(pred)
    assert len(frame) == 4 and frame["prediction"][0] in {"neg", "pos"} and frame["prediction"][1:].isna().all()


def test_a_class_without_labeled_rows_is_refused_before_the_run_directory(tmp_path, files, saved_model_dir, capsys):
    """`--verbalizer` naming a class that no labeled row has (a typo, or a class not labeled yet) was refused only
    by the trainer, after the run directory was made: it held a failed run, so the same `--out` was refused with
    'already holds a run' once the verbalizer was fixed. It is refused before anything is written."""
    labeled, unlabeled = files
    out = tmp_path / "run"
    code = main(train_args(saved_model_dir, labeled, unlabeled, out, verbalizer="neg=terrible,pos=great,meh=good"))
    assert_one_line_error(capsys, code, "no labeled example for class(es)", "meh")
    assert code == 2 and not out.exists()
    assert main(train_args(saved_model_dir, labeled, unlabeled, out)) == 0  # the same --out, fixed


def test_a_model_that_is_not_a_masked_lm_is_refused_before_the_run_directory(tmp_path, files, saved_model_dir,
                                                                              capsys):
    """README: a model that is 'not a masked LM' gives a clear error. A local decoder (GPT-2) with a tokenizer
    passed the command's tokenizer check, so the run directory was made and the run failed at the model's load: its
    --out then held a failed run. It is refused before anything is written, naming the model's type."""
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    gpt = tmp_path / "tiny-gpt"
    tok = AutoTokenizer.from_pretrained(saved_model_dir)
    GPT2LMHeadModel(GPT2Config(n_layer=1, n_head=2, n_embd=8, vocab_size=tok.vocab_size)).save_pretrained(gpt)
    tok.save_pretrained(gpt)
    labeled, unlabeled = files
    out = tmp_path / "run"
    code = main(train_args(gpt, labeled, unlabeled, out))
    assert_one_line_error(capsys, code, "gpt2", "not a masked language model")
    assert code == 2 and not out.exists()
    tokenizer_only = tmp_path / "tokenizer-only"  # tokenizer files, no model config
    tok.save_pretrained(tokenizer_only)
    code = main(train_args(tokenizer_only, labeled, unlabeled, out))
    assert_one_line_error(capsys, code, "tokenizer-only", "no readable model config.json")
    assert code == 2 and not out.exists()


def test_predict_with_a_run_that_is_not_done_says_which_model_it_uses(tmp_path, files, saved_model_dir, capsys):
    """`predict --run` on a run that failed (or was stopped, or still trains) predicted with whatever model it left,
    the teacher when iteration 1 failed, without a word; on a run still in its first iteration it said the directory
    'has no config.json and model.safetensors' (it has a config.json). Now a run that is not done is named with its
    state and the iteration predicted with, and one with no finished iteration is refused saying so."""
    import os

    from list_core.runs import process_start

    labeled, unlabeled = files
    out = tmp_path / "run"
    assert main(train_args(saved_model_dir, labeled, unlabeled, out)) == 0
    run = RunDir(out)
    inp, pred = tmp_path / "new.csv", tmp_path / "pred.csv"
    inp.write_text("text\ngreat movie\nbad film\n", encoding="utf-8")
    predict = ["predict", "--run", str(out), "--input", str(inp), "--output", str(pred), "--device", "cpu"]
    capsys.readouterr()
    assert main(predict) == 0
    assert "note:" not in capsys.readouterr().err  # a finished run: nothing to say
    run.write_status(state="failed", error="RuntimeError: boom", stage="student")
    assert main(predict) == 0
    err = capsys.readouterr().err
    assert "note:" in err and "failed" in err and "iteration 1" in err and len(pd.read_csv(pred)) == 2
    run.model_path.unlink()
    run.write_status(state="running", pid=os.getpid(), pid_started=process_start(os.getpid()), stage="teacher",
                     error=None)
    pred.unlink()
    code = main(predict)
    assert_one_line_error(capsys, code, "still running", "no iteration has finished")
    assert code == 2 and not pred.exists()


def test_predict_refuses_an_output_format_it_cannot_write_before_predicting(tmp_path, monkeypatch, capsys):
    """`predict --output predictions.xlsx` (or .txt, or no extension) loaded the model and predicted every row (46 s
    on the README's 1,500 test rows) before saying it cannot write that file. It is said first."""
    from list_core.classifier import ListClassifier

    def no_load(*_a, **_k):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(ListClassifier, "load", no_load)
    inp = tmp_path / "in.csv"
    inp.write_text("text\ngreat\n", encoding="utf-8")
    for name in ("p.xlsx", "p.txt", "p"):
        code = main(["predict", "--run", str(tmp_path / "run"), "--input", str(inp), "--output", str(tmp_path / name)])
        assert_one_line_error(capsys, code, f"cannot write '{name}'", ".csv")
        assert code == 2 and not (tmp_path / name).exists()


def test_split_refuses_a_test_size_that_is_neither_a_fraction_nor_a_count(tmp_path, capsys):
    """`split --test-size 1.5` cut the count down to 1 test row without a word (a size of 1 or more is a number of
    rows, below 1 a fraction). A count that is not whole is refused, naming both readings."""
    src = tmp_path / "all.csv"
    pd.DataFrame([{"text": f"text {i}", "label": "ab"[i % 2]} for i in range(40)]).to_csv(src, index=False)
    code = main(["split", "--input", str(src), "--k", "2", "--test-size", "1.5", "--out", str(tmp_path / "s")])
    assert_one_line_error(capsys, code, "--test-size 1.5", "fraction", "whole number of rows")
    assert code == 2 and not (tmp_path / "s").exists()
    assert main(["split", "--input", str(src), "--k", "2", "--test-size", "10", "--out", str(tmp_path / "s")]) == 0
    assert len(pd.read_csv(tmp_path / "s" / "test.csv")) == 10


def test_every_option_of_the_public_verbs_has_help(capsys):
    """`predict --help` listed --run, --input and --output with no word (which files, which output formats), as did
    train's --label-column, --iterations, --preset, --device, --seed, --quiet and split's --input, --k, --seed,
    --label-column: a newcomer had to read the source. Every option says what it takes."""
    for verb in ("train", "predict", "split"):
        parser = [a for a in __import__("list_core.__main__", fromlist=["build_parser"]).build_parser()._actions
                  if a.dest == "verb"][0].choices[verb]
        bare = [a.option_strings[-1] for a in parser._actions if a.option_strings and not a.help]
        assert bare == [], (verb, bare)
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert ".parquet" in out and "ListClassifier.save" in out


def test_predict_counts_the_rows_it_predicted_apart_from_the_rows_it_wrote(tmp_path, files, saved_model_dir, capsys):
    """A file with rows without text: `predict` said 'wrote 3 predictions' for 3 rows written, 2 of them predicted
    (the blank row is kept, without a prediction). It says both counts."""
    labeled, unlabeled = files
    out = tmp_path / "run"
    assert main(train_args(saved_model_dir, labeled, unlabeled, out)) == 0
    inp, pred = tmp_path / "new.csv", tmp_path / "pred.csv"
    inp.write_text("text,n\ngreat movie,1\n,2\nbad film,3\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["predict", "--run", str(out), "--input", str(inp), "--output", str(pred), "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert f"wrote 3 rows to {pred}, 2 with a prediction (1 without text has none)" in err
    assert pd.read_csv(pred)["prediction"].notna().tolist() == [True, False, True]


@pytest.mark.parametrize("content, needle", [(None, "file not found"), ("", "is empty"),
                                             ("text,n\n", "no data rows")])
def test_predict_says_what_is_wrong_with_the_input_before_loading_the_model(tmp_path, monkeypatch, capsys, content,
                                                                          needle):
    """`predict --input` with a mistyped path, an empty file or a header alone loaded the model first (seconds with
    the embedded MiniLM, a minute or more for a large model) and only then said what was wrong with the file."""
    from list_core.classifier import ListClassifier

    def no_load(*_a, **_k):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(ListClassifier, "load", no_load)
    inp = tmp_path / "in.csv"
    if content is not None:
        inp.write_text(content, encoding="utf-8")
    code = main(["predict", "--run", str(tmp_path / "run"), "--input", str(inp), "--output", str(tmp_path / "o.csv")])
    assert_one_line_error(capsys, code, needle)
    assert code == 2


def test_evaluation_rows_that_are_in_the_unlabeled_pool_are_said(tmp_path, files, saved_model_dir, capsys):
    """`--eval` rows whose texts are also in `--unlabeled` (a labeled copy of the pool, or the same file) are
    pseudo-labeled during the run, so accuracy on them can read higher than on unseen texts; the app says so, the
    command line said nothing. It now says how many (they stay in the evaluation, as in the app)."""
    labeled, unlabeled = files
    ev = tmp_path / "eval.csv"
    pool = pd.read_csv(unlabeled)
    pool.head(5).assign(label=["pos", "neg", "pos", "neg", "pos"]).to_csv(ev, index=False)
    out = tmp_path / "run"
    args = [a for a in train_args(saved_model_dir, labeled, unlabeled, out, extra=["--eval", str(ev)])
            if a != "--quiet"]
    capsys.readouterr()
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "5 evaluation rows are also in the unlabeled pool" in err
    assert json.loads(RunDir(out).config_path.read_text())["counts"]["eval"] == 5


def test_predict_on_a_file_without_the_runs_columns_names_them_and_the_flag(tmp_path, files, saved_model_dir, capsys):
    """A run trained with `--text-column sentence`, asked to predict a file whose text is in `review`: the error
    named only the template's placeholder (`text column 'text' not found`), a column the user never had, and not
    the run's own column or `--text-column`. It names both and the flag."""
    labeled, unlabeled = files
    lab, unl = tmp_path / "l.csv", tmp_path / "u.csv"
    pd.read_csv(labeled).rename(columns={"text": "sentence"}).to_csv(lab, index=False)
    pd.read_csv(unlabeled).rename(columns={"text": "sentence"}).to_csv(unl, index=False)
    out = tmp_path / "run"
    assert main(train_args(saved_model_dir, lab, unl, out, extra=["--text-column", "sentence"])) == 0
    inp = tmp_path / "new.csv"
    inp.write_text("review,n\ngreat movie,1\n", encoding="utf-8")
    capsys.readouterr()
    code = main(["predict", "--run", str(out), "--input", str(inp), "--output", str(tmp_path / "p.csv")])
    assert_one_line_error(capsys, code, "'sentence'", "'text'", "review", "--text-column")
    assert code == 2
    assert main(["predict", "--run", str(out), "--input", str(inp), "--output", str(tmp_path / "p.csv"),
                 "--text-column", "review"]) == 0


def test_train_on_a_file_whose_text_column_is_not_the_placeholder_says_how_to_name_it(tmp_path, files,
                                                                                       saved_model_dir, capsys):
    """The README's template reads `{text}`; a newcomer's file holds `sentence`. The error said `text column 'text'
    not found; columns are: sentence, label` and stopped there: nothing said that --text-column (or a `{sentence}`
    placeholder) is the way. It says both; nothing is written; a wrong --text-column keeps the loader's message."""
    labeled, unlabeled = files
    lab = tmp_path / "l.csv"
    pd.read_csv(labeled).rename(columns={"text": "sentence"}).to_csv(lab, index=False)
    out = tmp_path / "run"
    code = main(train_args(saved_model_dir, lab, unlabeled, out))
    assert_one_line_error(capsys, code, "'text' not found", "sentence", "--text-column COLUMN", "{COLUMN}")
    assert code == 2 and not out.exists()
    code = main(train_args(saved_model_dir, lab, unlabeled, out, extra=["--text-column", "sentense"]))
    error = assert_one_line_error(capsys, code, "'sentense' not found")
    assert "--text-column COLUMN" not in error and not out.exists()


def test_the_report_gives_the_rejected_share_per_iteration_not_the_mean_weight(tmp_path, capsys):
    """The per-iteration lines printed 'mean weight 1.000', which sits near 1 by construction (weights are
    relative within a batch); the model card gave the rejected share instead since. So does the report now."""
    from list_core.__main__ import _report

    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    run.write_status(state="done")
    run.append_metrics({"iteration": 0, "accuracy": 0.8, "macro_f1": 0.8, "seconds": 1.0})
    run.append_metrics({"iteration": 1, "accuracy": 0.85, "macro_f1": 0.85, "seconds": 2.0, "mean_weight": 1.0,
                        "zero_weight_share": 232 / 480, "reweighted_examples": 480})
    capsys.readouterr()
    _report(run)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "iteration 0: accuracy 0.8000 macro-F1 0.8000 (1.0s)"
    assert lines[1] == "iteration 1: accuracy 0.8500 macro-F1 0.8500 rejected 48.3% of 480 re-weighted (2.0s)"
