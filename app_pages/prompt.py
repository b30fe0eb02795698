"""Prompt: template and label words with a live preview of how real examples render, token counts and warnings."""

import streamlit as st

from list_core.prompts import SUGGESTED_TEMPLATES, PromptError, Template
from list_core.workspace import (WorkspaceError, check_model, map_fields, match_suggested_words, placeholder_ok,
                                 preview_prompts, zero_shot_check)
from app_pages._ui import errors, flash, grid, plain, show_flash, ws

st.title("Prompt")
w = ws()
st.caption(plain("The model reads each example through the template and guesses the word at {mask}; each class is "
                 "represented by one label word. Placeholders name your text columns: "
                 + ", ".join("{" + c + "}" if placeholder_ok(c) else f"'{c}' (a name with ':', braces or 'mask' "
                             "cannot be one: a placeholder of another name, {text} say, reads it by position)"
                             for c in w.text_columns)))
def use_suggestion() -> None:
    """Apply the picked suggestion, then set the picker back to '(keep mine)': left on it, one more click would
    overwrite a template typed since."""
    tpl, words = SUGGESTED_TEMPLATES[st.session_state["suggestion"]]
    column = w.text_columns[0]
    if len(w.text_columns) == 1 and "{text" in tpl and column != "text" and placeholder_ok(column):
        tpl = tpl.replace("{text", "{" + column)
    try:
        w.set_template(tpl)
    except (PromptError, WorkspaceError) as exc:
        flash(str(exc), "error")
        return
    matched = match_suggested_words(w.classes, words) if words else None
    if matched:
        w.set_label_words(matched)
    elif words and not w.classes:  # no word boxes below yet: say where the classes come from
        flash("Template set. Its label words (" + ", ".join(f"{k} -> {v}" for k, v in words.items()) + ") wait for "
              "your classes (below: where to name them).", "info")
    elif words:
        flash("Label words not applied: the suggestion's classes ("
              + ", ".join(f"{k} -> {v}" for k, v in words.items()) + ") do not match yours by name; "
              "set the words below.", "warning")
    st.session_state["template_text"] = tpl
    for c in w.classes:
        st.session_state[f"word_{c}"] = w.label_words.get(c, "")
    st.session_state["suggestion"] = "(keep mine)"


suggestion = st.selectbox("Suggested templates", ["(keep mine)", *SUGGESTED_TEMPLATES], key="suggestion")
if suggestion != "(keep mine)":
    tpl_s, words_s = SUGGESTED_TEMPLATES[suggestion]
    st.caption(f"Sets the template to `{tpl_s}`" + (" and the label words " + ", ".join(
        f"{k} = {v}" for k, v in words_s.items()) if words_s else "") + ", replacing yours.")
    st.button("Use this suggestion", key="use_suggestion", on_click=use_suggestion)
show_flash()


def field_map_of(fields: list[str]) -> dict[str, str]:
    """Template field -> text column as a run maps them (`map_fields`); a template that does not fit the columns
    (said by the warnings) previews each field by name, else by position."""
    try:
        return map_fields(fields, w.text_columns)
    except WorkspaceError:
        return {f: (f if f in w.text_columns else c) for f, c in zip(fields, w.text_columns)}


def keep_word(c: str) -> None:
    """Label words are saved as they are typed: leaving the page never loses an edit."""
    w.set_label_words({c: st.session_state.get(f"word_{c}", "")})


def keep_template() -> None:
    """A valid template is saved as it is typed; a broken one is kept as a draft until it is fixed (its error
    shows under the inputs, and training keeps the last working template)."""
    text = st.session_state.get("template_text", "")
    st.session_state["suggestion"] = "(keep mine)"  # a template of one's own: no suggestion stays picked over it
    try:
        w.set_template(text)
    except PromptError:
        w.set_template_draft(text)


# Widget values start from the workspace through session state (set once), never also through value=: Streamlit
# warns when both are given, as after "Use this suggestion".
st.session_state.setdefault("template_text", w.template_draft or w.template)
for c in w.classes:
    st.session_state.setdefault(f"word_{c}", w.label_words.get(c, ""))
# The prompt this session's boxes were drawn from. Changed since in another tab or window, a box that holds what it
# was drawn with shows the change now: set once, it kept the old prompt, its preview showed it, a run started used
# the other tab's, and Save prompt wrote the old one back over it without a word.
now_prompt = {"template": w.template_draft or w.template, "words": w.label_words}
seen_prompt = st.session_state.get("prompt_seen") or now_prompt
followed = []
if st.session_state["template_text"] == seen_prompt["template"] != now_prompt["template"]:
    st.session_state["template_text"] = now_prompt["template"]
    followed.append("the template")
for c in w.classes:
    if (c in seen_prompt["words"] and st.session_state[f"word_{c}"] == seen_prompt["words"][c]
            != now_prompt["words"][c]):
        st.session_state[f"word_{c}"] = now_prompt["words"][c]
        followed.append(f"the label word for '{c}'")
st.session_state["prompt_seen"] = now_prompt
template = st.text_input("Template", key="template_text", on_change=keep_template)
if w.template_draft is not None and template == w.template_draft:
    st.caption(f"Unsaved draft: training uses the last working template, `{w.template}`, until this one is fixed.")
words = {}
cols = grid(len(w.classes), 4)
for col, c in zip(cols, w.classes):
    words[c] = col.text_input(f"Label word for '{plain(c)}'", key=f"word_{c}", on_change=keep_word, args=(c,),
                              placeholder="one word, e.g. great")
if not w.classes:
    st.info("Define the classes on the Label page to set their label words.")
try:
    parsed, template_error = Template(template), None
except PromptError as exc:
    parsed, template_error = None, str(exc)
    st.error(plain(template_error))  # once, next to what caused it; the preview below waits for a fix
model = w.state["settings"].get("model") or "default"
clicked = st.button("Save prompt", type="primary", key="save_prompt")
saved_note = st.empty()
saved = False
if followed:
    what = ", ".join(followed)
    st.warning(plain(f"{what[0].upper() + what[1:]} changed in another tab or window since this page was drawn; "
                     f"the {'box shows it' if len(followed) == 1 else 'boxes show them'} now."
                     + (" Nothing was saved: check the prompt, then save again." if clicked else "")))
if clicked and template_error is None and not followed:
    with errors():
        w.set_template(template)
        w.set_label_words(words)
        saved = True
problems: list[str] = []
if template_error is None:
    with errors():
        problems = w.prompt_problems(model)  # asked once per rerun: the save note and the preview share it
if saved:
    if not w.classes:
        saved_note.warning("Saved; training needs classes too: define them on the Label page.")
    elif problems:
        saved_note.warning("Saved, but training will not start until the warnings below are fixed.")
    else:
        saved_note.success("Saved; training can use this prompt.")
for problem in problems:  # next to the fields and the button they are about, not under the preview
    st.warning(plain(problem))
if template_error is None:
    for note in w.field_notes(parsed.fields):
        st.info(plain(note))

# At the budget the next run will use (the slider it replaced changed the preview only, never the training).
max_len, budget_from = w.next_run_max_length()
rows = [{**{c: ex.get(c, "") for c in w.text_columns}} for ex in w.labeled[:3]]
pool = w.pool()
if len(rows) < 3 and len(pool):
    rows += pool.head(3 - len(rows))[w.text_columns].to_dict("records")
st.subheader("Preview")
st.caption(f"At the next run's token budget: {max_len} tokens, from {budget_from}. A long text is cut to fit; the "
           "template and the mask never are.")
try:  # a model outside LIST_STUDIO_MODEL_ROOTS is never read, not even for a preview
    check_model(model)
    model_error = None
except WorkspaceError as exc:
    model_error = str(exc)
if template_error:
    st.caption("The preview appears once the template is fixed.")
elif model_error:
    if model_error not in problems:  # said above only once the classes have their words
        st.warning(plain(model_error))
    st.caption("The preview appears once the Model on the Train page can be used.")
else:
    with errors():
        fmap = field_map_of(parsed.fields)
        shown = [{f: r.get(c, "") for f, c in fmap.items()} for r in rows] or [{f: "An example text." for f in fmap}]
        previews, warnings = preview_prompts(template, shown, words, model, max_len)
        for warning in dict.fromkeys(w_ for w_ in warnings if w_ not in problems):
            st.warning(plain(warning))
        for p in previews:
            st.code(p["rendered"], language=None, wrap_lines=True)
            note = f"{p['tokens']} tokens" + (f" (cut from {p['full_tokens']}: the text was truncated; the model "
                                              "reads what follows)" if p["truncated"] else "")
            st.caption(note)
            if p["truncated"]:  # where the cut fell (the end of a long premise, say: often the sentence that counts)
                st.code(p["kept"], language=None, wrap_lines=True)

with st.expander("Zero-shot check: how the untrained model scores your label words on the labeled examples"):
    st.caption("Before any training: the probability of each label word at the mask. Useful to compare templates "
               "and label words; near-chance results are normal for models without a trained masked-LM head.")
    if st.button("Run the check", key="zs_btn", disabled=not w.labeled or template_error is not None):
        with errors(), st.spinner("Loading the model..."):
            fields = parsed.fields
            fmap = field_map_of(fields)
            rows = [{**{f: ex.get(c, "") for f, c in fmap.items()}, "label": ex["label"]}
                    for ex in w.zero_shot_examples(64)]
            frame, acc, head = zero_shot_check(template, words, rows, model, max_len)
            if not head:
                st.warning("This model has no trained masked-LM head (the embedded MiniLM is a sentence encoder), "
                           "so zero-shot scores are close to chance; training learns the head.")
            st.metric("Zero-shot accuracy", f"{acc:.1%}", help=f"On {len(rows)} labeled examples, taken in turn "
                      "from each class (at most 64).")
            st.dataframe(frame, hide_index=True, width="stretch")
