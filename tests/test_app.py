"""The Streamlit app driven headless with streamlit.testing.v1.AppTest (no browser, no network, tiny model)."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import toy_rows
from list_core import workspace as W

streamlit = pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

APP = Path(__file__).resolve().parent.parent / "app.py"
PAGES = ["app_pages/data.py", "app_pages/label.py", "app_pages/prompt.py", "app_pages/train.py", "app_pages/inspect_run.py",
         "app_pages/runs.py", "app_pages/export.py"]
TINY = {"iterations": 1, "teacher_epochs": 2, "teacher_max_steps": 0, "teacher_min_steps": 0, "student_steps": 4,
        "unlabeled_per_iteration": 16, "max_length": 32, "adapter_dim": 4, "labeled_batch_size": 4,
        "unlabeled_batch_size": 4, "student_finetune_epochs": 1, "student_finetune_max_steps": 0,
        "meta_batch_size": 4}




def app(ws="t1", page=None, run=None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["ws"] = ws
    if run:
        at.query_params["run"] = run
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def no_errors(at):
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def prepared(name="t1", n=8):
    ws = W.Workspace(name)
    pool = [{"text": f"{r['text']} number {i}", "label": r["label"]} for i, r in enumerate(toy_rows(20, seed=1))]
    ws.save_upload("pool.csv", pd.DataFrame(pool).to_csv(index=False).encode())
    ws.set_pool("pool.csv", ["text"])
    ws.set_classes(["neg", "pos"], {"neg": "terrible", "pos": "great"})
    for r in toy_rows(n, seed=2):
        ws.add_example(r["text"], r["label"])
    return ws


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_empty_workspace(home, page):
    at = app("empty", page)
    no_errors(at)
    assert at.title[0].value


def test_export_offers_downloads_once_there_is_something_to_export(home):
    at = app("exempty", "app_pages/export.py")
    assert not at.get("download_button") and any("Nothing to export yet" in i.value for i in at.info)
    ws = W.Workspace("exempty")
    ws.set_classes(["neg", "pos"], {"neg": "bad", "pos": "good"})
    ws.add_example("a fine text", "pos")
    at = app("exempty", "app_pages/export.py")  # labels can be downloaded before any run
    assert {b.key for b in at.get("download_button")} == {"dl_csv", "dl_jsonl", "dl_excel"}
    assert not any("Nothing to export" in i.value for i in at.info)
    ws.set_classes(["neg", "pos", "meh"], {"neg": "bad", "pos": "good", "meh": "okay"})
    ws.add_example("so so", "meh")
    ws.set_classes(["neg", "pos"])  # 'meh' deleted: its example is kept aside, not exported, and not in the total
    at = app("exempty", "app_pages/export.py")
    assert any("Not in the download: 1 row(s) labeled 'meh' (1)" in c.value for c in at.caption)
    at = app("exempty", "app_pages/label.py")
    assert [m.value for m in at.metric] == ["0", "1", "1"]  # neg, pos, total
    assert any("belong to class(es) no longer listed" in m.value for m in at.warning)


def test_new_session_gets_random_workspace(home):
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    name = at.query_params["ws"]
    # A visit that changes nothing leaves nothing on disk (no empty workspace folders from bare URLs).
    assert name.startswith("ws-") and W.list_workspaces() == [] and not (home / "workspaces" / name).exists()
    other = AppTest.from_file(str(APP), default_timeout=60)
    other.run()
    assert other.query_params["ws"] != name
    bad = AppTest.from_file(str(APP), default_timeout=60)
    bad.query_params["ws"] = "../../etc"
    bad.run()
    assert bad.query_params["ws"].startswith("ws-") and not bad.exception


def test_opening_another_workspace_shows_its_own_prompt_and_classes(home):
    """Open in the sidebar: the Prompt and Label pages show the opened workspace's values, and their Save buttons
    write those, not the widget values left from the workspace the session came from (which renamed its classes
    and overwrote its prompt)."""
    a = prepared("wsa")
    a.set_template("{text} It was {mask}.")
    b = W.Workspace("wsb")
    b.set_classes(["spam", "ham"], {"spam": "junk", "ham": "fine"})
    b.set_template("Subject: {text} This is {mask}.")
    b.add_example("win money now", "spam")
    at = app("wsa", "app_pages/prompt.py")
    assert at.text_input(key="template_text").value == "{text} It was {mask}."
    at.switch_page("app_pages/label.py").run()
    assert at.text_area(key="classes_text").value == "neg, pos"
    at.selectbox(key="open_ws").set_value("wsb")
    at.button(key="open_ws_btn").click().run()
    no_errors(at)
    assert at.query_params["ws"] == "wsb"
    assert at.text_area(key="classes_text").value == "spam, ham"
    at.button(key="save_classes").click().run()
    at.switch_page("app_pages/prompt.py").run()
    assert at.text_input(key="template_text").value == "Subject: {text} This is {mask}."
    at.button(key="save_prompt").click().run()
    no_errors(at)
    b = W.Workspace("wsb")
    assert b.classes == ["spam", "ham"] and b.label_words == {"spam": "junk", "ham": "fine"}
    assert b.template == "Subject: {text} This is {mask}." and b.labeled[0]["label"] == "spam"
    assert W.Workspace("wsa").classes == ["neg", "pos"]


def test_data_page_sample_and_upload(home):
    at = app("d1", "app_pages/data.py")
    at.selectbox(key="data_file").set_value("sample:uci_sentiment_sentences.csv").run()
    at.multiselect(key="text_cols").set_value(["text"]).run()
    at.button(key="use_pool").click().run()
    no_errors(at)
    assert any("kept" in s.value for s in at.success)
    assert W.Workspace("d1").state["pool"]["rows"] > 2000
    # A broken upload: readable error, no traceback.
    ws = W.Workspace("d1")
    ws.save_upload("broken.csv", b"text,label\n")
    at = app("d1", "app_pages/data.py")
    at.selectbox(key="data_file").set_value("broken.csv").run()
    assert not at.exception
    assert any("no data rows" in e.value for e in at.error)


def test_data_page_of_a_new_workspace_chooses_no_file_for_the_user(home):
    at = app("d0", "app_pages/data.py")
    no_errors(at)
    assert at.selectbox(key="data_file").value is None
    assert not at.multiselect and "use_pool" not in [b.key for b in at.button]  # nothing to use yet
    at.selectbox(key="data_file").set_value("sample:spamassassin_subjects.csv").run()
    assert at.multiselect(key="text_cols").value == ["text"]


def test_label_page_takes_classes_named_like_its_buttons_and_says_why_a_row_cannot_be_labeled(home):
    """A class named 'skip' or 'undo' shares no key with the Skip and Undo buttons (a duplicate-key exception box).
    A pair row with one blank text is not offered (it was, and the click then said why it could not be labeled)."""
    ws = W.Workspace("lk")
    ws.set_classes(["keep", "skip", "undo"], {"keep": "yes", "skip": "no", "undo": "maybe"})
    ws.save_upload("p.csv", pd.DataFrame([{"premise": "a man sleeps", "hypothesis": ""},
                                          {"premise": "a dog runs", "hypothesis": "an animal moves"}])
                   .to_csv(index=False).encode())
    ws.set_pool("p.csv", ["premise", "hypothesis"])
    at = app("lk", "app_pages/label.py")
    at.button(key="lab_class_skip").click().run()
    no_errors(at)
    assert [(ex["premise"], ex["label"]) for ex in W.Workspace("lk").labeled] == [("a dog runs", "skip")]


def test_label_page_shows_a_pool_text_as_written_not_as_markdown(home):
    """The one-by-one text was given to st.markdown as it is: the bundled spam sample's '$$$$$$For your satellite
    system$$$$$$' showed as a LaTeX formula (no dollars, no spaces), '# Big news' as a heading, '*cheap*' lost its
    stars. Each text line is shown quoted with every markdown character escaped (Streamlit reads \\$ as a dollar)."""
    import html
    import re

    from markdown_it import MarkdownIt

    texts = ["$$$$$$For your satellite system$$$$$$ 2467SzaW6", "# Big news\n  *cheap* meds & AT&amp;T :red[now]"]
    ws = W.Workspace("md")
    ws.set_classes(["spam", "ham"], {"spam": "junk", "ham": "fine"})
    ws.save_upload("p.csv", pd.DataFrame({"text": texts}).to_csv(index=False).encode())
    ws.set_pool("p.csv", ["text"])
    at = app("md", "app_pages/label.py")
    for _ in texts:
        no_errors(at)
        shown = int(next(c.value for c in at.caption if c.value.startswith("Pool example #")).split("#")[1].split()[0])
        body = next(m.value for m in at.markdown if m.value.startswith(">"))
        assert not re.search(r"(?<!\\)\$", body)  # an unescaped $ starts a formula
        rendered = MarkdownIt("commonmark").render(body)
        assert rendered.startswith("<blockquote>") and "<h1>" not in rendered and "<em>" not in rendered
        lines = [html.unescape(re.sub(r"<[^>]+>", "", ln)).strip() for ln in rendered.splitlines()]
        assert [ln for ln in lines if ln] == [ln.strip() for ln in texts[shown].splitlines()]
        at.button(key="lab_skip").click().run()


def test_a_class_click_labels_the_text_on_screen_even_if_another_tab_labeled_it_first(home):
    """Two sessions show pool row #i; A labels it, then B clicks: B's class goes to the row B saw (last click
    wins), never to the next row that B never saw."""
    prepared("two", n=0)
    a, b = app("two", "app_pages/label.py"), app("two", "app_pages/label.py")
    shown = [next(c.value for c in at.caption if c.value.startswith("Pool example #")) for at in (a, b)]
    assert shown[0] == shown[1]
    row = int(shown[0].split("#")[1].split()[0])
    a.button(key="lab_class_pos").click().run()
    b.button(key="lab_class_neg").click().run()
    labeled = [(ex["pool_id"], ex["label"]) for ex in W.Workspace("two").labeled]
    assert labeled == [(row, "neg")]


def test_a_class_click_after_another_tab_loaded_the_pool_again_labels_the_text_on_screen(home):
    """Tab B shows pool row #i; tab A loads the pool again from another file (its rows in another order, or held
    out as the evaluation set): ids are row numbers of one load, so B's click labeled the new pool's row #i, a text
    B never saw. The click labels the text on screen (found by its text), or, when the new pool no longer holds it,
    labels nothing and says why; Skip skips the text on screen too."""
    ws = prepared("reload", n=0)
    b = app("reload", "app_pages/label.py")
    shown = next(c.value for c in b.caption if c.value.startswith("Pool example #"))
    row = int(shown.split("#")[1].split()[0])
    text = ws.pool().set_index("id").loc[row, "text"]
    reversed_rows = ws.pool()[["text"]].iloc[::-1]
    ws.save_upload("again.csv", reversed_rows.to_csv(index=False).encode())
    ws.set_pool("again.csv", ["text"])  # another tab: the same texts, in the other order
    assert W.Workspace("reload").pool().set_index("id").loc[row, "text"] != text
    b.button(key="lab_class_pos").click().run()
    assert not b.exception
    labeled = [(ex["text"], ex["label"]) for ex in W.Workspace("reload").labeled]
    assert labeled == [(text, "pos")]  # it was the new pool's row #i, another text
    shown = next(c.value for c in b.caption if c.value.startswith("Pool example #"))
    ws.save_upload("other.csv", pd.DataFrame({"text": ["a new text", "another new text"]}).to_csv(index=False)
                   .encode())
    ws.set_pool("other.csv", ["text"])  # another tab: a file without the text on screen
    b.button(key="lab_class_neg").click().run()
    assert not b.exception
    assert any("is no longer in the pool" in e.value for e in b.error)
    assert [(ex["text"], ex["label"]) for ex in W.Workspace("reload").labeled] == [(text, "pos")]
    shown = next(c.value for c in b.caption if c.value.startswith("Pool example #"))
    row = int(shown.split("#")[1].split()[0])
    ws.save_upload("swap.csv", pd.DataFrame({"text": ["another new text", "a new text"]}).to_csv(index=False)
                   .encode())
    ws.set_pool("swap.csv", ["text"])
    b.button(key="lab_skip").click().run()
    now = W.Workspace("reload")
    skipped_text = now.pool().set_index("id").loc[now.state["skipped"][0], "text"]
    assert now.state["skipped"] == [1 - row] and skipped_text in ("a new text", "another new text")


def test_table_edits_made_while_another_tab_labels_are_saved_beside_its_labels(home):
    """Table edits pending while another tab (or One by one) labeled a text were lost: the click's rerun drew the
    table from the new data, a new editor without the edits, and Save said 'Nothing was saved: make them again'.
    The table stays as drawn while edits are pending, says that others labeled since, and Save applies only the
    edits: the other tab's label stays, and so does a relabel it made of a row the table left as it was."""
    ws = prepared("tb2", n=0)
    for t, lab in [("first text", "neg"), ("second text", "pos"), ("third text", "neg")]:
        ws.add_example(t, lab)
    a = app("tb2", "app_pages/label.py")
    a.session_state["labeled_editor_0"] = {"edited_rows": {0: {"label": "pos"}}, "deleted_rows": [2],
                                           "added_rows": [{"text": "fourth text", "label": "neg"}]}
    a.run()
    b = app("tb2", "app_pages/label.py")
    b.button(key="lab_class_pos").click().run()  # another tab labels a pool text meanwhile
    other = W.Workspace("tb2")
    second = next(e for e in other.labeled if e["text"] == "second text")
    other.edit_example(second["uid"], label="neg")  # and relabels a row the table leaves as drawn
    a.run()
    assert any("Labeled elsewhere since you began editing" in c.value for c in a.caption)
    a.button(key="save_table").click().run()
    assert not a.exception
    assert any("saved: 1 added, 1 changed, 1 deleted" in x.value for x in a.success)
    labeled = [(e["text"], e["label"], e["source"]) for e in W.Workspace("tb2").labeled]
    assert labeled[:3] == [("first text", "pos", "manual"), ("second text", "neg", "manual"),
                           ("fourth text", "neg", "manual")]
    assert len(labeled) == 4 and labeled[3][1:] == ("pos", "pool")  # the other tab's label
    assert not any("Labeled elsewhere" in c.value for c in a.caption)  # drawn afresh after the save


def test_a_table_drawn_before_another_tab_loaded_a_pool_of_other_column_names_saves_its_edits(home):
    """Tab B edits the Label table; tab A loads a pool whose text column is named otherwise ('text' -> 'review'; the
    examples' texts follow by position). B's Save read its rows by the new name, found every row blank and deleted
    every labeled example. The table's columns follow by position too; a table of another number of text columns
    (a pair pool loaded since) saves nothing and says so."""
    ws = prepared("tcol", n=2)
    a = app("tcol", "app_pages/label.py")
    assert ws.labeled[0]["label"] == "pos"
    a.session_state["labeled_editor_0"] = {"edited_rows": {0: {"label": "neg"}}, "deleted_rows": [],
                                           "added_rows": [{"text": "a new text", "label": "neg"}]}
    a.run()
    texts = [ex["text"] for ex in ws.labeled]
    ws.save_upload("reviews.csv", pd.DataFrame({"review": [f"review {i}" for i in range(5)]}).to_csv(index=False)
                   .encode())
    ws.set_pool("reviews.csv", ["review"])  # another tab
    a.button(key="save_table").click().run()
    assert not a.exception and not a.error, [e.value for e in a.error]
    assert any("saved: 1 added, 1 changed, 0 deleted" in x.value for x in a.success)
    now = W.Workspace("tcol").labeled
    assert [ex["review"] for ex in now] == texts + ["a new text"]
    assert now[0]["label"] == "neg" and now[-1]["label"] == "neg"
    a.session_state["labeled_editor_1"] = {"edited_rows": {0: {"label": "pos"}}, "deleted_rows": [], "added_rows": []}
    a.run()
    pairs = pd.DataFrame({"premise": ["p1", "p2"], "hypothesis": ["h1", "h2"]})
    ws.save_upload("pairs.csv", pairs.to_csv(index=False).encode())
    ws.set_pool("pairs.csv", ["premise", "hypothesis"])
    a.button(key="save_table").click().run()
    assert not a.exception
    assert any("the text columns changed in another tab or window" in e.value for e in a.error)
    assert len(W.Workspace("tcol").labeled) == len(now)
    assert W.Workspace("tcol").labeled[0]["label"] == "neg"  # nothing saved


def test_table_rows_added_without_text_are_counted_and_gone_after_save(home):
    """'+' then Enter / spaces added empty rows: Save said 'saved: 0 added, 0 changed, 0 deleted' and the empty rows
    stayed on screen, a row with a label but no text dropped without a word."""
    ws = prepared("tb3", n=0)
    ws.add_example("first text", "neg")
    a = app("tb3", "app_pages/label.py")
    a.session_state["labeled_editor_0"] = {"edited_rows": {}, "deleted_rows": [], "added_rows": [
        {"text": "new text", "label": "pos"}, {"text": "  ", "label": "pos"}, {}]}
    a.run()
    a.button(key="save_table").click().run()
    no_errors(a)
    assert any("saved: 1 added, 0 changed, 0 deleted; 2 new row(s) without text left out" in x.value for x in a.success)
    assert a.session_state["_table_gen"] == 1 and not a.session_state["labeled_editor_1"]["added_rows"]  # fresh
    assert sorted(e["text"] for e in W.Workspace("tb3").labeled) == ["first text", "new text"]
    # A new row with text and no label: refused with what to do, nothing saved, the row still in the table.
    a.session_state["labeled_editor_1"] = {"edited_rows": {}, "deleted_rows": [], "added_rows": [
        {"text": "Cheap meds online now"}]}
    a.run()
    a.button(key="save_table").click().run()
    assert any("'Cheap meds online now' has no label: choose its class" in e.value for e in a.error)
    assert a.session_state["_table_gen"] == 1 and a.session_state["labeled_editor_1"]["added_rows"]
    assert len(W.Workspace("tb3").labeled) == 2


def test_label_page_keeps_an_imported_class_whose_name_holds_a_comma(home):
    """A file's label 'Clothing, Shoes & Jewelry' became a class on import; the Label page lists the classes
    comma-separated, and Save classes (even unchanged) split it into 'Clothing' and 'Shoes & Jewelry', leaving its
    examples kept aside and not trained on. A known class spelled whole in the list stays one class."""
    at = app("cc", "app_pages/data.py")
    at.file_uploader[0].set_value([("reviews.csv", b'text,category\nnice red shoes,"Clothing, Shoes & Jewelry"\n'
                                                   b'great novel,Books\nsoft scarf,"Clothing, Shoes & Jewelry"\n',
                                    "text/csv")]).run()
    at.selectbox(key="gold_col").set_value("category").run()
    at.button(key="import_labeled").click().run()
    at.switch_page("app_pages/label.py").run()
    assert at.text_area(key="classes_text").value == "Clothing, Shoes & Jewelry, Books"
    at.button(key="save_classes").click().run()
    no_errors(at)
    assert W.Workspace("cc").classes == ["Clothing, Shoes & Jewelry", "Books"]
    at.text_area(key="classes_text").set_value("Clothing, Shoes & Jewelry, Books, Electronics").run()
    at.button(key="save_classes").click().run()
    no_errors(at)
    assert W.Workspace("cc").class_counts() == {"Clothing, Shoes & Jewelry": 2, "Books": 1, "Electronics": 0}
    # Typed names are still split at each comma when no class spells them whole.
    assert W.split_class_list("a, b,c", ["a, b"]) == ["a, b", "c"]
    assert W.split_class_list("a, b,c", ["x"]) == ["a", "b", "c"]


def test_the_paste_class_follows_a_rename_of_the_classes(home):
    prepared("pr", n=0)
    at = app("pr", "app_pages/label.py")
    at.selectbox(key="paste_class").set_value("pos").run()
    at.text_area(key="classes_text").set_value("negative, positive").run()
    at.button(key="save_classes").click().run()
    assert at.selectbox(key="paste_class").value == "positive"
    at.text_area(key="paste_text").set_value("lovely film").run()
    at.button(key="paste_add").click().run()
    assert ("lovely film", "positive") in [(e["text"], e["label"]) for e in W.Workspace("pr").labeled]


def test_a_second_upload_under_the_same_name_gets_its_own_columns(home):
    W.Workspace("ru").set_classes(["neg", "pos"], {"neg": "terrible", "pos": "great"})
    at = app("ru", "app_pages/data.py")
    at.file_uploader[0].set_value([("d.csv", b"text,label\na b,neg\nc d,pos\ne f,neg\n", "text/csv")]).run()
    assert at.multiselect(key="text_cols").value == ["text"]
    at.file_uploader[0].set_value([("d.csv", b"review,sentiment\na b,neg\nc d,pos\ne f,neg\n", "text/csv")]).run()
    assert at.multiselect(key="text_cols").value == ["review"]
    at.button(key="use_pool").click().run()
    no_errors(at)
    assert W.Workspace("ru").text_columns == ["review"]


def test_label_page_classes_buttons_table_paste(home):
    prepared("l1", n=0)
    at = app("l1", "app_pages/label.py")
    no_errors(at)
    at.button(key="lab_class_pos").click().run()
    at.button(key="lab_class_neg").click().run()
    at.button(key="lab_skip").click().run()
    assert W.Workspace("l1").class_counts() == {"neg": 1, "pos": 1}
    at.text_area(key="paste_text").set_value("good one\nnice one").run()
    at.selectbox(key="paste_class").set_value("pos").run()
    at.button(key="paste_add").click().run()
    no_errors(at)
    assert any("2 examples added" in s.value for s in at.success)
    assert at.text_area(key="paste_text").value == ""
    assert W.Workspace("l1").class_counts() == {"neg": 1, "pos": 3}
    assert any("at least 8" in w.value for w in at.warning)
    # classes through the text box
    at.text_area(key="classes_text").set_value("neg, pos, neutral").run()
    at.button(key="save_classes").click().run()
    assert W.Workspace("l1").classes == ["neg", "pos", "neutral"]
    # editing the table through the service the editor calls, then re-render
    ws = W.Workspace("l1")
    frame = ws.labeled_frame()
    frame.loc[0, "label"] = "neutral"
    ws.replace_labeled(frame)
    at = app("l1", "app_pages/label.py")
    no_errors(at)
    assert [m.value for m in at.metric][:3] == ["1", "2", "1"]


def test_prompt_suggestion_gives_each_class_its_own_label_word(home):
    ws = W.Workspace("sug")
    ws.save_upload("p.csv", pd.DataFrame({"premise": ["a b"], "hypothesis": ["c d"]}).to_csv(index=False).encode())
    ws.set_pool("p.csv", ["premise", "hypothesis"])
    ws.set_classes(["entailment", "neutral", "contradiction"])  # not the suggestion's order
    at = app("sug", "app_pages/prompt.py")
    at.selectbox(key="suggestion").set_value("pair inference (NLI)").run()
    at.button(key="use_suggestion").click().run()
    no_errors(at)
    assert W.Workspace("sug").label_words == {"entailment": "Yes", "neutral": "Maybe", "contradiction": "No"}
    assert at.text_input(key="word_contradiction").value == "No"
    # Applied, the picker is back on '(keep mine)': left on the suggestion, a click more overwrote a template typed
    # since; typing a template of one's own also sets it back.
    assert at.selectbox(key="suggestion").value == "(keep mine)" and not any(b.key == "use_suggestion"
                                                                           for b in at.button)
    at.selectbox(key="suggestion").set_value("paraphrase").run()
    assert any("replacing yours" in c.value for c in at.caption)
    at.text_input(key="template_text").set_value("{premise} ? {mask} , {hypothesis}").run()
    assert at.selectbox(key="suggestion").value == "(keep mine)"
    assert W.Workspace("sug").template == "{premise} ? {mask} , {hypothesis}"
    ws.set_classes(["bad", "good"])  # names that match nothing: no words by position, and it says so
    ws.set_label_words({"bad": "", "good": ""})
    at = app("sug", "app_pages/prompt.py")
    at.selectbox(key="suggestion").set_value("sentiment").run()
    at.button(key="use_suggestion").click().run()
    assert W.Workspace("sug").label_words == {"bad": "", "good": ""}
    assert any("Label words not applied" in w.value for w in at.warning)
    ws.set_classes([])  # no classes yet: no word boxes to point at, the page says where the classes come from
    at = app("sug", "app_pages/prompt.py")
    at.selectbox(key="suggestion").set_value("sentiment").run()
    at.button(key="use_suggestion").click().run()
    no_errors(at)
    assert W.Workspace("sug").template.endswith("It was {mask}.")
    assert not any("Label words not applied" in w.value for w in at.warning)  # 'set the words below': none there
    assert any("wait for your classes" in i.value for i in at.info)
    assert any("Define the classes on the Label page" in i.value for i in at.info)
    assert W.match_suggested_words(["pos", "neg"], {"negative": "terrible", "positive": "great"}) == {
        "pos": "great", "neg": "terrible"}


def test_prompt_page_preview_and_warnings(home):
    prepared("p1")
    at = app("p1", "app_pages/prompt.py")
    no_errors(at)
    assert len(at.code) == 3 and all("[MASK]" in c.value for c in at.code)
    at.text_input(key="template_text").set_value("{text} no mask here").run()
    at.button(key="save_prompt").click().run()
    assert any("no {mask}" in e.value for e in at.error)
    assert not at.exception
    at.text_input(key="template_text").set_value("Review: {text} It was {mask}.").run()
    at.text_input(key="word_neg").set_value("dreadfulness").run()
    at.button(key="save_prompt").click().run()
    assert W.Workspace("p1").template == "Review: {text} It was {mask}."
    assert W.Workspace("p1").label_words["neg"] == "dreadfulness"
    assert any("dreadfulness" in w.value for w in at.warning)  # multi-token label word warned
    assert not at.exception
    at.text_input(key="word_neg").set_value("terrible").run()
    at.button(key="zs_btn").click().run()
    no_errors(at)
    assert any(m.label == "Zero-shot accuracy" for m in at.metric)



def test_zero_shot_check_reads_every_class(home, monkeypatch):
    """15 classes labeled class by class (a paste per class): the check read the first 64 examples, the first 9
    classes', and its accuracy left 'news' to 'science_fiction' out."""
    import pandas as pd

    classes = ["adventure", "belles_lettres", "editorial", "fiction", "government", "hobbies", "humor", "learned",
               "lore", "mystery", "news", "religion", "reviews", "romance", "science_fiction"]
    ws = W.Workspace("zs15")
    ws.set_classes(classes, {c: c.split("_")[0] for c in classes})
    for c in classes:
        ws.paste_lines("\n".join(f"a {c} text number {i}" for i in range(8)), c)
    seen = []

    def fake_check(template, words, rows, model, max_len):
        seen.extend(rows)
        return pd.DataFrame(rows), 0.5, False

    monkeypatch.setattr(W, "zero_shot_check", fake_check)
    at = app("zs15", "app_pages/prompt.py")
    at.button(key="zs_btn").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(seen) == 64 and {r["label"] for r in seen} == set(classes)
    counts = pd.Series([r["label"] for r in seen]).value_counts()
    assert counts.max() - counts.min() <= 1  # in turn: 4 or 5 of each
    assert "64 labeled examples" in next(m for m in at.metric if m.label == "Zero-shot accuracy").help


def test_prompt_preview_uses_the_next_runs_token_budget(home):
    """The Prompt page had a 'Token budget' slider that changed the preview only: training used the preset's
    max_length. The preview now says, and uses, the budget the Train page's settings give the next run."""
    ws = prepared("budget")
    at = app("budget", "app_pages/prompt.py")
    no_errors(at)
    assert not at.slider and any("next run's token budget: 64 tokens, from the quick preset" in c.value
                                 for c in at.caption)
    ws.update_settings(preset="custom", custom={"max_length": 16})
    at = app("budget", "app_pages/prompt.py")
    assert any("token budget: 16 tokens, from the custom settings" in c.value for c in at.caption)
    ws.update_settings(preset="custom", custom={"max_length": 0})  # refused at Start: said, not passed over
    at = app("budget", "app_pages/prompt.py")
    no_errors(at)
    assert any("64 tokens, from the quick preset: the custom max_length on the Train page, 0, is below 16 tokens"
               in c.value for c in at.caption)


def test_custom_settings_take_no_negative_value_and_step_by_their_size(home):
    """The float settings stepped by 0.01, so '-' on a learning rate of 0.001 gave a negative rate; negative values
    (saved by an older page) are shown as 0, which Start then names."""
    ws = prepared("knobs")
    ws.update_settings(preset="custom", custom={"labeled_lr": -0.5, "student_steps": -3})
    at = app("knobs", "app_pages/train.py")
    no_errors(at)
    lr, steps = at.number_input(key="k_labeled_lr"), at.number_input(key="k_student_steps")
    assert (lr.min, lr.value, steps.min, steps.value) == (0.0, 0.0, 0, 0)
    assert at.number_input(key="k_student_lr").step == pytest.approx(1e-4)
    assert at.number_input(key="k_warmup_fraction").step == pytest.approx(0.01)
    # What Start would refuse is said as it is typed, and Start waits (it was Start that said it first).
    assert any("Custom settings: labeled_lr must be a positive number" in m.value for m in at.warning)
    assert at.button(key="start").disabled
    lr.set_value(0.001).run()
    steps.set_value(60).run()
    no_errors(at)
    assert not any("Custom settings" in m.value for m in at.warning) and not at.button(key="start").disabled
    # No pool text per iteration while self-training iterates: said with what to set (it ran and learned nothing).
    at.number_input(key="k_unlabeled_per_iteration").set_value(0).run()
    assert any("unlabeled_per_iteration = 0 gives the 1 self-training iteration(s) no pool text" in m.value
               and "set iterations = 0" in m.value for m in at.warning)
    assert at.button(key="start").disabled
    at.number_input(key="k_iterations").set_value(0).run()
    no_errors(at)
    assert not any("Custom settings" in m.value for m in at.warning) and not at.button(key="start").disabled


def fake_done_run(ws, run_id="r1"):
    from test_workspace import fake_run

    return fake_run(ws, run_id)


def test_train_page_refuses_bad_model_and_shows_runs(home):
    prepared("tr")
    at = app("tr", "app_pages/train.py")
    at.text_input(key="model").set_value("/etc").run()
    assert any("not under an allowed model root" in w.value for w in at.warning)  # said before Start
    at.button(key="start").click().run()
    assert any("not under an allowed model root" in e.value for e in at.error)
    run = fake_done_run(W.Workspace("tr"), "r1")
    at = app("tr", "app_pages/train.py", run="r1")
    no_errors(at)
    assert any("done" in m.value for m in at.markdown)
    run.write_status(info={"n_eval": 8})  # 80% on 8 held-out rows: not distinguishable from guessing
    at = app("tr", "app_pages/train.py", run="r1")
    assert any("cannot be told apart from guessing" in w.value for w in at.warning)


def test_train_and_runs_pages_never_round_a_share_to_all_or_none(home):
    """1 pseudo-label rejected of 480 re-weighted read '0% of the re-weighted pseudo-labels got weight 0' on Train
    and 0.00 under 'rejected share' on Runs; 0.9995 of the pseudo-labels right read 1.000 there."""
    ws = prepared("rnd")
    run = fake_done_run(ws, "r1")
    run.append_metrics({"iteration": 1, "accuracy": 299 / 300, "macro_f1": 0.75, "seconds": 2.0,
                        "zero_weight_share": 1 / 480, "pseudo_label_accuracy": 0.9995})
    run.write_status(info={"n_eval": 300})
    at = app("rnd", "app_pages/train.py", run="r1")
    no_errors(at)
    assert any(c.value.startswith("0.2% of the re-weighted pseudo-labels got weight 0") for c in at.caption)
    assert any(c.value.startswith("Accuracy 99.7% on 300") for c in at.caption)
    at = app("rnd", "app_pages/runs.py")
    no_errors(at)
    columns = json.loads(at.dataframe[0].proto.columns)
    assert columns["pseudo_label_accuracy"]["type_config"]["format"] == "%.4f"  # 0.9995, not 1.000
    assert columns["zero_weight_share"]["type_config"]["format"] == "%.3f"  # 0.002, not 0.00
    assert columns["accuracy"]["type_config"]["format"] == "%.3f"  # 0.997: three digits do
    assert at.selectbox(key="runs_pick").options == ["r1 (done, accuracy 99.7%)"]


def test_runs_page_says_what_the_pseudo_labels_right_share_is_of(home):
    """'pseudo-labels right' is measured on the pseudo-labels whose text the pool file labels (5 of 1,000 in a pool
    labeled in part); its help said 'Share of the last pseudo-labels that match the pool file's own label column',
    read as a share of all 1,000."""
    fake_done_run(prepared("rhelp"), "r1")
    at = app("rhelp", "app_pages/runs.py")
    no_errors(at)
    help_ = json.loads(at.dataframe[0].proto.columns)["pseudo_label_accuracy"]["help"]
    assert "pseudo-labels of texts the pool file labels" in help_ and "Inspect says how many" in help_


def test_try_it_never_says_a_class_is_certain_when_it_is_not():
    """A Try-it answer of 0.9996 read 'pos (100.0%)' over a bar '100.0%' beside 'neg' at '0.0%'."""
    from app_pages._ui import try_it_chart

    fig = try_it_chart(["neg", "pos"], [0.0004, 0.9996])
    assert list(fig.data[0].text) == ["99.96%", "0.04%"]
    assert list(try_it_chart(["neg", "pos"], [0.25, 0.75]).data[0].text) == ["75.0%", "25.0%"]
    export = (Path(__file__).resolve().parent.parent / "app_pages" / "export.py").read_text()
    assert "({W.percent(proba[best], 1)})" in export  # the answer's line, as its bar


def test_inspect_says_which_pseudo_labels_are_right_when_the_pool_has_labels(home):
    from test_workspace import fake_run

    ws = prepared("ig")
    fake_run(ws, "r1", gold=["pos", "neg", "pos", "pos", "neg", "pos", "neg", "pos", None, None])
    at = app("ig", "app_pages/inspect_run.py", run="r1")
    no_errors(at)
    # A headline with the verdict on the rejected, one figure per group, the weights' comparisons folded away:
    # the single box of five findings was dense for a non-expert.
    assert [i.value for i in at.info] == ["**62.5% of these pseudo-labels are right**, checked against the pool "
                                          "file's own labels (8 with a known label). The rejected pseudo-labels were "
                                          "wrong more often than the kept ones (100% against 0% wrong)."]
    assert [(m.label, m.value) for m in at.metric] == [("Kept (weight > 0) · 5", "100% right"),
                                                        ("Rejected (weight 0) · 3", "0% right")]
    assert any("favour the right ones." in m.value for m in at.expander[0].markdown)
    assert "gold" in at.dataframe[0].value.columns
    at.checkbox(key="insp_wrong").check().run()
    assert sorted(at.dataframe[0].value["id"]) == [0, 1, 2]
    ws.set_classes(["negative", "positive"])  # a rename after the run: its pseudo-labels and file labels follow
    at = app("ig", "app_pages/inspect_run.py", run="r1")
    no_errors(at)
    assert at.multiselect(key="insp_labels").options == ["negative", "positive"]
    assert set(at.dataframe[0].value["pseudo_label"]) == {"negative", "positive"}
    assert at.info[0].value.startswith("**62.5% of these pseudo-labels are right**")
    fake_run(ws, "r2")  # no labels in the pool: no audit, a hint instead
    at = app("ig", "app_pages/inspect_run.py", run="r2")
    no_errors(at)
    assert not at.info and any("label column on the Data page" in c.value for c in at.caption)
    assert not any("earlier load of the pool" in c.value for c in at.caption)
    # A label column chosen (and its values classes) after the run: the run itself has no file labels, said so.
    ws.save_upload("g.csv", pd.DataFrame({"text": ["a b", "c d"], "label": ["neg", "pos"]}).to_csv(index=False).encode())
    ws.set_pool("g.csv", ["text"], label_column="label")
    at = app("ig", "app_pages/inspect_run.py", run="r2")
    assert any("This run has no file labels" in c.value for c in at.caption)


def test_inspect_of_an_iteration_without_file_labels_does_not_say_the_run_has_none(home):
    """A pool file labeled in part (1 row of 10): an iteration's sample can hold none of its labeled rows. The page
    said 'This run has no file labels to check its pseudo-labels against: when it started, the pool had no label
    column or its values were not matched to the classes. A new run will have them.', though the run has one and a
    new run would draw the same way."""
    from test_workspace import fake_run

    ws = prepared("sparse")
    ws.save_upload("g.csv", pd.DataFrame({"text": [f"pool {i}" for i in range(10)],
                                          "label": [None] * 9 + ["pos"]}).to_csv(index=False).encode())
    ws.set_pool("g.csv", ["text"], label_column="label")
    run = fake_run(ws, "r1", gold=[None] * 9 + ["pos"])
    frame = run.pseudo_labels()
    run.write_pseudo_labels(frame[frame["id"] != 9])  # the labeled row was not in the iteration's sample
    at = app("sparse", "app_pages/inspect_run.py", run="r1")
    no_errors(at)
    said = " ".join(c.value for c in at.caption)
    assert "This run has no file labels" not in said and not at.info
    assert ("No pseudo-label of iteration 1 has a file label to check it against: the pool file labels 1 of this "
            "run's unlabeled texts, none of them among this iteration's 9.") in said


def test_inspect_audit_follows_the_pseudo_label_filter(home):
    """15 classes, one picked under Pseudo-label to see how its pseudo-labels fare: the headline still said
    '62.5% of these pseudo-labels are right' of the whole iteration, and the figures were the iteration's."""
    from test_workspace import fake_run

    ws = prepared("ipf")
    fake_run(ws, "r1", gold=["pos", "neg", "pos", "pos", "neg", "pos", "neg", "pos", None, None])
    at = app("ipf", "app_pages/inspect_run.py", run="r1")
    at.multiselect(key="insp_labels").set_value(["pos"]).run()
    no_errors(at)
    # pos: rows 1, 3, 5, 7 (1 wrong and rejected, the kept three right)
    assert at.info[0].value.startswith("**75.0% of the pseudo-labels 'pos' are right**, checked against the pool "
                                       "file's own labels (4 with a known label).")
    assert [(m.label, m.value) for m in at.metric] == [("Kept (weight > 0) · 3", "100% right"),
                                                        ("Rejected (weight 0) · 1", "0% right")]
    at.multiselect(key="insp_labels").set_value([]).run()
    assert at.info[0].value.startswith("**62.5% of these pseudo-labels are right**")
    # A class with no pseudo-label of known file label in the iteration: said, not 'this run has no file labels'.
    fake_run(ws, "r2", gold=["pos", None, "pos", None, "neg", None, "neg", None, None, None])
    at = app("ipf", "app_pages/inspect_run.py", run="r2")
    at.multiselect(key="insp_labels").set_value(["pos"]).run()
    no_errors(at)
    assert [i.value for i in at.info] == ["No pseudo-label 'pos' of iteration 1 has a file label to check it against."]
    assert not any("no file labels" in c.value for c in at.caption)


def test_inspect_pseudo_label_filter_has_the_row_to_itself(home):
    """Its box shows the picked classes on one line: in a quarter of the page it showed one or two of 15 class names
    (news, science_fiction picked: only science_fiction was in sight), the others scrolled away but filtering."""
    from test_workspace import fake_run

    ws = prepared("iwide")
    fake_run(ws, "r1")
    at = app("iwide", "app_pages/inspect_run.py", run="r1")
    no_errors(at)
    column = next(c for c in at.columns if any(m.key == "insp_labels" for m in c.multiselect))
    assert column.weight >= 0.8  # of the row (it was 2 / 7)


def test_inspect_shows_the_newest_iteration_of_a_run_picked_or_finished_since(home):
    """The iteration picker kept its value: another run picked above, or an iteration that finished while the
    newest was shown, left the page (its audit, its Accept) on an old iteration. An older one picked stays."""
    from test_workspace import fake_run

    ws = prepared("iters")
    fake_run(ws, "r1")
    r2 = fake_run(ws, "r2")
    one = r2.pseudo_labels()
    r2.write_pseudo_labels(pd.concat([one.assign(iteration=i) for i in (1, 2, 3)], ignore_index=True))
    at = app("iters", "app_pages/inspect_run.py", run="r1")
    at.selectbox(key="run_select").set_value("r2").run()
    no_errors(at)
    assert at.selectbox(key="insp_iter").value == 3 and not at.warning
    r2.append_pseudo_labels(one.assign(iteration=4))  # finished while the newest was shown: the newest again
    at.checkbox(key="insp_zero").check().run()
    assert at.selectbox(key="insp_iter").value == 4
    at.selectbox(key="insp_iter").set_value(2).run()
    r2.append_pseudo_labels(one.assign(iteration=5))  # an older one picked by the person stays
    at.checkbox(key="insp_zero").uncheck().run()
    no_errors(at)
    assert at.selectbox(key="insp_iter").value == 2


def test_inspect_says_when_a_run_was_made_on_an_earlier_pool_load(home):
    from list_core.config import ListConfig
    from list_core.job import create_run

    ws = prepared("ie")
    cfg = ListConfig.from_preset("quick", template=ws.template, verbalizer=ws.label_words)
    run = create_run(ws.runs_dir / "r0", cfg, toy_rows(2), [{"id": 0, "text": "pool 0"}],
                     sources={"pool": "pool.csv", "pool_version": "an-earlier-load"})
    run.append_pseudo_labels(pd.DataFrame({"id": [0], "text": ["pool 0"], "pseudo_label": ["pos"], "confidence": [0.9],
                                           "weight": [1.0], "reweighted_steps": [1], "iteration": [1]}))
    at = app("ie", "app_pages/inspect_run.py", run="r0")
    no_errors(at)
    assert any("earlier load of the pool" in c.value for c in at.caption)


def test_data_page_holds_out_labeled_pool_rows_as_the_evaluation_set(home):
    ws = W.Workspace("dh")
    ws.save_upload("p.csv", pd.DataFrame({"text": [f"t {i}" for i in range(100)],
                                          "label": ["neg", "pos"] * 50}).to_csv(index=False).encode())
    ws.set_pool("p.csv", ["text"], label_column="label")
    ws.set_classes(["neg", "pos"], {"neg": "terrible", "pos": "great"})
    at = app("dh", "app_pages/data.py")
    at.number_input(key="hold_n").set_value(40).run()
    at.button(key="hold_out").click().run()
    no_errors(at)
    assert any("Evaluation set: 40 rows held out" in i.value for i in at.info)
    assert not any(b.key == "hold_out" for b in at.button)  # one evaluation set at a time
    assert not any("No evaluation set" in i.value for i in app("dh", "app_pages/train.py").info)
    assert any(m.value == "60" for m in at.metric)  # the pool's rows now, and the load's summary says why
    assert any("100 kept" in c.value and "40 of them are held out as the evaluation set" in c.value for c in at.caption)
    at.button(key="clear_eval").click().run()  # "Put the held-out rows back in the pool"
    no_errors(at)
    assert any("40 rows went back to the pool" in m.value for m in at.success)
    assert any(m.value == "100" for m in at.metric) and not at.info
    assert not any("held out as the evaluation set" in c.value for c in at.caption)
    at.number_input(key="hold_n").set_value(20).run()
    classes = ["neg", "pos", *(f"c{i}" for i in range(13))]
    ws.set_classes(classes, {c: f"w{i}" for i, c in enumerate(classes)})
    at.run()  # 15 classes: two rows per class is the least the box offers, and the value follows
    no_errors(at)
    assert at.number_input(key="hold_n").min == 30 and at.number_input(key="hold_n").value == 30
    assert any("No evaluation set" in i.value for i in app("dh", "app_pages/train.py").info)  # pointed to it


def test_label_page_warns_when_the_pools_labels_are_not_the_classes(home):
    ws = W.Workspace("lg")
    ws.save_upload("p.csv", pd.DataFrame({"text": ["a b", "c d"], "label": ["0", "1"]}).to_csv(index=False).encode())
    ws.set_pool("p.csv", ["text"], label_column="label")
    ws.set_classes(["negative", "positive"])
    at = app("lg", "app_pages/label.py")
    assert any("none of the values in the label column" in w.value for w in at.warning)


def test_train_page_explains_the_stage_and_the_rejected_share(home):
    ws = prepared("ts")
    run = fake_done_run(ws, "r1")
    run.append_metrics({"iteration": 1, "accuracy": 0.8, "macro_f1": 0.75, "zero_weight_share": 0.3, "seconds": 3.0})
    at = app("ts", "app_pages/train.py", run="r1")
    no_errors(at)
    assert any("30% of the re-weighted pseudo-labels got weight 0" in c.value for c in at.caption)
    # A second iteration: the share is the last one's, and the caption says which (the histogram shows both).
    second = run.pseudo_labels().assign(iteration=2)
    run.append_pseudo_labels(second)
    run.append_metrics({"iteration": 2, "accuracy": 0.8, "macro_f1": 0.75, "zero_weight_share": 0.25, "seconds": 3.0})
    at = app("ts", "app_pages/train.py", run="r1")
    assert any("25% of the re-weighted pseudo-labels of iteration 2 got weight 0" in c.value for c in at.caption)
    run.write_status(state="running", stage="reweight", step=3, total=30, pid=None)
    at = app("ts", "app_pages/train.py", run="r1")
    assert any(c.value.startswith("reweight: meta re-weighting") for c in at.caption)
    assert any("**Steps:**" in c.value for c in at.sidebar.caption)


def test_inspect_filters_accept_correct(home):
    ws = prepared("in")
    fake_done_run(ws, "r1")
    at = app("in", "app_pages/inspect_run.py", run="r1")
    no_errors(at)
    at.checkbox(key="insp_zero").check().run()
    assert len(at.dataframe[0].value) == 3
    at.checkbox(key="insp_zero").uncheck().run()
    at.text_input(key="insp_search").set_value("pool 7").run()
    assert list(at.dataframe[0].value["id"]) == [7]
    at.multiselect(key="insp_pick").set_value([7]).run()
    at.selectbox(key="insp_target").set_value("neg").run()
    at.button(key="insp_correct").click().run()
    no_errors(at)
    ex = [e for e in W.Workspace("in").labeled if e.get("pool_id") == 7]
    assert ex and ex[0]["label"] == "neg" and ex[0]["source"] == "corrected"
    # The table is redrawn at once with the label the person gave, next to the model's pseudo-label.
    assert at.dataframe[0].value.set_index("id").at[7, "your_label"] == "neg"
    assert any("labeled 'neg'" in s.value for s in at.success)
    # Picked again (say under another filter) and Accepted: the person's label stays, and the page says why.
    assert "your label: neg" in at.multiselect(key="insp_pick").format_func(7)
    at.multiselect(key="insp_pick").set_value([7]).run()
    at.button(key="insp_accept").click().run()
    assert [e for e in W.Workspace("in").labeled if e.get("pool_id") == 7][0]["label"] == "neg"
    assert any("has your own label" in e.value for e in at.error)


def test_inspect_filters_survive_a_refresh_and_a_visit_to_another_page(home):
    """The filters were widget values only: a refresh (a new session) or a visit to another page reset them
    mid-audit. They are kept in the workspace and fitted to the run shown."""
    ws = prepared("keep")
    fake_done_run(ws, "r1")
    at = app("keep", "app_pages/inspect_run.py", run="r1")
    at.text_input(key="insp_search").set_value("pool 7").run()
    at.selectbox(key="insp_sort").set_value("weight").run()
    at.checkbox(key="insp_asc").uncheck().run()
    at.multiselect(key="insp_labels").set_value(["pos"]).run()
    picked = list(at.dataframe[0].value["id"])
    at.switch_page("app_pages/label.py").run()
    at.switch_page("app_pages/inspect_run.py").run()
    no_errors(at)
    assert at.text_input(key="insp_search").value == "pool 7" and at.selectbox(key="insp_sort").value == "weight"
    fresh = app("keep", "app_pages/inspect_run.py", run="r1")  # a refresh: a new session on the same address
    no_errors(fresh)
    assert fresh.text_input(key="insp_search").value == "pool 7"
    assert fresh.selectbox(key="insp_sort").value == "weight" and fresh.checkbox(key="insp_asc").value is False
    assert fresh.multiselect(key="insp_labels").value == ["pos"]
    assert list(fresh.dataframe[0].value["id"]) == picked
    fresh.text_input(key="insp_search").set_value("").run()
    assert W.Workspace("keep").state["settings"]["inspect_filters"]["insp_search"] == ""


def test_runs_page_compare_and_delete(home):
    ws = prepared("ru")
    fake_done_run(ws, "r1")
    fake_done_run(ws, "r2").write_status(info={"n_eval": 8})
    at = app("ru", "app_pages/runs.py")
    no_errors(at)
    table = at.dataframe[0].value.set_index("run")
    assert len(table) == 2
    assert round(table.at["r2", "range_low"], 3) == 0.455 and round(table.at["r2", "range_high"], 3) == 0.950
    assert table.at["r2", "eval_rows"] == 8
    assert pd.isna(table.at["r1", "range_low"])  # no row count recorded: no range claimed
    at.selectbox(key="runs_pick").set_value("r1").run()
    at.button(key="runs_delete").click().run()
    assert W.Workspace("ru").run_ids() == ["r2"]


def test_train_page_says_why_start_waits_while_another_run_of_the_workspace_trains(home):
    import os

    ws = prepared("busy")
    fake_done_run(ws, "r1")
    fake_done_run(ws, "r2").write_status(state="running", pid=os.getpid())
    at = app("busy", "app_pages/train.py", run="r1")
    no_errors(at)
    assert at.button(key="start").disabled
    assert any("Run r2 of this workspace is still training" in c.value for c in at.caption)
    at.button(key="show_active").click().run()  # the page has no run picker: the running run is one click away
    no_errors(at)
    assert at.query_params["run"] in ("r2", ["r2"]) and any(b.key == "stop" for b in at.button)
    assert any(h.value == "Run r2" for h in at.subheader)


def test_stop_on_the_train_page_stops_the_run_on_screen_not_one_another_tab_started(home):
    """Tab B's Train page shows run r1 training, with Stop. Tab A stops r1, deletes it and starts r2. B's Stop reran
    the page, which (r1 gone) showed the newest run, r2, and stopped it: A's run, which nobody asked to stop. Stop is
    bound to the run on screen: r2 trains on, and the page says r1 is gone. Stop on a run that is there still
    stops it."""
    import os

    ws = prepared("stop2")
    r1 = fake_done_run(ws, "r1")
    r1.write_status(state="running", pid=os.getpid())
    b = app("stop2", "app_pages/train.py", run="r1")
    assert any(x.key == "stop" for x in b.button)
    r1.write_status(state="cancelled", pid=None)  # tab A: stopped, deleted, and a new run started
    W.Workspace("stop2").delete_run("r1")
    r2 = fake_done_run(W.Workspace("stop2"), "r2")
    r2.write_status(state="running", pid=os.getpid())
    b.button(key="stop").click().run()
    assert not b.exception
    assert not r2.stop_requested()
    assert any("r1" in e.value and "does not exist" in e.value for e in b.error), [e.value for e in b.error]
    b.button(key="stop").click().run()  # the page shows r2 now: its Stop stops it
    assert r2.stop_requested()


def test_start_from_a_train_page_drawn_before_another_tab_changed_the_prompt_starts_nothing(home, monkeypatch):
    """Tab B's Train page; tab A changes the template and a label word. B's Start trained with A's prompt, which B
    never saw (the Train page did not show the prompt, and B's Prompt page was drawn before). The page says the
    prompt a run uses, and a Start clicked on the page as drawn before the change starts nothing and says so."""
    launched = []
    monkeypatch.setattr("list_core.job.start_worker", lambda path, **kw: launched.append(path) or 1)
    monkeypatch.setattr(W.Workspace, "check_prompt", lambda self, model=None: None)
    prepared("sp")
    b = app("sp", "app_pages/train.py")
    assert any("Prompt: {text} It was {mask}. · label words: neg = terrible, pos = great" in c.value
               for c in b.caption), [c.value for c in b.caption]
    other = W.Workspace("sp")
    other.set_template("{text} All in all it was {mask} .")
    other.set_label_words({"pos": "good"})  # tab A
    b.button(key="start").click().run()
    assert not b.exception and not launched
    assert any("the template or label words were changed in another tab" in e.value for e in b.error)
    assert any("Prompt: {text} All in all it was {mask} . · label words: neg = terrible, pos = good" in c.value
               for c in b.caption)
    b.button(key="start").click().run()  # on the prompt shown now: started
    assert len(launched) == 1 and not b.error
    config = json.loads((Path(launched[0]) / "config.json").read_text())["config"]
    assert config["template"] == "{text} All in all it was {mask} ." and config["verbalizer"]["pos"] == "good"


def test_train_page_says_before_start_that_another_workspaces_run_holds_the_machine(home):
    """With the machine's one run slot taken by another workspace's run, Start was refused only after the click
    ('1 training run(s) already active on this machine'); the page says it before, and Start stays live."""
    import os

    other = prepared("elsewhere")
    busy = fake_done_run(other, "r9")
    busy.write_status(state="running", pid=os.getpid())
    prepared("mine")
    at = app("mine", "app_pages/train.py")
    no_errors(at)
    note = ("1 training run is active on this machine in another workspace or session; the limit is 1 "
            "(LIST_STUDIO_MAX_RUNS). Start is refused until one ends.")
    assert any(c.value == note for c in at.caption) and not at.button(key="start").disabled
    busy.write_status(state="done", pid=None)
    at = app("mine", "app_pages/train.py")
    assert not any("active on this machine" in c.value for c in at.caption)


def test_runs_page_compares_runs_measured_on_no_rows(home):
    """One labeled example per class and no evaluation set: metrics without an accuracy. The page used to be
    replaced by a plotly ValueError."""
    ws = prepared("noacc")
    run = fake_done_run(ws, "r1")
    run.metrics_path.write_text('{"iteration": 0, "seconds": 1.0}\n{"iteration": 1, "seconds": 2.0}\n')
    at = app("noacc", "app_pages/runs.py")
    no_errors(at)
    assert any("no accuracy to compare" in c.value for c in at.caption)


def test_runs_page_does_not_say_a_run_without_a_finished_iteration_was_measured_on_no_rows(home):
    """The first run, still in its teacher stage (or failed before it ended): the Runs page said it was 'measured
    on no rows (too few labeled examples ...)', sending the user to label more for nothing."""
    ws = prepared("first")
    run = fake_done_run(ws, "r1")
    run.metrics_path.unlink()
    run.write_status(state="failed", error="out of memory")
    at = app("first", "app_pages/runs.py")
    no_errors(at)
    assert any("no accuracy to compare: none has finished an iteration yet" in c.value for c in at.caption)
    assert not any("measured on no rows" in c.value for c in at.caption)
    # The run failed: it said '(still training, or stopped before the first one ended)'.
    assert any("or failed before the first one ended" in c.value for c in at.caption), [c.value for c in at.caption]


def test_export_page_downloads(home):
    ws = prepared("ex")
    run = fake_done_run(ws, "r1")
    at = app("ex", "app_pages/export.py", run="r1")
    no_errors(at)
    assert not at.warning
    run.write_status(info={"n_eval": 8})
    at = app("ex", "app_pages/export.py", run="r1")
    assert any("cannot be told apart from guessing" in w.value for w in at.warning)
    keys = {b.key for b in at.get("download_button")}
    assert {"dl_csv", "dl_jsonl", "dl_excel", "dl_model"} <= keys
    data = pd.read_csv(io.BytesIO(ws.export_data("r1")))
    assert len(data) == 16 + 10


@pytest.mark.slow
def test_full_flow_real_tiny_run(home, tiny_model, monkeypatch):
    monkeypatch.setenv("LIST_STUDIO_MODEL_ROOTS", str(tiny_model.parent))
    prepared("full")
    at = app("full", "app_pages/train.py")
    at.radio(key="preset").set_value("custom").run()
    at.text_input(key="model").set_value(str(tiny_model)).run()
    at.selectbox(key="device").set_value("cpu").run()
    for knob, value in TINY.items():
        at.number_input(key=f"k_{knob}").set_value(value).run()
    at.button(key="start").click().run()
    no_errors(at)
    rid = at.query_params["run"]
    run = W.Workspace("full").run(rid)
    deadline = time.time() + 180
    while run.status()["state"] in ("queued", "running") and time.time() < deadline:
        time.sleep(1)
    assert run.status()["state"] == "done", run.log_tail(30)
    at = app("full", "app_pages/train.py", run=rid)
    no_errors(at)
    assert any("done" in m.value for m in at.markdown)
    assert len(at.get("plotly_chart")) >= 2
    at = app("full", "app_pages/inspect_run.py", run=rid)
    no_errors(at)
    pick = int(at.dataframe[0].value["id"].iloc[0])
    at.multiselect(key="insp_pick").set_value([pick]).run()
    at.button(key="insp_correct").click().run()
    no_errors(at)
    at = app("full", "app_pages/export.py", run=rid)
    at.text_area(key="try_text").set_value("great movie").run()
    at.button(key="try_btn").click().run()
    no_errors(at)
    assert any(("neg" in s.value or "pos" in s.value) for s in at.success)


def test_export_try_it_asks_for_each_text_of_a_pair_task(home, monkeypatch):
    ws = W.Workspace("tp")
    ws.set_classes(["no", "yes"], {"no": "No", "yes": "Yes"})
    ws.save_upload("p.csv", pd.DataFrame({"premise": ["a b"], "hypothesis": ["c d"]}).to_csv(index=False).encode())
    ws.set_pool("p.csv", ["premise", "hypothesis"])
    ws.set_template("{premise} ? {mask} , {hypothesis}")
    ws.add_example({"premise": "a", "hypothesis": "b"}, "yes")
    ws.add_example({"premise": "c", "hypothesis": "d"}, "no")
    monkeypatch.setattr("list_core.job.start_worker", lambda path, **kw: 1)
    rid = ws.start_run("quick", check=False)
    ws.run(rid).model_path.write_bytes(b"fake-weights")
    seen = []

    class Stub:
        classes_ = ["no", "yes"]

        def predict_proba(self, rows):
            seen.extend(rows)
            return __import__("numpy").array([[0.3, 0.7]])

    monkeypatch.setattr("app_pages._ui.classifier", lambda *a, **k: Stub())
    at = app("tp", "app_pages/export.py", run=rid)
    at.text_area(key="try_text_premise").set_value("A man sleeps.").run()
    at.button(key="try_btn").click().run()
    assert any("each box" in i.value for i in at.info) and not seen  # one text is not enough
    at.text_area(key="try_text_hypothesis").set_value("A man is awake.").run()
    at.button(key="try_btn").click().run()
    no_errors(at)
    assert seen == [{"premise": "A man sleeps.", "hypothesis": "A man is awake."}]
    assert any("yes" in s.value for s in at.success)
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert chart["data"][0]["y"] == ["yes", "no"] and chart["data"][0]["text"] == ["70.0%", "30.0%"]
    # Another click on the page keeps the answer while the texts are the same; a changed text drops it.
    at.run()
    assert any("yes" in s.value for s in at.success) and len(seen) == 1  # shown again, not predicted again
    at.text_area(key="try_text_hypothesis").set_value("A man is asleep.").run()
    assert not at.success and not at.get("plotly_chart")
    assert "clf.predict([{'premise': '...', 'hypothesis': '...'}])" in ws.model_card(rid)


def test_inspect_clears_the_pick_after_accept_or_correct(home):
    ws = prepared("ic")
    fake_done_run(ws, "r1")
    at = app("ic", "app_pages/inspect_run.py", run="r1")
    at.multiselect(key="insp_pick").set_value([4, 5]).run()
    at.button(key="insp_accept").click().run()
    no_errors(at)
    assert at.multiselect(key="insp_pick").value == []
    assert at.button(key="insp_correct").disabled and at.button(key="insp_accept").disabled
    assert any("2 example(s) added" in s.value for s in at.success)
    at.multiselect(key="insp_pick").set_value([6]).run()
    at.selectbox(key="insp_target").set_value("neg").run()
    at.button(key="insp_correct").click().run()
    labels = {ex["pool_id"]: ex["label"] for ex in W.Workspace("ic").labeled if ex.get("pool_id") is not None}
    assert labels == {4: "neg", 5: "pos", 6: "neg"}  # the accepted rows kept their pseudo-labels
    assert at.multiselect(key="insp_pick").value == []


def test_inspect_accept_of_rows_another_tab_accepted_since_does_not_say_they_were_added(home):
    """Two tabs show Inspect; A accepts #4 and #5, then B, drawn before, accepts them too: B said '2 example(s) added
    to the labeled set' (its count of rows that already had their pseudo-label was made when the page was drawn),
    though nothing was added."""
    ws = prepared("ia2")
    fake_done_run(ws, "r1")
    a = app("ia2", "app_pages/inspect_run.py", run="r1")
    b = app("ia2", "app_pages/inspect_run.py", run="r1")
    b.multiselect(key="insp_pick").set_value([4, 5]).run()
    a.multiselect(key="insp_pick").set_value([4, 5]).run()
    a.button(key="insp_accept").click().run()
    b.button(key="insp_accept").click().run()
    no_errors(b)
    assert any("0 example(s) added to the labeled set with their pseudo-label; 2 already had it" in s.value
               for s in b.success), [s.value for s in b.success]
    assert len(W.Workspace("ia2").labeled) == 16 + 2


def test_label_page_paste_errors_keep_the_text_and_undo_works(home):
    prepared("lp", n=0)
    at = app("lp", "app_pages/label.py")
    at.text_area(key="paste_text").set_value("postive\tgreat fun").run()
    at.button(key="paste_add").click().run()
    assert any("not one of the classes" in e.value for e in at.error)
    assert at.text_area(key="paste_text").value == "postive\tgreat fun"  # nothing lost, fix and retry
    assert W.Workspace("lp").labeled == []
    at.text_area(key="paste_text").set_value("Pos\tgreat fun").run()
    at.button(key="paste_add").click().run()
    assert any(s.value == "1 example added to 'pos'" for s in at.success)
    assert W.Workspace("lp").class_counts() == {"neg": 0, "pos": 1}
    assert at.button(key="lab_undo").disabled
    at.button(key="lab_class_neg").click().run()
    assert W.Workspace("lp").class_counts() == {"neg": 1, "pos": 1}
    at.button(key="lab_undo").click().run()
    no_errors(at)
    assert W.Workspace("lp").class_counts() == {"neg": 0, "pos": 1}


def test_prompt_save_without_classes_does_not_say_training_can_start(home):
    at = app("nc", "app_pages/prompt.py")
    at.button(key="save_prompt").click().run()
    no_errors(at)
    assert not at.success and any("define them on the Label page" in w.value for w in at.warning)


def test_prompt_save_and_train_page_warn_about_a_refused_verbalizer(home, monkeypatch):
    prepared("pv")
    at = app("pv", "app_pages/prompt.py")
    at.text_input(key="word_neg").set_value("great").run()  # saved as typed, even without the button
    assert W.Workspace("pv").label_words["neg"] == "great"
    asked = []
    original = W.Workspace.prompt_problems
    monkeypatch.setattr(W.Workspace, "prompt_problems", lambda self, *a, **k: asked.append(1) or original(self, *a, **k))
    at.button(key="save_prompt").click().run()
    assert len(asked) == 1  # the save note and the preview share one check
    assert not at.success
    assert any("will not start" in w.value for w in at.warning)
    assert any("share the label word" in w.value for w in at.warning)
    at = app("pv", "app_pages/train.py")
    assert any("share the label word" in w.value for w in at.warning)  # before Start, not after
    # A broken template: one error, not two, and the saved template is kept.
    at = app("pv", "app_pages/prompt.py")
    at.text_input(key="template_text").set_value("{text} no mask").run()
    at.button(key="save_prompt").click().run()
    assert len(at.error) == 1 and "no {mask}" in at.error[0].value
    assert W.Workspace("pv").template == "{text} It was {mask}."
    at = app("pv", "app_pages/train.py")  # another page, then back: the broken draft is still in the box
    assert any("template draft" in w.value for w in at.warning)
    at = app("pv", "app_pages/prompt.py")
    assert at.text_input(key="template_text").value == "{text} no mask" and len(at.error) == 1
    assert any("Unsaved draft" in c.value for c in at.caption)
    at.text_input(key="template_text").set_value("{text} It is {mask}.").run()  # fixed: saved, draft gone
    assert W.Workspace("pv").template == "{text} It is {mask}." and W.Workspace("pv").template_draft is None
    assert not any("Unsaved draft" in c.value for c in at.caption)


def test_data_page_warns_about_numbers_and_a_label_column_of_other_values(home):
    ws = W.Workspace("dn")
    ws.set_classes(["neg", "pos"], {"neg": "terrible", "pos": "great"})
    ws.save_upload("ids.csv", pd.DataFrame({"sentence_id": range(5), "text": [f"text {i}" for i in range(5)],
                                            "label": [i % 2 for i in range(5)]}).to_csv(index=False).encode())
    at = app("dn", "app_pages/data.py")
    at.selectbox(key="data_file").set_value("ids.csv").run()
    assert at.multiselect(key="text_cols").value == ["text"]
    at.multiselect(key="text_cols").set_value(["sentence_id"]).run()
    assert any("only numbers" in w.value for w in at.warning)
    at.multiselect(key="text_cols").set_value(["text"]).run()
    at.selectbox(key="gold_col").set_value("label").run()
    at.button(key="use_pool").click().run()
    assert any("none of the values" in w.value for w in at.warning)
    at = app("dn", "app_pages/data.py")  # a reload shows the label column in use, not '(none)'
    assert at.selectbox(key="gold_col").value == "label"

    # The values are matched to classes right there; the warning goes and the matches are listed.
    at.selectbox(key="match_0").set_value("neg")
    at.selectbox(key="match_1").set_value("pos")
    at.button[[b.label for b in at.button].index("Save matches")].click().run()
    no_errors(at)
    assert W.Workspace("dn").label_aliases == {"0": "neg", "1": "pos"}
    assert not any("none of the values" in w.value for w in at.warning)
    assert any("0 → neg, 1 → pos" in c.value for c in at.caption)
    at.button(key="unmatch").click().run()
    assert W.Workspace("dn").label_aliases == {} and any("none of the values" in w.value for w in at.warning)


def test_forget_these_matches_forgets_the_matches_on_screen_not_those_another_tab_made_since(home):
    """Tab B's Data page lists 'Matched label values: 0 → neg'; tab A matches '1' to 'pos'. B's 'Forget these
    matches' read the list anew at its click and forgot A's match too, one B never saw."""
    ws = W.Workspace("fm")
    ws.save_upload("p.csv", pd.DataFrame({"text": [f"text {i}" for i in range(6)], "label": [i % 2 for i in range(6)]})
                   .to_csv(index=False).encode())
    ws.set_pool("p.csv", ["text"], "label")
    ws.set_classes(["neg", "pos"], {"neg": "terrible", "pos": "great"})
    ws.set_label_aliases({"0": "neg"})
    b = app("fm", "app_pages/data.py")
    assert any("Matched label values: 0 → neg" in c.value for c in b.caption)
    W.Workspace("fm").set_label_aliases({"1": "pos"})  # tab A
    b.button(key="unmatch").click().run()
    assert not b.exception
    assert W.Workspace("fm").label_aliases == {"1": "pos"}


def test_data_page_offers_the_fields_of_nested_json_objects_as_columns(home):
    """A JSON file of objects with nested fields ({"review": {"body": ..., "title": ...}}) offered 'review' as the
    text column, its cells the objects written as JSON: the pool, the Label page and every run read
    '{"body": "great stuff", "title": "T1"}' without a word (hunt 10 made the page say so). The loader now gives
    each nested field a dotted column of its own, as pandas.json_normalize does: 'review.body' is the text."""
    ws = W.Workspace("nj")
    rows = [{"review": {"body": f"great stuff number {i}", "title": f"T{i}"}, "stars": i % 5} for i in range(4)]
    ws.save_upload("nested.json", json.dumps(rows).encode())
    ws.save_upload("flat.json", json.dumps([{"text": "a {b} c", "stars": 1}, {"text": "{x}", "stars": 2}]).encode())
    at = app("nj", "app_pages/data.py")
    at.selectbox(key="data_file").set_value("nested.json").run()
    no_errors(at)
    assert at.multiselect(key="text_cols").value == ["review.body"]
    assert not [w.value for w in at.warning if "JSON objects" in w.value]
    at.selectbox(key="data_file").set_value("flat.json").run()
    assert not [w.value for w in at.warning if "JSON objects" in w.value]  # braces in a text are no object
    assert W.json_object_columns(pd.DataFrame({"meta": ['{"a": 1}', '{"b": 2}'], "text": ["x", "{y"]})) == {
        "meta": ["a", "b"]}  # a Parquet struct column, still written as JSON text, is still said to be no text


def test_data_page_says_a_txt_file_of_tab_separated_columns_is_a_table(home):
    """Excel's 'Unicode Text' (.txt) is a tab-separated sheet in UTF-16: read as one text per line, the header
    'text<TAB>label' became a text and every text carried its label ('Great product<TAB>pos'), which runs would then
    read, without a word. The page says to name it .tsv; a .txt of texts with a tab here and there says nothing."""
    ws = W.Workspace("ut")
    ws.save_upload("sheet.txt", "text\tlabel\r\nGreat product\tpos\r\nBad one\tneg\r\n".encode("utf-16"))
    ws.save_upload("notes.txt", b"one text\nanother\twith a tab\nthird\n")
    at = app("ut", "app_pages/data.py")
    at.selectbox(key="data_file").set_value("sheet.txt").run()
    no_errors(at)
    table = [w.value for w in at.warning if ".tsv" in w.value]
    assert table and "sheet.tsv" in table[0] and "'text', 'label'" in table[0]
    at.selectbox(key="data_file").set_value("notes.txt").run()
    assert not [w.value for w in at.warning if ".tsv" in w.value]


def test_runs_page_shows_blank_errors_and_export_hints_an_empty_box(home):
    ws = prepared("rx")
    fake_done_run(ws, "r1")
    at = app("rx", "app_pages/runs.py")
    no_errors(at)
    table = at.dataframe[0].value
    assert table["error"].tolist() == [""] and str(table["created_at"].dtype).startswith("datetime64")
    at = app("rx", "app_pages/export.py", run="r1")
    at.button(key="try_btn").click().run()
    assert any("Type or paste a text" in i.value for i in at.info)


def test_data_page_offers_each_file_its_own_text_column(home):
    ws = W.Workspace("sw")
    ws.save_upload("a.csv", pd.DataFrame({"text": ["x y", "z w"]}).to_csv(index=False).encode())
    ws.save_upload("b.csv", pd.DataFrame({"id": [1, 2], "sentence": ["x y", "z w"]}).to_csv(index=False).encode())
    at = app("sw", "app_pages/data.py")
    at.selectbox(key="data_file").set_value("a.csv").run()
    assert at.multiselect(key="text_cols").value == ["text"]
    at.selectbox(key="data_file").set_value("b.csv").run()
    assert at.multiselect(key="text_cols").value == ["sentence"]  # not left empty by the last file's choice


def test_data_page_waits_for_a_text_column_to_be_chosen(home):
    """With no text column chosen, 'Use as unlabeled pool' let the loader guess and said 'name it (--text-column on
    the command line)', a flag of the CLI; the evaluation set and the import read a column 'text' the file did not
    have. The page says to choose the column and its three buttons wait."""
    at = app("nt", "app_pages/data.py")
    at.file_uploader[0].set_value([("news.csv", b"title,body,author,label\nBig win,The team won the cup,Ann,sport\n"
                                                b"Rates up,The bank raised rates,Bob,business\n", "text/csv")]).run()
    at.multiselect(key="text_cols").set_value([]).run()
    no_errors(at)
    assert any("Choose the column(s) that hold the texts" in c.value for c in at.caption)
    assert all(at.button(key=k).disabled for k in ("use_pool", "use_eval", "import_labeled"))
    at.multiselect(key="text_cols").set_value(["body"]).run()
    assert not any(at.button(key=k).disabled for k in ("use_pool", "use_eval", "import_labeled"))
    at.button(key="use_pool").click().run()
    no_errors(at)
    assert W.Workspace("nt").text_columns == ["body"]


def test_data_page_keeps_its_three_buttons_after_one_is_refused(home):
    """A refused 'Use as unlabeled pool' (a text column named like one of the workspace's own) stopped the page
    half-way: the evaluation and import buttons were gone until the next click."""
    ws = W.Workspace("refused")
    ws.save_upload("s.csv", b"source,label\nThe team won the cup,sport\nThe bank raised rates,business\n")
    at = app("refused", "app_pages/data.py")
    at.selectbox(key="data_file").set_value("s.csv").run()
    at.multiselect(key="text_cols").set_value(["source"]).run()
    at.button(key="use_pool").click().run()
    assert any("the text column 'source' has a name LiST Studio uses" in e.value for e in at.error)
    assert {"use_pool", "use_eval", "import_labeled"} <= {b.key for b in at.button}


def test_data_page_says_an_upload_replaced_the_file_the_pool_was_read_from(home):
    """The pool's file uploaded again under its name (an edited copy) said only 'pool.csv added', while the pool kept
    the rows read from the old one until 'Use as unlabeled pool' is clicked again."""
    ws = prepared("again")
    at = app("again", "app_pages/data.py")
    at.file_uploader[0].set_value([("pool.csv", b"text\nan edited text\nanother one\n", "text/csv")]).run()
    no_errors(at)
    assert any("pool.csv added in place of the file of that name, which the unlabeled pool was read from: it keeps "
               "the rows read before until you use the new file below" in m.value for m in at.warning)
    assert W.Workspace("again").state["pool"]["rows"] == 40
    at.file_uploader[0].set_value([("other.csv", b"text\na new file\nand more\n", "text/csv")]).run()
    assert any(m.value == "other.csv added" for m in at.success)
    assert ws.upload_in_use("other.csv") == [] and ws.upload_in_use("nothere.csv") == []


def test_data_page_removes_an_upload_that_is_not_in_use(home):
    """A day's uploads piled up on the Data page with no way to take one off. A file the pool was read from stays
    (its button is greyed, and the service refuses); a bundled sample has no button."""
    ws = prepared("tidy")
    ws.save_upload("old.csv", b"text\nan old text\nanother one\n")
    at = app("tidy", "app_pages/data.py")
    at.selectbox(key="data_file").set_value("pool.csv").run()
    assert at.button(key="remove_upload").disabled
    with pytest.raises(W.WorkspaceError, match="pool.csv is the file the unlabeled pool was read from, so it stays"):
        ws.remove_upload("pool.csv")
    at.selectbox(key="data_file").set_value("old.csv").run()
    at.button(key="remove_upload").click().run()
    no_errors(at)
    assert any(m.value == "old.csv removed from this workspace" for m in at.success)
    assert W.Workspace("tidy").list_uploads() == ["pool.csv"] and not (ws.uploads_dir / "old.csv").exists()
    assert "old.csv" not in at.selectbox(key="data_file").options
    assert at.selectbox(key="data_file").value == "pool.csv"  # back to the file in use
    at.selectbox(key="data_file").set_value("sample:uci_sentiment_sentences.csv").run()
    assert "remove_upload" not in [b.key for b in at.button]
    with pytest.raises(W.WorkspaceError, match="bundled sample"):
        ws.remove_upload("sample:uci_sentiment_sentences.csv")


def test_data_page_says_when_a_files_first_text_was_taken_as_its_header(home):
    """A CSV of texts with no header line: its first text became the column name without a word (and no row)."""
    ws = W.Workspace("nohead")
    ws.save_upload("list.csv", b"I loved this film from start to end\nThe plot was thin\nGreat acting\n")
    ws.save_upload("ok.csv", b"text,label\nI loved this film from start to end,pos\n")
    at = app("nohead", "app_pages/data.py")
    at.selectbox(key="data_file").set_value("list.csv").run()
    no_errors(at)
    assert any("The column name 'I loved this film from start to end' reads like a text: if the file has no "
               "header line" in m.value for m in at.warning)
    at.selectbox(key="data_file").set_value("ok.csv").run()
    assert not any("reads like a text" in m.value for m in at.warning)
    assert W.text_like_column_names(["text", "review body", "sentence1", "x" * 41]) == ["x" * 41]


def test_survey_question_headers_are_not_taken_for_a_first_text(home):
    """A survey export's columns ('Q1: What did you like?', 'Q2: What could be better?', 'rating') were said to
    read like texts, as if the file had no header line. Numbered questions are headers, and a short column name
    that is not among its own column's values ('rating' over 1..5) shows that the first line is a header; one that
    is ('pos' over pos / neg) still shows a headless file."""
    head = pd.DataFrame({"What did you like most about the course": ["the labs", "pace"], "rating": ["4", "5"]})
    assert W.text_like_column_names(["Q1: What did you like?", "Question 2. What could be better?", "rating"]) == []
    assert W.text_like_column_names(list(head.columns), head) == []
    assert W.text_like_column_names(list(head.columns)) == ["What did you like most about the course"]
    headless = pd.DataFrame({"I loved this film from start to end": ["The plot was thin", "Great"],
                             "pos": ["neg", "pos"]})
    assert W.text_like_column_names(list(headless.columns), headless) == ["I loved this film from start to end"]
    ws = W.Workspace("survey")
    ws.save_upload("survey.csv", b"Q1: What did you like?,Q2: What could be better?,rating\nthe labs,more time,4\n")
    at = app("survey", "app_pages/data.py")
    at.selectbox(key="data_file").set_value("survey.csv").run()
    no_errors(at)
    assert not any("reads like a text" in m.value for m in at.warning)


def test_data_page_switching_files_resets_the_label_column_through_session_state(home):
    ws = W.Workspace("sg")
    for name, col in (("a.csv", "label"), ("b.csv", "tag")):
        ws.save_upload(name, pd.DataFrame({"text": ["x y", "z w"], col: ["neg", "pos"]}).to_csv(index=False).encode())
    at = app("sg", "app_pages/data.py")
    at.selectbox(key="data_file").set_value("a.csv").run()
    assert at.selectbox(key="gold_col").value == "label"  # guessed by its name, and the page says so
    assert any("'label' was chosen by its name" in c.value for c in at.caption)
    assert not at.button(key="import_labeled").disabled
    at.selectbox(key="data_file").set_value("b.csv").run()
    # The reset is written to session state (so the browser shows it too), and picking the column again takes.
    assert at.session_state["gold_col"] == "(none)" and at.button(key="import_labeled").disabled
    at.selectbox(key="gold_col").set_value("tag").run()
    assert not at.button(key="import_labeled").disabled
    assert not any("was chosen by its name" in c.value for c in at.caption)  # the user's own pick: no hint
    at.multiselect(key="text_cols").set_value(["text", "tag"]).run()  # the label column became a text column
    assert at.selectbox(key="gold_col").value == "(none)"


def test_label_page_can_undo_after_the_last_pool_example(home):
    ws = prepared("lu", n=0)
    while (ex := ws.next_pool_example()) is not None:
        ws.skip_pool_example(ex["id"])
    at = app("lu", "app_pages/label.py")
    assert any("Every pool example is labeled or skipped" in i.value for i in at.info)
    at.button(key="lab_undo").click().run()
    no_errors(at)
    assert W.Workspace("lu").next_pool_example() is not None  # the last skip was taken back


def test_remove_the_evaluation_set_removes_the_one_on_screen_not_one_another_tab_set_since(home):
    """Tab B shows the evaluation set e1.csv and its 'Remove the evaluation set' button; tab A uses e2.csv as the
    evaluation set. B's click removed e2.csv, a set B never saw (the click's rerun read the workspace anew). The click
    is bound to the set on screen: it removes nothing and says what the set is now."""
    ws = prepared("ev2")
    for name in ("e1.csv", "e2.csv"):
        ws.save_upload(name, pd.DataFrame({"text": [f"{name} {i}" for i in range(6)],
                                           "label": ["neg", "pos"] * 3}).to_csv(index=False).encode())
    ws.set_eval("e1.csv", "label", ["text"])
    b = app("ev2", "app_pages/data.py")
    W.Workspace("ev2").set_eval("e2.csv", "label", ["text"])  # tab A
    b.button(key="clear_eval").click().run()
    assert not b.exception
    assert W.Workspace("ev2").state["eval"]["file"] == "e2.csv"
    assert any("the evaluation set was changed in another tab or window" in e.value and "e2.csv" in e.value
               for e in b.error), [e.value for e in b.error]
    b.button(key="clear_eval").click().run()  # on the set shown now: removed
    assert W.Workspace("ev2").state["eval"] is None
    assert any("Evaluation set removed." in s.value for s in b.success)


def test_delete_on_the_runs_page_deletes_the_run_it_names_even_if_another_tab_deleted_it_first(home, monkeypatch):
    """Tab B's Runs page offers 'Delete run r1'; tab A deletes r1 first. B's click reran the page, whose picker, its
    run gone, fell back to the newest run, and deleted that one: a run nobody chose. The click is bound to the run it
    names: r2 stays, and the page says r1 is gone."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState
    from streamlit.testing.v1.element_tree import Selectbox

    ws = prepared("rdel")
    fake_done_run(ws, "r1")
    fake_done_run(ws, "r2")
    b = app("rdel", "app_pages/runs.py", run="r1")
    picker = b.selectbox(key="runs_pick")
    assert picker.value == "r1"
    stale = picker.options[picker.index]  # what the browser sends back: the option it shows, 'r1 (done, ...)'
    W.Workspace("rdel").delete_run("r1")  # tab A
    real = Selectbox._widget_state
    monkeypatch.setattr(Selectbox, "_widget_state", property(
        lambda self: WidgetState(id=self.id, string_value=stale) if self.key == "runs_pick" else real.fget(self)))
    b.button(key="runs_delete").click().run()
    assert not b.exception
    assert W.Workspace("rdel").run_ids() == ["r2"]
    assert any("r1" in e.value and "does not exist" in e.value for e in b.error), [e.value for e in b.error]


def test_data_page_says_eval_rows_that_are_labeled_are_left_out(home):
    ws = W.Workspace("lk")
    ws.set_classes(["neg", "pos"], {"neg": "terrible", "pos": "great"})
    ws.save_upload("all.csv", pd.DataFrame({"text": [f"text number {i}" for i in range(6)],
                                            "label": ["neg", "pos"] * 3}).to_csv(index=False).encode())
    ws.set_pool("all.csv", ["text"], label_column="label")
    ws.set_eval("all.csv", "label")
    ws.label_pool_example(0, "neg")
    at = app("lk", "app_pages/data.py")
    no_errors(at)
    assert any("1 evaluation row(s) are also labeled examples" in c.value for c in at.caption)
    assert any("also the unlabeled pool" in c.value for c in at.caption)  # pseudo-labeled texts are measured on
    ws.save_upload("other.csv", pd.DataFrame({"text": ["a b", "c d"], "label": ["neg", "pos"]}).to_csv(index=False).encode())
    ws.set_eval("other.csv", "label")
    at = app("lk", "app_pages/data.py")
    assert not any("also the unlabeled pool" in c.value for c in at.caption)


def test_label_page_renaming_classes_says_the_examples_moved(home):
    ws = W.Workspace("rn")
    ws.set_classes(["neg", "pos"], {"neg": "terrible", "pos": "great"})
    ws.add_example("awful service", "neg")
    at = app("rn", "app_pages/label.py")
    at.text_area(key="classes_text").set_value("0, 1").run()
    at.button(key="save_classes").click().run()
    no_errors(at)
    assert any("renamed 'neg' to '0', 'pos' to '1'" in m.value for m in at.info)
    assert W.Workspace("rn").class_counts() == {"0": 1, "1": 0}


def test_label_page_least_confident_first(home):
    ws = prepared("lc")
    at = app("lc", "app_pages/label.py")
    at.radio(key="label_order").set_value("uncertain").run()
    no_errors(at)
    assert W.Workspace("lc").label_order == "uncertain"
    assert any("No finished run on this pool yet" in c.value for c in at.caption)
    run = fake_done_run(W.Workspace("lc"), "29990101-000000-aaaa")  # confidence rises with the pool id
    spec = json.loads(run.config_path.read_text())
    pool = W.Workspace("lc").state["pool"]
    spec["sources"] = {"pool": pool["file"], "pool_version": pool["version"]}
    run.config_path.write_text(json.dumps(spec))
    at = app("lc", "app_pages/label.py")
    assert any("Ordered by run 29990101-000000-aaaa's confidence" in c.value for c in at.caption)
    assert any("Pool example #0 " in c.value for c in at.caption)  # the least confident pseudo-label first


def test_fifteen_classes_get_rows_of_buttons_and_word_inputs_and_one_label_warning(home):
    ws = prepared("many", n=0)
    classes = [f"genre{i}" for i in range(15)]
    ws.set_classes(classes)
    at = app("many", "app_pages/label.py")
    no_errors(at)
    assert [b.label for b in at.button if b.key.startswith("lab_class_") and b.key[10:] in classes] == classes
    assert at.button(key="lab_skip") and at.button(key="lab_undo")
    # Rows of at most 6 buttons (8 metrics), not 17 (16) side by side: no column narrower than an eighth.
    assert at.columns and min(c.weight for c in at.columns) >= 1 / 8 - 1e-9
    assert sum("fewer than 8 labeled examples" in w.value for w in at.warning) == 1
    at.button(key="lab_class_genre12").click().run()  # a class past the ninth (no key shortcut) labels too
    no_errors(at)
    assert W.Workspace("many").class_counts()["genre12"] == 1
    at = app("many", "app_pages/prompt.py")
    no_errors(at)
    assert [t.key for t in at.text_input if t.key.startswith("word_")] == [f"word_{c}" for c in classes]
    assert min(c.weight for c in at.columns) >= 1 / 4 - 1e-9  # four label words a row


def test_train_start_waits_for_classes_words_and_examples_and_says_each_once(home):
    W.Workspace("blk").set_classes([])
    at = app("blk", "app_pages/train.py")
    assert at.button(key="start").disabled and not at.error
    named = [w.value for w in at.warning if w.value.startswith("Name at least two classes on the Label page")]
    assert len(named) == 1 and "load the texts to label on the Data page" in named[0]  # no pool yet either
    ws = W.Workspace("blk")
    ws.set_classes(["a", "b"])
    at = app("blk", "app_pages/train.py")
    assert at.button(key="start").disabled
    assert any("have no label word yet" in w.value for w in at.warning)
    ws.set_classes(["a", "b"], {"a": "good", "b": "bad"})
    ws.add_example("fine text", "a")  # 'b' has none: a run would be refused
    at = app("blk", "app_pages/train.py")
    assert at.button(key="start").disabled and any("'b' has 0" in w.value for w in at.warning)
    ws.add_example("poor text", "b")
    assert not app("blk", "app_pages/train.py").button(key="start").disabled  # few labels warn, they do not block


@pytest.mark.parametrize("state, expected", [("cancelled", "This run was stopped before it had"),
                                             ("failed", "This run failed before it had"),
                                             ("running", "yet:")])
def test_inspect_and_export_say_whether_a_runs_results_can_still_come(home, state, expected):
    from list_core.config import ListConfig
    from list_core.job import create_run

    ws = prepared("cx")
    cfg = ListConfig.from_preset("quick", template=ws.template, verbalizer=ws.label_words)
    create_run(ws.runs_dir / "r0", cfg, toy_rows(2), [{"id": 0, "text": "pool 0"}]).write_status(state=state)
    for page, what in (("app_pages/inspect_run.py", "pseudo-labels"), ("app_pages/export.py", "a trained model")):
        at = app("cx", page, run="r0")
        no_errors(at)
        assert any(expected in i.value and what in i.value for i in at.info), [i.value for i in at.info]
        # It read 'This run has no a trained model yet: it is saved when the run finishes', for a model saved (and
        # shown here) when the teacher's iteration ends.
        assert not any("has no a " in i.value or "when the run finishes" in i.value for i in at.info)
    if state == "running":
        assert any(i.value == "This run does not have a trained model yet: it is saved when its first iteration "
                   "(the teacher) finishes." for i in at.info), [i.value for i in at.info]


def test_inspect_says_a_finished_run_without_self_training_has_no_pseudo_labels(home):
    """iterations = 0 or no unlabeled text: the run is done and none will come ('yet' promised them)."""
    from list_core.config import ListConfig
    from list_core.job import create_run

    ws = prepared("noself")
    cfg = ListConfig.from_preset("quick", template=ws.template, verbalizer=ws.label_words, iterations=0)
    create_run(ws.runs_dir / "r0", cfg, toy_rows(2), []).write_status(state="done")
    at = app("noself", "app_pages/inspect_run.py", run="r0")
    no_errors(at)
    assert any("finished without pseudo-labels" in i.value and "yet" not in i.value for i in at.info)


def test_train_page_points_the_address_at_the_run_it_shows(home):
    ws = prepared("gone")
    fake_done_run(ws, "r1")
    at = app("gone", "app_pages/train.py", run="deleted-since")
    no_errors(at)
    assert at.query_params["run"] == "r1" and at.session_state["run_id"] == "r1"
    assert any("Run deleted-since is not in this workspace" in c.value for c in at.caption)
    at = app("gone", "app_pages/inspect_run.py", run="deleted-since")  # the run picker of Inspect / Export says so too
    assert any("Run deleted-since is not in this workspace" in c.value for c in at.caption)


def test_class_colours_are_plotly_defaults_up_to_ten_then_distinct_without_the_twin_pink():
    from app_pages._ui import class_colors

    assert class_colors(10) is None
    colours = class_colors(15)
    assert len(colours) >= 15 and len(set(colours[:15])) == 15
    assert "#FC0080" not in [c.upper() for c in colours] and "#FB00D1" in [c.upper() for c in colours]


def test_data_page_shows_the_pools_columns_again_after_another_page(home):
    """Streamlit drops a page's widget values when the user goes to another page; back on Data, the text and label
    columns must again be the pool's, or 'Use as unlabeled pool' would reload it without its label column."""
    ws = prepared("back")
    ws.set_pool("pool.csv", ["text"], "label")
    at = app("back", "app_pages/data.py")
    assert at.multiselect(key="text_cols").value == ["text"] and at.selectbox(key="gold_col").value == "label"
    at.switch_page("app_pages/label.py")
    at.run()
    at.switch_page("app_pages/data.py")
    at.run()
    no_errors(at)
    assert at.multiselect(key="text_cols").value == ["text"] and at.selectbox(key="gold_col").value == "label"
    at.button(key="use_pool").click().run()
    assert W.Workspace("back").state["pool"]["label_column"] == "label"


def test_train_settings_are_kept_through_another_page_and_a_refresh(home):
    """Streamlit drops a page's widget values when the user leaves it: back from the Prompt page (where the Train
    page's warnings send them), the preset, model, device, seed and custom settings were the last run's, and Start
    trained with those."""
    prepared("keep")
    at = app("keep", "app_pages/train.py")
    at.radio(key="preset").set_value("custom").run()
    at.text_input(key="model").set_value("org/some-model").run()
    at.selectbox(key="device").set_value("cpu").run()
    at.number_input(key="seed").set_value(7).run()
    at.number_input(key="k_iterations").set_value(3).run()
    at.switch_page("app_pages/prompt.py")
    at.run()
    at.switch_page("app_pages/train.py")
    at.run()
    for at in (at, app("keep", "app_pages/train.py")):  # and a new session (refresh)
        no_errors(at)
        assert (at.radio(key="preset").value, at.text_input(key="model").value, at.selectbox(key="device").value,
                at.number_input(key="seed").value) == ("custom", "org/some-model", "cpu", 7)
        assert at.number_input(key="k_iterations").value == 3


def test_train_page_time_left_is_paced_by_the_attempt_shown(home):
    """Stop, then Resume in the same tab: the resumed attempt does the stopped stage again from step 1, and its
    time left was paced from the first attempt's sight of that stage (step 500): none was shown until the new
    attempt passed step 500, then one far too long."""
    ws = prepared("pace")
    run = fake_done_run(ws, "r1")

    def bar(step, started):
        run.write_status(state="running", pid=None, stage="warmup", iteration=1, step=step, total=1000,
                         part=None, parts=None, started_at=started)
        at.run()
        return at.get("progress")[0].proto.text

    at = app("pace", "app_pages/train.py", run="r1")
    bar(400, "2026-01-01T10:00:00+00:00")
    time.sleep(0.2)
    assert "left in this stage" in bar(500, "2026-01-01T10:00:00+00:00")
    bar(10, "2026-01-01T10:05:00+00:00")  # the resumed attempt
    time.sleep(0.2)
    assert "left in this stage" in bar(20, "2026-01-01T10:05:00+00:00")


def test_run_pickers_show_each_runs_accuracy_and_export_says_evaluation_rows_are_left_out(home):
    """Export picked the newest run, with only ids and states to tell runs apart (a novice exported the worse of
    two); and its data caption did not say the held-out evaluation rows are not in the download."""
    ws = prepared("pick")
    fake_done_run(ws, "r1")
    fake_done_run(ws, "r2")
    acc = [m["accuracy"] for m in ws.run("r1").metrics() if m.get("accuracy") is not None][-1]
    ws.save_upload("ev.csv", b"text,label\na b,neg\nc d,pos\n")
    ws.set_eval("ev.csv", "label", ["text"])
    at = app("pick", "app_pages/export.py", run="r1")
    no_errors(at)
    assert at.selectbox(key="run_select").format_func("r1") == f"r1 (done, accuracy {acc:.1%})"
    assert any("The 2 rows of the evaluation set are not in it" in c.value for c in at.caption)


def test_runs_page_picker_starts_from_the_run_in_the_address(home):
    """The Runs page's picker (Open in Train, Delete) started from the newest run, not the one the other pages show."""
    ws = prepared("addr")
    fake_done_run(ws, "r1")
    fake_done_run(ws, "r2")
    at = app("addr", "app_pages/runs.py", run="r1")
    no_errors(at)
    assert at.selectbox(key="runs_pick").value == "r1"


def test_export_predict_a_file_asks_for_the_text_column_the_file_lacks(home, monkeypatch):
    """A file without the pool's text column and with two text-like columns: Export ended in the loader's
    'pass --text-column' (a command-line flag). It now asks which column holds the text, then predicts."""
    from test_workspace import _StubClassifier

    ws = prepared("pf")
    run = fake_done_run(ws, "r1")
    run.model_path.write_bytes(b"fake-weights")
    calls = []

    class Counting(_StubClassifier):
        def predict_proba(self, rows):
            calls.append(len(rows))
            return super().predict_proba(rows)

    monkeypatch.setattr("app_pages._ui.classifier", lambda *a, **k: Counting())
    at = app("pf", "app_pages/export.py", run="r1")
    at.file_uploader(key="pred_file").set_value(
        [("mail.csv", b"sender,subject\nann,bad offer\nbob,lunch today\n", "text/csv")]).run()
    no_errors(at)
    assert any("has no column 'text'" in c.value for c in at.caption)
    assert "dl_pred" not in {b.key for b in at.get("download_button")}  # nothing predicted before the choice
    at.selectbox(key="pred_col_text").set_value("subject").run()
    no_errors(at)
    assert {"dl_pred", "dl_pred_excel"} <= {b.key for b in at.get("download_button")}
    # Another click on the page (the Try-it box) reruns it: the file's predictions are not made again.
    at.text_area(key="try_text").set_value("a typed text").run()
    assert calls == [2] and "dl_pred" in {b.key for b in at.get("download_button")}
    csv_rows = pd.read_csv(io.BytesIO(ws.predict_upload(Counting(), "mail.csv", b"sender,subject\nann,bad offer\n",
                                                        ["subject"])[0]), dtype=str, keep_default_na=False)
    excel = pd.read_csv(io.BytesIO(W.excel_copy(csv_rows.to_csv(index=False).encode())), sep="\t",
                        encoding="utf-16", dtype=str, keep_default_na=False)
    assert excel.equals(csv_rows)  # the Excel copy holds the CSV's cells


def test_export_predict_a_file_says_what_the_download_holds(home, monkeypatch):
    """'Predict a file' said the loader's 'm.csv: 5 rows read, 2 kept (1 empty, 2 bad)', yet the download held 3
    rows: the row without text is in it with a blank prediction, only the malformed rows are not. The caption says
    what the download holds."""
    from test_workspace import _StubClassifier

    ws = prepared("pw")
    fake_done_run(ws, "r1")
    monkeypatch.setattr("app_pages._ui.classifier", lambda *a, **k: _StubClassifier())
    data = b'text,id\ngreat,1\n"bad, row\nbad film,3\n   ,4\nx,y,z\n'
    at = app("pw", "app_pages/export.py", run="r1")
    at.file_uploader(key="pred_file").set_value([("m.csv", data, "text/csv")]).run()
    no_errors(at)
    out, report = ws.predict_upload(_StubClassifier(), "m.csv", data, ["text"])
    assert len(pd.read_csv(io.BytesIO(out))) == 3
    assert any(c.value == "m.csv: 3 rows in the download, 2 predicted, 1 without text (its prediction is blank); 2 "
               "malformed rows skipped, not in the download (wrong number of fields or bad quoting)"
               for c in at.caption), [c.value for c in at.caption]


def test_train_page_explains_its_words(home):
    """Teacher, student, pseudo-label, re-weighting, macro-F1: words a non-expert meets on the Train page."""
    ws = prepared("words")
    fake_done_run(ws, "r1")
    at = app("words", "app_pages/train.py", run="r1")
    no_errors(at)
    assert any(e.label == "What the words on this page mean" for e in at.expander)
    text = " ".join(m.value for m in at.markdown)
    assert all(w in text for w in ("**Teacher**", "**Student**", "**Pseudo-label**", "**weight**", "macro-F1"))


def test_prompt_preview_reads_no_model_outside_the_allowed_roots(home, tiny_model):
    """A Model typed on the Train page outside LIST_STUDIO_MODEL_ROOTS: Start refuses it, but the Prompt page's
    preview loaded its tokenizer (and embeddings) anyway. The page now says why there is no preview, once."""
    ws = prepared("outside")
    ws.update_settings(model=str(tiny_model))  # the home fixture's roots do not hold it
    W._TOKENIZERS.pop(str(tiny_model), None)
    at = app("outside", "app_pages/prompt.py")
    no_errors(at)
    assert not at.code and str(tiny_model) not in W._TOKENIZERS
    assert len([w for w in at.warning if "not under an allowed model root" in w.value]) == 1
    W.Workspace("outside").set_classes([])  # without classes prompt_problems says nothing of the model: the page does
    at = app("outside", "app_pages/prompt.py")
    no_errors(at)
    assert not at.code and len([w for w in at.warning if "not under an allowed model root" in w.value]) == 1


def test_label_key_shortcuts_only_on_the_one_by_one_tab(home):
    """The one-by-one buttons are drawn in every tab of the Label page; their keys (1-9, 0, Backspace) must not act
    while the Table or Paste tab is shown: Backspace clearing a table cell took back the last label, and a digit
    typed outside a box labeled a pool row the user could not see."""
    prepared("keys")
    at = app("keys", "app_pages/label.py")
    no_errors(at)
    assert at.button(key="lab_class_neg").proto.shortcut and at.button(key="lab_undo").proto.shortcut
    for tab in ("Table", "Paste"):
        at.session_state["label_tab"] = tab
        at.run()
        no_errors(at)
        assert not any(b.proto.shortcut for b in at.button if b.key and b.key.startswith("lab_")), tab
    at.session_state["label_tab"] = "One by one"
    at.run()
    assert at.button(key="lab_skip").proto.shortcut == "0"


def test_label_page_undo_says_it_left_a_label_corrected_since_on_inspect(home):
    ws = prepared("uc", n=0)
    fake_done_run(ws, "r1")
    ws.label_pool_example(5, "pos")
    ws.accept_pseudo("r1", [5], label="neg")  # corrected on Inspect after the one-by-one label
    at = app("uc", "app_pages/label.py")
    at.button(key="lab_undo").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("#5" in m.value and "'neg'" in m.value for m in at.warning)
    assert [ex["label"] for ex in W.Workspace("uc").labeled if ex.get("pool_id") == 5] == ["neg"]


def test_undo_in_one_tab_never_takes_back_another_tabs_labels(home):
    """Two tabs on one workspace (or two people sharing it) shared one undo history: B's Undo on the Label page took
    back A's last one-by-one label, and B's Undo on Inspect A's last Accept. Each tab's Undo takes back its own
    steps; a tab with none of its own has nothing to undo."""
    ws = prepared("undo2", n=0)
    a, b = app("undo2", "app_pages/label.py"), app("undo2", "app_pages/label.py")
    b.button(key="lab_class_neg").click().run()  # B labels the row both see
    b_row = next(ex["pool_id"] for ex in W.Workspace("undo2").labeled)
    a.run()
    a.button(key="lab_class_pos").click().run()  # then A labels the next one
    a_row = next(ex["pool_id"] for ex in W.Workspace("undo2").labeled if ex["pool_id"] != b_row)
    b.run()
    b.button(key="lab_undo").click().run()
    assert not b.exception
    assert [(ex["pool_id"], ex["label"]) for ex in W.Workspace("undo2").labeled] == [(a_row, "pos")]  # A's stays
    b.run()
    assert b.button(key="lab_undo").disabled  # nothing of B's is left to undo; A's Undo still can
    a.run()
    assert not a.button(key="lab_undo").disabled
    fake_done_run(ws, "r1")
    ia, ib = app("undo2", "app_pages/inspect_run.py", run="r1"), app("undo2", "app_pages/inspect_run.py", run="r1")
    ids = [o.split(":")[0].split()[0] for o in ia.multiselect(key="insp_pick").options]
    ib.multiselect(key="insp_pick").set_value([int(ids[0].split(":")[0].lstrip("#"))]).run()
    ib.button(key="insp_accept").click().run()
    ia.multiselect(key="insp_pick").set_value([int(ids[1].split(":")[0].lstrip("#"))]).run()
    ia.button(key="insp_accept").click().run()
    before = {ex["pool_id"] for ex in W.Workspace("undo2").labeled}
    ib.button(key="insp_undo").click().run()
    assert not ib.exception
    after = {ex["pool_id"] for ex in W.Workspace("undo2").labeled}
    assert before - after == {int(ids[0].split(":")[0].lstrip("#"))}  # B's Accept taken back, A's kept


def test_a_prompt_page_drawn_before_another_tab_changed_the_prompt_shows_it_and_does_not_save_over_it(home):
    """Tab B shows the Prompt page; tab A changes the template and a label word. B's boxes kept the old ones (set
    once per session), its preview showed them, a run started from B used A's prompt, and B's Save prompt wrote the
    old template and words back over A's without a word. B's boxes now follow a change made elsewhere (unless B is
    editing that box), say so, and a Save clicked on the boxes as they were drawn saves nothing."""
    ws = prepared("pr2")
    b = app("pr2", "app_pages/prompt.py")
    assert b.text_input(key="template_text").value == ws.template
    other = W.Workspace("pr2")
    other.set_template("{text} All in all it was {mask} .")
    other.set_label_words({"pos": "good"})
    b.button(key="save_prompt").click().run()  # clicked on the page as drawn before A's change
    assert not b.exception
    now = W.Workspace("pr2")
    assert now.template == "{text} All in all it was {mask} ." and now.label_words == {"neg": "terrible", "pos": "good"}
    assert b.text_input(key="template_text").value == "{text} All in all it was {mask} ."
    assert b.text_input(key="word_pos").value == "good" and b.text_input(key="word_neg").value == "terrible"
    assert any("The template, the label word for 'pos' changed in another tab or window since this page was drawn; "
               "the boxes show them now. Nothing was saved" in x.value for x in b.warning)
    b.text_input(key="word_neg").set_value("bad").run()  # B's own edit is kept, A's stay
    b.button(key="save_prompt").click().run()
    now = W.Workspace("pr2")
    assert now.template == "{text} All in all it was {mask} ." and now.label_words == {"neg": "bad", "pos": "good"}
    assert not any("changed in another tab or window" in x.value for x in b.warning)


def test_a_tab_drawn_before_another_renamed_the_classes_labels_under_the_new_names(home):
    """Tab B shows the Label page (buttons 'neg', 'pos'; 'pos' picked for pasting) and Inspect (Correct to 'pos');
    tab A renames the classes to 'negative, positive'. B's click, paste and Correct were refused with `label 'pos' is
    not one of the classes (negative, positive); add it on the Label page first` (the label not saved, and the advice
    made a second class beside the renamed one). They go to the renamed class."""
    ws = prepared("ren2", n=0)
    fake_done_run(ws, "r1")
    b = app("ren2", "app_pages/label.py")
    b.selectbox(key="paste_class").set_value("pos").run()
    b.text_area(key="paste_text").set_value("a pasted text").run()
    ib = app("ren2", "app_pages/inspect_run.py", run="r1")
    ib.selectbox(key="insp_target").set_value("pos").run()
    pick = int(ib.multiselect(key="insp_pick").options[0].split(":")[0].split()[0].lstrip("#"))
    ib.multiselect(key="insp_pick").set_value([pick]).run()
    W.Workspace("ren2").set_classes(["negative", "positive"])  # tab A
    b.button(key="lab_class_pos").click().run()  # its rerun drew the paste picker with the new names
    b.button(key="paste_add").click().run()  # and the picker had fallen back to 'negative'
    ib.run()
    ib.button(key="insp_correct").click().run()
    for at in (b, ib):
        assert not at.exception and not at.error, [e.value for e in at.error]
    labels = {(ex["source"], ex["label"]) for ex in W.Workspace("ren2").labeled}
    assert labels == {("pool", "positive"), ("paste", "positive"), ("corrected", "positive")}
    assert W.Workspace("ren2").classes == ["negative", "positive"]
    # A class taken out in another tab: the pickers show no class, and Add lines / Correct label nothing
    b.text_area(key="paste_text").set_value("another pasted text").run()
    ib.multiselect(key="insp_pick").set_value([pick]).run()
    W.Workspace("ren2").set_classes(["negative", "neutral", "mixed"])
    b.run()
    ib.run()
    assert b.selectbox(key="paste_class").value is None and ib.selectbox(key="insp_target").value is None
    b.button(key="paste_add").click().run()
    ib.button(key="insp_correct").click().run()
    assert any("has no class" in e.value for e in b.error)
    assert any("Choose the class to correct to" in e.value for e in ib.error)
    assert {(ex["source"], ex["label"]) for ex in W.Workspace("ren2").labeled} == labels


def test_a_label_word_typed_in_a_box_drawn_before_another_tab_renamed_its_class_is_kept(home):
    """Tab B's Prompt page has a box 'Label word for pos'; tab A renames the classes to 'negative, positive'. The word
    B then typed there was saved under 'pos', no class any more, and dropped without a word. It is the renamed
    class's word."""
    prepared("wr")
    b = app("wr", "app_pages/prompt.py")
    W.Workspace("wr").set_classes(["negative", "positive"])  # tab A
    b.text_input(key="word_pos").set_value("good").run()
    assert not b.exception
    assert W.Workspace("wr").label_words == {"negative": "terrible", "positive": "good"}
    assert b.text_input(key="word_positive").value == "good"


def test_inspect_accept_again_does_not_say_the_rows_were_added(home):
    """Accepting rows that already carry their pseudo-label (accepted before, picked again under another filter)
    said '2 example(s) added to the labeled set' though nothing was added."""
    ws = prepared("again")
    fake_done_run(ws, "r1")
    at = app("again", "app_pages/inspect_run.py", run="r1")
    at.multiselect(key="insp_pick").set_value([4, 5]).run()
    at.button(key="insp_accept").click().run()
    assert any("2 example(s) added" in s.value for s in at.success)
    at.multiselect(key="insp_pick").set_value([4, 5, 6]).run()
    at.button(key="insp_accept").click().run()
    no_errors(at)
    assert [s.value for s in at.success] == ["1 example(s) added to the labeled set with their pseudo-label; 2 "
                                             "already had it"]
    assert len(W.Workspace("again").labeled) == 16 + 3  # no duplicates either
    # Another run pseudo-labels #4 and #5 the other way: accepted there, they are relabeled, not added (the page
    # said '3 example(s) added to the labeled set' of #4, #5 and the new #7).
    r2 = fake_done_run(ws, "r2")
    flipped = r2.pseudo_labels()
    flipped["pseudo_label"] = flipped["pseudo_label"].map({"pos": "neg", "neg": "pos"})
    r2.write_pseudo_labels(flipped)
    at = app("again", "app_pages/inspect_run.py", run="r2")
    at.multiselect(key="insp_pick").set_value([4, 5, 7]).run()
    at.button(key="insp_accept").click().run()
    no_errors(at)
    assert [s.value for s in at.success] == ["1 example(s) added to the labeled set with their pseudo-label; 2 "
                                             "accepted before with another label now carry this one"]
    assert len(W.Workspace("again").labeled) == 16 + 4


def test_train_page_shows_a_run_whose_teachers_saw_no_pool_sample(home):
    """Custom settings with unlabeled_per_iteration = 0 and several teachers: their agreement on an empty pool
    sample is NaN, written as null; the Train page of that run was a red TypeError box."""
    ws = prepared("noagree")
    run = fake_done_run(ws, "r1")
    run.metrics_path.write_text(json.dumps({"iteration": 0, "accuracy": 0.5, "macro_f1": 0.5, "teachers": 3,
                                            "teacher_agreement": [None, None, None], "ensemble_accuracy": 0.5,
                                            "chosen_teacher": 0, "seconds": 0.2}) + "\n")
    at = app("noagree", "app_pages/train.py", run="r1")
    no_errors(at)
    assert any("Kept teacher 1 of 3" in c.value for c in at.caption)


def test_train_page_log_of_a_failed_run_shows_the_runs_lines_not_a_traceback(home):
    """A failed run's Log (open by default) showed the last 12 lines of the Python traceback the worker keeps in
    train.log for debugging: the run's own lines and its 'failed: ...' line were pushed out."""
    ws = prepared("tb")
    run = fake_done_run(ws, "r1")
    run.write_status(state="failed", error="ModelLoadError: model path '/m' does not exist")
    run.log("iteration 0: encode")
    run.log("failed: ModelLoadError: model path '/m' does not exist")
    with open(run.log_path, "a", encoding="utf-8") as fh:
        fh.write("Traceback (most recent call last):\n" + "".join(f'  File "x.py", line {i}, in f\n    g()\n'
                                                                  for i in range(10))
                 + "list_core.modeling.ModelLoadError: model path '/m' does not exist\n")
    at = app("tb", "app_pages/train.py", run="r1")
    assert not at.exception
    log = at.code[0].value
    assert "failed: ModelLoadError" in log and "iteration 0: encode" in log
    assert "Traceback" not in log and 'File "x.py"' not in log


def test_train_page_class_balance_names_the_classes_as_they_are_now(home):
    """Classes renamed after a run (neg, pos -> negative, positive): Inspect, Accept and the export read the run's
    pseudo-labels under the new names, while the Train page's class balance chart kept the old ones."""
    ws = prepared("rename")
    run = fake_done_run(ws, "r1")
    run.append_metrics({"iteration": 1, "accuracy": 0.8, "macro_f1": 0.75, "seconds": 2.0,
                        "pseudo_label_distribution": {"neg": 0.4, "pos": 0.6}})
    ws.set_classes(["negative", "positive"])
    at = app("rename", "app_pages/train.py", run="r1")
    no_errors(at)
    balance = json.loads(at.get("plotly_chart")[1].proto.spec)
    names = {trace["name"] for trace in balance["data"]}
    assert names == {"negative", "positive"}, names


def test_runs_table_says_its_iteration_is_the_last_finished_one(home):
    """A run stopped in iteration 2: its Train page says 'stopped · stage warmup · iteration 2' while the Runs
    table's column 'iteration' said 1 (the last finished one, whose accuracy the row shows), unexplained."""
    ws = prepared("iters")
    fake_done_run(ws, "r1").write_status(state="cancelled", stage="warmup", iteration=2)
    at = app("iters", "app_pages/train.py", run="r1")
    assert any("stopped** · stage `warmup` · iteration 2" in m.value for m in at.markdown)
    at = app("iters", "app_pages/runs.py")
    no_errors(at)
    assert at.dataframe[0].value.set_index("run").at["r1", "iteration"] == 1
    column = json.loads(at.dataframe[0].proto.columns)["iteration"]
    assert column["label"] == "finished iteration" and "last" in column["help"]


def test_a_pool_table_damaged_on_disk_is_repaired_and_said_instead_of_failing_every_page(home):
    """pool.parquet cut short from outside: the Data, Label and Prompt pages were exceptions ('This app has
    encountered an error') and Export a red ArrowInvalid, so the workspace could not even be given a new pool."""
    ws = prepared("cut")
    fake_done_run(ws, "r1")
    data = ws.pool_path.read_bytes()
    ws.pool_path.write_bytes(data[: len(data) // 2])
    at = app("cut", run="r1")  # the Data page, where a new pool would be loaded
    no_errors(at)
    assert any("The pool could not be read (ArrowInvalid" in w.value and "loaded again from pool.csv: 40 rows" in w.value
               for w in at.warning)
    for page in PAGES:
        at = app("cut", page, run="r1")
        no_errors(at)
        assert not any("could not be read" in w.value for w in at.warning)  # said once, when it was repaired


def test_a_stale_classes_box_in_another_tab_does_not_undo_a_rename(home):
    """Tab B renamed neg, pos to negative, positive; tab A's box still read 'neg, pos' after a rerun, and adding a
    class there saved neg, pos, neutral: the rename was undone and B's 16 examples set aside as deleted classes."""
    prepared("tabs")
    a = app("tabs", "app_pages/label.py")
    b = app("tabs", "app_pages/label.py")
    b.text_area(key="classes_text").set_value("negative, positive").run()
    b.button(key="save_classes").click().run()
    a.run()  # any click in tab A: its box shows the classes as they are now
    assert a.text_area(key="classes_text").value == "negative, positive"
    a.text_area(key="classes_text").set_value("negative, positive, neutral").run()
    a.button(key="save_classes").click().run()
    no_errors(a)
    assert W.Workspace("tabs").class_counts() == {"negative": 8, "positive": 8, "neutral": 0}
    # An edit typed in A before B saved is not saved over B's change: refused, and the box shows B's classes.
    b.run()
    b.text_area(key="classes_text").set_value("bad, good, meh").run()
    b.button(key="save_classes").click().run()
    no_errors(b)
    assert W.Workspace("tabs").classes == ["bad", "good", "meh"]
    a.text_area(key="classes_text").set_value("negative, positive, neutral, other").run()
    a.button(key="save_classes").click().run()
    assert any("the classes were changed in another tab or window since this page was drawn: they are now bad, "
               "good, meh. Nothing was saved" in e.value for e in a.error)
    assert a.text_area(key="classes_text").value == "bad, good, meh"
    assert W.Workspace("tabs").class_counts() == {"bad": 8, "good": 8, "meh": 0}
    a.text_area(key="classes_text").set_value("bad, good, meh, other").run()  # made again: saved
    a.button(key="save_classes").click().run()
    no_errors(a)
    assert W.Workspace("tabs").classes == ["bad", "good", "meh", "other"]


def test_a_weight_range_raised_only_at_its_low_end_shows_the_heavy_rows_of_a_run_opened_later(home):
    """A weight range moved at its low end only, kept in the workspace as [low, that run's largest weight]: a later
    session (a refresh, a bookmark) on a run whose weights reach further cut its heaviest pseudo-labels off, though
    the person never lowered the top."""
    from test_workspace import fake_run

    ws = prepared("wtop")
    fake_run(ws, "r1")  # weights 0 and 1
    heavy = fake_run(ws, "r2")
    heavy.write_pseudo_labels(heavy.pseudo_labels().assign(weight=[0.0] * 3 + [1.0] * 5 + [4.0, 6.0]))
    at = app("wtop", "app_pages/inspect_run.py", run="r1")
    at.slider(key="insp_wr").set_value((0.5, 1.0)).run()  # the low end raised: the rejected rows hidden
    assert sorted(at.dataframe[0].value["id"]) == [3, 4, 5, 6, 7, 8, 9]
    fresh = app("wtop", "app_pages/inspect_run.py", run="r2")  # another day, the other run
    no_errors(fresh)
    assert fresh.slider(key="insp_wr").value == (0.5, 6.0)
    assert sorted(fresh.dataframe[0].value["id"]) == [3, 4, 5, 6, 7, 8, 9]


def test_inspect_does_not_say_pseudo_labels_the_student_never_drew_were_seen_in_the_warm_up(home):
    """The student's steps draw student_steps x unlabeled_batch_size rows (the quick preset: 960 of a 1,000-row
    sample), one shuffled pass after another: the rest are never seen. They have no weight, like the rows seen only
    in the warm-up, and the page called them all 'Warm-up only' / 'seen only in the warm-up'."""
    import json as _json

    from test_workspace import fake_run

    ws = prepared("never")
    run = fake_run(ws, "r1", gold=["pos", "neg"] * 5)
    spec = _json.loads(run.config_path.read_text())
    spec["config"].update(student_steps=2, unlabeled_batch_size=2, warmup_fraction=0.5)  # 4 of the 10 rows drawn
    run.config_path.write_text(_json.dumps(spec))
    frame = run.pseudo_labels()
    frame["weight"] = [1.0, 0.0] + [float("nan")] * 8  # 2 re-weighted, 2 seen in the warm-up, 6 never drawn
    frame["reweighted_steps"] = [1, 1] + [0] * 8
    run.write_pseudo_labels(frame)
    at = app("never", "app_pages/inspect_run.py", run="r1")
    no_errors(at)
    said = " ".join([m.label + " " + (m.help or "") for m in at.metric] + [c.value for c in at.caption])
    assert "Warm-up only" not in said and "seen only in the warm-up (no weight)" not in said
    assert "6 never drawn" in said and "2 seen only in the warm-up" in said
    # The class 'pos' picked: 4 of its rows have no weight, and the iteration's 6 never drawn are not a split of
    # them (the caption said '0 seen only in the warm-up, 4 never drawn by the student').
    at.multiselect(key="insp_labels").set_value(["pos"]).run()
    no_errors(at)
    assert "4 pseudo-labels have no weight (4 seen only in the warm-up or never drawn by the student)" in \
        " ".join(c.value for c in at.caption)


def test_inspect_of_a_run_without_re_weighting_says_so_and_offers_no_weight_filter(home):
    """A run trained with reweight off has no weights: Inspect called every pseudo-label 'Warm-up only' (the engine's
    name for plain distillation steps), and its weight slider ranged over 0-1, emptying the table when moved."""
    import json as _json

    from test_workspace import fake_run

    ws = prepared("noreweight")
    run = fake_run(ws, "r1", gold=["pos", "neg"] * 5)
    spec = _json.loads(run.config_path.read_text())
    spec["config"]["reweight"] = False
    run.config_path.write_text(_json.dumps(spec))
    frame = run.pseudo_labels()
    frame["weight"], frame["reweighted_steps"] = float("nan"), 0
    run.write_pseudo_labels(frame)
    at = app("noreweight", "app_pages/inspect_run.py", run="r1")
    no_errors(at)
    assert "without meta re-weighting (reweight off), so no pseudo-label has a weight" in at.info[0].value
    said = " ".join([m.label + " " + (m.help or "") for m in at.metric] + [c.value for c in at.caption])
    assert "Warm-up only" not in said and "warm-up" not in said and "Not re-weighted · 10" in said
    assert at.slider(key="insp_wr").disabled and at.checkbox(key="insp_zero").disabled
    assert at.slider(key="insp_wr").help == "This run trained its student without meta re-weighting: no weights."
    assert "Page (of 1; 10 rows)" in at.number_input(key="insp_page").label
    # Re-weighting on, but every student step a warm-up one (warmup_fraction 1): no weights either, and the run did
    # not train without re-weighting (the help said it did).
    spec["config"].update(reweight=True, warmup_fraction=1.0)
    run.config_path.write_text(_json.dumps(spec))
    at = app("noreweight", "app_pages/inspect_run.py", run="r1")
    no_errors(at)
    assert at.slider(key="insp_wr").disabled and "without meta re-weighting" not in at.slider(key="insp_wr").help
    assert at.checkbox(key="insp_zero").help.startswith("No pseudo-label of this run was re-weighted")


def test_train_page_does_not_say_a_run_without_self_training_pseudo_labeled_the_pool(home):
    """A run of 0 iterations trains its seed ensemble of teachers and keeps one, but pseudo-labels nothing (Inspect
    says so): the Train page said 'their averaged predictions pseudo-label the pool'."""
    import json as _json

    ws = prepared("noself")
    run = fake_done_run(ws, "r0")
    spec = _json.loads(run.config_path.read_text())
    spec["config"]["iterations"] = 0
    run.config_path.write_text(_json.dumps(spec))
    run.pseudo_path.unlink()
    run.metrics_path.write_text(_json.dumps({"iteration": 0, "accuracy": 0.6, "macro_f1": 0.55, "teachers": 3,
                                             "chosen_teacher": 1, "teacher_agreement": [0.9, 0.95, 0.8],
                                             "seconds": 1.0}) + "\n")
    at = app("noself", "app_pages/train.py", run="r0")
    no_errors(at)
    line = next(c.value for c in at.caption if c.value.startswith("Iteration 0 trained 3 teachers"))
    assert "pseudo-label the pool" not in line and "no self-training" in line
    assert "Kept teacher 2 of 3" in line


def test_class_names_and_texts_in_messages_are_shown_as_written_not_as_markdown(home):
    """st.button and st.error read Markdown: a class named '*neg*' was a button reading 'neg' in italics, and a
    pasted line quoted in an error showed '$5 or $10' as a formula. Both are escaped; 'Add lines' names the class
    the lines went to ('3 examples added' did not, though 'class<TAB>text' lines go to their own class)."""
    ws = prepared("md", n=0)
    ws.set_classes(["*neg*", "pos"], {"*neg*": "terrible", "pos": "great"})
    at = app("md", "app_pages/label.py")
    no_errors(at)
    assert at.button(key="lab_class_*neg*").label == r"\*neg\*"
    at.text_area(key="paste_text").set_value("costs $5 or $10\tnice one").run()
    at.button(key="paste_add").click().run()
    assert [e.value for e in at.error] == [r"line 1 starts with 'costs \$5 or \$10' and a tab, but 'costs \$5 or "
                                          r"\$10' is not one of the classes (\*neg\*, pos); fix the class name or "
                                          r"remove the tab. Nothing was added"]
    at.text_area(key="paste_text").set_value("*neg*\tawful thing\npos\tlovely thing\npos\tfine thing").run()
    at.button(key="paste_add").click().run()
    assert [s.value for s in at.success] == [r"3 examples added: 1 to '\*neg\*', 2 to 'pos'"]
    at.selectbox(key="paste_class").set_value("pos").run()
    at.text_area(key="paste_text").set_value("good one\nfine thing").run()
    at.button(key="paste_add").click().run()
    assert [s.value for s in at.success] == ["1 example added to 'pos'; 1 line was already labeled and skipped"]
    from app_pages._ui import plain

    # ':red' alone is a directive too (its text vanished); in-word underscores and colons before a space are plain.
    assert plain("$a$ or :red[b] :+1: labeled_lr: x_ _y_") == r"\$a\$ or \:red\[b\] \:+1: labeled_lr: x\_ \_y\_"


def test_inspect_shows_each_text_of_a_pair_task_in_its_own_column(home, monkeypatch):
    """A pair task's pseudo-labels were shown as one narrow 'premise | hypothesis' text: a long premise hid the
    hypothesis, and the rows of one premise (one per hypothesis) looked alike in the table and the pick."""
    from test_workspace import pair_workspace, pseudo_labeled

    monkeypatch.setattr("list_core.job.start_worker", lambda path, **kw: 1)  # freeze runs, train nothing
    ws = pair_workspace("ipair", "{premise} ? {mask} , {hypothesis}", 3)
    rid = ws.start_run("quick", check=False)
    pseudo_labeled(ws.run(rid), 3, "yes")
    at = app("ipair", "app_pages/inspect_run.py", run=rid)
    no_errors(at)
    table = at.dataframe[0].value
    assert "text" not in table.columns
    assert table["premise"].tolist() == ["p 0", "p 1", "p 2"] and table["hypothesis"].tolist() == ["h 0", "h 1", "h 2"]
    assert at.multiselect(key="insp_pick").options == ["#0: p 0 | h 0", "#1: p 1 | h 1", "#2: p 2 | h 2"]
    ws = W.Workspace("ione")  # a run on one text column, the pool pairs since: its text, not two blank columns
    ws.set_classes(["no", "yes"], {"no": "No", "yes": "Yes"})
    ws.save_upload("s.csv", pd.DataFrame({"sentence": ["s 0", "s 1"]}).to_csv(index=False).encode())
    ws.set_pool("s.csv", ["sentence"])
    ws.add_example("a", "yes")
    ws.add_example("b", "no")
    rid = ws.start_run("quick", check=False)
    pseudo_labeled(ws.run(rid), 2, "yes")
    ws.save_upload("p.csv", pd.DataFrame({"premise": ["p 0"], "hypothesis": ["h 0"]}).to_csv(index=False).encode())
    ws.set_pool("p.csv", ["premise", "hypothesis"])
    at = app("ione", "app_pages/inspect_run.py", run=rid)
    no_errors(at)
    assert at.dataframe[0].value["text"].tolist() == ["joined"] * 2


def test_prompt_preview_shows_what_the_model_reads_of_a_cut_text(home):
    """A long premise is cut from its end to fit the token budget (the template, the mask and a short hypothesis
    are kept); the preview showed the whole text with 'cut from N', so the sentence the model never reads (in NLI
    sets often the premise's last, which the hypothesis is about) could not be seen. The kept prompt follows."""
    ws = W.Workspace("cutpair")
    ws.save_upload("p.csv", pd.DataFrame({"premise": ["It rained all day. " * 20 + "He didn't fall."],
                                          "hypothesis": ["He was standing."]}).to_csv(index=False).encode())
    ws.set_pool("p.csv", ["premise", "hypothesis"])
    ws.set_classes(["no", "yes"], {"no": "No", "yes": "Yes"})
    ws.set_template("{premise:strip_punct} ? {mask} , {hypothesis:lower_first}")
    at = app("cutpair", "app_pages/prompt.py")
    no_errors(at)
    assert [c.value for c in at.caption if "cut from" in c.value] == [
        "64 tokens (cut from 114: the text was truncated; the model reads what follows)"]
    whole, kept = at.code[0].value, at.code[1].value
    assert "He didn't fall" in whole and "fall" not in kept
    assert kept.startswith("[CLS] it rained all day") and kept.endswith("? [MASK], he was standing. [SEP]")


def test_train_page_says_a_paused_worker_is_paused_and_a_never_started_run_is_not_queued(home):
    """A worker stopped by a signal read 'running' with a bar that never moved; a run whose worker was never
    started (the server stopped between writing it and starting it) read 'queued' for ever, and Resume was
    refused. The page says the worker is paused and what Stop does; the other run reads interrupted, with Resume."""
    import datetime as dt
    import os
    import signal
    import subprocess
    import sys

    from list_core.runs import process_start

    ws = prepared("paus")
    run = fake_done_run(ws, "r1")
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        os.kill(proc.pid, signal.SIGSTOP)
        run.write_status(state="running", stage="student", step=3, total=30, pid=proc.pid,
                         pid_started=process_start(proc.pid))
        deadline = time.time() + 30
        while not run.status().get("paused") and time.time() < deadline:
            time.sleep(0.05)
        at = app("paus", "app_pages/train.py", run="r1")
        no_errors(at)
        assert any(f"The training process (pid {proc.pid}) is paused" in w.value for w in at.warning)
    finally:
        proc.kill()
        proc.wait()
    long_ago = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=10)).isoformat(timespec="seconds")
    run.write_status(state="queued", pid=None, queued_at=long_ago)
    at = app("paus", "app_pages/train.py", run="r1")
    assert not at.exception
    assert [e.value for e in at.error] == ["the training process was never started (the app or the command stopped "
                                           "before it could start it); resume to start it"]
    assert any(b.key == "resume" for b in at.button) and not any(b.key == "stop" for b in at.button)


def test_prompt_page_says_a_placeholder_reads_another_column_than_the_file_column_of_its_name(home):
    """'{label} {mask}' over a pool whose text column is 'text' and whose label column is 'label' read the text
    without a word; the page says which column the placeholder reads, and how to read the other."""
    ws = prepared("fnote")
    ws.set_pool("pool.csv", ["text"], "label")
    ws.set_template("{label} It was {mask}.")
    at = app("fnote", "app_pages/prompt.py")
    assert any(i.value.startswith("{label} reads the text column 'text': the pool file's column 'label' is its label "
                                  "column.") for i in at.info)
    at.text_input(key="template_text").set_value("{text} It was {mask}.").run()
    assert not any("reads the text column" in i.value for i in at.info)


def test_inspect_undo_takes_back_the_last_accept(home):
    ws = prepared("undo_i")
    fake_done_run(ws, "r1")
    before = len(W.Workspace("undo_i").labeled)
    at = app("undo_i", "app_pages/inspect_run.py", run="r1")
    assert at.button(key="insp_undo").disabled
    picked = list(at.dataframe[0].value["id"])[:3]
    at.multiselect(key="insp_pick").set_value(picked).run()
    at.button(key="insp_accept").click().run()
    assert len(W.Workspace("undo_i").labeled) == before + 3 and not at.button(key="insp_undo").disabled
    at.button(key="insp_undo").click().run()
    no_errors(at)
    assert any("undid the last Accept: 3 examples removed" in x.value for x in at.success)
    assert len(W.Workspace("undo_i").labeled) == before and at.button(key="insp_undo").disabled


def test_label_page_offers_the_label_columns_values_as_the_classes(home):
    ws = W.Workspace("lcc")
    ws.save_upload("p.csv", pd.DataFrame([{"text": f"t {i}", "genre": ["news", "lore", "humor"][i % 3]}
                                          for i in range(9)]).to_csv(index=False).encode())
    ws.set_pool("p.csv", ["text"], "genre")
    at = app("lcc", "app_pages/label.py")
    no_errors(at)
    at.button(key="classes_from_file").click().run()
    no_errors(at)
    assert W.Workspace("lcc").classes == ["humor", "lore", "news"]
    assert at.text_area(key="classes_text").value == "humor, lore, news"
    assert not [b for b in at.button if b.key == "classes_from_file"]


def test_inspect_scatter_follows_the_pseudo_label_filter(home):
    """With classes picked under Pseudo-label the table and the audit showed those classes only, while the
    confidence / weight chart beside them still plotted the whole iteration."""
    ws = prepared("scat")
    fake_done_run(ws, "r1")
    at = app("scat", "app_pages/inspect_run.py", run="r1")

    def plotted():
        spec = json.loads(next(c for c in at.get("plotly_chart") if "Confidence vs learned weight" in
                               c.proto.spec).proto.spec)
        def points(x):  # plotly writes numeric arrays as base64 with their dtype
            if isinstance(x, dict):
                import base64

                import numpy as np
                return len(np.frombuffer(base64.b64decode(x["bdata"]), dtype=x["dtype"]))
            return len(x or [])
        return spec["layout"]["title"]["text"], sum(points(t.get("x")) for t in spec["data"])

    assert plotted() == ("Confidence vs learned weight", 10)
    at.multiselect(key="insp_labels").set_value(["pos"]).run()
    no_errors(at)
    assert plotted() == ("Confidence vs learned weight of the pseudo-labels 'pos'", 5)


def test_data_page_matches_a_0_1_files_labels_to_the_classes_and_imports_it(home):
    """Import of a file labeled 0 / 1 while the classes are negative, positive: the way to import it was to load the
    file as the evaluation set, match its values, import again and remove the evaluation set. The page offers the
    match on the spot, and 'Match and import' files the rows by class."""
    ws = W.Workspace("imp01a")
    ws.set_classes(["negative", "positive"], {"negative": "terrible", "positive": "great"})
    ws.save_upload("lab.csv", b"text,label\ngreat film,1\nawful film,0\nfine film,1\n")
    at = app("imp01a", "app_pages/data.py")
    at.selectbox(key="data_file").set_value("lab.csv").run()
    at.multiselect(key="text_cols").set_value(["text"]).run()
    at.selectbox(key="gold_col").set_value("label").run()
    at.button(key="import_labeled").click().run()
    assert not at.exception
    assert any("none of the labels in 'label'" in e.value for e in at.error)
    assert W.Workspace("imp01a").labeled == []
    at.selectbox(key="imatch_1").set_value("positive")
    at.selectbox(key="imatch_0").set_value("negative")
    at.button[[b.label for b in at.button].index("Match and import")].click().run()
    no_errors(at)
    assert W.Workspace("imp01a").class_counts() == {"negative": 1, "positive": 2}
    assert any(x.value.startswith("3 labeled examples added") for x in at.success)
    assert not [b for b in at.button if b.label == "Match and import"]  # done: the form is gone


def test_classes_pasted_one_per_line_are_one_class_each(home):
    """A column of class names pasted from a spreadsheet into the one-line Classes box became one class
    ('adventure belles_lettres editorial'), and 15 names were cut off in it. It is a text area now: one class per
    line (or per comma), blank lines left out."""
    at = app("colpaste", "app_pages/label.py")
    at.text_area(key="classes_text").set_value("adventure\nbelles_lettres, editorial\n\nfiction\n").run()
    at.button(key="save_classes").click().run()
    no_errors(at)
    assert W.Workspace("colpaste").classes == ["adventure", "belles_lettres", "editorial", "fiction"]
    assert at.text_area(key="classes_text").value == "adventure, belles_lettres, editorial, fiction"
    assert W.split_class_list("Clothing, Shoes & Jewelry\nBooks", ["Clothing, Shoes & Jewelry"]) == [
        "Clothing, Shoes & Jewelry", "Books"]


@pytest.mark.parametrize("page", ["app_pages/inspect_run.py", "app_pages/train.py", "app_pages/export.py",
                                  "app_pages/label.py", "app_pages/runs.py"])
def test_a_run_whose_pseudo_labels_file_was_damaged_outside_the_app_is_said_not_a_traceback(home, page):
    """pseudo_labels.parquet cut short from outside (the app's own writes are atomic): Inspect and Train failed
    with pyarrow's traceback, Export showed 'ArrowInvalid: Could not open Parquet input source ...' (found by hunt
    11, by reading). Each page says what is damaged and what still works."""
    ws = prepared("dmg")
    run = fake_done_run(ws, "r1")
    data = run.pseudo_path.read_bytes()
    run.pseudo_path.write_bytes(data[: len(data) // 2])
    at = app("dmg", page, run="r1")
    assert not at.exception
    if page in ("app_pages/label.py", "app_pages/runs.py"):  # pages that read no pseudo-label of it
        no_errors(at)
        return
    said = [m.value for m in [*at.error, *at.warning] if "pseudo-labels of run r1 cannot be read" in m.value]
    assert said and all("Export still downloads the model" in m for m in said)
