"""Shared helpers of the LiST Studio pages: the current workspace/run and readable errors (never a traceback)."""

from __future__ import annotations

import contextlib
import re
import secrets
from pathlib import Path

import streamlit as st

from list_core import workspace as W
from list_core.config import ConfigError
from list_core.data import DataError
from list_core.modeling import ModelLoadError
from list_core.prompts import PromptError

USER_ERRORS = (DataError, PromptError, ConfigError, ModelLoadError, W.WorkspaceError, W.DamagedRunFile,
               FileNotFoundError, FileExistsError)


@contextlib.contextmanager
def errors(where=None):
    """Show user-fixable errors as st.error(message); anything else as a short message too (no traceback)."""
    target = where or st
    try:
        yield
    except USER_ERRORS as exc:
        target.error(plain(str(exc)))
    except (ValueError, OSError, RuntimeError) as exc:
        target.error(plain(f"{type(exc).__name__}: {exc}"))


def ensure_workspace() -> str:
    """The workspace lives in the URL (?ws=...): a refresh or a server restart reopens it; a new session gets a
    fresh random one, so two sessions never see each other's work unless they open the same name."""
    wanted = st.query_params.get("ws") or st.session_state.get("ws_name")
    try:
        name = W.validate_name(wanted) if wanted else W.new_workspace_name()
    except W.WorkspaceError as exc:
        st.toast(str(exc))
        name = W.new_workspace_name()
    workspace = W.Workspace(name)
    st.session_state["ws_name"] = name
    try:  # a table damaged on disk from outside failed every page, the Data page too, where it can be fixed
        for note in workspace.repair_damaged_tables():
            st.warning(plain(note), icon=":material/build:")
    except (W.WorkspaceError, OSError) as exc:
        st.error(plain(f"A table of this workspace could not be read or repaired: {exc}"))
    wanted_params = {"ws": name}
    # No run named yet: the newest, the one every page shows first, goes into the address now, with the workspace
    # (a page that wrote it on its own added a second history entry, and Back seemed to do nothing).
    run = st.query_params.get("run") or st.session_state.get("run_id") or next(iter(workspace.run_ids()), None)
    if run:
        wanted_params["run"] = run
        st.session_state["run_id"] = run
    # One update: each change of the address is a browser history entry, and a page change (which clears the
    # address's parameters) put back 'ws' and 'run' one at a time, so Back took three presses a page.
    changes = {k: v for k, v in wanted_params.items() if st.query_params.get(k) != v}
    if changes:
        st.query_params.update(changes)
    return name


def open_workspace(name: str) -> None:
    """Switch this session to workspace `name`. The pages' widget values (template, label words, class list, file
    and column choices, ...) were made in the old workspace, and a Save on the new one's page would write them
    there, so every value goes; the uploader gets a new key, so a file picked for the old one is not offered."""
    gen = st.session_state.get("uploader_gen", 0) + 1
    tab = tab_id()
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.session_state["uploader_gen"] = gen
    st.session_state["_tab_id"] = tab  # its undo steps in the first workspace stay its own
    st.session_state["ws_name"] = name
    st.query_params.clear()
    st.query_params["ws"] = name
    st.rerun()


def tab_id() -> str:
    """This browser tab's (session's) own id: Undo takes back the steps made in this tab only. Two tabs on one
    workspace (or two people sharing it) share its undo history, and one tab's Undo took back the other's last
    label. A refresh is a new session, with a new id."""
    return st.session_state.setdefault("_tab_id", secrets.token_hex(6))


def follow_class(workspace: W.Workspace, key: str) -> None:
    """A class picker (session key `key`) whose class another tab renamed since shows the new name; one whose class
    was taken out shows none. Streamlit put the first class in its place without a word, and the next paste or
    Correct filed the texts under that class."""
    value = st.session_state.get(key)
    if value is not None and value not in workspace.classes:
        st.session_state[key] = workspace.class_now(value)


def state_word(state: str | None) -> str:
    """A run's state as the pages say it: 'cancelled' (the run directory's word) reads 'stopped', what the person
    did with the Stop button."""
    return {"cancelled": "stopped"}.get(state or "", state or "unknown")


def say_unknown_run(wanted: str) -> None:
    """The address names a run this workspace does not have (deleted, or another workspace's): say what is shown."""
    st.caption(f"Run {wanted} is not in this workspace (deleted?); showing the newest run.")


def not_there_yet(run, what: str, when: str) -> str:
    """Why a run has no `what` yet: it may still come (an active run), or only if the run is resumed."""
    state = run.status().get("state")
    if state in ("cancelled", "failed", "interrupted"):
        # 'failed' is something the run did ('This run was failed' read wrong); stopped and interrupted befell it.
        return (f"This run {'failed' if state == 'failed' else 'was ' + state_word(state)} before it had {what}. "
                "Resume it on the Train page (Runs lists every run), or pick another run above.")
    if state == "done":  # finished without them: 0 self-training iterations, or no unlabeled text to pseudo-label
        return (f"This run finished without {what}: it did no self-training (0 iterations, or no unlabeled "
                "texts). Load a pool on the Data page and start a run with self-training to get them.")
    # 'does not have': `what` may come with its article ('a trained model'), and 'has no a trained model' read wrong.
    return f"This run does not have {what} yet: {when}."


_MD_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def quoted_text(text: str) -> str:
    """A user's text as a markdown block quote that shows it as written: every ASCII punctuation character escaped
    (st.markdown read '$$...$$' as a formula, '# ' as a heading, '*x*' as italics, ':red[x]' as colour), each line
    quoted and kept on its own line."""
    lines = str(text).splitlines() or [""]
    return "  \n".join("> " + _MD_PUNCTUATION.sub(r"\\\1", ln.strip()) for ln in lines)


def plain(text: str) -> str:
    """A message that names the user's classes, texts or files, shown as written: st.error, st.warning and button
    labels read Markdown, so a class '*x*' came out in italics and a text with '$5 ... $10' as a formula."""
    return _MD_MARKUP.sub(r"\\\1", str(text))


# What st.markdown reads as markup in running text: emphasis, code, formulas, links, HTML, headings, tables,
# ':+1:' shortcodes and ':red[...]' directives (a colon before a letter is one even without its brackets: ':red b'
# lost ':red'). An underscore inside a word ('labeled_lr') is no emphasis, and colons before a space, quotes, dots and
# dashes are no markup either: they stay as they are, so a message reads the same in the page source.
_MD_MARKUP = re.compile(r"([\\*$~`\[\]<>#|]|(?<!\w)_|_(?!\w)|:(?=[\w+-]+:)|:(?=[A-Za-z]))")


def grid(n: int, per_row: int) -> list:
    """n equal cells in rows of at most `per_row` columns: 15 classes side by side leave each about 40 px."""
    per_row = max(1, min(n, per_row))
    cells: list = []
    for start in range(0, n, per_row):
        cells += st.columns(per_row)[: min(per_row, n - start)]
    return cells


def class_colors(n_classes: int) -> list[str] | None:
    """Colours for per-class charts: plotly's default 10 up to 10 classes, then Dark24 without its second
    magenta-pink (#FC0080 next to #FB00D1 could not be told apart in a 15-class legend)."""
    import plotly.express as px

    if n_classes <= 10:
        return None
    return [c for c in px.colors.qualitative.Dark24 if c.upper() != "#FC0080"]


def try_it_chart(classes: list[str], proba: list[float]):
    """The Try-it answer as one labelled bar per class, most likely on top, the scale 0-100 % whatever the answer:
    Streamlit's bar chart was a small unlabelled strip whose axis stretched to the largest bar."""
    import plotly.express as px

    order = sorted(range(len(classes)), key=lambda i: -proba[i])
    fig = px.bar(x=[proba[i] for i in order], y=[str(classes[i]) for i in order], orientation="h",
                 text=[W.percent(proba[i], 1) for i in order], range_x=[0, 1],
                 labels={"x": "probability", "y": ""}, color_discrete_sequence=["#1f77b4"])
    fig.update_traces(textposition="outside", cliponaxis=False)
    fig.update_layout(height=90 + 34 * len(classes), margin=dict(t=10, b=10, l=10, r=40),
                      yaxis=dict(autorange="reversed"), xaxis=dict(tickformat=".0%"))
    return fig


def ws() -> W.Workspace:
    """The session's workspace; an unreadable one is reported and the page stops (no traceback)."""
    try:
        return W.Workspace(st.session_state.get("ws_name") or ensure_workspace())
    except (W.WorkspaceError, OSError) as exc:
        st.error(f"cannot open the workspace: {exc}")
        st.stop()


def run_label(workspace: W.Workspace, rid: str) -> str:
    """'r (done, accuracy 83.3%)': the last iteration's accuracy (what Export gives) tells runs apart in a picker."""
    run = workspace.run(rid)
    acc = next((m["accuracy"] for m in reversed(run.metrics()) if m.get("accuracy") is not None), None)
    return f"{rid} ({state_word(run.status().get('state'))}" + (f", accuracy {W.percent(acc, 1)})" if acc is not None
                                                                 else ")")


def current_run(workspace: W.Workspace, label: str = "Run", key: str = "run_select") -> str | None:
    """A run picker bound to the `run` query parameter (so a refresh keeps it)."""
    ids = workspace.run_ids()
    if not ids:
        st.info("No runs yet: start one on the Train page.")
        return None
    wanted = st.query_params.get("run")
    index = ids.index(wanted) if wanted in ids else 0
    if wanted and wanted not in ids:
        say_unknown_run(wanted)
    rid = st.selectbox(label, ids, index=index, key=key, format_func=lambda r: run_label(workspace, r))
    if st.query_params.get("run") != rid:
        st.query_params["run"] = rid
        st.session_state["run_id"] = rid
    return rid


@st.cache_resource(max_entries=4, show_spinner=False)
def pseudo_frame(path: str, mtime: float):
    """A run's pseudo-label table, read once per file version (read-only: do not modify the result)."""
    from list_core.runs import RunDir

    del mtime
    return RunDir(path).pseudo_labels()


def pseudo_labels(run) -> "object":
    p = Path(run.pseudo_path)
    return pseudo_frame(str(run.path), p.stat().st_mtime if p.exists() else 0.0)


@st.cache_resource(max_entries=2, show_spinner="Loading the trained model...")
def classifier(path: str, mtime: float):
    from list_core.classifier import ListClassifier

    del mtime
    return ListClassifier.load(path)


@st.cache_data(max_entries=2, show_spinner="Predicting the file...")
def file_predictions(ws_name: str, run_path: str, mtime: float, filename: str, data: bytes,
                     columns: tuple[str, ...]) -> tuple[bytes, str]:
    """(CSV bytes, read summary) of a file's predictions, made once per model file, upload and text columns: the
    Export page reruns on every click (the Try-it box's included), and each rerun predicted the whole file again."""
    out, report = W.Workspace(ws_name).predict_upload(classifier(run_path, mtime), filename, data, list(columns))
    return out, W.prediction_summary(report)


def flash(message: str, kind: str = "success") -> None:
    """Show a message after the next rerun (st.rerun would drop one shown now)."""
    st.session_state["_flash"] = (kind, message)


def show_flash() -> None:
    """Always one container, so the layout below (e.g. the selected tab) stays the same with or without a message."""
    box = st.container()
    kind, message = st.session_state.pop("_flash", (None, None))
    if message:
        getattr(box, kind)(plain(message))
