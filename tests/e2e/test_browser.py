"""End to end in a real Chromium: upload, label, prompt, train on a tiny local model, inspect, correct, export.

Needs Debian's chromium (/usr/bin/chromium) and `pip install playwright` (no `playwright install`: the system
browser is used). Screenshots of every page go to tests/e2e/artifacts/ (git-ignored).
Run: python -m pytest tests/e2e -m e2e -q
"""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from tests.e2e.app_server import ARGS, ART, CHROMIUM, ROOT, start_app

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)", allow_module_level=True)

POS = ["great movie", "good film", "love the plot", "excellent acting", "fun and great", "really good food",
       "very good service", "love it", "great phone", "battery works great"]
NEG = ["terrible movie", "bad film", "hate the plot", "awful acting", "boring and bad", "really bad food",
       "very bad service", "hate it", "awful phone", "battery broke"]



@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import importlib.util

    spec = importlib.util.spec_from_file_location("list_tests_conftest", ROOT / "tests" / "conftest.py")
    shared = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shared)
    make_backbone = shared.make_backbone

    tmp = tmp_path_factory.mktemp("e2e")
    model_dir = tmp / "models" / "tiny-bert"
    model, tok, _ = make_backbone()
    model.save_pretrained(model_dir)
    tok.save_pretrained(model_dir)
    env = {**os.environ, "LIST_STUDIO_HOME": str(tmp / "home"), "LIST_STUDIO_MODEL_ROOTS": str(tmp / "models"),
           "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc, base = start_app(env, tmp / "server.log", timeout=60)
    csv = tmp / "reviews.csv"
    rows = [f"{t} number {i}" for i in range(3) for t in POS + NEG]
    pd.DataFrame({"text": rows, "note": ["x"] * len(rows)}).to_csv(csv, index=False)
    yield {"base": base, "csv": csv, "model": str(model_dir), "tmp": tmp}
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def page(server):
    ART.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        pg = ctx.new_page()
        pg.set_default_timeout(30_000)
        yield pg
        browser.close()


def settle(page, ms: int = 400):
    """Wait until Streamlit has finished running the script."""
    page.wait_for_timeout(ms)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
    page.wait_for_timeout(200)


def goto(page, server, path: str):
    page.goto(f"{server['base']}/{path}?ws=e2e")
    page.get_by_test_id("stApp").wait_for()
    page.wait_for_selector("h1")
    settle(page, 800)


def shot(page, name: str):
    page.screenshot(path=str(ART / f"{name}.png"), full_page=True)


def fill(page, label: str, value: str, area: bool = False):
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Control+Enter" if area else "Enter")
    settle(page)


def click(page, name: str):
    page.get_by_role("button", name=name, exact=True).first.click()
    settle(page)


def choose(page, label: str, option: str):
    box = page.get_by_test_id("stSelectbox").filter(has_text=label).first
    box.locator("input").click()
    page.keyboard.type(option)
    page.keyboard.press("Enter")
    settle(page)
    shown = box.inner_text() + " " + (box.locator("input").input_value() or "")
    assert option in shown, shown


def no_traceback(page):
    assert page.get_by_test_id("stException").count() == 0


@pytest.fixture
def on_failure(page, request):
    """Screenshot the page when the test fails (pytest keeps the outcome in the session's failure count)."""
    failed_before = request.session.testsfailed
    yield
    if request.session.testsfailed > failed_before or getattr(request.node, "_failed", False):
        shot(page, f"failure_{request.node.name}")


def test_full_flow_in_browser(server, page, on_failure):
    # Data: upload a CSV and use it as the pool
    goto(page, server, "")
    page.locator("input[type=file]").first.set_input_files(str(server["csv"]))
    settle(page, 1500)
    choose(page, "File to use", "reviews.csv")
    click(page, "Use as unlabeled pool")
    page.get_by_text("60 rows read").first.wait_for()
    no_traceback(page)
    shot(page, "1_data")

    # Label: classes, 8 per class by paste, one by the one-by-one buttons
    goto(page, server, "label")
    fill(page, "Classes (comma-separated or one per line)", "neg, pos", area=True)
    click(page, "Save classes")
    page.get_by_role("tab", name="One by one").first.click()
    settle(page)
    page.get_by_text("Pool example").first.click()  # focus plain text, not an input, then use the key
    page.keyboard.press("2")  # the second class's shortcut: 'pos'
    settle(page)
    assert page.get_by_test_id("stMetricValue").all_inner_texts()[:2] == ["0", "1"]
    page.get_by_role("tab", name="Paste").first.click()
    fill(page, "One example per line: text (or class<TAB>text)", "\n".join(NEG[:8]), area=True)
    choose(page, "Class for these lines", "neg")
    click(page, "Add lines")
    # The Paste tab stays selected after adding (no click needed for the next block).
    assert page.get_by_role("tab", name="Paste").first.get_attribute("aria-selected") == "true"
    fill(page, "One example per line: text (or class<TAB>text)", "\n".join(POS[:8]), area=True)
    choose(page, "Class for these lines", "pos")
    click(page, "Add lines")
    metrics = page.get_by_test_id("stMetricValue").all_inner_texts()
    assert metrics[:2] == ["8", "9"], metrics
    page.get_by_role("tab", name="Table").first.click()
    settle(page)
    no_traceback(page)
    shot(page, "2_label")

    # Prompt: template and label words, with the live preview
    goto(page, server, "prompt")
    fill(page, "Template", "{text} it was {mask} .")
    fill(page, "Label word for 'neg'", "terrible")
    fill(page, "Label word for 'pos'", "great")
    click(page, "Save prompt")
    page.get_by_text("saved").first.wait_for()
    assert "[MASK]" in page.get_by_test_id("stCode").first.inner_text()
    no_traceback(page)
    shot(page, "3_prompt")

    # Train: quick preset on the tiny local model; wait for the iteration metrics to appear live
    goto(page, server, "train")
    fill(page, "Model", server["model"])
    click(page, "Start training")
    assert "run=" in page.url
    page.get_by_text("Accuracy and macro-F1 per iteration").first.wait_for(timeout=240_000)
    page.get_by_text("done", exact=True).first.wait_for(timeout=240_000)
    settle(page, 2500)
    # How far to trust the curve: the accuracy's 95% range on the few held-out labels that measured it.
    page.get_by_text("held-out labeled examples (95% range").first.wait_for()
    no_traceback(page)
    shot(page, "4_train")

    # Inspect: correct one pseudo-label
    run_id = page.url.split("run=")[1].split("&")[0]
    page.goto(f"{server['base']}/inspect?ws=e2e&run={run_id}")
    page.wait_for_selector("h1")
    settle(page, 1500)
    page.get_by_test_id("stMultiSelect").filter(has_text="Examples on this page").locator("input").click()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    settle(page)
    choose(page, "Correct to", "neg")
    click(page, "Correct")
    page.get_by_text("labeled 'neg'").first.wait_for()
    no_traceback(page)
    shot(page, "5_inspect")

    goto(page, server, "runs")
    no_traceback(page)
    shot(page, "6_runs")

    # Export: download the CSV and check it
    page.goto(f"{server['base']}/export?ws=e2e&run={run_id}")
    page.wait_for_selector("h1")
    settle(page, 1500)
    with page.expect_download() as info:
        page.get_by_role("button", name="Download CSV").click()
    data = pd.read_csv(io.BytesIO(Path(info.value.path()).read_bytes()))
    assert {"text", "label", "source", "confidence", "weight"} <= set(data.columns)
    assert (data["source"] == "human:corrected").sum() == 1
    assert (data["source"] == "pseudo").sum() > 0
    assert set(data["label"]) <= {"neg", "pos"}
    fill(page, "Type a text to classify", "great movie", area=True)
    click(page, "Classify")
    page.get_by_test_id("stAlertContentSuccess").first.wait_for(timeout=60_000)
    no_traceback(page)
    shot(page, "7_export")


def test_broken_upload_is_readable(server, page, on_failure):
    goto(page, server, "")
    bad = server["tmp"] / "broken.csv"
    bad.write_text("text,label\n")
    page.locator("input[type=file]").first.set_input_files(str(bad))
    settle(page, 1500)
    page.get_by_text("broken.csv was not added").first.wait_for()  # said at once, with the reason
    assert page.get_by_text("no data rows").count() >= 1
    no_traceback(page)
    box = page.get_by_test_id("stSelectbox").filter(has_text="File to use").first
    box.locator("input").click()
    settle(page)
    options = page.get_by_role("option").all_inner_texts()
    assert options and not any("broken.csv" in o for o in options), options  # an unreadable file is not offered
    page.keyboard.press("Escape")
    shot(page, "8_broken_upload")


def test_an_upload_saved_under_another_name_is_said_under_the_name_the_list_shows(server, page, on_failure):
    """'reviews (final).csv' is saved as 'reviews _final_.csv': the note said 'reviews (final).csv added' while the
    file list offered only the other name."""
    goto(page, server, "")
    odd = server["tmp"] / "reviews (final).csv"
    odd.write_text("text,label\ngreat film,pos\nawful film,neg\n")
    page.locator("input[type=file]").first.set_input_files(str(odd))
    settle(page, 1500)
    page.get_by_text("reviews (final).csv (saved as reviews _final_.csv) added").first.wait_for()
    no_traceback(page)
