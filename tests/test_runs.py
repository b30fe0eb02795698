"""Run directories: atomic writes, the files a run leaves, cancel with STOP, resume, interrupted status."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest
import torch

from tests.conftest import comparable, make_backbone, same, tiny_config, toy_rows, unlabeled_rows
from list_core.job import create_run, execute_run
from list_core.modeling import ListModel
from list_core.runs import RunDir, atomic_path, atomic_write_json, atomic_write_text
from list_core.workspace import progress_view


# --- atomic writes ------------------------------------------------------------------------------------------------

def test_crash_inside_atomic_path_keeps_the_old_file(tmp_path):
    target = tmp_path / "status.json"
    atomic_write_text(target, '{"state": "running"}')
    with pytest.raises(RuntimeError, match="crash"):
        with atomic_path(target) as tmp:
            assert tmp.parent == tmp_path and tmp != target
            tmp.write_text('{"state": "do')  # half-written
            raise RuntimeError("crash")
    assert target.read_text() == '{"state": "running"}'
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]  # no temp leftovers


def test_atomic_path_replaces_on_success(tmp_path):
    target = tmp_path / "sub" / "file.txt"
    with atomic_path(target) as tmp:
        tmp.write_text("new")
        assert not target.exists()  # readers never see the half-written file
    assert target.read_text() == "new"
    assert [p.name for p in target.parent.iterdir()] == ["file.txt"]


def test_atomic_write_json_disk_full_keeps_old(tmp_path, monkeypatch):
    import errno
    import os

    target = tmp_path / "m.json"
    atomic_write_json(target, {"a": 1})

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError):
        atomic_write_json(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]


def test_atomic_write_json_turns_non_finite_numbers_into_null(tmp_path):
    target = tmp_path / "m.json"
    atomic_write_json(target, {"loss": float("nan"), "nested": [float("inf"), 1.5]})
    assert json.loads(target.read_text()) == {"loss": None, "nested": [None, 1.5]}


def test_metrics_rewrite_replaces_the_same_iteration(tmp_path):
    run = RunDir(tmp_path)
    run.append_metrics({"iteration": 0, "accuracy": 0.5})
    run.append_metrics({"iteration": 1, "accuracy": 0.6})
    run.append_metrics({"iteration": 1, "accuracy": 0.7})
    assert run.metrics() == [{"iteration": 0, "accuracy": 0.5}, {"iteration": 1, "accuracy": 0.7}]
    run.truncate_after(0)
    assert run.metrics() == [{"iteration": 0, "accuracy": 0.5}]


# --- a full run ---------------------------------------------------------------------------------------------------

def new_run(path, **overrides):
    config = tiny_config(**{"iterations": 2, **overrides})
    return create_run(path, config, toy_rows(6), unlabeled_rows(), None, sources={"labeled": "toy"})



def test_create_and_execute_run_writes_every_file(tmp_path):
    run = new_run(tmp_path / "run", seed=7)
    assert run.status()["state"] == "queued"
    execute_run(run.path, backbone=make_backbone())

    status = run.status()
    assert status["state"] == "done" and status["pid"] is None and status["error"] is None
    assert status["finished_at"]

    spec = json.loads(run.config_path.read_text())
    assert spec["config"]["seed"] == 7 and spec["config"]["template"] == "{text} it was {mask} ."
    env = spec["environment"]
    for key in ("torch", "transformers", "python", "device", "list_core"):
        assert env.get(key), key
    assert env["device"] == "cpu" and env["torch"] == torch.__version__
    assert spec["counts"] == {"labeled": 12, "unlabeled": 16, "eval": 0}

    metrics = run.metrics()
    assert [m["iteration"] for m in metrics] == [0, 1, 2]
    for m in metrics:
        assert {"iteration", "accuracy", "macro_f1", "mean_weight", "seconds"} <= set(m)
    assert all(isinstance(m["mean_weight"], float) for m in metrics[1:])

    frame = pd.read_parquet(run.pseudo_path)
    assert {"text", "pseudo_label", "confidence", "weight", "iteration"} <= set(frame.columns)
    assert sorted(frame["iteration"].unique().tolist()) == [1, 2]
    assert (frame.groupby("iteration").size() == 16).all()
    assert frame["confidence"].between(0.5, 1.0).all()

    assert run.finished_iterations() == [0, 1, 2]
    model_keys = set(ListModel.read_trainable(run.model_path))
    assert model_keys == set(ListModel.read_trainable(run.iteration_path(2)))
    assert not any("word_embeddings" in k for k in model_keys)
    for it in (0, 1, 2):
        assert run.iteration_path(it).stat().st_size < 100_000
    assert json.loads((run.path / "labels.json").read_text())["labels"] == ["neg", "pos"]
    assert "done" in run.log_tail()[-1]
    assert not list(run.path.rglob("*.tmp"))


def test_create_run_refuses_to_overwrite(tmp_path):
    new_run(tmp_path / "run")
    with pytest.raises(FileExistsError):
        new_run(tmp_path / "run")


def test_failed_run_records_the_error(tmp_path):
    rows = [r for r in toy_rows(6) if r["label"] == "pos"]
    run = create_run(tmp_path / "run", tiny_config(), rows, unlabeled_rows())
    with pytest.raises(ValueError):
        execute_run(run.path, backbone=make_backbone())
    status = run.status()
    assert status["state"] == "failed" and "no labeled example" in status["error"]


class StopDuring:
    """Create the STOP file when the given stage of the given iteration starts."""

    def __init__(self, run, stage, iteration):
        self.run, self.stage, self.iteration = run, stage, iteration

    def __call__(self, event):
        if event["type"] == "stage" and event["stage"] == self.stage and event["iteration"] == self.iteration:
            self.run.stop_path.touch()


def test_cancel_with_stop_file_then_resume_matches_uninterrupted(tmp_path):
    full = new_run(tmp_path / "full")
    execute_run(full.path, backbone=make_backbone())
    assert full.status()["state"] == "done"

    run = new_run(tmp_path / "cut")
    execute_run(run.path, callbacks=[StopDuring(run, "student", 2)], backbone=make_backbone())
    status = run.status()
    assert status["state"] == "cancelled" and status["pid"] is None
    # Consistent: iterations 0 and 1 finished, with weights, metrics and pseudo-labels; nothing of iteration 2.
    assert run.finished_iterations() == [0, 1]
    assert [m["iteration"] for m in run.metrics()] == [0, 1]
    assert sorted(pd.read_parquet(run.pseudo_path)["iteration"].unique().tolist()) == [1]
    assert not list(run.path.rglob("*.tmp"))
    assert "cancelled" in " ".join(run.log_tail())

    execute_run(run.path, resume=True, backbone=make_backbone())
    status = run.status()
    assert status["state"] == "done" and status["resumed_from"] == 1
    # Where the second attempt begins, in the log (a killed worker writes nothing when it dies).
    assert "resumed: going on from iteration 1, the last one that finished" in run.log_path.read_text()
    assert not run.stop_path.exists()
    assert [m["iteration"] for m in run.metrics()] == [0, 1, 2]
    assert same(comparable(run.metrics()), comparable(full.metrics()))
    for k, v in ListModel.read_trainable(full.model_path).items():
        assert torch.equal(v, ListModel.read_trainable(run.model_path)[k]), k
    a, b = pd.read_parquet(full.pseudo_path), pd.read_parquet(run.pseudo_path)
    pd.testing.assert_frame_equal(a.sort_values(["iteration", "id"]).reset_index(drop=True),
                                  b.sort_values(["iteration", "id"]).reset_index(drop=True))


def test_resume_after_a_kill_between_weights_and_metrics_keeps_no_model_of_the_dropped_iteration(tmp_path):
    """The worker killed after iteration 2's weights and model.safetensors were written, before its metrics: Resume
    dropped iteration 2 but kept its model, so the run, stopped again before iteration 2 ended, offered on Export
    (model zip, Try it) iteration 2's weights under iteration 1's accuracy."""
    run = new_run(tmp_path / "run", teachers=2)  # 2 iterations; iteration 0 also keeps its ensemble members
    execute_run(run.path, backbone=make_backbone())
    atomic_write_text(run.metrics_path, "".join(json.dumps(m) + "\n" for m in run.metrics() if m["iteration"] < 2))
    assert run.resumable_iterations() == [0, 1]
    execute_run(run.path, resume=True, callbacks=[StopDuring(run, "student", 2)], backbone=make_backbone())
    assert run.status()["state"] == "cancelled" and run.finished_iterations() == [0, 1]
    model, kept = ListModel.read_trainable(run.model_path), ListModel.read_trainable(run.iteration_path(1))
    assert set(model) == set(kept) and all(torch.equal(model[k], kept[k]) for k in kept)
    run.truncate_after(0)  # before iteration 0: its model, without the members only a resume reads
    model = ListModel.read_trainable(run.model_path)
    teacher = ListModel.read_trainable(run.iteration_path(0))
    assert model and not any(k.startswith("ensemble.") for k in model) and any(k.startswith("ensemble.") for k in teacher)
    assert all(torch.equal(v, teacher[k]) for k, v in model.items())
    run.truncate_after(-1)  # starting over: no model until iteration 0 ends again
    assert not run.model_path.exists()


def test_an_interrupted_run_offers_the_model_of_its_last_measured_iteration(tmp_path):
    """The same kill, before any Resume: the run reads 'interrupted', and Export, Try it and Predict offered
    iteration 2's model under iteration 1's accuracy. Its model goes back to iteration 1's when its status is read."""
    run = new_run(tmp_path / "run", teachers=2)
    execute_run(run.path, backbone=make_backbone())
    atomic_write_text(run.metrics_path, "".join(json.dumps(m) + "\n" for m in run.metrics() if m["iteration"] < 2))
    last = ListModel.read_trainable(run.model_path)
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    run.write_status(state="running", pid=proc.pid)
    assert run.status()["state"] == "interrupted"
    model, kept = ListModel.read_trainable(run.model_path), ListModel.read_trainable(run.iteration_path(1))
    assert set(model) == set(kept) and all(torch.equal(model[k], kept[k]) for k in kept)
    assert not all(torch.equal(model[k], last[k]) for k in model)
    mtime = run.model_path.stat().st_mtime_ns
    assert run.status()["state"] == "interrupted" and run.model_path.stat().st_mtime_ns == mtime  # written once
    run.write_status(state="done", pid=None)  # a finished run's model is never touched
    run.append_metrics({"iteration": 2, "accuracy": 0.5})
    atomic_write_text(run.metrics_path, "".join(json.dumps(m) + "\n" for m in run.metrics() if m["iteration"] < 2))
    assert run.status()["state"] == "done" and run.model_path.stat().st_mtime_ns == mtime


def test_resume_after_cancel_in_the_teacher_stage_starts_over(tmp_path):
    run = new_run(tmp_path / "run", iterations=1)
    execute_run(run.path, callbacks=[StopDuring(run, "teacher", 0)], backbone=make_backbone())
    assert run.status()["state"] == "cancelled"
    assert run.finished_iterations() == [] and run.metrics() == []
    execute_run(run.path, resume=True, backbone=make_backbone())
    assert run.status()["state"] == "done"
    assert [m["iteration"] for m in run.metrics()] == [0, 1]
    assert "resumed: no iteration had finished, so the run starts over" in run.log_path.read_text()



def test_ctrl_c_cancels_the_run_as_stop_does(tmp_path):
    """The README: 'Cancel a run with Ctrl-C, kill (SIGTERM) or by creating RUN_DIR/STOP'. Ctrl-C left status
    'failed' with the error 'interrupted (Ctrl-C)' and a Python traceback in train.log, where kill and STOP leave
    'cancelled'. It is 'cancelled' too, and the KeyboardInterrupt still ends the command (exit 130)."""

    def ctrl_c(event):
        if event["type"] == "stage" and event["stage"] == "student" and event["iteration"] == 2:
            raise KeyboardInterrupt

    run = new_run(tmp_path / "run")
    with pytest.raises(KeyboardInterrupt):
        execute_run(run.path, callbacks=[ctrl_c], backbone=make_backbone())
    status = run.status()
    assert status["state"] == "cancelled" and status["error"] is None and status["pid"] is None
    assert run.resumable_iterations() == [0, 1]
    log = run.log_path.read_text()
    assert "cancelled" in log and "Traceback" not in log
    execute_run(run.path, resume=True, backbone=make_backbone())
    assert run.status()["state"] == "done" and [m["iteration"] for m in run.metrics()] == [0, 1, 2]

def test_status_of_a_dead_process_is_interrupted(tmp_path):
    run = new_run(tmp_path / "run")
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    run.write_status(state="running", pid=proc.pid)
    status = run.status()
    assert status["state"] == "interrupted" and "resume" in status["error"]
    # The file itself is untouched; a live pid keeps 'running'.
    assert json.loads(run.status_path.read_text())["state"] == "running"
    import os

    run.write_status(state="running", pid=os.getpid())
    assert run.status()["state"] == "running"


def test_a_dead_process_says_what_resume_will_do(tmp_path):
    """Killed in its first iteration, a run starts over on Resume; the page said 'resume to continue from the last
    iteration' all the same. With a finished iteration it names it."""
    run = new_run(tmp_path / "run")
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    run.write_status(state="running", pid=proc.pid)
    error = run.status()["error"]
    assert error.endswith("no iteration had finished: resume starts it over") and "continue from" not in error
    run.iteration_path(0).write_bytes(b"weights")
    run.append_metrics({"iteration": 0, "accuracy": 0.5})
    run.iteration_path(1).write_bytes(b"weights")  # its metrics never written: Resume goes on from 0
    assert run.status()["error"].endswith("resume goes on from iteration 0, the last one that finished")


def test_a_run_whose_worker_was_never_started_does_not_read_queued_for_ever(tmp_path):
    """A server stopped between writing a run (create_run: queued, no pid) and starting its worker left the run
    'queued' for ever: the Train page showed it starting, and Resume said 'stop it before resuming'. Past a grace
    period a pid-less queued run reads interrupted, with a reason and what to do; a fresh one is still queued."""
    import datetime as dt

    run = new_run(tmp_path / "run")
    assert run.status()["state"] == "queued" and not run.status()["pid"]
    long_ago = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=10)).isoformat(timespec="seconds")
    run.write_status(created_at=long_ago)
    status = run.status()
    assert status["state"] == "interrupted"
    assert status["error"] == ("the training process was never started (the app or the command stopped before it "
                               "could start it); resume to start it")
    assert json.loads(run.status_path.read_text())["state"] == "queued"  # read so; the file is not rewritten
    run.write_status(queued_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))  # queued again
    assert run.status()["state"] == "queued"
    run.write_status(queued_at=long_ago, pid=os.getpid())  # a live worker's run stays queued however long
    assert run.status()["state"] == "queued"


def test_stop_request_and_missing_status(tmp_path):
    run = RunDir(tmp_path / "nothing")
    assert run.status()["state"] == "missing"
    run.path.mkdir()
    assert not run.stop_requested()
    run.request_stop()
    assert run.stop_requested()


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="reads process states from /proc (Linux)")
def test_a_zombie_child_is_not_alive():
    """A finished child not yet reaped still answers kill(pid, 0): pid_alive must read its state instead."""
    import time
    from pathlib import Path

    from list_core.runs import pid_alive

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    stat = Path(f"/proc/{proc.pid}/stat")
    for _ in range(300):  # until it has exited (a zombie: nobody waited for it yet)
        if stat.read_text().split(")")[-1].split()[0] == "Z":
            break
        time.sleep(0.05)
    try:
        assert not pid_alive(proc.pid)
    finally:
        proc.wait()
    assert not pid_alive(proc.pid)


def test_a_stop_pressed_while_the_run_is_queued_cancels_it(tmp_path):
    """Stop right after Start, while the worker still loads torch: the STOP file the app wrote is the worker's
    own (queued with its pid), so the run ends cancelled instead of training to the end; a STOP left from an
    earlier attempt (no worker of this pid queued it) is still cleared."""
    run = new_run(tmp_path / "run")
    run.write_status(state="queued", pid=os.getpid())
    run.request_stop()
    execute_run(run.path, backbone=make_backbone())
    assert run.status()["state"] == "cancelled" and not run.metrics()
    old = new_run(tmp_path / "old")
    old.request_stop()  # left over; nobody queued this run with a pid
    execute_run(old.path, backbone=make_backbone())
    assert old.status()["state"] == "done"


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="reads process start times from /proc (Linux)")
def test_a_worker_pid_taken_by_another_process_reads_as_interrupted(tmp_path):
    """After a restart the recorded pid may belong to another live process: its start time differs from the one
    recorded with the pid, so the run is interrupted (resumable, deletable) instead of running forever."""
    from list_core.runs import pid_alive, process_start

    run = new_run(tmp_path / "run")
    other = subprocess.Popen(["sleep", "30"])
    try:
        run.write_status(state="running", pid=other.pid, pid_started=process_start(os.getpid()))
        assert run.status()["state"] == "interrupted"
        run.write_status(state="running", pid=other.pid, pid_started=process_start(other.pid))
        assert run.status()["state"] == "running" and pid_alive(other.pid, process_start(other.pid))
    finally:
        other.kill()
        other.wait()


def test_a_run_queued_again_shows_nothing_of_the_attempt_before(tmp_path, monkeypatch):
    """Resume after a failure: while the new worker starts, the run reads queued, without the old stage and error
    (the Train page showed 'queued' next to the previous attempt's error)."""
    import list_core.job as job

    class FakeProc:
        pid = os.getpid()

        def wait(self):
            return 0

    monkeypatch.setattr(job.subprocess, "Popen", lambda *a, **kw: FakeProc())
    run = new_run(tmp_path / "run")
    run.write_status(state="failed", error="out of memory", stage="student", pid=None)
    run.request_stop()
    assert job.start_worker(run.path) == os.getpid()
    status = run.status()
    assert status["state"] == "queued" and status["error"] is None and status["stage"] is None
    assert status["pid"] == os.getpid() and not run.stop_requested()


def test_a_resumed_runs_duration_counts_every_attempt(tmp_path, monkeypatch):
    """started_at is the last attempt's start: the time of the attempts before is kept in earlier_seconds, both
    through the app's worker launch and through the command line's resume."""
    import list_core.job as job
    from list_core.runs import attempt_seconds

    run = new_run(tmp_path / "run")
    execute_run(run.path, callbacks=[StopDuring(run, "student", 2)], backbone=make_backbone())
    run.write_status(started_at="2026-01-01T00:00:00+00:00", finished_at="2026-01-01T00:01:00+00:00")
    execute_run(run.path, resume=True, backbone=make_backbone())  # the command line's resume
    status = run.status()
    assert status["state"] == "done" and status["earlier_seconds"] == 60.0
    assert attempt_seconds({"started_at": "2026-01-01T00:00:00+00:00", "updated_at": "2026-01-01T00:00:30+00:00"}) == 30

    class FakeProc:  # the app's launch: the worker itself is not started here
        pid = os.getpid()

        def wait(self):
            return 0

    monkeypatch.setattr(job.subprocess, "Popen", lambda *a, **kw: FakeProc())
    run.write_status(state="cancelled", started_at="2026-01-01T00:02:00+00:00",
                     finished_at="2026-01-01T00:02:30+00:00")
    job.start_worker(run.path, resume=True)
    status = run.status()
    assert status["earlier_seconds"] == 90.0 and status["started_at"] is None and status["state"] == "queued"


def test_a_worker_that_cannot_be_launched_fails_the_run(tmp_path, monkeypatch):
    """The worker process could not be started (fork refused: memory, process limit): the run used to stay
    'queued' forever, polled as 'starting' with Start greyed out; it fails with the reason and can be resumed."""
    import errno

    import list_core.job as job

    def refuse(*args, **kwargs):
        raise OSError(errno.ENOMEM, "Cannot allocate memory")

    run = new_run(tmp_path / "run")
    monkeypatch.setattr(job.subprocess, "Popen", refuse)
    with pytest.raises(OSError):
        job.start_worker(run.path)
    status = run.status()
    assert status["state"] == "failed" and status["pid"] is None
    assert "could not be started" in status["error"] and "Cannot allocate memory" in status["error"]


def test_the_warm_up_and_the_re_weighting_each_count_their_own_steps(tmp_path):
    """The student's steps run 1..student_steps over its warm-up, then its re-weighting: the warm-up's bar and time
    left ran over all of them ('warmup: 10/60 · about 69s left in this stage' when it ended in 4s, the re-weighting
    being another stage, slower a step); each is a stage with its own steps, whose bar ends full."""
    run = new_run(tmp_path / "run", iterations=1, student_steps=8, warmup_fraction=0.5)
    last = {}

    def watch(event):  # after the run's own recorder
        if event["type"] == "progress" and event["stage"] in ("warmup", "reweight") and event["step"] in (4, 8):
            last[event["step"]] = progress_view(run.status())

    execute_run(run.path, callbacks=[watch], backbone=make_backbone())
    assert last[4] == (1.0, 4, 4, "warmup: 4/4")
    assert last[8] == (1.0, 4, 4, "reweight: 4/4")


def test_a_worker_that_cannot_read_the_runs_config_fails_the_run_with_the_reason(tmp_path):
    """Resume of a run whose config.json this version does not accept (a value another version allowed, a damaged
    file): the worker ended before training without a word in status.json, train.log or worker.out, and the Train
    page said 'the training process is gone (killed or the machine restarted); resume to continue' at every Resume."""
    from list_core.config import ConfigError

    run = new_run(tmp_path / "run")
    spec = json.loads(run.config_path.read_text())
    spec["config"]["device"] = "mps"
    run.config_path.write_text(json.dumps(spec))
    run.write_status(state="queued", pid=os.getpid())  # what start_worker leaves for its worker
    with pytest.raises(ConfigError):
        execute_run(run.path, resume=True, backbone=make_backbone())
    status = run.status()
    assert status["state"] == "failed" and "device = 'mps' is not allowed" in status["error"]
    assert "device = 'mps'" in run.log_path.read_text()
    run.config_path.write_text('{"config": {"template"')  # torn
    run.write_status(state="queued", pid=os.getpid())
    with pytest.raises(FileNotFoundError):
        execute_run(run.path, backbone=make_backbone())
    assert run.status()["state"] == "failed" and "config.json" in run.status()["error"]


def test_a_resumed_run_reads_its_data_under_the_iteration_it_resumes_not_iteration_0(tmp_path):
    """Resume after iteration 1: while the worker read its data again (the 'encode' stage, seconds to minutes on a
    large pool) the Train page said 'stage encode · iteration 0', as if the run had started over."""
    run = new_run(tmp_path / "run")
    execute_run(run.path, callbacks=[StopDuring(run, "student", 2)], backbone=make_backbone())
    seen = []

    def at_encode(event):
        if event["type"] == "stage" and event["stage"] == "encode":
            seen.append(run.status()["iteration"])

    execute_run(run.path, resume=True, callbacks=[at_encode], backbone=make_backbone())
    assert run.status()["state"] == "done" and seen == [2]
    assert run.log_path.read_text().count("iteration 0: encode") == 1  # the first attempt's only


def test_a_run_stopped_before_its_first_iteration_ended_does_not_claim_one_was_kept(tmp_path):
    """Stop during the teacher stage: the log said 'the last finished iteration is kept' with none finished, and
    Resume then started the run over without a word."""
    run = new_run(tmp_path / "run")
    execute_run(run.path, callbacks=[StopDuring(run, "teacher", 0)], backbone=make_backbone())
    assert run.status()["state"] == "cancelled" and not run.metrics()
    last = run.log_tail(1)[0]
    assert "last finished iteration is kept" not in last and "starts it over" in last
    stopped_later = new_run(tmp_path / "later")
    execute_run(stopped_later.path, callbacks=[StopDuring(stopped_later, "student", 2)], backbone=make_backbone())
    assert "iteration 1 is kept" in stopped_later.log_tail(1)[0]


def test_resume_from_a_damaged_checkpoint_fails_saying_which_file_and_what_to_do(tmp_path):
    """A checkpoint that does not read as weights (damaged on disk) failed Resume with only 'SafetensorError:
    invalid header length ...': no file named, no way on."""
    run = new_run(tmp_path / "run")
    execute_run(run.path, callbacks=[StopDuring(run, "student", 2)], backbone=make_backbone())
    run.iteration_path(1).write_bytes(b"\x00\x01 not weights")
    with pytest.raises(RuntimeError, match="iter_1.safetensors of iteration 1 is damaged"):
        execute_run(run.path, resume=True, backbone=make_backbone())
    status = run.status()
    assert status["state"] == "failed" and "start a new run with the same settings" in status["error"]
    assert run.finished_iterations() == [0, 1]  # nothing else removed: the files stay for a look
