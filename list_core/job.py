"""A training job: data + config -> a run directory, run in this process (CLI) or in a detached worker (app).

`create_run` freezes the inputs (the cleaned labeled/unlabeled/eval rows are copied into RUN_DIR/data as Parquet, so
a run never depends on files that may change later) and the config with versions and device. `execute_run` trains
from that directory and records everything through `RunRecorder`; `start_worker` launches it as a separate process
that survives a Streamlit refresh or restart. Resuming reloads the last finished iteration's checkpoint.
"""

from __future__ import annotations

import errno
import os
import platform
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Sequence

from .config import ListConfig
from .runs import (Cancelled, RunDir, StopFlag, atomic_path, atomic_write_json, attempt_seconds, now, process_start,
                   read_json)

__version__ = "0.1.0"


def environment_info(device: str | None = None) -> dict[str, Any]:
    import datasets
    import torch
    import transformers

    return {"list_core": __version__, "python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__, "datasets": datasets.__version__,
            "platform": platform.platform(), "cuda_available": torch.cuda.is_available(),
            "device": device, "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads()}


def _write_rows(path: Path, rows: Sequence[dict]) -> None:
    import pandas as pd

    with atomic_path(path) as tmp:
        pd.DataFrame(list(rows)).to_parquet(tmp, index=False)


def _read_rows(path: Path) -> list[dict]:
    import pandas as pd

    if not path.exists():
        return []
    return pd.read_parquet(path).to_dict("records")


def create_run(run_dir: str | Path, config: ListConfig, labeled: Sequence[dict], unlabeled: Sequence[dict] = (),
               eval_set: Sequence[dict] | None = None, sources: dict[str, Any] | None = None) -> RunDir:
    """Write config.json, the frozen data and a 'queued' status. Refuses to overwrite another run's files."""
    run = RunDir(run_dir)
    if run.config_path.exists():
        raise FileExistsError(f"{run.path} already holds a run; choose a new --out directory or delete it")
    run.path.mkdir(parents=True, exist_ok=True)
    _write_rows(run.path / "data" / "labeled.parquet", labeled)
    _write_rows(run.path / "data" / "unlabeled.parquet", unlabeled)
    if eval_set:
        _write_rows(run.path / "data" / "eval.parquet", eval_set)
    atomic_write_json(run.config_path, {"config": config.to_dict(), "sources": sources or {},
                                        "environment": environment_info(), "created_at": now(),
                                        "counts": {"labeled": len(labeled), "unlabeled": len(unlabeled),
                                                   "eval": len(eval_set or [])}})
    atomic_write_json(run.path / "labels.json", {"labels": list(config.verbalizer),
                                                 "words": list(config.verbalizer.values()),
                                                 "template": config.template})
    run.write_status(state="queued", created_at=now(), pid=None, stage=None, error=None)
    return run


class RunRecorder:
    """Trainer callback that keeps the run directory current (status at most every `interval` seconds)."""

    def __init__(self, run: RunDir, model_getter, interval: float = 1.0, teachers: int = 1,
                 warmup_steps: int | None = None, resumed_after: int | None = None):
        self.run, self.model_getter, self.interval = run, model_getter, interval
        # A resumed run reads its data again (the trainer's 'encode' stage, of iteration 0) before the iteration it
        # resumes: said as that iteration, not as 0, which read as a run started over.
        self.resumed_after = resumed_after
        # The student's steps count 1..student_steps over its warm-up and its re-weighting: each is shown as a
        # stage of its own steps, so the warm-up's bar and time left do not run over the re-weighting's steps
        # (each slower: it takes a meta-gradient).
        self.warmup_steps = warmup_steps
        self._last = 0.0
        self.stage = None
        self.iteration = 0
        # Some stages run in passes that each count steps from 1: the first teachers train one after another, and
        # each is then run over the pool. The status says which pass ("part", of "parts" where known) so the
        # progress bar runs over all teachers, and a pass that starts over is named, not shown as a jump back.
        self.teachers = max(1, int(teachers))
        self._passes: dict[str, int] = {}
        self._prev_steps: dict[str, int] = {}

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "stage":
            self.stage, self.iteration = event["stage"], event.get("iteration", self.iteration)
            if self.stage == "encode" and self.resumed_after is not None:
                self.iteration = self.resumed_after + 1
            self.run.log(f"iteration {self.iteration}: {self.stage}")
            self._passes, self._prev_steps = {}, {}
            self.run.write_status(stage=self.stage, iteration=self.iteration, step=0, total=None, part=None,
                                  parts=None)
            self._last = time.time()
        elif kind == "progress":
            name, new_part = event["stage"], False
            if event["step"] <= self._prev_steps.get(name, 0):  # this stage started over: its next pass
                self._passes[name], new_part = self._passes.get(name, 1) + 1, True
            self._prev_steps[name] = event["step"]
            step, total, warm = event["step"], event["total"], self.warmup_steps
            if warm and name == "warmup" and step <= warm < total:
                total = warm
            elif warm and name == "reweight" and warm < step <= total:
                step, total = step - warm, total - warm
            part = self._passes.get(name, 1)
            if name == "teacher" and self.teachers > 1:
                parts = {"part": min(part, self.teachers), "parts": self.teachers}
            else:
                parts = {"part": part if part > 1 else None, "parts": None}
            if time.time() - self._last >= self.interval or step == total or new_part:
                self.run.write_status(stage=event["stage"], iteration=self.iteration, step=step, total=total,
                                      loss=event.get("loss"), **parts)
                self._last = time.time()
        elif kind == "info":
            self.run.write_status(info={k: v for k, v in event.items() if k != "type"})
        elif kind == "log":
            self.run.log(event["message"])
        elif kind == "examples":
            import pandas as pd

            self.run.append_pseudo_labels(pd.DataFrame(event["records"]))
        elif kind == "iteration":
            it, metrics = event["iteration"], event["metrics"]
            model = self.model_getter()
            meta = {"iteration": it, "labels": list(model.config.verbalizer)}
            # Checkpoint before metrics: a listed iteration always has its weights.
            model.save_trainable(self.run.iteration_path(it), {**event["state"], **event.get("resume_state", {})},
                                 meta)
            model.save_trainable(self.run.model_path, event["state"], meta)
            self.run.append_metrics(metrics)
            acc = metrics.get("accuracy")
            self.run.log(f"iteration {it} done in {metrics['seconds']:.1f}s"
                         + (f": accuracy {acc:.3f}, macro-F1 {metrics['macro_f1']:.3f}" if acc is not None else ""))


def execute_run(run_dir: str | Path, resume: bool = False, callbacks: Sequence = (), backbone: tuple | None = None):
    """Train the run in this process; returns the trainer. Status ends as done, cancelled or failed."""
    from .trainer import ListTrainer

    run = RunDir(run_dir)
    try:
        spec = read_json(run.config_path)
        if spec is None:
            raise FileNotFoundError(f"{run.path} has no readable config.json: not a run directory, or its "
                                    "config.json is damaged")
        config = ListConfig.from_dict(spec["config"])
    except BaseException as exc:  # noqa: BLE001 - a run's worker must say why it ended (the app shows status.json)
        if run.status_path.exists():  # a run directory, not a wrong --out of the command line
            _record_failure(run, exc)
        raise
    launched = run.status()  # by start_worker: 'queued' with this process's pid, after it removed any old STOP
    if run.stop_path.exists() and not (launched.get("state") == "queued" and launched.get("pid") == os.getpid()):
        run.stop_path.unlink()  # the STOP of an earlier attempt (CLI --resume); a Stop while queued is kept
    stop = StopFlag(run)
    resume_state = None
    if resume:
        try:  # a failure here (the disk still full, a damaged checkpoint) is the run's error, not a vanished worker
            done = run.resumable_iterations()
            if done:
                resume_state = (done[-1], _read_checkpoint(run, done[-1]))
            run.truncate_after(done[-1] if done else -1)
            # Marks where a new attempt begins in train.log: a killed worker wrote nothing when it died.
            run.log(f"resumed: going on from iteration {done[-1]}, the last one that finished" if done else
                    "resumed: no iteration had finished, so the run starts over")
        except BaseException as exc:  # noqa: BLE001 - every failure must reach status.json
            _record_failure(run, exc)
            raise
    # A resumed run's duration counts every attempt, not only the last one (started_at is this attempt's start).
    earlier = (float(launched.get("earlier_seconds") or 0) + attempt_seconds(launched)) if resume else 0.0
    run.write_status(state="running", pid=os.getpid(), pid_started=process_start(os.getpid()), started_at=now(),
                     error=None, finished_at=None, resumed_from=resume_state[0] if resume_state else None,
                     earlier_seconds=round(earlier, 1))
    trainer = ListTrainer(config, stop=stop, backbone=backbone)
    recorder = RunRecorder(run, lambda: trainer.model_, teachers=config.teachers, warmup_steps=config.warmup_steps,
                           resumed_after=resume_state[0] if resume_state else None)
    trainer.callbacks = [recorder, *callbacks]
    try:
        with stop.sigterm():
            trainer.fit(_read_rows(run.path / "data" / "labeled.parquet"),
                        _read_rows(run.path / "data" / "unlabeled.parquet"),
                        _read_rows(run.path / "data" / "eval.parquet") or None, resume_state=resume_state)
    except (Cancelled, KeyboardInterrupt) as exc:  # STOP, SIGTERM, or Ctrl-C on the command line: all cancel
        kept = run.resumable_iterations()
        run.log(("cancelled (Ctrl-C)" if isinstance(exc, KeyboardInterrupt) else "cancelled: stopped at the next "
                 "step") + "; " + (f"iteration {kept[-1]} is kept, Resume goes on from it"
                                   if kept else "no iteration had finished: Resume starts it over"))
        run.write_status(state="cancelled", finished_at=now(), pid=None)
        if isinstance(exc, KeyboardInterrupt):
            raise  # the command line still ends with 'interrupted' (exit 130)
        return trainer
    except BaseException as exc:  # noqa: BLE001 - every failure must reach status.json
        _record_failure(run, exc)
        raise
    env = environment_info(str(trainer.model_.device_))
    spec["environment"] = env
    atomic_write_json(run.config_path, spec)
    run.write_status(state="done", finished_at=now(), pid=None, stage="done")
    run.log("done")
    return trainer


def _read_checkpoint(run: RunDir, iteration: int) -> dict[str, Any]:
    """The trainable weights of a finished iteration, to resume from. A file that does not read as weights (damaged
    on disk; the writes themselves are atomic) is named, with what to do: 'SafetensorError: invalid header length'
    said neither."""
    from .modeling import ListModel

    path = run.iteration_path(iteration)
    try:
        return ListModel.read_trainable(path)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise  # said as a full disk
        raise RuntimeError(f"the checkpoint {path.name} of iteration {iteration} cannot be read ({exc}); start a "
                           "new run with the same settings") from exc
    except Exception as exc:  # safetensors' own error type, a missing tensor, ...
        raise RuntimeError(f"the checkpoint {path.name} of iteration {iteration} is damaged ({type(exc).__name__}: "
                           f"{str(exc)[:200]}); Resume cannot go on from it: start a new run with the same "
                           "settings") from exc


def _record_failure(run: RunDir, exc: BaseException) -> None:
    """The run failed with `exc` (being handled): the reason in train.log and status.json, the traceback in the log."""
    message = _describe_failure(exc)
    run.log("failed: " + message)
    with open(run.log_path, "a", encoding="utf-8") as fh:
        fh.write(traceback.format_exc())
    run.write_status(state="failed", finished_at=now(), error=message, pid=None)


def _describe_failure(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, MemoryError) or "out of memory" in str(exc).lower():
        text = ("out of memory: lower the batch sizes or max_length, use fewer unlabeled examples per iteration, "
                f"or a smaller model ({text[:200]})")
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        text = ("disk full: free some space where the run directory is, then resume; the files of the last "
                f"finished iteration are intact ({text[:200]})")
    if isinstance(exc, KeyboardInterrupt):
        text = "interrupted (Ctrl-C)"
    return text[:2000]


def start_worker(run_dir: str | Path, resume: bool = False, threads: int | None = None) -> int:
    """Run `execute_run` in a detached process (own session: survives the UI process); returns its pid."""
    run = RunDir(run_dir)
    run.stop_path.unlink(missing_ok=True)  # a Stop of an earlier attempt; a Stop from now on counts
    cmd = [sys.executable, "-m", "list_core", "worker", "--run", str(run.path)] + (["--resume"] if resume else [])
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    # Queued before the worker exists, so its own 'running' can never be overwritten by this; a resumed run is
    # queued afresh (the previous attempt's stage and error would contradict 'queued').
    prev = read_json(run.status_path, {}) or {}  # the attempt before (a resume): its time is kept, not its state
    run.write_status(state="queued", pid=None, queued_at=now(), stage=None, error=None, started_at=None,
                     finished_at=None, earlier_seconds=round(float(prev.get("earlier_seconds") or 0)
                                                             + attempt_seconds(prev), 1))
    log = open(run.path / "worker.out", "ab")
    try:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=str(Path(__file__).resolve().parent.parent), env=env, start_new_session=True)
    except OSError as exc:  # no process (fork refused: memory, process limit): the run must not read queued forever
        run.write_status(state="failed", finished_at=now(),
                         error=f"the training process could not be started ({type(exc).__name__}: {exc}); "
                               "resume to try again")
        raise
    finally:
        log.close()
    # Reap the child when it ends, so a long-lived UI process does not collect finished workers as zombies. This
    # thread only waits; the training runs in the child (which outlives this process if the UI restarts).
    threading.Thread(target=proc.wait, name=f"reap-{proc.pid}", daemon=True).start()
    run.write_status(pid=proc.pid, pid_started=process_start(proc.pid))
    return proc.pid
