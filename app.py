"""LiST Studio: few-shot text classification for annotators. Start with `streamlit run app.py`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import streamlit as st  # noqa: E402

from list_core import workspace as W  # noqa: E402
from app_pages._ui import ensure_workspace, open_workspace  # noqa: E402

st.set_page_config(page_title="LiST Studio", page_icon=":label:", layout="wide")


name = ensure_workspace()
with st.sidebar:
    st.markdown(f"**Workspace** `{name}`")
    st.caption("Bookmark this page's address to come back to this workspace.")
    st.caption("**Steps:** 1 **Data**: load the texts to label (the pool). 2 **Label**: name the classes and label "
               "a few texts per class (8 or more). 3 **Prompt**: a sentence with `{mask}` and one word per class. "
               "4 **Train**: start a run and watch it. 5 **Inspect**, **Export**: check the pseudo-labels, "
               "download the data and the model.")
    with st.expander("Open or create a workspace"):
        known = [n for n in W.recent_workspaces() if n != name]
        other = st.selectbox("Workspace name", known, index=None, key="open_ws", accept_new_options=True,
                             placeholder="recent, or type a name",
                             help="Recent workspaces with data in them; type a new name (letters, digits, - or _) "
                                  "to create one.")
        c1, c2 = st.columns(2)
        if c1.button("Open", key="open_ws_btn") and other:
            try:
                W.Workspace(W.validate_name(other))
            except W.WorkspaceError as exc:
                st.error(str(exc))
            else:
                open_workspace(other)
        if c2.button("New", key="new_ws_btn"):
            open_workspace(W.new_workspace_name())

pages = [
    st.Page("app_pages/data.py", title="Data", icon=":material/upload_file:", default=True),
    st.Page("app_pages/label.py", title="Label", icon=":material/label:", url_path="label"),
    st.Page("app_pages/prompt.py", title="Prompt", icon=":material/edit_note:", url_path="prompt"),
    st.Page("app_pages/train.py", title="Train", icon=":material/model_training:", url_path="train"),
    st.Page("app_pages/inspect_run.py", title="Inspect", icon=":material/search:", url_path="inspect"),
    st.Page("app_pages/runs.py", title="Runs", icon=":material/history:", url_path="runs"),
    st.Page("app_pages/export.py", title="Export", icon=":material/download:", url_path="export"),
]
st.navigation(pages).run()
