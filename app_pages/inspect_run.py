"""Inspect: the pseudo-labels of an iteration, filtered and paginated; accept or correct them."""

import plotly.express as px
import streamlit as st

from list_core.runs import DamagedRunFile
from list_core.workspace import (INSPECT_FILTERS, INSPECT_SORTS, audit_view, filter_pseudo, inspect_filters,
                                 inspect_filters_to_keep, never_drawn, page_of, pseudo_label_audit,
                                 unweighted_words, with_gold)
from app_pages._ui import (USER_ERRORS, class_colors, current_run, flash, not_there_yet, plain, pseudo_labels,
                           show_flash, follow_class, tab_id, ws)

st.title("Inspect")
w = ws()
rid = current_run(w)
if rid is None:
    st.stop()
try:
    frame = pseudo_labels(w.run(rid))
except DamagedRunFile as exc:
    st.error(plain(str(exc)))
    st.stop()
if not len(frame):
    st.info(not_there_yet(w.run(rid), "pseudo-labels", "they appear after the first self-training iteration"))
    st.stop()
if not w.run_on_current_pool(rid):
    st.caption("This run was made on an earlier load of the pool: its ids are that load's row numbers. Accept and "
               "Correct find each text in the pool as it is now.")
# A run made before a class was renamed spells its old name: shown, filtered and checked under the new one, as
# Accept and the export already read it.
frame = frame.assign(pseudo_label=w.current_class_names(frame["pseudo_label"]))
gold = w.run_gold(rid)  # the pool file's own labels, when a label column was chosen on the Data page
gold = dict(zip(gold, w.current_class_names(gold.values())))
frame = with_gold(frame, gold)
iterations = sorted(int(i) for i in frame["iteration"].unique())
# The Pseudo-label filter gets the row's width: its box shows the classes picked on one line, and a quarter of the
# page showed one or two of 15 class names (the others scrolled out of sight, still filtering).
f1, f2 = st.columns([1, 6])
# The newest iteration unless an older one of this run was picked: the picker keeps its value, so another run
# picked above, or an iteration finished while the newest was shown, used to leave it on an old iteration.
drawn_for = st.session_state.get("insp_iter_for")  # (run, its newest iteration) when the picker was last drawn
if (st.session_state.get("insp_iter") not in iterations or drawn_for is None or drawn_for[0] != rid
        or (drawn_for[1] != iterations[-1] and st.session_state.get("insp_iter") == drawn_for[1])):
    st.session_state["insp_iter"] = iterations[-1]
st.session_state["insp_iter_for"] = (rid, iterations[-1])
it = f1.selectbox("Iteration", iterations, key="insp_iter")
options = sorted(frame["pseudo_label"].unique())
wmax = max(float(frame["weight"].max()) if frame["weight"].notna().any() else 1.0, 1e-6)
# The filters are kept in the workspace, as the Train settings are: a refresh, or a visit to another page (which
# drops this page's widget values), reset them mid-audit. On every draw they are fitted to the run shown.
ss = st.session_state
current = {**(w.state["settings"].get("inspect_filters") or {}), **{k: ss[k] for k in INSPECT_FILTERS if k in ss}}
ss.update(inspect_filters(current, options, wmax, ss.get("insp_wr_max")))
ss["insp_wr_max"] = wmax


def keep_filters() -> None:
    w.update_settings(inspect_filters=inspect_filters_to_keep(st.session_state, wmax))


labels = f2.multiselect("Pseudo-label", options, key="insp_labels", on_change=keep_filters)
# A run trained without meta re-weighting (reweight off) has no weight at all: nothing to range over or reject.
weighted = bool(frame["weight"].notna().any())
f3, f4 = st.columns(2)
# With re-weighting on, no weight means no step re-weighted (every student step a warm-up one: warmup_fraction 1, or
# no student steps): the help said the run trained without meta re-weighting.
no_weights = None if weighted else (
    "This run trained its student without meta re-weighting: no weights."
    if not bool(w.run(rid).settings().get("reweight", True)) else
    "No pseudo-label of this run was re-weighted (its student took warm-up steps only, before any re-weighting): no "
    "weights.")
wr = f3.slider("Weight range", 0.0, wmax, key="insp_wr", on_change=keep_filters, disabled=not weighted,
               help=no_weights)
conf = f4.slider("Confidence below", 0.0, 1.0, step=0.05, key="insp_conf", on_change=keep_filters)
g1, g2, g3, g4 = st.columns([3, 1, 1, 1])
search = g1.text_input("Search text", key="insp_search", on_change=keep_filters)
zero = g2.checkbox("Rejected only", key="insp_zero", on_change=keep_filters, disabled=not weighted,
                   help=no_weights or "Weight 0: the examples the meta re-weighting rejected.")
sort = g3.selectbox("Sort by", INSPECT_SORTS, key="insp_sort", on_change=keep_filters)
asc = g4.checkbox("Ascending", key="insp_asc", on_change=keep_filters)
# On the classes picked above when some are (15 classes: which one's pseudo-labels are wrong?); the headline said
# 'these pseudo-labels' of the whole iteration under a filter on one class.
in_iteration = frame[frame["iteration"] == it]
checked = pseudo_label_audit(in_iteration)  # None: this run has no file label to check against
audit = pseudo_label_audit(in_iteration[in_iteration["pseudo_label"].isin(labels)]) if checked and labels else checked
# Rows without a weight were seen only in the warm-up, or, when the student's steps draw fewer rows than the
# iteration's sample, not drawn at all: how many is known from the run's config.
run_config = w.run(rid).settings()
never = never_drawn(run_config, int((frame["iteration"] == it).sum()))
reweighted = bool(run_config.get("reweight", True))
if checked:
    if audit:
        summary = audit_view(audit, never, reweighted, labels)
        st.info(summary["headline"])
        for col, (label, value, why) in zip(st.columns(len(summary["parts"]) or 1), summary["parts"]):
            col.metric(label, value, help=why)
        if summary["details"]:
            with st.expander("Did the larger weights go to the right pseudo-labels?"):
                st.markdown(summary["details"])
    else:  # the classes picked have no pseudo-label with a file label in this iteration
        st.info(plain(f"No pseudo-label {', '.join(map(repr, labels))} of iteration {it} has a file label to check "
                      "it against."))
    wrong = st.checkbox("Wrong pseudo-labels only", key="insp_wrong", on_change=keep_filters,
                        help="Rows whose pseudo-label differs from the pool file's own label.")
    listed = frame[frame["right"].eq(False)] if wrong else frame
else:
    listed = frame
    if gold:  # the run has file labels, none on this iteration's rows (a pool file labeled in part, a sample)
        st.caption(plain(f"No pseudo-label of iteration {it} has a file label to check it against: the pool file "
                         f"labels {len(gold):,} of this run's unlabeled texts, none of them among this iteration's "
                         f"{len(in_iteration):,}."))
    elif (w.state.get("pool") or {}).get("label_column") and not w.gold_warning():
        st.caption("This run has no file labels to check its pseudo-labels against: when it started, the pool had "
                   "no label column or its values were not matched to the classes. A new run will have them.")
    else:
        st.caption("Choose the pool file's label column on the Data page (if it has one), with its values matched "
                   "to the classes, to see which pseudo-labels are right.")
view = filter_pseudo(listed, it, labels, None if wr == (0.0, wmax) else wr, zero,
                     None if conf >= 1.0 else conf, search, sort, asc)
size = 50
pages = max(1, -(-len(view) // size))
page_no = st.number_input(f"Page (of {pages}; {len(view):,} rows)", 1, pages, 1, key="insp_page")
page, _ = page_of(view, page_no, size)
mine = w.run_human_labels(rid, page["id"])  # by this run's row ids, also for a run on an earlier load of the pool
# The labels to compare sit side by side, and the text is narrow enough (hover shows it whole) that every column
# fits the page's 840 px at a 1300 px window: auditing should not need sideways scrolling.
shown = w.inspect_texts(rid, page)  # a pair task: each text in a column of its own
text_cols = [c for c in shown.columns if c != "id"]
shown = shown.join(page[["pseudo_label"] + (["gold"] if gold else [])]).assign(
    your_label=[mine.get(int(i), "") for i in page["id"]])
shown = shown.join(page[["confidence", "weight", "reweighted_steps"]])
# Only the weight cell is marked: when many rows are rejected, coloured whole rows hide everything else.
styled = shown.style.map(lambda v: "background-color: #ffd6d1" if v == 0 else "", subset=["weight"])
st.dataframe(styled, hide_index=True, width="stretch", height=320,
             column_config={"id": st.column_config.NumberColumn(width="small"),
                            **{c: st.column_config.TextColumn(width=240 // len(text_cols)) for c in text_cols},
                            "pseudo_label": st.column_config.TextColumn("pseudo-label", width=100),
                            "confidence": st.column_config.NumberColumn(format="%.3f", width="small"),
                            "weight": st.column_config.NumberColumn(format="%.3f", width="small"),
                            "reweighted_steps": st.column_config.NumberColumn(
                                "steps", width="small", help="Re-weighted student steps that used this pseudo-label; "
                                "its weight comes from them (0: no weight, seen only in the warm-up or never drawn)"),
                            "gold": st.column_config.TextColumn("file's label", width=100),
                            "your_label": st.column_config.TextColumn("your label", width=100)})
st.caption(("Weights of 0 (rejected by the meta re-weighting) are highlighted; a weight of None means the "
            "example was not re-weighted: seen only during warm-up" + (", or never drawn by the student" if never
                                                                        else "") + "." if reweighted else
            "This run trained its student without meta re-weighting (reweight off): every weight is None.")
           + " 'your label' shows the label you gave a row (accepted, corrected, "
           "labeled one by one, or its text pasted or imported); it goes into the next run's labeled set.")


def apply_labels(correct: bool) -> None:
    """Accept or correct the picked rows, then clear the pick: a later click must never relabel rows that were
    already handled. Runs as a button callback, the one place a widget's value may be reset."""
    picked = st.session_state.get("insp_pick") or []
    target = st.session_state.get("insp_target") if correct else None
    if correct and target is None:  # its class was taken out in another tab: no class would Accept instead
        flash("Choose the class to correct to under 'Correct to' first. Nothing was labeled.", "error")
        return
    # Rows that already carry their pseudo-label (accepted before, picked again): not 'added' (the page said so).
    pseudo = dict(zip(page["id"].astype(int), page["pseudo_label"]))  # under the current class names
    now = ws().run_human_labels(rid, picked)  # as labeled now: another tab may have accepted them since drawn
    already = sum(1 for i in picked if int(i) in now and now[int(i)] == pseudo.get(int(i)))
    # Rows labeled otherwise: Accept refuses a person's own label, and relabels one accepted before (from another
    # run or iteration) with this pseudo-label; they were counted as added to the labeled set.
    other = sum(1 for i in picked if int(i) in now and now[int(i)] != pseudo.get(int(i)))
    try:
        n = w.accept_pseudo(rid, picked, label=target, iteration=it, by=tab_id())
        flash(f"{n} example(s) labeled '{target}'" if correct else f"{n - already - other} example(s) added to the "
              "labeled set with their pseudo-label" + (f"; {other} accepted before with another label now carry "
                                                       "this one" if other else "")
              + (f"; {already} already had it" if already else ""))
    except USER_ERRORS as exc:
        flash(str(exc), "error")
    st.session_state["insp_pick"] = []


def undo_labels() -> None:
    try:
        flash(w.undo_accept(by=tab_id()) or "nothing to undo", "success")  # this tab's, never another's
    except USER_ERRORS as exc:
        flash(str(exc), "error")


st.subheader("Accept or correct")
show_flash()  # here, next to the buttons, not at the top of the page out of view
by_id = shown.set_index("id")
# A row you labeled says so in the pick: Accept keeps your label (it refuses), Correct changes it.
picked = st.multiselect("Examples on this page", shown["id"].tolist(), key="insp_pick", select_all=False,
                        format_func=lambda i: f"#{i}" + (f" (your label: {by_id.at[i, 'your_label']})"
                                                         if by_id.at[i, "your_label"] else "")
                        + ": " + " | ".join(str(by_id.at[i, c])[:70 // len(text_cols)] for c in text_cols))
a1, a2, a3, a4 = st.columns([1, 1, 1, 1])
a1.button("Accept pseudo-labels", key="insp_accept", disabled=not picked, on_click=apply_labels, args=(False,))
follow_class(w, "insp_target")  # renamed in another tab: follows (it fell back to the first class)
a2.selectbox("Correct to", w.classes, key="insp_target", placeholder="choose a class")
a3.button("Correct", key="insp_correct", disabled=not picked, on_click=apply_labels, args=(True,))
a4.button("Undo", key="insp_undo", disabled=not w.can_undo_accept(tab_id()), on_click=undo_labels,
          help="Take back this tab's last Accept or Correct (labels changed since stay as they are).")

cur = frame[frame["iteration"] == it]
if labels:  # as the table and the audit: the classes picked under Pseudo-label only
    cur = cur[cur["pseudo_label"].isin(labels)]
if not weighted:  # nothing to plot against: the confidence chart would be empty
    st.stop()
sample = cur.sample(min(len(cur), 5000), random_state=0) if len(cur) > 5000 else cur
sample = sample.assign(snippet=sample["text"].str.slice(0, 120),
                       pseudo_label_is=sample["right"].map({True: "right", False: "wrong"}).fillna("unknown"))
# Coloured by right / wrong when the pool file has labels: do the rejected (weight 0) points sit with the wrong ones?
# A marker shape per class only while shapes stay apart (and the legend short): 15 classes x right / wrong would be
# 30 legend entries over a handful of shapes. Past 10 classes the colours come from a 24-colour palette.
n_classes = sample["pseudo_label"].nunique()
fig = px.scatter(sample, x="confidence", y="weight", color="pseudo_label_is" if checked else "pseudo_label",
                 symbol="pseudo_label" if n_classes <= 4 else None,
                 color_discrete_map={"right": "#2e7d32", "wrong": "#c62828", "unknown": "#9e9e9e"},
                 color_discrete_sequence=class_colors(n_classes),
                 hover_data={"snippet": True, "id": True, "pseudo_label": True},
                 labels={"pseudo_label_is": "pseudo-label is", "pseudo_label": "pseudo-label"},
                 title="Confidence vs learned weight"
                 + (f" of the pseudo-labels {', '.join(map(repr, labels))}" if labels else "")
                 + (" (5,000-point sample)" if len(cur) > 5000 else ""))
fig.update_layout(height=380, margin=dict(t=40, b=10))
st.plotly_chart(fig, width="stretch", key="insp_scatter")
unweighted = int(cur["weight"].isna().sum())
if unweighted:
    # Of the classes picked only, which were never drawn is not known: the iteration's count is no split of theirs.
    st.caption(f"{unweighted:,} pseudo-labels have no weight ({unweighted_words(unweighted, never, not labels)}) and "
               "are not drawn.")
