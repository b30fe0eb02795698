"""Data: upload unlabeled text (or pick a bundled sample), choose the text column, see what was read."""

import streamlit as st

from list_core import workspace as W
from list_core.data import DataError
from list_core.workspace import guess_label_column, guess_text_columns, numeric_columns
from app_pages._ui import errors, plain, ws

st.title("Data")
w = ws()
st.caption("Upload the unlabeled texts to classify: CSV, TSV, JSONL, JSON, Parquet or TXT (one text per line).")

gen = st.session_state.setdefault("uploader_gen", 0)
files = st.file_uploader("Upload files", type=["csv", "tsv", "jsonl", "json", "parquet", "txt"],
                         accept_multiple_files=True, key=f"uploads_{gen}")
if files:
    notes = []
    for f in files:
        try:
            uses = w.upload_in_use(f.name)
            saved = st.session_state["data_file"] = w.add_upload(f.name, f.getvalue())  # select it
            st.session_state.pop("_columns_of", None)  # its own columns' defaults, even under a name seen before
            # Under the name the file list shows: 'a (final).csv' is saved as 'a _final_.csv'.
            name = saved if saved == f.name else f"{f.name} (saved as {saved})"
            notes.append(("warning", f"{name} added in place of the file of that name, which {' and '.join(uses)} "
                                     f"{'was' if len(uses) == 1 else 'were'} read from: "
                                     f"{'it keeps' if len(uses) == 1 else 'they keep'} the rows read before until you "
                                     "use the new file below") if uses else ("success", f"{name} added"))
        except (DataError, W.WorkspaceError, OSError) as exc:
            notes.append(("error", f"{f.name} was not added: {exc}"))
    # A fresh uploader: its chips would otherwise keep showing refused files as if they were in.
    st.session_state["uploader_gen"] = gen + 1
    st.session_state["upload_notes"] = notes
    st.rerun()
for kind, note in st.session_state.get("upload_notes", []):  # until the next upload
    getattr(st, kind)(plain(note))
w.reload()
choices = w.list_uploads() + [f"sample:{s}" for s in w.samples()]
if not choices:
    st.stop()
pool = w.state.get("pool") or {}
if st.session_state.get("data_file") not in choices:  # the pool in use; otherwise nothing is chosen for the user
    st.session_state["data_file"] = pool.get("file") if pool.get("file") in choices else None
src = st.selectbox("File to use", choices, key="data_file", placeholder="Choose an upload or a bundled sample",
                   format_func=W.display_file)


def remove_file(name: str) -> None:
    try:
        w.remove_upload(name)
    except W.WorkspaceError as exc:
        st.session_state["upload_notes"] = [("error", str(exc))]
        return
    st.session_state["data_file"] = None  # allowed in a callback: the box is not drawn yet
    st.session_state["upload_notes"] = [("success", f"{name} removed from this workspace")]


if src is not None and not src.startswith("sample:"):
    in_use = w.upload_in_use(src)
    st.button("Remove this file", key="remove_upload", on_click=remove_file, args=(src,), disabled=bool(in_use),
              help=(f"{' and '.join(in_use).capitalize()} {'was' if len(in_use) == 1 else 'were'} read from this "
                    "file: it stays while in use." if in_use else "Take this upload off the list and the disk. "
                    "Runs keep their own copy of their data."))


def value_pickers(values: list[tuple[str, int]], options: list[str], prefix: str) -> dict[str, str]:
    """A class picker per label value (with its row count), for matching a file's label values to the classes."""
    return {value: st.selectbox(plain(f"{value!r} ({count:,} row{'' if count == 1 else 's'})"), options,
                                key=f"{prefix}{value}") for value, count in values}


with errors():
    if src is not None:
        cols, head, rep = w.columns_of(src)
        # Another file, or back from another page (Streamlit drops the widgets' values when a page is left, and
        # empty widgets would make "Use as unlabeled pool" reload the pool without its label column): the file's own
        # columns, the pool's when it is the pool's file.
        if st.session_state.get("_columns_of") != src or not {"text_cols", "gold_col"} <= set(st.session_state):
            # Set through session state, not by dropping the keys: a dropped key leaves the browser showing the old
            # file's choice while the script sees the default (a label column shown but not chosen).
            st.session_state["_columns_of"] = src
            st.session_state["text_cols"] = [c for c in w.text_columns if c in cols] or guess_text_columns(head)
            guessed = None if pool.get("file") == src else guess_label_column(cols, st.session_state["text_cols"])
            st.session_state["_gold_guessed"] = guessed
            st.session_state["gold_col"] = (pool.get("label_column") or "(none)") if pool.get("file") == src else (
                guessed or "(none)")
        table = W.tab_separated_txt(src, head)
        if table:
            st.warning(plain(f"Each line of {W.display_file(src)} holds {len(table)} tab-separated parts (the first: "
                             f"{', '.join(repr(p[:40]) for p in table[:5])}): it is a table, as Excel's 'Unicode "
                             "Text' saves one, but a .txt file is read as one text per line, so each text would carry "
                             "the other columns (a label included). Rename it to "
                             f"{W.display_file(src).rsplit('.', 1)[0]}.tsv and upload it again."))
        headless = W.text_like_column_names(cols, head)
        if headless:
            st.warning(plain(f"The column name {headless[0][:80]!r} reads like a text: if the file has no header "
                             "line, its first text was taken as one (and is no row). Add a first line naming the "
                             "columns (e.g. 'text'), or save a list of texts as a .txt file, one per line, and upload "
                             "it again."))
        text_cols = st.multiselect("Text column(s)", cols, key="text_cols",
                                   help="One column for most tasks, two for pair tasks (e.g. NLI).")
        numeric = sorted(set(text_cols) & set(numeric_columns(head)), key=text_cols.index)
        if numeric:
            st.warning(plain(f"Column(s) {', '.join(numeric)} hold only numbers (ids?), not text to classify; "
                             "choose the column with the texts."))
        nested = {c: keys for c, keys in W.json_object_columns(head).items() if c in text_cols}
        for c, keys in nested.items():  # the loader writes a JSON file's nested fields as JSON text
            st.warning(plain(f"Column {c!r} holds JSON objects (fields {', '.join(keys[:5])}), not text: the model "
                             "would read their braces and field names. Save the file with the field to classify as a "
                             f"column of its own ({c}_{keys[0] if keys else 'text'}, say) and upload it again."))
        gold_choices = ["(none)"] + [c for c in cols if c not in text_cols]
        if st.session_state.get("gold_col") not in gold_choices:  # e.g. it became a text column
            st.session_state["gold_col"] = "(none)"
        gold = st.selectbox("Label column in this file (optional)", gold_choices, key="gold_col",
                            help="Needed to use the file as the evaluation set or to import it as labeled examples; "
                                 "for the pool, it measures how many pseudo-labels are right (the model never sees "
                                 "it).")
        if gold != "(none)" and gold == st.session_state.get("_gold_guessed"):
            st.caption(f"'{gold}' was chosen by its name: check it holds labels, or pick (none).")
        st.dataframe(head, hide_index=True, height=220)
        if not text_cols:  # the loader would guess (its advice names a command-line flag) or read 'text'
            st.caption("Choose the column(s) that hold the texts under 'Text column(s)' first.")
        c1, c2, c3 = st.columns(3)  # all three drawn before any acts: a refusal left the others off the page
        use_pool = c1.button("Use as unlabeled pool", type="primary", key="use_pool", disabled=not text_cols)
        use_eval = c2.button("Use as evaluation set", key="use_eval", disabled=gold == "(none)" or not text_cols,
                             help="Needs the label column. Rows whose label is a class measure accuracy; values "
                                  "spelled otherwise (0 / 1) can be matched to the classes below.")
        use_import = c3.button("Import as labeled examples", key="import_labeled",
                               disabled=gold == "(none)" or not text_cols,
                               help="Needs the label column: each row becomes a labeled example of its label's class.")
        if use_pool:
            st.session_state.pop("upload_notes", None)  # the pool's own summary says what was read now
            report = w.set_pool(src, text_cols or None, None if gold == "(none)" else gold)
            st.success(f"Loaded as the unlabeled pool: {w.state['pool']['rows']:,} rows kept.")  # details below
        if use_eval:
            report = w.set_eval(src, gold, text_cols or None)
            if report.unknown_label or report.warnings:  # blank labels, labels that are no class
                st.warning(plain(report.summary()))
            else:
                st.success(plain(report.summary()))
        if use_import:
            try:
                result = w.import_labeled(src, gold, text_cols or None)
                (st.success if result["added"] else st.warning)(result["message"])
            except W.UnmatchedLabelsError as exc:  # 0 / 1 for negative / positive: matched here, then imported
                st.session_state["_import_match"] = (src, gold, tuple(text_cols), exc.values[:30])
                st.error(plain(str(exc)))
        pending = st.session_state.get("_import_match")
        if pending and pending[:3] == (src, gold, tuple(text_cols)):
            options = ["(not a class)", *w.classes]
            holder = st.empty()  # emptied once the import is done
            with holder.container(), st.form("import_match", border=False):
                st.caption("Match the file's label values to the classes, then import:")
                picks = value_pickers(pending[3], options, "imatch_")
                submitted = st.form_submit_button("Match and import", type="primary")
            if submitted:
                w.set_label_aliases({v: (None if c == options[0] else c) for v, c in picks.items()})
                result = w.import_labeled(src, gold, text_cols or None)
                st.session_state.pop("_import_match", None)
                holder.empty()
                (st.success if result["added"] else st.warning)(result["message"])


def match_label_values() -> None:
    """Label values of the pool's label column / the eval set that are not classes, each with a class picker."""
    unmatched = w.unmatched_label_values(limit=31)
    if len(unmatched) > 30:  # more distinct values than anyone matches by hand: most likely not the label column
        st.caption("The label column holds more than 30 values that are not classes: is it the right column?")
    elif unmatched:
        # Open until something is matched: after that, the values left may be left out on purpose ('?', 'other').
        with st.expander(f"Match label values to classes ({len(unmatched)} value(s) are not classes)",
                         expanded=not w.matched_label_values):
            st.caption("The label column spells the classes differently (say 0 / 1 for negative / positive). Match "
                       "each value to its class so pseudo-label accuracy, the hold-out and the evaluation set can use "
                       "it.")
            options = ["(not a class)", *w.classes]
            with st.form("match_labels", border=False):
                picks = value_pickers(unmatched, options, "match_")
                if st.form_submit_button("Save matches"):
                    with errors():
                        w.set_label_aliases({v: (None if c == options[0] else c) for v, c in picks.items()})
                        st.rerun()
    matched = w.matched_label_values
    if matched:
        st.caption(plain("Matched label values: " + ", ".join(f"{v} → {c}" for v, c in matched.items())))

        def forget(shown: dict) -> None:
            """Forget the matches listed on screen, as they are listed: at the click's rerun the list was read anew,
            and matches made since in another tab (never shown here) were forgotten too."""
            now = ws().matched_label_values
            ws().set_label_aliases({v: None for v, c in shown.items() if now.get(v) == c})

        st.button("Forget these matches", key="unmatch", on_click=forget, args=(dict(matched),))


w.reload()
if w.state.get("pool"):
    st.subheader("Unlabeled pool")
    p = w.state["pool"]
    r = p["report"]
    m = st.columns(4)
    m[0].metric("Rows in the pool", f"{p.get('rows', r['rows_kept']):,}")
    m[1].metric("Empty", r["empty"])
    m[2].metric("Duplicates", r["duplicates"])
    m[3].metric("Malformed", r["bad_rows"])
    moved = r["rows_kept"] - int(p.get("rows", r["rows_kept"]))  # the rows held out as the evaluation set
    st.caption(p["summary"] + (f"; {moved:,} of them are held out as the evaluation set" if moved > 0 else ""))
    for warning in r.get("warnings", []):
        st.warning(plain(warning))
    gold_warning = w.gold_warning()  # reads the pool file: once
    if gold_warning:  # the same words as on Label and Train; here the place to act is just below
        st.warning(plain(gold_warning.replace("on the Data page", "below")))
    match_label_values()  # right under the warning it answers
    pool_rows = w.pool()
    # Shown under the user's names: the file's label column and its other columns, not the stored 'gold' / 'file:x'.
    label_col = str(p.get("label_column"))
    shown = {"gold": label_col if label_col.lower() == "label" else f"{label_col} (label)"}
    for c in pool_rows.columns:
        if str(c).startswith(W.FILE_COLUMN):
            name = str(c)[len(W.FILE_COLUMN):]
            shown[c] = f"{name} (file)" if name in pool_rows.columns else name  # the file's own 'id', say
    st.dataframe(pool_rows.head(50).rename(columns=shown), hide_index=True, height=240)
    can_hold_out = "gold" in pool_rows.columns and not w.state.get("eval")
    if can_hold_out and len(w.classes) < 2:
        st.caption("Once the classes are named on the Label page, some of these labeled rows can be held out here as "
                   "the evaluation set.")
    elif can_hold_out and not (gold_warning or "").startswith("none of"):  # nothing to hold out before matching
        h1, h2 = st.columns([1, 3])
        least = max(20, 2 * len(w.classes))  # two per class, so each class is measured (hold_out_eval's floor)
        if st.session_state.setdefault("hold_n", 300) < least:  # more classes since: the box follows
            st.session_state["hold_n"] = least
        n_hold = h1.number_input("Rows", least, 5000, step=10, key="hold_n", label_visibility="collapsed")
        if h2.button(f"Hold out {n_hold} labeled pool rows as the evaluation set", key="hold_out",
                     help="Rows whose label (this file's label column) is a class move out of the pool into the "
                          "evaluation set, so accuracy is measured on texts no run trains on."):
            with errors():
                w.hold_out_eval(int(n_hold))  # its summary shows below as the evaluation set's
                st.rerun()
else:
    match_label_values()  # an evaluation set without a pool
if w.state.get("eval"):
    st.info(plain(f"Evaluation set: {w.state['eval']['summary']}"))
    counted, total = w.eval_label_counts()
    if counted < total:
        st.caption(f"{counted:,} of its {total:,} rows have a label that is one of the classes; only those measure "
                   "accuracy.")
    if (w.state.get("pool") or {}).get("file") == w.state["eval"]["file"]:
        st.caption("The evaluation file is also the unlabeled pool: runs pseudo-label its texts (never seeing their "
                   "labels), so accuracy on it can read higher than on texts the model has never seen.")
    overlap = w.eval_overlap()
    if overlap:
        st.caption(f"{overlap:,} evaluation row(s) are also labeled examples; runs leave them out of the evaluation, "
                   "so accuracy is never measured on a text the model was trained on.")
    held_out = w.held_out_path.exists()

    def remove_eval(drawn: str, held_out: bool) -> None:
        """A callback bound to the evaluation set shown: another tab may have replaced it since the page was drawn
        (removed at the click's rerun, the set the person never saw went)."""
        try:
            back = ws().clear_eval(drawn=drawn)
        except (W.WorkspaceError, OSError) as exc:
            st.session_state["eval_flash"] = ("error", str(exc))
            return
        st.session_state["eval_flash"] = ("success", f"Evaluation set removed; {back:,} rows went back to the pool."
                                          if held_out else "Evaluation set removed.")

    st.button("Put the held-out rows back in the pool" if held_out else "Remove the evaluation set",
              key="clear_eval", help="Runs then report accuracy on a few held-back labeled examples instead.",
              on_click=remove_eval, args=(w.state["eval"]["file"], held_out))
if "eval_flash" in st.session_state:  # once, after the rerun that removed it
    kind, message = st.session_state.pop("eval_flash")
    getattr(st, kind)(plain(message))
