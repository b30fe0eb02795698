"""Train: preset, model, device, seed; start / stop / resume; live status while the run is active."""

import time

import pandas as pd
import plotly.express as px
import streamlit as st

from list_core import workspace as W
from list_core.config import ListConfig, PRESETS
from app_pages._ui import USER_ERRORS, class_colors, errors, plain, say_unknown_run, state_word, ws

st.title("Train")
w = ws()
s = w.state["settings"]
help_ = ListConfig.help()


def keep_settings() -> None:
    """Every change is kept in the workspace at once: Streamlit drops a page's widget values when the user goes to
    another page (say Prompt, to fix a label word named below), and a refresh starts a new session; the page then
    showed the last run's settings, and Start trained with them."""
    ss = st.session_state
    changes = {k: ss[k] for k in ("preset", "model", "device") if k in ss}
    if "seed" in ss:
        changes["seed"] = int(ss["seed"])
    knobs = {knob: ss[f"k_{knob}"] for knob in W.CUSTOM_KNOBS if f"k_{knob}" in ss}
    if knobs:
        changes["custom"] = {**(w.reload()["settings"].get("custom") or {}), **knobs}
    w.update_settings(**changes)


c1, c2, c3, c4 = st.columns([1, 2, 1, 1])
preset = c1.radio("Preset", ["quick", "paper", "custom"], index=["quick", "paper", "custom"].index(
    s.get("preset", "quick")), key="preset", on_change=keep_settings,
    help="quick: minutes on a CPU; paper: the authors' schedule (hours).")
model = c2.text_input("Model", s.get("model", "default"), key="model", on_change=keep_settings,
                      help="'default' = embedded MiniLM (no download), a Hugging Face name, or a local directory "
                           "under LIST_STUDIO_MODEL_ROOTS.")
devices = W.device_options()
device = c3.selectbox("Device", list(devices), format_func=devices.get, key="device", on_change=keep_settings,
                      index=list(devices).index(s.get("device", "auto")) if s.get("device") in devices else 0)
seed = c4.number_input("Seed", 0, 10**6, int(s.get("seed", 0)), key="seed", on_change=keep_settings)
custom = {}
if preset == "custom":
    with st.expander("Custom settings", expanded=True):
        base = {**PRESETS["quick"], **s.get("custom", {})}
        cols = st.columns(4)
        for i, knob in enumerate(W.CUSTOM_KNOBS):
            value = base.get(knob, getattr(ListConfig(), knob))
            col = cols[i % 4]
            if isinstance(value, bool):
                custom[knob] = col.checkbox(knob, value, key=f"k_{knob}", help=help_.get(knob),
                                            on_change=keep_settings)
            # No knob takes a negative value; a float's step is a tenth of the quick preset's order of magnitude
            # (a learning rate of 0.001 steps by 0.0001: the fixed 0.01 took one click to a negative rate).
            elif isinstance(value, float):
                custom[knob] = col.number_input(knob, 0.0, value=max(float(value), 0.0), format="%g",
                                                step=W.knob_step(knob), key=f"k_{knob}", help=help_.get(knob),
                                                on_change=keep_settings)
            else:
                custom[knob] = col.number_input(knob, 0, value=max(int(value), 0), step=1, key=f"k_{knob}",
                                                help=help_.get(knob), on_change=keep_settings)

active = w.active_run()
# What Start would refuse for sure, said by the warnings below: Start waits instead of repeating one as an error.
# Only the cheap checks: the prompt's (a tokenizer load) come after the button, so it is drawn at once on a rerun.
blocked = w.start_blocked()
settings_problem = w.custom_settings_problem(custom) if preset == "custom" else None
if settings_problem:  # said under the settings as they are typed, not first by Start
    st.warning(plain(f"Custom settings: {settings_problem}. Start waits until it is fixed."))
    blocked = True
b1, b2, _ = st.columns([1, 1, 4])
# The prompt a run started now uses, said here (the Prompt page may be another tab's), and the one this page showed
# before the click: changed since in another tab, Start refuses instead of training with a prompt never shown.
drawn_prompt = st.session_state.get("_train_prompt")
st.session_state["_train_prompt"] = w.prompt_shown()
why_not = (f"Run {active} of this workspace is still training (one run at a time): wait for it, or stop it."
           if active is not None else "Fix what the warnings below name first." if blocked else None)
if b1.button("Start training", type="primary", disabled=active is not None or blocked, key="start", help=why_not):
    with errors(), st.spinner("Checking the prompt and starting the worker..."):
        rid = w.start_run(preset, model, device, int(seed), custom, seen=drawn_prompt)
        st.query_params["run"] = rid
        st.session_state["run_id"] = rid
        st.rerun()
if w.classes:
    st.caption(plain(f"Prompt: {w.template} · label words: "
                     + ", ".join(f"{c} = {word or '(none)'}" for c, word in w.label_words.items())))
busy = w.machine_busy() if active is None else None
if busy:  # said before the click; the button stays live, so it works as soon as the other run ends
    st.caption(plain(busy) + ".")
if active is not None and st.query_params.get("run") != active:  # the run shown below is another: say why Start waits
    st.caption(why_not)
    if st.button(f"Show run {active}", key="show_active", help="Watch it, or stop it."):  # the page has no run picker
        st.query_params["run"] = active
        st.session_state["run_id"] = active
        st.rerun()
draft = ([f"The Prompt page holds a template draft that does not work yet; a run started now uses the last "
          f"working template: {w.template}"] if w.template_draft else [])
gold_warning = w.gold_warning()  # reads the pool file: once
for warning in w.label_warnings() + w.prompt_problems(model or "default") + [gold_warning or ""] + draft:
    if warning:
        st.warning(plain(warning))
if not w.state.get("eval") and (w.state.get("pool") or {}).get("label_column") and not gold_warning:
    st.info("No evaluation set: a run measures accuracy on a few held-out labeled examples. Your pool has a label "
            "column, so the Data page can hold out some of its rows as the evaluation set, for an accuracy on "
            "hundreds of rows.")

ids = w.run_ids()
rid = st.query_params.get("run") if st.query_params.get("run") in ids else (ids[0] if ids else None)
if rid is None:
    st.stop()
if st.query_params.get("run") != rid:  # e.g. the address named a run deleted since: it now names the one shown
    if st.query_params.get("run"):
        say_unknown_run(st.query_params.get("run"))
    st.query_params["run"] = rid
    st.session_state["run_id"] = rid
run = w.run(rid)
state = run.status().get("state")
st.subheader(f"Run {rid}")


def stop_shown(rid: str) -> None:
    """Stop and Resume are bound to the run on screen: at the click's rerun the page shows the newest run when the
    one on screen was deleted in another tab since, and the click stopped or resumed that one, which nobody chose."""
    try:
        shown = ws()
        if shown.stop_run(rid):
            st.toast("Stop requested: the run stops at the next step.")
        else:  # it ended while the page was drawn: nothing to stop
            st.toast(f"The run had already ended ({state_word(shown.run(rid).status().get('state'))}).")
    except USER_ERRORS as exc:
        st.session_state["_train_error"] = str(exc)


def resume_shown(rid: str) -> None:
    try:
        ws().resume_run(rid)
    except USER_ERRORS as exc:
        st.session_state["_train_error"] = str(exc)


if state in ("queued", "running"):
    b2.button("Stop", key="stop", on_click=stop_shown, args=(rid,))
if state in ("interrupted", "cancelled", "failed"):
    b2.button("Resume", key="resume", on_click=resume_shown, args=(rid,))
if "_train_error" in st.session_state:
    st.error(plain(st.session_state.pop("_train_error")))


def show_run():
    status = run.status()
    st_ = status.get("state")
    if st_ not in ("queued", "running") and st.session_state.get("polling") == rid:
        st.session_state["polling"] = None
        st.rerun()  # stop polling: redraw the page without run_every
    icon = {"done": ":material/check_circle:", "failed": ":material/error:", "interrupted": ":material/warning:",
            "cancelled": ":material/stop_circle:"}.get(st_, ":material/hourglass_top:")
    st.markdown(f"{icon} **{state_word(st_)}** · stage `{status.get('stage') or '-'}` · "
                f"iteration {status.get('iteration', 0)}")
    if status.get("error") and st_ in ("failed", "interrupted"):
        st.error(plain(status["error"]))
    if status.get("paused"):
        st.warning(W.PAUSED_HELP.format(pid=status.get("pid")))
    if st_ in ("queued", "running"):
        fraction, done, whole, label = W.progress_view(status)
        # Over all teachers for the teacher stage; per pass where a stage starts over (each teacher over the pool);
        # per attempt: a resumed run does the stopped iteration's stages again, and their first sight in the
        # attempt before (its step, before the pause) must not set the pace.
        key = (rid, status.get("started_at"), status.get("stage"), status.get("iteration"),
               None if status.get("parts") else status.get("part"), whole)
        seen = st.session_state.setdefault("eta", {})
        first = seen.setdefault(key, (time.time(), done))
        rate = (done - first[1]) / max(1e-6, time.time() - first[0])
        eta = f" · about {(whole - done) / rate:.0f}s left in this stage" if rate > 0 and whole else ""
        st.progress(fraction, text=label + eta)
        if W.STAGE_HELP.get(status.get("stage")):
            st.caption(f"{status.get('stage')}: {W.STAGE_HELP[status.get('stage')]}.")
    metrics = run.metrics()
    if metrics:
        m = pd.DataFrame(metrics)
        curve = W.metric_curve(metrics, int((status.get("info") or {}).get("n_eval") or 0))
        left, right = st.columns(2)
        if len(curve):
            # Titles as markdown, not in the figure: Plotly's toolbar covers a figure title in a half-width column.
            # A 36 px top margin keeps the toolbar (shown on hover) above the legend, not over its first entries.
            left.markdown("**Accuracy and macro-F1 per iteration** (bars: accuracy's 95% range on the evaluation "
                          "rows)")
            fig = px.line(curve, x="iteration", y="value", color="measure", markers=True, error_y="plus",
                          error_y_minus="minus", line_dash="measure")
            fig.update_layout(height=300, yaxis_range=[0, 1.05], margin=dict(t=36, b=10), xaxis_dtick=1,
                              xaxis_range=[-0.3, float(m["iteration"].max()) + 0.3], yaxis_title=None,
                              legend_title_text=None)
            left.plotly_chart(fig, width="stretch", key="acc_chart")
        if "pseudo_label_distribution" in m:
            # A run made before a class was renamed spells its old name: shown under the new one, as on Inspect.
            dist = [(r["iteration"], k, v) for r in metrics
                    for k, v in (r.get("pseudo_label_distribution") or {}).items()]
            bal = [{"iteration": i, "class": name, "share": v}
                   for (i, _, v), name in zip(dist, w.current_class_names(k for _, k, _ in dist))]
            if bal:
                right.markdown("**Pseudo-label class balance**")
                n_classes = len({b["class"] for b in bal})  # past 10 the default palette repeats its colours
                fig = px.bar(pd.DataFrame(bal), x="iteration", y="share", color="class",
                             color_discrete_sequence=class_colors(n_classes))
                fig.update_layout(height=max(300, 24 * n_classes + 60), margin=dict(t=36, b=10), xaxis_dtick=1)
                right.plotly_chart(fig, width="stretch", key="bal_chart")
        readout = w.accuracy_readout(rid)
        if readout and readout[0] == "warning":  # the curve's 95% range on its few rows includes guessing
            st.warning(plain(readout[1]))
        elif readout:
            st.caption(readout[1])
        else:
            st.caption(f"Evaluated on {metrics[-1].get('eval_source', '?')}")
        first = metrics[0]
        if first.get("teachers"):
            cfg = run.settings()
            st.caption(W.ensemble_summary(first, self_training=int(cfg.get("iterations", 1) or 0) > 0))
    try:
        pseudo = run.pseudo_labels()
    except W.DamagedRunFile as exc:  # the run's metrics above still stand
        st.warning(plain(str(exc)))
        pseudo = []
    if len(pseudo) and pseudo["weight"].notna().any():
        fig = px.histogram(pseudo.dropna(subset=["weight"]), x="weight", color=pseudo["iteration"].astype(str)
                           .loc[pseudo["weight"].notna()], nbins=30, barmode="overlay",
                           title="Learned weights of pseudo-labeled examples per iteration",
                           labels={"color": "iteration"})
        fig.update_layout(height=280, margin=dict(t=40, b=10))
        st.plotly_chart(fig, width="stretch", key="w_hist")
        zero = metrics[-1].get("zero_weight_share") if metrics else None
        if isinstance(zero, (int, float)) and zero == zero:  # the first bar mixes weight 0 with small weights
            several = pseudo["iteration"].nunique() > 1  # the share is the last iteration's: say which
            st.caption(f"{W.percent(zero)} of the re-weighted pseudo-labels"
                       + (f" of iteration {metrics[-1].get('iteration')}" if several else "")
                       + " got weight 0 (rejected); see them on Inspect with 'Rejected only'.")
    with st.expander("Log", expanded=st_ in ("running", "failed")):
        st.code("\n".join(run.log_messages()) or "(empty)", language=None, wrap_lines=True)


polling = state in ("queued", "running")
if polling:
    st.session_state["polling"] = rid
st.fragment(run_every=2 if polling else None)(show_run)()
# Below the run's live view: the words first, and the run's status, would push what is happening down.
with st.expander("What the words on this page mean"):
    st.markdown(
        "- **Teacher**: the first model, trained on your labeled examples only (the quick preset trains three from "
        "different seeds and keeps the one that agrees most with their average).\n"
        "- **Pseudo-label**: the teacher's guess for a text you did not label.\n"
        "- **Student**: a model that learns from the pseudo-labels, then becomes the next teacher. It first copies "
        "the teacher's guesses (**warm-up**, knowledge distillation), then gives each guess a **weight**: a guess "
        "whose lesson would not help on your labeled examples gets less, down to 0 (**re-weighting**).\n"
        "- **Iteration**: one teacher-to-student round; iteration 0 is the teacher alone.\n"
        "- **Accuracy / macro-F1**: the share of evaluation texts labeled right; macro-F1 averages over classes, "
        "so a rare class counts as much as a common one.\n"
        "- **Stage, step**: where the run is; the time left is estimated from the steps so far.")
