"""Runs: every run with its status, final metrics and duration; compare curves; delete."""

import pandas as pd
import plotly.express as px
import streamlit as st

from list_core import workspace as W
from app_pages._ui import USER_ERRORS, plain, run_label, state_word, ws

st.title("Runs")
w = ws()
runs = w.runs()
if not runs:
    st.info("No runs yet: start one on the Train page.")
    st.stop()
table = pd.DataFrame(runs)
table["created_at"] = pd.to_datetime(table["created_at"], errors="coerce", utc=True)
table["error"] = table["error"].fillna("")
table["state"] = table["state"].map(state_word)  # 'stopped', not the run directory's 'cancelled'
# Shares get the decimals that keep a value short of all or none from reading 1.000 or 0.000 (0.9995, 1 of 480).
digits = {c: W.table_decimals(table[c], 2 if c == "zero_weight_share" else 3)
          for c in ("accuracy", "range_low", "range_high", "macro_f1", "pseudo_label_accuracy", "zero_weight_share")}
span_help = "The 95% range of the accuracy: where it may really lie, given how few rows measured it"
# What a run trained on (labeled / unlabeled) sits next to its accuracy, so a narrow window still shows both;
# the run id stays pinned while the rest scrolls.
st.dataframe(table[["run", "state", "accuracy", "range_low", "range_high", "eval_rows", "macro_f1", "labeled",
                    "unlabeled", "pseudo_label_accuracy", "zero_weight_share", "iteration", "seed", "reweight",
                    "duration_s", "preset", "model", "created_at", "error"]], hide_index=True,
             width="stretch",
             column_config={"run": st.column_config.TextColumn(pinned=True),
                            "pseudo_label_accuracy": st.column_config.NumberColumn(
                                "pseudo-labels right", format=f"%.{digits['pseudo_label_accuracy']}f",
                                help="Among the last iteration's pseudo-labels of texts the pool file labels (its "
                                     "label column, chosen on the Data page), the share that match that label: "
                                     "Inspect says how many it checked; blank without one"),
                            "zero_weight_share": st.column_config.NumberColumn(
                                "rejected share", format=f"%.{digits['zero_weight_share']}f",
                                help="Share of the re-weighted pseudo-labels that got weight 0"),
                            "range_low": st.column_config.NumberColumn("95% low", format=f"%.{digits['range_low']}f",
                                                                       help=span_help),
                            "range_high": st.column_config.NumberColumn(
                                "95% high", format=f"%.{digits['range_high']}f", help=span_help),
                            "eval_rows": st.column_config.NumberColumn("eval rows", format="%d"),
                            "iteration": st.column_config.NumberColumn(
                                "finished iteration", format="%d",
                                help="The last iteration that finished, whose accuracy this row shows (0 = the "
                                     "teacher alone); a run's Train page names the iteration it is in"),
                            "created_at": st.column_config.DatetimeColumn("started (UTC)", format="YYYY-MM-DD HH:mm"),
                            "duration_s": st.column_config.NumberColumn("duration (s)", format="%d"),
                            "accuracy": st.column_config.NumberColumn(format=f"%.{digits['accuracy']}f"),
                            "macro_f1": st.column_config.NumberColumn("macro-F1", format=f"%.{digits['macro_f1']}f")})
st.caption("Accuracy is measured on each run's eval rows only: a gap between runs that is small against their 95% "
           "ranges may be noise." + ("" if w.state.get("eval") else
                                     " Without an evaluation set, each seed holds out other labeled examples, so runs "
                                     "of different seeds are measured on different rows; set an evaluation set on "
                                     "the Data page to compare them."))
ids = [r["run"] for r in runs]
compare = st.multiselect("Compare accuracy curves", ids, default=ids[:2], key="runs_compare")
# A run measured on no rows (one labeled example per class, no evaluation set) has metrics without an accuracy.
metrics = {rid: w.run(rid).metrics() for rid in compare}
rows = [{**m, "run": rid} for rid in compare for m in metrics[rid] if m.get("accuracy") is not None]
if compare and not rows:
    # A run still in its first iteration (or stopped before it ended) has no metrics at all: not measured yet.
    st.caption("The runs picked have no accuracy to compare: " + (
        "they were measured on no rows (too few labeled examples to hold any out, and no evaluation set)."
        if any(metrics.values()) else "none has finished an iteration yet (still training, or stopped, interrupted "
                                      "or failed before the first one ended)."))
if rows:
    fig = px.line(pd.DataFrame(rows), x="iteration", y="accuracy", color="run", markers=True,
                  title="Accuracy per iteration")
    fig.update_layout(height=360, yaxis_range=[0, 1.05], xaxis_dtick=1)
    st.plotly_chart(fig, width="stretch", key="runs_chart")
c1, c2, c3 = st.columns([2, 1, 1])
here = st.query_params.get("run")  # the run the other pages show: what 'Open in Train' and 'Delete' start from
chosen = c1.selectbox("Run", ids, index=ids.index(here) if here in ids else 0, key="runs_pick",
                      format_func=lambda r: run_label(w, r))
if c2.button("Open in Train", key="runs_open"):
    st.query_params["run"] = chosen
    st.session_state["run_id"] = chosen
    st.switch_page("app_pages/train.py")


def delete_chosen(rid: str) -> None:
    """A callback bound to the run the popover names: at the click's rerun the picker, its run deleted in another
    tab since, fell back to the newest run, and that run (one nobody chose) was deleted."""
    try:
        ws().delete_run(rid)
    except USER_ERRORS as exc:
        st.session_state["_runs_flash"] = str(exc)
        return
    if st.query_params.get("run") == rid:
        del st.query_params["run"]
        st.session_state.pop("run_id", None)


with c3.popover("Delete run"):
    st.write(f"Delete run {chosen} and its files?")
    st.button("Delete", type="primary", key="runs_delete", on_click=delete_chosen, args=(chosen,))
if "_runs_flash" in st.session_state:
    st.error(plain(st.session_state.pop("_runs_flash")))
with st.expander("Config of the selected run"):
    st.json(w.run(chosen).path.joinpath("config.json").read_text())
