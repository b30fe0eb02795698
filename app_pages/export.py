"""Export: labeled + pseudo-labeled data, the trained model as a zip, predictions for a new file, try it."""

import streamlit as st

from list_core import workspace as W
from list_core.workspace import columns_read, excel_copy, table_bytes
from app_pages._ui import (classifier, current_run, errors, file_predictions, not_there_yet, plain, try_it_chart,
                           ws)

st.title("Export")
w = ws()
rid = current_run(w)
st.subheader("Data")
held = (w.state.get("eval") or {}).get("rows") or 0
st.caption("Your labeled examples (source human:...) plus the run's last pseudo-labels with confidence and weight. "
           "Rows from the pool carry the pool file's own columns as file_<column> (its ids, for instance), to join "
           "them back to your data." + (f" The {held:,} rows of the evaluation set are not in it: they measure the "
                                        "model and are never labeled from a run." if held else ""))
if rid is None and not w.labeled:  # an empty table is no download
    st.info("Nothing to export yet: label a few texts on the Label page (they can be downloaded before any run), "
            "or train a run for pseudo-labels and a model.")
    st.stop()
c1, c2, c3 = st.columns(3)
with errors():
    table = w.export_frame(rid)  # built once for the downloads
    stem = f"list_{w.name}_{rid or 'labels'}"
    c1.download_button("Download CSV", table_bytes(table, "csv"), file_name=f"{stem}.csv", mime="text/csv",
                       key="dl_csv", help="UTF-8, comma-separated: for pandas, R, scripts and LiST Studio itself.")
    c2.download_button("Download JSONL", table_bytes(table, "jsonl"), key="dl_jsonl", file_name=f"{stem}.jsonl",
                       mime="application/jsonl")
    c3.download_button("Download for Excel", table_bytes(table, "excel"), key="dl_excel",
                       file_name=f"{stem}_excel.csv", mime="text/csv",
                       help="Opens by double-click in Excel in any language setting, accents and emoji intact "
                            "(UTF-16, tab-separated). Texts that start with =, +, - or @ get a leading apostrophe, "
                            "so Excel shows them instead of running them as formulas.")
    if table.attrs.get("left_out"):  # a class deleted since: its examples are kept aside, not exported
        gone = table.attrs["left_out"]
        st.caption(f"Not in the download: {sum(gone.values()):,} row(s) labeled "
                   + ", ".join(f"'{plain(c)}' ({n:,})" for c, n in gone.items())
                   + ", class(es) no longer listed on the Label page. Add a class back there to export its rows.")
if rid is None:
    st.stop()
run = w.run(rid)
if not run.model_path.exists():
    # The teacher's model is saved when iteration 0 ends, and each later iteration's over it: not only at the end.
    st.info(not_there_yet(run, "a trained model", "it is saved when its first iteration (the teacher) finishes"))
    st.stop()
st.subheader("Model")
with errors():
    readout = w.accuracy_readout(rid)
    if readout and readout[0] == "warning":  # before a download, not after: the model may be no better than guessing
        st.warning(plain(readout[1]))
    st.download_button("Download model (zip)", w.export_model_zip(rid), file_name=f"list_model_{rid}.zip",
                       mime="application/zip", key="dl_model")
    with st.expander("Model card"):
        st.markdown(w.model_card(rid))

st.subheader("Try it")
fields = w.run_fields(rid)  # a pair task asks for each of its texts
texts = ({fields[0]: st.text_area("Type a text to classify", key="try_text")} if len(fields) == 1 else
         {f: st.text_area(plain(label), key=f"try_text_{f}") for f, label in w.run_field_labels(rid).items()})
clicked = st.button("Classify", key="try_btn")
# The answer stays while its text does: any other click on the page (a download, a file to predict) reran the page
# and the answer was gone. It is for this run's model, as saved when it was classified.
asked = (str(run.path), run.model_path.stat().st_mtime, tuple(sorted(texts.items())))
if clicked and not all(t.strip() for t in texts.values()):
    st.info("Type or paste a text in " + ("the box above" if len(fields) == 1 else "each box above") + " first.")
elif clicked:
    with errors():
        clf = classifier(str(run.path), run.model_path.stat().st_mtime)
        st.session_state["try_answer"] = (asked, list(w.current_class_names(clf.classes_)),
                                            clf.predict_proba([texts])[0].tolist())
answer = st.session_state.get("try_answer")
if answer and answer[0] == asked:
    _, classes, proba = answer
    best = max(range(len(proba)), key=proba.__getitem__)
    st.success(f"**{plain(classes[best])}** ({W.percent(proba[best], 1)})")
    st.plotly_chart(try_it_chart(classes, proba), width="stretch", key="try_chart")

st.subheader("Predict a file")
up = st.file_uploader("File to label", type=["csv", "tsv", "jsonl", "json", "parquet", "txt"], key="pred_file")
if up is not None:
    with errors():
        # The workspace's text column(s) when the file has them, else the person names them (no guessing).
        # Only the columns the run's template reads ('{premise} ? {mask}' over premise and hypothesis: premise).
        columns, wanted = w.file_columns(up.name, up.getvalue()), columns_read(fields, w.text_columns)
        if not set(wanted) <= set(columns):
            st.caption(f"This file has no column {' / '.join(repr(c) for c in wanted if c not in columns)} (the "
                       "pool's): choose which of its columns holds the text.")
            wanted = [st.selectbox(f"Text column for {{{f}}}" if len(fields) > 1 else "Text column", columns,
                                   index=None, key=f"pred_col_{f}", placeholder="choose a column") for f in fields]
        if all(wanted):
            data, summary = file_predictions(w.name, str(run.path), run.model_path.stat().st_mtime, up.name,
                                             up.getvalue(), tuple(wanted))
            st.caption(summary)
            p1, p2 = st.columns(2)
            p1.download_button("Download predictions (CSV)", data,
                               file_name=f"predictions_{up.name.rsplit('.', 1)[0]}.csv", mime="text/csv",
                               key="dl_pred")
            p2.download_button("Download predictions for Excel", excel_copy(data),
                               file_name=f"predictions_{up.name.rsplit('.', 1)[0]}_excel.csv", mime="text/csv",
                               key="dl_pred_excel", help="UTF-16, tab-separated: opens by double-click in Excel.")
