"""Hardening (issue 5): cancel/resume at every stage, out of memory, SIGKILL, disk full, and the bad inputs of the
issue through the CLI and the service layer. Tiny random BERT only; behaviour is asserted, never timing.

What each test covers is listed in docs/reliability.md.
"""

from __future__ import annotations

import errno
import io
import json
import os
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import (comparable, make_backbone, make_tokenizer, same, tiny_config, toy_rows,
                            unlabeled_rows)
from list_core import workspace as W
from list_core.__main__ import main
from list_core.data import DataError
from list_core.job import create_run, execute_run, start_worker
from list_core.modeling import ListModel, ModelLoadError
from list_core.prompts import PromptEncoder, PromptError, Template, Verbalizer
from list_core.runs import RunDir, atomic_write_json
from list_core.trainer import ListTrainer

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# --- helpers -------------------------------------------------------------------------------------------------------

def new_run(path, **overrides):
    return create_run(path, tiny_config(**{"iterations": 2, **overrides}), toy_rows(6), unlabeled_rows(), None,
                      sources={"labeled": "toy"})



def tmp_leftovers(run):
    return [p.name for p in run.path.rglob("*.tmp")]


def assert_consistent(run, finished):
    """A run directory after a fault: iterations 0..finished-1 complete (weights, metrics, pseudo-labels), nothing
    of later ones, no temporary files, every file readable."""
    assert run.finished_iterations() == list(range(finished))
    assert [m["iteration"] for m in run.metrics()] == list(range(finished))
    frame = run.pseudo_labels()
    assert sorted(frame["iteration"].unique().tolist()) == list(range(1, finished))
    for it in range(finished):
        assert ListModel.read_trainable(run.iteration_path(it))
    assert not tmp_leftovers(run)
    assert run.status()["pid"] is None


def assert_same_as(reference, run):
    assert same(comparable(run.metrics()), comparable(reference.metrics()))
    ref_state, state = ListModel.read_trainable(reference.model_path), ListModel.read_trainable(run.model_path)
    assert ref_state.keys() == state.keys()
    for k, v in ref_state.items():
        assert torch.equal(v, state[k]), k
    a, b = reference.pseudo_labels(), run.pseudo_labels()
    pd.testing.assert_frame_equal(a.sort_values(["iteration", "id"]).reset_index(drop=True),
                                  b.sort_values(["iteration", "id"]).reset_index(drop=True))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One uninterrupted 2-iteration run: what every cancelled-then-resumed run must reproduce exactly."""
    run = new_run(tmp_path_factory.mktemp("ref") / "run")
    execute_run(run.path, backbone=make_backbone())
    assert run.status()["state"] == "done"
    return run


# --- cancel during warm-up, re-weighting and evaluation; resume -----------------------------------------------------

class StopIn:
    """Create STOP at the first progress event of `stage` (or at the stage event, for `on_stage`) in `iteration`,
    and record the progress stages seen afterwards (to prove where the run stopped)."""

    def __init__(self, run, stage, iteration, on_stage=False):
        self.run, self.stage, self.iteration, self.on_stage = run, stage, iteration, on_stage
        self.current = 0
        self.fired = False
        self.after: list[str] = []

    def __call__(self, event):
        if event["type"] == "stage":
            self.current = event.get("iteration", self.current)
            if self.fired:
                self.after.append("stage:" + event["stage"])
            elif self.on_stage and event["stage"] == self.stage and self.current == self.iteration:
                self.fired = True
                self.run.request_stop()
        elif event["type"] == "progress":
            if self.fired:
                self.after.append(event["stage"])
            elif not self.on_stage and event["stage"] == self.stage and self.current == self.iteration:
                self.fired = True
                self.run.request_stop()
        elif event["type"] in ("iteration", "examples") and self.fired:
            self.after.append(event["type"])


@pytest.mark.parametrize("stage,iteration,on_stage", [("warmup", 1, False), ("reweight", 2, False),
                                                      ("evaluate", 2, True)])
def test_cancel_in_stage_then_resume_matches_uninterrupted(tmp_path, reference, stage, iteration, on_stage):
    run = new_run(tmp_path / "run")
    stop = StopIn(run, stage, iteration, on_stage)
    execute_run(run.path, callbacks=[stop], backbone=make_backbone())
    assert stop.fired
    # Stopped inside that stage: no other stage started, no iteration finished after the request.
    assert all(s == stage for s in stop.after), stop.after
    status = run.status()
    assert status["state"] == "cancelled" and status["error"] is None
    assert_consistent(run, finished=iteration)
    assert "cancelled" in " ".join(run.log_tail())

    execute_run(run.path, resume=True, backbone=make_backbone())
    status = run.status()
    assert status["state"] == "done" and status["resumed_from"] == iteration - 1
    assert not run.stop_path.exists() and not tmp_leftovers(run)
    assert_same_as(reference, run)


@pytest.mark.parametrize("extra", [{}, {"propagation": 0.9, "propagation_k": 3}])
def test_resume_after_the_teachers_of_an_ensemble_matches_uninterrupted(tmp_path, extra):
    """With several first teachers, iteration 0's checkpoint carries every member, so a run resumed before the
    first pseudo-labels are used draws the same ensemble labels; the exported model holds the kept teacher only.
    With label spreading, the resumed run recomputes the kept teacher's states that the first run had cached."""
    reference = new_run(tmp_path / "ref", teachers=2, **extra)
    execute_run(reference.path, backbone=make_backbone())
    checkpoint = ListModel.read_trainable(reference.iteration_path(0))
    assert any(k.startswith("ensemble.1.") for k in checkpoint)
    assert not any(k.startswith("ensemble.") for k in ListModel.read_trainable(reference.model_path))
    run = new_run(tmp_path / "run", teachers=2, **extra)
    stop = StopIn(run, "warmup", 1)
    execute_run(run.path, callbacks=[stop], backbone=make_backbone())
    assert stop.fired and run.status()["state"] == "cancelled"
    execute_run(run.path, resume=True, backbone=make_backbone())
    assert run.status()["resumed_from"] == 0
    assert_same_as(reference, run)


# --- out of memory inside a training step -----------------------------------------------------------------------

def oom_in_student_of(iteration, monkeypatch, error=None):
    """Make every optimizer step raise CUDA's out-of-memory error once the student of `iteration` starts."""
    armed = {"on": iteration == 0}
    original = ListTrainer._step

    def step(self, loss, opt, sched):
        if armed["on"]:
            raise error or torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return original(self, loss, opt, sched)

    def arm(event):
        if event["type"] == "stage" and event["stage"] == "student" and event.get("iteration") == iteration:
            armed["on"] = True

    monkeypatch.setattr(ListTrainer, "_step", step)
    return arm


def test_out_of_memory_in_a_step_fails_the_run_with_advice_and_resume_recovers(tmp_path, reference, monkeypatch):
    run = new_run(tmp_path / "run")
    arm = oom_in_student_of(1, monkeypatch)
    with pytest.raises(torch.OutOfMemoryError):  # raised, not skipped: the caller sees it too
        execute_run(run.path, callbacks=[arm], backbone=make_backbone())
    status = run.status()
    assert status["state"] == "failed"
    assert status["error"].startswith("out of memory") and "batch sizes" in status["error"]
    assert_consistent(run, finished=1)
    log = run.log_path.read_text()
    assert "failed: out of memory" in log and "Traceback" in log and "OutOfMemoryError" in log

    monkeypatch.undo()
    execute_run(run.path, resume=True, backbone=make_backbone())
    assert run.status()["state"] == "done" and run.status()["error"] is None
    assert_same_as(reference, run)


TINY_CLI = ["--set", "teacher_epochs=2", "--set", "teacher_max_steps=0", "--set", "teacher_min_steps=0", "--set", "labeled_batch_size=4",
            "--set", "unlabeled_per_iteration=16", "--set", "student_steps=4", "--set", "unlabeled_batch_size=4",
            "--set", "meta_batch_size=4", "--set", "student_finetune_epochs=1", "--set", "max_length=32",
            "--set", "adapter_dim=4", "--set", "eval_batch_size=8", "--iterations", "1", "--device", "cpu",
            "--seed", "0"]


def cli_train(model_dir, labeled, unlabeled, out, template="{text} it was {mask} .",
              verbalizer="neg=terrible,pos=great", quiet=True, extra=()):
    return main(["train", "--labeled", str(labeled), "--unlabeled", str(unlabeled), "--template", template,
                 "--verbalizer", verbalizer, "--model", str(model_dir), "--out", str(out),
                 *(["--quiet"] if quiet else []), *TINY_CLI, *extra])


def one_error_line(capsys, code, *needles):
    err = capsys.readouterr().err
    assert code != 0
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, err
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
    return errors[0]


@pytest.fixture
def files(tmp_path):
    labeled, unlabeled = tmp_path / "labeled.csv", tmp_path / "unlabeled.csv"
    pd.DataFrame(toy_rows(6)).drop_duplicates("text").to_csv(labeled, index=False)
    pd.DataFrame(unlabeled_rows(10)).to_csv(unlabeled, index=False)
    return labeled, unlabeled


@pytest.mark.parametrize("error", [None, MemoryError()])
def test_cli_out_of_memory_exits_non_zero_with_one_line(tmp_path, files, saved_model_dir, capsys, monkeypatch,
                                                        error):
    monkeypatch.delenv("LIST_CORE_DEBUG", raising=False)
    oom_in_student_of(0, monkeypatch, error)  # armed from the first step
    out = tmp_path / "run"
    code = cli_train(saved_model_dir, *files, out)
    line = one_error_line(capsys, code, "out of memory", "batch sizes", "train.log")
    assert code == 1 and "\n" not in line
    status = RunDir(out).status()
    assert status["state"] == "failed" and status["error"].startswith("out of memory")
    assert not tmp_leftovers(RunDir(out))


# --- worker killed with SIGKILL mid-step ------------------------------------------------------------------------

def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_sigkilled_worker_is_interrupted_never_running_and_resume_finishes(tmp_path, saved_model_dir):
    config = tiny_config(model=str(saved_model_dir), teacher_epochs=150, iterations=1, threads=1)
    run = create_run(tmp_path / "run", config, toy_rows(6), unlabeled_rows(), None)
    pid = start_worker(run.path, threads=1)
    try:
        status = wait_for(lambda: (lambda s: s if s["state"] == "running" and (s.get("step") or 0) > 0 else None)(
            run.status()), 180, "the worker to report a training step")
        assert status["pid"] == pid and status["stage"] == "teacher"
    finally:
        os.kill(pid, signal.SIGKILL)
    # Dead (a zombie until start_worker's reaper collects it, then gone): interrupted, never running.
    assert wait_for(lambda: run.status()["state"] == "interrupted", 30, "interrupted")
    assert wait_for(lambda: not Path(f"/proc/{pid}").exists(), 30, "the launcher to reap the worker")
    status = run.status()
    assert status["state"] == "interrupted" and "resume" in status["error"]
    assert json.loads(run.status_path.read_text())["state"] == "running"  # the file is stale; status() checks the pid
    assert run.metrics() == [] and run.finished_iterations() == []  # killed in the teacher: nothing half-listed
    assert (run.path / "data" / "labeled.parquet").exists()

    pid2 = start_worker(run.path, resume=True, threads=1)
    try:
        wait_for(lambda: run.status()["state"] not in ("queued", "running"), 300, "the resumed run to end")
    finally:
        wait_for(lambda: not Path(f"/proc/{pid2}").exists(), 300, "the launcher to reap the resumed worker")
    status = run.status()
    assert status["state"] == "done", (status, run.log_tail(30))
    assert [m["iteration"] for m in run.metrics()] == [0, 1]
    assert run.finished_iterations() == [0, 1] and len(run.pseudo_labels()) == 16


# --- disk full --------------------------------------------------------------------------------------------------

def enospc(*_):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_disk_full_while_writing_metrics_and_pseudo_labels_keeps_previous_files(tmp_path, monkeypatch):
    run = RunDir(tmp_path / "run")
    run.append_metrics({"iteration": 0, "accuracy": 0.5})
    first = pd.DataFrame({"id": [0, 1], "text": ["a", "b"], "pseudo_label": ["neg", "pos"],
                          "confidence": [0.6, 0.7], "weight": [0.0, 1.0], "iteration": [1, 1]})
    run.append_pseudo_labels(first)
    monkeypatch.setattr(os, "fsync", enospc)
    with pytest.raises(OSError) as info:
        run.append_metrics({"iteration": 1, "accuracy": 0.9})
    assert info.value.errno == errno.ENOSPC
    with pytest.raises(OSError):
        run.append_pseudo_labels(first.assign(iteration=2))
    with pytest.raises(OSError):
        run.write_status(state="done")
    monkeypatch.undo()
    assert run.metrics() == [{"iteration": 0, "accuracy": 0.5}]
    pd.testing.assert_frame_equal(run.pseudo_labels(), first)
    assert not tmp_leftovers(run)


def test_disk_full_mid_run_fails_with_advice_and_resume_matches(tmp_path, reference, monkeypatch):
    """ENOSPC on the big pseudo-label write of iteration 2 (small files still fit): the run is marked failed with
    advice, iteration 1's files are intact, and resuming gives the uninterrupted result."""
    run = new_run(tmp_path / "run")
    real_fsync = os.fsync
    armed = {"on": False}

    def fsync(fd):
        if armed["on"] and "pseudo_labels" in os.readlink(f"/proc/self/fd/{fd}"):
            enospc()
        return real_fsync(fd)

    def arm(event):
        if event["type"] == "stage" and event.get("iteration") == 2:
            armed["on"] = True

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(OSError):
        execute_run(run.path, callbacks=[arm], backbone=make_backbone())
    status = run.status()
    assert status["state"] == "failed" and status["error"].startswith("disk full") and "resume" in status["error"]
    assert_consistent(run, finished=2)
    monkeypatch.undo()
    execute_run(run.path, resume=True, backbone=make_backbone())
    assert run.status()["state"] == "done"
    assert_same_as(reference, run)



def test_disk_full_between_an_iterations_weights_and_its_metrics_then_resume_matches(tmp_path, reference, monkeypatch):
    """iter_2.safetensors fits, model.safetensors does not: iteration 2 had weights but no metrics. Resuming went on
    from iteration 2, so the run ended 'done' without iteration 2's metrics and with iteration 1's model."""
    run = new_run(tmp_path / "run")
    real_fsync = os.fsync

    def fsync(fd):
        if (os.readlink(f"/proc/self/fd/{fd}").rsplit("/", 1)[-1].startswith(".model.safetensors.")
                and run.iteration_path(2).exists()):
            enospc()
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(OSError):
        execute_run(run.path, backbone=make_backbone())
    assert run.status()["error"].startswith("disk full") and run.finished_iterations() == [0, 1, 2]
    monkeypatch.undo()
    execute_run(run.path, resume=True, backbone=make_backbone())
    assert run.status()["state"] == "done" and run.status()["resumed_from"] == 1
    assert [m["iteration"] for m in run.metrics()] == [0, 1, 2]
    assert_same_as(reference, run)


def test_disk_still_full_when_resuming_fails_the_run_with_advice(tmp_path, monkeypatch):
    """Resume clicked before space was freed: the worker failed while preparing the resume, before it recorded
    anything, so the page said it was killed or the machine restarted ('interrupted'), not that the disk is full."""
    run = new_run(tmp_path / "run")
    execute_run(run.path, callbacks=[StopIn(run, "warmup", 2)], backbone=make_backbone())
    assert run.status()["state"] == "cancelled"
    gone = subprocess.Popen(["true"])
    gone.wait()
    run.write_status(state="queued", pid=gone.pid)  # what start_worker leaves for the worker it launched
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: enospc() if "status.json" not in os.readlink(
        f"/proc/self/fd/{fd}") else real_fsync(fd))
    with pytest.raises(OSError):
        execute_run(run.path, resume=True, backbone=make_backbone())
    status = run.status()
    assert status["state"] == "failed" and status["error"].startswith("disk full") and "resume" in status["error"]
    monkeypatch.undo()
    assert_consistent(run, finished=2)


def test_disk_full_while_labeling_loses_no_annotation(home, monkeypatch):
    ws = W.Workspace("lab")
    ws.set_classes(["neg", "pos"], {"neg": "terrible", "pos": "great"})
    for r in toy_rows(3):
        ws.add_example(r["text"], r["label"])
    before = W.Workspace("lab").labeled
    with monkeypatch.context() as m:
        m.setattr(os, "fsync", enospc)
        with pytest.raises(OSError):
            ws.add_example("one more", "pos")
        with pytest.raises(OSError):
            ws.save_upload("pool.csv", b"text\nhello\n")
    again = W.Workspace("lab", create=False)
    assert again.labeled == before and len(before) == 6
    assert not list(ws.path.rglob("*.tmp"))
    again.add_example("one more", "pos")  # space is back: work goes on
    assert len(W.Workspace("lab").labeled) == 7


# --- bad input through the CLI ----------------------------------------------------------------------------------

def xlsx_bytes():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    return buf.getvalue()


@pytest.mark.parametrize("name,content,needle", [
    ("header_only.csv", b"text,label\n", "no data rows"),
    ("sheet.csv", None, "ZIP archive"),
    ("photo.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "PNG image"),
    ("blob.tsv", bytes(range(1, 256)) * 40, "binary file"),
    ("lines.csv", b'{"text": "great movie", "label": "pos"}\n{"text": "bad film", "label": "neg"}\n', "JSON"),
    ("table.jsonl", b"text,label\ngreat movie,pos\n", "JSON Lines"),
])
def test_cli_refuses_a_file_that_is_not_what_it_says(tmp_path, files, saved_model_dir, capsys, name, content,
                                                     needle):
    bad = tmp_path / name
    bad.write_bytes(xlsx_bytes() if content is None else content)
    out = tmp_path / "run"
    code = cli_train(saved_model_dir, bad, files[1], out)
    line = one_error_line(capsys, code, name, needle)
    assert code == 2 and line.isprintable()  # no binary garbage echoed
    assert not out.exists()  # refused before any run directory is written


def test_cli_utf16_bom_ragged_rows_and_braces_in_text(tmp_path, files, saved_model_dir, capsys):
    rows = toy_rows(6)
    rows[0] = {"text": "great {mask} movie {text} }{ café 日本", "label": "pos"}
    body = "text,label\n" + "".join(f'"{r["text"]}",{r["label"]}\n' for r in rows) + "extra,pos,field\n"
    labeled = tmp_path / "utf16.csv"
    labeled.write_bytes(b"\xff\xfe" + body.encode("utf-16-le"))
    out = tmp_path / "run"
    assert cli_train(saved_model_dir, labeled, files[1], out, quiet=False) == 0
    err = capsys.readouterr().err
    assert "1 malformed row skipped" in err and "Traceback" not in err
    assert RunDir(out).status()["state"] == "done"
    texts = pd.read_parquet(out / "data" / "labeled.parquet")["text"].tolist()
    assert "great {mask} movie {text} }{ café 日本" in texts  # user braces are data, not placeholders
    # The template keeps exactly one mask whatever braces the user's text holds.
    tok = make_tokenizer()
    enc = PromptEncoder("{text} it was {mask} .", tok, 32).encode({"text": texts[0] + " {mask} [MASK]"})
    assert enc.input_ids.count(tok.mask_token_id) == 1


def test_cli_mixed_encodings_and_case_variant_labels(tmp_path, files, saved_model_dir, capsys):
    rows = toy_rows(6)
    labeled = tmp_path / "mixed.csv"
    lines = ["text,label"] + [f"{r['text']},{r['label']}" for r in rows]
    data = ("\n".join(lines) + "\n").encode() + "great café,pos\n".encode("utf-8") + \
        "bad naïve film, Neg \n".encode("latin-1")
    labeled.write_bytes(data)
    out = tmp_path / "run"
    assert cli_train(saved_model_dir, labeled, files[1], out, quiet=False) == 0
    err = capsys.readouterr().err
    assert "mixed encodings" in err and "1 line not valid UTF-8" in err
    assert "'Neg' was skipped as unknown but differs from 'neg' only in case" in err
    texts = pd.read_parquet(out / "data" / "labeled.parquet")["text"].tolist()
    assert "great café" in texts  # the UTF-8 line is not turned into mojibake by the Latin-1 line


def test_cli_one_class_only(tmp_path, files, saved_model_dir, capsys):
    only = tmp_path / "pos_only.csv"
    pd.DataFrame([r for r in toy_rows(6) if r["label"] == "pos"]).to_csv(only, index=False)
    out = tmp_path / "run"
    code = cli_train(saved_model_dir, only, files[1], out)
    one_error_line(capsys, code, "no labeled example for class", "neg")
    assert code == 2 and not out.exists()  # refused before the run directory: the same --out stays free


def test_cli_label_word_not_in_vocabulary(tmp_path, files, saved_model_dir, capsys):
    out = tmp_path / "run"
    code = cli_train(saved_model_dir, *files, out, verbalizer="neg=xyzzy,pos=great")
    one_error_line(capsys, code, "'xyzzy'", "not in the vocabulary")
    assert not out.exists()


def test_cli_model_that_cannot_be_loaded_offline(tmp_path, files, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "run"
    code = cli_train("no-such-org/no-such-model-xyz", *files, out)
    one_error_line(capsys, code, "no-such-org/no-such-model-xyz", "local")
    assert code == 2 and not out.exists()


# --- bad input through the service layer (what the app calls) ---------------------------------------------------

def test_service_refused_upload_keeps_the_previous_pool(home):
    ws = W.Workspace("pool")
    ws.save_upload("good.csv", b"text\ngreat movie\nbad film\n")
    ws.set_pool("good.csv")
    for name, data, needle in (("sheet.csv", xlsx_bytes(), "ZIP archive"), ("head.csv", b"text,label\n", "no data"),
                               ("lines.csv", b'{"text": "x"}\n', "JSON")):
        ws.save_upload(name, data)
        with pytest.raises(DataError, match=needle):
            ws.set_pool(name)
    again = W.Workspace("pool", create=False)
    assert again.state["pool"]["file"] == "good.csv"
    assert again.pool()["text"].tolist() == ["great movie", "bad film"]


def test_service_mixed_encoding_pool_is_decoded_and_said(home):
    ws = W.Workspace("enc")
    data = "text\ncafé crème\n".encode() + "naïve façade\n".encode("latin-1") + "x\n".encode()
    ws.save_upload("mixed.csv", data)
    report = ws.set_pool("mixed.csv")
    assert any("mixed encodings" in w for w in report.warnings)
    assert "mixed encodings" in ws.state["pool"]["summary"]  # shown on the Data page
    assert ws.pool()["text"].tolist() == ["café crème", "naïve façade", "x"]


def test_service_import_labels_differing_in_case_join_existing_classes(home):
    ws = W.Workspace("case")
    ws.set_classes(["neg", "pos"], {"neg": "terrible", "pos": "great"})
    ws.save_upload("lab.csv", b"text,label\ngreat movie,pos\ngood film,Pos\nawful,neg\nboring, NEG\nok,new\nfine,NEW\n")
    assert ws.import_labeled("lab.csv", "label")["added"] == 6
    again = W.Workspace("case")
    assert again.classes == ["neg", "pos", "new"]
    assert again.class_counts() == {"neg": 2, "pos": 2, "new": 2}
    twice = again.import_labeled("lab.csv", "label")  # the same file again adds nothing and says so
    assert twice["added"] == 0 and twice["duplicates"] == 6 and "skipped: 6 already labeled" in twice["message"]
    assert W.Workspace("case").class_counts() == {"neg": 2, "pos": 2, "new": 2}


def test_service_import_says_which_rows_it_skipped(home):
    ws = W.Workspace("imp")
    ws.save_upload("lab.csv", b"text,label\ngreat movie,pos\nawful,neg\nno label here,\n,pos\nawful,neg\n")
    result = ws.import_labeled("lab.csv", "label")
    assert result["added"] == 2 and result["message"] == (
        "2 labeled examples added from 5 rows; skipped: 1 with empty text, 1 without a label, 1 repeated in the file. "
        "New classes from the file: 'pos', 'neg'; give each a label word on the Prompt page")


def test_service_label_word_and_offline_model_refused_before_a_run(home, saved_model_dir, monkeypatch):
    monkeypatch.setenv("LIST_STUDIO_MODEL_ROOTS", str(saved_model_dir.parent))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ws = W.Workspace("mdl")
    ws.set_classes(["neg", "pos"], {"neg": "xyzzy", "pos": "great"})
    for r in toy_rows(4):
        ws.add_example(r["text"], r["label"])
    with pytest.raises(PromptError, match="'xyzzy'.*not in the vocabulary"):
        ws.start_run(model=str(saved_model_dir), device="cpu")
    ws.set_label_words({"neg": "terrible"})
    with pytest.raises(ModelLoadError, match="no-such-org/no-such-model-xyz"):
        ws.start_run(model="no-such-org/no-such-model-xyz", device="cpu")
    assert ws.run_ids() == [] and W.active_runs() == []


def test_service_symlinked_workspace_or_run_cannot_escape_the_root(home, tmp_path):
    outside = tmp_path / "outside"
    (outside / "runs").mkdir(parents=True)
    atomic_write_json(outside / "state.json", {"classes": []})
    W.data_root()
    (home / "workspaces" / "evil").symlink_to(outside, target_is_directory=True)
    with pytest.raises(W.WorkspaceError):
        W.Workspace("evil")
    ws = W.Workspace("ok")
    victim = outside / "victim"
    new_run(victim)
    ws.runs_dir.mkdir(parents=True, exist_ok=True)
    (ws.runs_dir / "linked").symlink_to(victim, target_is_directory=True)
    with pytest.raises(W.WorkspaceError):
        ws.run("linked")
    with pytest.raises(W.WorkspaceError):
        ws.delete_run("linked")
    assert (victim / "config.json").exists() and ws.runs() == []


# --- property tests: verbalizer spec and templates --------------------------------------------------------------

safe = st.text(alphabet=st.characters(blacklist_characters=",=", blacklist_categories=("Cs",)), min_size=1,
               max_size=12).filter(lambda s: s.strip())


@FAST
@given(pairs=st.dictionaries(safe.map(str.strip), safe, min_size=1, max_size=6))
def test_property_verbalizer_parse_roundtrip(pairs):
    spec = " , ".join(f" {k} = {v} " for k, v in pairs.items())
    assert Verbalizer.parse(spec) == {k.strip(): v.strip() for k, v in pairs.items()}


@FAST
@given(spec=st.text(max_size=60))
def test_property_verbalizer_parse_clear_error_or_clean_mapping(spec):
    try:
        mapping = Verbalizer.parse(spec)
    except PromptError as exc:
        assert str(exc)
        return
    assert mapping
    for label, word in mapping.items():
        assert label and label == label.strip() and "," not in label and "=" not in label
        assert word == word.strip() and "," not in word


@FAST
@given(text=st.text(max_size=60))
def test_property_template_parses_or_gives_a_clear_error(text):
    try:
        t = Template(text)
    except PromptError as exc:
        assert str(exc)
        return
    assert sum(s.kind == "mask" for s in t.segments) == 1 and t.fields


@FAST
@given(value=st.text(max_size=80))
def test_property_user_text_with_braces_is_rendered_verbatim(value):
    t = Template("{text} It was {mask}.")
    assert t.render({"text": value}, "[M]") == value + " It was [M]."
