"""Run directories: every file a training run leaves, written so that a crash never leaves a half-written one.

Layout of RUN_DIR:
  config.json           everything needed to reproduce: the ListConfig, data paths, versions, device, seed
  status.json           state (queued/running/done/failed/cancelled), pid, timestamps, stage, progress, error
  metrics.jsonl         one object per finished iteration (iteration 0 = the teacher before self-training)
  pseudo_labels.parquet text, pseudo_label, confidence, weight, iteration, ... for all iterations so far
  iter_N.safetensors    adapters + head after iteration N; model.safetensors = the latest
  labels.json           the label list and words, so a run directory alone can predict
  train.log             human-readable log
  STOP                  created by anyone to ask the run to stop at the next step

Every write goes to a temporary file in the same directory, is fsynced, then `os.replace`d over the target: readers
(the app polls these files) see the old or the new version, never a torn one.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
import os
import re
import signal
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

_UMASK = os.umask(0)
os.umask(_UMASK)

STATES = ("queued", "running", "done", "failed", "cancelled", "interrupted")
ACTIVE_STATES = ("queued", "running")
# A run is queued without a pid only from create_run / start_worker's first write to the worker's start (the
# next statements, or the command line's execute_run); one still so after this long was never started.
NEVER_STARTED_AFTER_S = 120.0


class Cancelled(Exception):
    """Raised inside the trainer when a STOP file or SIGTERM asks the run to end."""


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path next to `target`; on success fsync it and rename it over `target`."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the permissions a plain open() would
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_text(target: Path, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def finite(data: Any) -> Any:
    """JSON-safe copy: NaN and infinities (a diverged loss, a metric with no data) become null."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: finite(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite(v) for v in data]
    if hasattr(data, "item") and getattr(data, "ndim", 1) == 0:  # numpy / torch scalars
        return finite(data.item())
    return data


def to_json(data: Any, indent: int | None = None) -> str:
    return json.dumps(finite(data), indent=indent, default=str, allow_nan=False)


def atomic_write_json(target: Path, data: Any) -> None:
    atomic_write_text(target, to_json(data, indent=2))


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def parse_time(text: str | None) -> _dt.datetime | None:
    """An ISO time as `now()` writes it; None for a missing or unreadable one."""
    if not text:
        return None
    try:
        return _dt.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def _seconds_since(stamp: Any) -> float:
    """Seconds since an ISO time written by `now()`; 0 for a missing or unreadable one (nothing is concluded)."""
    then = parse_time(stamp)
    if then is None:
        return 0.0
    if then.tzinfo is None:
        then = then.replace(tzinfo=_dt.timezone.utc)
    return (_dt.datetime.now(_dt.timezone.utc) - then).total_seconds()


def read_json(path: Path, default: Any = None) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return default


def attempt_seconds(status: dict[str, Any]) -> float:
    """Seconds the recorded attempt of a run trained: from its start to its end (or its last status update, for a
    worker that was killed). 0 when it never started."""
    try:
        start = _dt.datetime.fromisoformat(status["started_at"])
        end = _dt.datetime.fromisoformat(status.get("finished_at") or status["updated_at"])
    except (KeyError, TypeError, ValueError):
        return 0.0
    return max(0.0, (end - start).total_seconds())


def _proc_stat(pid: int | None) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first, start time at index 19), or None where
    /proc or the process is missing."""
    try:
        return Path(f"/proc/{int(pid)}/stat").read_text().split(")")[-1].split()
    except (OSError, ValueError, TypeError):
        return None


def process_start(pid: int | None) -> str | None:
    """The kernel's start time of process `pid` (field 22 of /proc/PID/stat), or None where /proc is missing: with
    the pid it names one process, so a pid reused after a restart is not taken for the worker."""
    stat = _proc_stat(pid)
    return stat[19] if stat is not None and len(stat) > 19 else None


def pid_alive(pid: int | None, started: str | None = None) -> bool:
    """Whether process `pid` runs (not a zombie); with `started` (`process_start` when it was recorded), whether it
    is still that process."""
    if not pid:
        return False
    stat = _proc_stat(pid)  # one read for both checks, where /proc exists
    if started is not None and stat is not None and len(stat) > 19 and stat[19] != str(started):
        return False  # another process took the pid
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return stat is None or stat[0] != "Z"  # a zombie child (finished, not yet reaped) still answers kill(0)


def process_paused(pid: int | None) -> bool:
    """Whether process `pid` is stopped by a signal (Ctrl-Z, `kill -STOP`): alive, it makes no progress and reads no
    STOP file until it is continued. False where /proc is missing."""
    stat = _proc_stat(pid)
    return stat is not None and stat[0] == "T"


class DamagedRunFile(ValueError):
    """A file of a run directory that no longer reads (damaged from outside: the app's own writes are atomic)."""


class RunDir:
    """Reads and writes one run directory."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    # --- paths ---
    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    def spec(self) -> dict[str, Any]:
        """config.json as written ({'config': ..., 'sources': ...}); {} when it is missing or damaged, so a page
        that only shows a run's settings never fails on one."""
        spec = read_json(self.config_path, {})
        return spec if isinstance(spec, dict) else {}

    def settings(self) -> dict[str, Any]:
        """The run's engine settings (ListConfig as a dict); {} when its config.json is missing or damaged."""
        settings = self.spec().get("config")
        return settings if isinstance(settings, dict) else {}

    def sources(self) -> dict[str, Any]:
        """Where the run's data came from (files, pool version, field map); {} when not recorded."""
        sources = self.spec().get("sources")
        return sources if isinstance(sources, dict) else {}

    def field_columns(self, sources: dict[str, Any] | None = None) -> dict[str, str]:
        """Template field -> the data column the run read it from (its sources' field map, which an app run records
        as column -> field); {} for a run without one. `sources`: `self.sources()` when the caller has it."""
        fmap = (self.sources() if sources is None else sources).get("field_map")
        return {str(f): str(c) for c, f in fmap.items()} if isinstance(fmap, dict) else {}

    @property
    def status_path(self) -> Path:
        return self.path / "status.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def pseudo_path(self) -> Path:
        return self.path / "pseudo_labels.parquet"

    @property
    def log_path(self) -> Path:
        return self.path / "train.log"

    @property
    def stop_path(self) -> Path:
        return self.path / "STOP"

    @property
    def model_path(self) -> Path:
        return self.path / "model.safetensors"

    def iteration_path(self, iteration: int) -> Path:
        return self.path / f"iter_{iteration}.safetensors"

    # --- status ---
    def status(self) -> dict[str, Any]:
        """The recorded status, with a run whose process has died shown as 'interrupted' (never running forever),
        and `paused: True` on an active run whose process is stopped by a signal (it read 'running' all the same)."""
        status = read_json(self.status_path, default=None) or {"state": "missing"}
        if status.get("state") in ACTIVE_STATES and status.get("pid") and not pid_alive(
                status.get("pid"), status.get("pid_started")):
            # What Resume does, as the log of a stopped run says it: a run killed in its first iteration starts
            # over (it said 'resume to continue from the last iteration' when none had finished).
            kept = self.resumable_iterations()
            self._settle_model(kept[-1] if kept else -1)
            then = (f"resume goes on from iteration {kept[-1]}, the last one that finished" if kept else
                    "no iteration had finished: resume starts it over")
            status = {**status, "state": "interrupted",
                      "error": status.get("error") or "the training process is gone (killed or the machine "
                                                       f"restarted); {then}"}
        elif status.get("state") == "queued" and not status.get("pid") and \
                _seconds_since(status.get("queued_at") or status.get("created_at")) > NEVER_STARTED_AFTER_S:
            # The app stopped between writing the run and starting its worker: it read 'queued' for ever.
            status = {**status, "state": "interrupted",
                      "error": "the training process was never started (the app or the command stopped before it "
                               "could start it); resume to start it"}
        elif status.get("state") in ACTIVE_STATES and status.get("pid") and process_paused(status["pid"]):
            status = {**status, "paused": True}
        return status

    def write_status(self, **changes: Any) -> dict[str, Any]:
        status = read_json(self.status_path, default=None) or {}
        status.update(changes)
        status["updated_at"] = now()
        atomic_write_json(self.status_path, status)
        return status

    # --- metrics ---
    def metrics(self) -> list[dict[str, Any]]:
        if not self.metrics_path.exists():
            return []
        rows = []
        for line in self.metrics_path.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                rows.append(json.loads(line))
        return rows

    def append_metrics(self, row: dict[str, Any]) -> None:
        """Rewrite the whole file atomically (it is small): an append could be torn by a crash."""
        rows = [r for r in self.metrics() if r.get("iteration") != row.get("iteration")] + [row]
        atomic_write_text(self.metrics_path, "".join(to_json(r) + "\n" for r in rows))

    def truncate_after(self, iteration: int) -> None:
        """Drop metrics, pseudo-labels and checkpoints of iterations after `iteration` (before resuming from it)."""
        rows = [r for r in self.metrics() if r.get("iteration", 0) <= iteration]
        atomic_write_text(self.metrics_path, "".join(to_json(r) + "\n" for r in rows))
        dropped = [later for later in self.finished_iterations() if later > iteration]
        if dropped:  # model.safetensors may be a dropped iteration's: it is written after its checkpoint
            self._restore_model(iteration)
        for later in dropped:
            self.iteration_path(later).unlink(missing_ok=True)
        if self.pseudo_path.exists():
            import pandas as pd

            frame = pd.read_parquet(self.pseudo_path)
            self.write_pseudo_labels(frame[frame["iteration"] <= iteration])

    def _settle_model(self, kept: int) -> None:
        """A run whose worker died: model.safetensors goes back to the last measured iteration's when it is a later
        one's. A kill between an iteration's model and its metrics left that model beside the earlier iteration's
        accuracy, and Export, Try it and Predict offered it under that accuracy until a Resume (which does the
        same). Reads the file's header only; writes once."""
        if not self.model_path.exists():
            return
        try:
            from safetensors import safe_open

            with safe_open(str(self.model_path), "pt") as handle:  # save_trainable's metadata, as JSON
                iteration = int(json.loads((handle.metadata() or {}).get("metadata") or "{}").get("iteration", kept))
        except Exception:  # noqa: BLE001 - a damaged model file is said where it is loaded; status must not fail
            return
        if iteration > kept:
            self._restore_model(kept)

    def _restore_model(self, iteration: int) -> None:
        """model.safetensors as iteration `iteration` left it (its checkpoint without the resume-only ensemble
        members), or none before any. A worker killed between an iteration's weights and its metrics left that
        iteration's model: Resume dropped the iteration but kept its model, which Export then offered (and kept,
        if the resumed run was stopped) under the earlier iteration's accuracy."""
        source = self.iteration_path(iteration)
        if iteration < 0 or not source.exists():
            self.model_path.unlink(missing_ok=True)
            return
        from safetensors import safe_open
        from safetensors.torch import save_file

        from .trainer import MEMBER_PREFIX

        with safe_open(str(source), "pt") as handle:
            metadata = handle.metadata()
            state = {k: handle.get_tensor(k) for k in handle.keys() if not k.startswith(MEMBER_PREFIX)}
        with atomic_path(self.model_path) as tmp:
            save_file(state, str(tmp), metadata=metadata)

    # --- pseudo-labels ---
    def pseudo_labels(self):
        import pandas as pd

        if not self.pseudo_path.exists():
            return pd.DataFrame(columns=["id", "text", "pseudo_label", "confidence", "weight", "iteration"])
        try:
            return pd.read_parquet(self.pseudo_path)
        except Exception as exc:  # pyarrow's ArrowInvalid (a ValueError) or an OSError, from a file cut short
            raise DamagedRunFile(
                f"the pseudo-labels of run {self.path.name} cannot be read ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:120]}): {self.pseudo_path.name} was damaged outside the app, whose own "
                "writes are atomic. The run's model and metrics are not in that file: Export still downloads the "
                "model. Start a new run for pseudo-labels, or delete this one on the Runs page.") from exc

    def write_pseudo_labels(self, frame) -> None:
        with atomic_path(self.pseudo_path) as tmp:
            frame.to_parquet(tmp, index=False)

    def append_pseudo_labels(self, frame) -> None:
        import pandas as pd

        old = self.pseudo_labels()
        if len(old):
            old = old[old["iteration"] != frame["iteration"].iloc[0]] if len(frame) else old
            frame = pd.concat([old, frame], ignore_index=True)
        self.write_pseudo_labels(frame)

    # --- log and stop ---
    def log(self, message: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {message}\n"
        with open(self.log_path, "a", encoding="utf-8") as fh:  # append-only text: a torn last line is harmless
            fh.write(line)

    def log_tail(self, n: int = 20) -> list[str]:
        if not self.log_path.exists():
            return []
        return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-n:]

    def log_messages(self, n: int = 12) -> list[str]:
        """The run's own last log lines, without the Python tracebacks a failed worker also writes to the log (for
        debugging): shown in the app, their last lines pushed out the run's lines and the 'failed: ...' line."""
        out, in_traceback = [], False
        for line in self.log_tail(400):
            if line.startswith("Traceback (most recent call last)"):
                in_traceback = True
            elif in_traceback and re.match(r"\d\d:\d\d:\d\d ", line):  # the log's next time-stamped line
                in_traceback = False
            if not in_traceback:
                out.append(line)
        return out[-n:]

    def request_stop(self) -> None:
        self.stop_path.touch()

    def stop_requested(self) -> bool:
        return self.stop_path.exists()

    def finished_iterations(self) -> list[int]:
        return sorted(int(p.stem.split("_")[1]) for p in self.path.glob("iter_*.safetensors"))

    def resumable_iterations(self) -> list[int]:
        """Finished iterations a resume can continue from: their weights and their metrics both written. Weights
        come first, so a kill or a full disk between the two left an iteration without metrics; resuming after it
        skipped it for good (the run ended 'done' without that iteration's metrics, and with the model before it)."""
        measured = {row.get("iteration") for row in self.metrics()}
        return [it for it in self.finished_iterations() if it in measured]


class StopFlag:
    """True once SIGTERM arrived or the run's STOP file exists; the trainer checks it at every step."""

    def __init__(self, run: RunDir | None = None):
        self.run = run
        self.signalled = False

    @contextlib.contextmanager
    def sigterm(self) -> Iterator[None]:
        """Within the block SIGTERM sets the flag instead of killing the process; the old handler comes back."""
        def handler(signum, frame):  # noqa: ARG001 - signal API
            self.signalled = True

        try:
            previous = signal.signal(signal.SIGTERM, handler)
        except ValueError:  # not in the main thread: rely on the STOP file
            yield
            return
        try:
            yield
        finally:
            signal.signal(signal.SIGTERM, previous)

    def __call__(self) -> bool:
        return self.signalled or (self.run is not None and self.run.stop_requested())
