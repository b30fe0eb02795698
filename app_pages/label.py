"""Label: classes, labeled examples (one by one from the pool, table, paste) and per-class counts."""

import streamlit as st

from app_pages._ui import (USER_ERRORS, errors, flash, follow_class, grid, plain, quoted_text, show_flash, tab_id,
                           ws)
from list_core import workspace as W

st.title("Label")
w = ws()
show_flash()
# The classes this session's box was drawn from: changed since in another tab, the box shows them now unless it
# holds an edit (a stale box saved over another tab's rename, whose examples were then set aside).
shown = st.session_state.get("classes_shown", w.classes)
if ("classes_text" not in st.session_state or st.session_state.pop("classes_reset", False)
        or (shown != w.classes and st.session_state["classes_text"] == ", ".join(shown))):
    st.session_state["classes_text"] = ", ".join(w.classes)  # the box's value comes from here only
    shown = w.classes
st.session_state["classes_shown"] = shown
# A text area: 15 class names fit (a one-line box cut them off), and a column of names pasted from a spreadsheet
# stays one class per line (a one-line box joined them into one class).
classes_text = st.text_area("Classes (comma-separated or one per line)", key="classes_text", height=68,
                            placeholder="e.g. negative, positive")
if st.button("Save classes", key="save_classes"):
    with errors():
        try:  # 'Clothing, Shoes & Jewelry' (a class imported from a file) stays one class
            renamed = w.set_classes(W.split_class_list(classes_text, w.classes), expected=shown)
        except W.StaleEditError as exc:  # the box shows the classes as they are now, with the message
            st.session_state["classes_reset"] = True
            flash(str(exc), "error")
            st.rerun()
        st.session_state["classes_shown"] = w.classes
        st.session_state["classes_reset"] = True  # the box shows the list as saved (one per line becomes a, b, c)
        if st.session_state.get("paste_class") in renamed:  # the class picked for pasting follows its rename
            st.session_state["paste_class"] = renamed[st.session_state["paste_class"]]
        if renamed:  # say it: a rename moves the examples and label word of each class along
            flash("renamed " + ", ".join(f"'{o}' to '{n}'" for o, n in renamed.items())
                  + "; their labeled examples and label words moved along", "info")
        st.rerun()
if len(w.classes) < 2:
    st.info("Define at least two classes to start labeling.")
    from_file = w.label_column_classes()
    if from_file:  # the pool's label column names them: one click, spelled as the file spells them

        def use_file_classes() -> None:
            try:
                w.set_classes(from_file, expected=shown)
                st.session_state["classes_reset"] = True  # the box shows them
            except USER_ERRORS as exc:
                flash(str(exc), "error")

        st.button(f"Use the pool's {len(from_file)} label values as the classes", key="classes_from_file",
                  on_click=use_file_classes, help=plain(", ".join(from_file)))
    st.stop()

counts = w.class_counts()
cols = grid(len(w.classes) + 1, 8)
for col, c in zip(cols, w.classes):
    col.metric(plain(c), counts.get(c, 0))
cols[-1].metric("total", sum(counts[c] for c in w.classes),  # kept-aside examples of deleted classes: a warning below
               help="Labeled examples of the classes above. Examples of a class deleted since are kept aside and "
                    "not counted; the warning below says how many.")
for warning in w.label_warnings() + [w.gold_warning() or ""]:  # the pool's label values, before labeling starts
    if warning:
        st.warning(plain(warning))


def keep_order() -> None:
    w.set_label_order(st.session_state["label_order"])


def undo_last() -> None:
    try:
        pid = w.undo_pool_example(by=tab_id())  # this tab's last step, never another tab's
        flash(f"took back pool example #{pid}" if pid is not None else "nothing of this tab's to undo", "info")
    except USER_ERRORS as exc:  # a label given since on Inspect or in the table: left, and said
        flash(str(exc), "warning")


def label_shown(pool_id: int, label: str, texts: tuple | None = None) -> None:
    """A class button's click, bound to the row it was drawn under: the row 'next' when the click is handled may be
    another (a run finished and reordered the pool, another tab labeled the shown row), and the user never saw it.
    `texts`: the row's texts as shown, since another tab may have loaded the pool again (its ids then name other
    texts)."""
    try:
        ws().label_pool_example(pool_id, label, shown=texts, by=tab_id())
    except USER_ERRORS as exc:
        flash(str(exc), "error")


def skip_shown(pool_id: int, texts: tuple | None = None) -> None:
    ws().skip_pool_example(pool_id, shown=texts, by=tab_id())


one, table, paste = st.tabs(["One by one", "Table", "Paste"], key="label_tab", on_change="rerun")  # stays put on reruns
with one:
    ORDER_NAMES = {"shuffled": "shuffled", "uncertain": "least confident first"}
    st.radio("Order", list(ORDER_NAMES), index=list(ORDER_NAMES).index(w.label_order), key="label_order",
             format_func=ORDER_NAMES.get, horizontal=True, on_change=keep_order,
             help="Least confident first: the texts the newest finished run on this pool was least sure of, "
                  "often the hard or ambiguous ones.")
    ranking = w.uncertainty_ranking() if w.label_order == "uncertain" else None  # read once per rerun
    if w.label_order == "uncertain":
        st.caption(f"Ordered by run {ranking[0]}'s confidence, lowest first." if ranking else
                   "No finished run on this pool yet: shuffled until there is one.")
    ex = w.next_pool_example(ranking)
    if ex is None:
        st.info("Every pool example is labeled or skipped." if w.state.get("pool") else
                "No unlabeled pool yet: load one on the Data page to label its texts one by one.")
        if w.can_undo_pool(tab_id()):
            st.button("Undo the last label or skip", key="lab_undo", on_click=undo_last)
    else:
        done, total = w.pool_progress()
        st.caption(f"Pool example #{ex['id']} ({done} of {total:,} labeled from the pool)")
        st.markdown("\n\n".join(quoted_text(ex[c]) for c in w.text_columns))
        # Key shortcuts only while this tab is shown: the hidden tab's buttons are still on the page, and 1-9, 0
        # and Backspace on the Table or Paste tab (Backspace clears a table cell) labeled, skipped or took back a
        # row the user could not see.
        keys = one.open is not False
        texts = tuple(str(ex[c]) for c in w.text_columns if c in ex)
        many = len(w.classes) > 6  # rows of 6 keep names readable at 15 classes; Skip / Undo then get a row
        buttons = grid(len(w.classes), 6) + st.columns(4)[:2] if many else st.columns(len(w.classes) + 2)
        for i, c in enumerate(w.classes):
            # 'lab_class_' keeps a class named 'skip' or 'undo' apart from the Skip and Undo buttons' keys.
            buttons[i].button(plain(c), key=f"lab_class_{c}", width="stretch",
                              shortcut=str(i + 1) if i < 9 and keys else None, on_click=label_shown,
                              args=(int(ex["id"]), c, texts))
        buttons[-2].button("Skip", key="lab_skip", width="stretch", shortcut="0" if keys else None,
                           on_click=skip_shown, args=(int(ex["id"]), texts))
        buttons[-1].button("Undo", key="lab_undo", width="stretch", disabled=not w.can_undo_pool(tab_id()),
                           shortcut="Backspace" if keys else None,
                           help="Take back this tab's last label or skip (Backspace).", on_click=undo_last)
        # Class names quoted: a class named '0' or 'skip' reads apart from the keys and the Skip button.
        st.caption("Keys: " + ", ".join(f"{i + 1} = '{plain(c)}'" for i, c in enumerate(w.classes[:9]))
                   + ", 0 = Skip, Backspace = Undo. Wait for the next text before the next key.")
with table:
    frame = w.labeled_frame()
    # The editor's identity is its data: drawn from data that changed since (another tab, or One by one, labeled a
    # text), it is a new editor and the edits made in the old one are gone. While edits are pending, the table is
    # drawn from the data they were made on, and Save applies only what they changed (what happened since stays).
    gen = st.session_state.get("_table_gen", 0)
    pending = st.session_state.get(f"labeled_editor_{gen}")
    editing = isinstance(pending, dict) and any(pending.get(k) for k in ("edited_rows", "added_rows", "deleted_rows"))
    base = st.session_state.get("_table_base") if editing else None
    if base is None:
        base = st.session_state["_table_base"] = frame
    elif base.to_json() != frame.to_json():
        st.caption("Labeled elsewhere since you began editing this table (another tab, One by one): it shows the "
                   "examples as they were then. Save keeps both your edits and what was labeled since.")
    config = {"uid": None, "pool_id": None, "source": st.column_config.TextColumn("source", disabled=True),
              # Not required=True: the browser then drops a new row left without a label before Save sees it (its
              # text was lost without a word); Save refuses such a row instead, and the table keeps it.
              "label": st.column_config.SelectboxColumn("label", options=w.classes)}
    # A new key after each save: the editor's own state (rows added and left empty, say) is the browser's too, and
    # only a new widget starts from the saved table.
    edited = st.data_editor(base, num_rows="dynamic", column_config=config, hide_index=True,
                            key=f"labeled_editor_{gen}", width="stretch")
    if st.button("Save table", key="save_table", type="primary"):
        with errors():
            try:
                result = w.replace_labeled(edited, base=base)
            except W.StaleEditError as exc:  # drawn with other text columns: the table is drawn again, as it is now
                flash(str(exc), "error")
                st.session_state["_table_gen"] = gen + 1
                st.session_state.pop("_table_base", None)
                st.rerun()
            flash(f"saved: {result['added']} added, {result['changed']} changed, {result['deleted']} deleted"
                  + (f"; {result['blank']} new row(s) without text left out" if result["blank"] else ""))
            st.session_state["_table_gen"] = gen + 1
            st.session_state.pop("_table_base", None)
            st.rerun()
with paste:
    shape = "<TAB>".join(w.text_columns) if len(w.text_columns) > 1 else "text"
    block = st.text_area(f"One example per line: {shape} (or class<TAB>{shape})", key="paste_text", height=160,
                         help="Cells copied from a spreadsheet paste as tab-separated columns; a cell that holds line "
                              "breaks stays one example.")
    follow_class(w, "paste_class")  # renamed in another tab: the picker follows (it fell back to the first class)
    cls = st.selectbox("Class for these lines", w.classes, key="paste_class", placeholder="choose a class")


    def add_pasted():
        try:
            result = w.paste_lines(st.session_state.get("paste_text", ""), st.session_state.get("paste_class"))
        except USER_ERRORS as exc:
            flash(str(exc), "error")  # the text stays in the box to be fixed
            return
        st.session_state["paste_text"] = ""  # allowed in a callback: the widget is not drawn yet
        flash(W.paste_summary(result), "success" if result["added"] else "warning")

    st.button("Add lines", key="paste_add", on_click=add_pasted)
