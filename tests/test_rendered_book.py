"""The rendered book as readers see it, checked page by page in headless Chromium.

`make test` builds the HTML (strictly: warnings are errors), installs Debian's chromium
and chromium-driver when they are missing, and sets BOOK_HTML_DIR; this module then serves
the HTML on localhost and opens every page of `_toc.yml`. Outside `make test` (a plain
`pytest tests`), BOOK_HTML_DIR is unset and these tests are skipped: there is no rendered
book to check.

For every page: the browser title is the page's heading followed by the book's title,
every image has loaded (natural width above zero), no output shows a traceback or
stderr, the previous/next links point at the neighbouring pages of the table of contents
and load, and each notebook page shows as many cell outputs as the stored notebook holds.
A screenshot of each page goes to BOOK_SCREENSHOT_DIR for review.
"""

from __future__ import annotations

import functools
import http.server
import math
import os
import shutil
import threading
import urllib.request
from pathlib import Path
from urllib.parse import urljoin

import nbformat
import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HTML_DIR = Path(os.environ["BOOK_HTML_DIR"]) if os.environ.get("BOOK_HTML_DIR") else None

pytestmark = pytest.mark.skipif(HTML_DIR is None, reason="set BOOK_HTML_DIR to a built book (make test does)")


def toc_pages() -> list[str]:
    """The book's pages in reading order, as source paths without suffix."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for entry in toc.get("chapters", []):
        pages.append(entry["file"])
    for part in toc.get("parts", []):
        pages.extend(entry["file"] for entry in part["chapters"])
    return pages


def source_of(page: str) -> Path:
    for suffix in (".ipynb", ".md"):
        if (ROOT / f"{page}{suffix}").exists():
            return ROOT / f"{page}{suffix}"
    raise FileNotFoundError(f"_toc.yml lists {page}, which has no .ipynb or .md source")


def heading_of(page: str) -> str:
    """The page's first level-1 heading, which Sphinx uses as the page title."""
    path = source_of(page)
    if path.suffix == ".ipynb":
        lines = [
            line for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "markdown" for line in cell.source.splitlines()
        ]
    else:
        lines = path.read_text().splitlines()
    return next(line[2:].strip() for line in lines if line.startswith("# "))


def stored_output_count(page: str) -> int | None:
    """How many code cells of a notebook page have stored outputs (None for Markdown pages)."""
    path = source_of(page)
    if path.suffix != ".ipynb":
        return None
    notebook = nbformat.read(path, as_version=4)
    return sum(1 for cell in notebook.cells if cell.cell_type == "code" and cell.outputs)


PAGES = toc_pages()


@pytest.fixture(scope="module")
def server():
    handler = functools.partial(_QuietHandler, directory=str(HTML_DIR))
    httpd = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:  # noqa: A002 - the base class's name
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    """A local server that does not print a traceback when the browser hangs up early."""

    def handle_error(self, request, client_address) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.skip(
            "Chromium and chromedriver are missing, so the rendered book is not checked in a "
            "browser: `make browser` installs Debian's chromium and chromium-driver"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1600",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def screenshot_dir() -> Path:
    directory = Path(os.environ.get("BOOK_SCREENSHOT_DIR", ROOT / "_build" / "screenshots"))
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def test_the_build_has_every_page() -> None:
    missing = [page for page in PAGES if not (HTML_DIR / f"{page}.html").exists()]
    assert not missing, f"pages listed in _toc.yml but not rendered: {missing}"


def book_title() -> str:
    return yaml.safe_load((ROOT / "_config.yml").read_text())["title"]


def open_page(browser, server: str, page: str) -> None:
    browser.get_log("browser")  # Forget the messages of the previous page.
    browser.get(urljoin(server, f"{page}.html"))
    browser.execute_script(
        "return Promise.all(Array.from(document.images).map(image => image.complete ? null :"
        " new Promise(done => { image.onload = image.onerror = done; })))"
    )


def console_errors(browser, server: str) -> list[str]:
    """The page's JavaScript errors, and failed loads of the book's own files.

    Failed loads from other hosts (MathJax's CDN, say) are left out: the test machine is
    offline, and a reader's browser fetches them.
    """
    errors = []
    for entry in browser.get_log("browser"):
        if entry["level"] != "SEVERE":
            continue
        if entry.get("source") == "network" and server not in entry["message"]:
            continue
        errors.append(entry["message"])
    return errors


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_as_readers_see_it(page: str, browser, server: str, screenshot_dir: Path) -> None:
    from selenium.webdriver.common.by import By

    open_page(browser, server, page)
    browser.save_screenshot(str(screenshot_dir / f"{page.replace('/', '__')}.png"))

    assert browser.title == f"{heading_of(page)} — {book_title()}"
    errors = console_errors(browser, server)
    assert not errors, f"{page}: the browser console shows errors: {errors}"

    images = browser.execute_script(
        "return Array.from(document.images).map(image => [image.getAttribute('src'), image.naturalWidth])"
    )
    broken = [source for source, width in images if not width]
    assert not broken, f"{page}: images that did not load: {broken}"

    outputs = browser.find_elements(By.CSS_SELECTOR, "div.cell_output")
    text = "\n".join(output.text for output in outputs)
    assert "Traceback" not in text, f"{page}: a cell output shows a traceback"
    assert not browser.find_elements(By.CSS_SELECTOR, "div.cell_output .traceback, div.cell_output .stderr")

    expected_outputs = stored_output_count(page)
    if expected_outputs is not None:
        assert expected_outputs > 0, f"{page}: the notebook is stored without outputs; run `make execute`"
        assert len(outputs) == expected_outputs, f"{page}: {len(outputs)} outputs shown, {expected_outputs} stored"
        figures = [source for source, _ in images if "_images/" in (source or "")]
        stored_figures = sum(
            1
            for cell in nbformat.read(source_of(page), as_version=4).cells
            if cell.cell_type == "code"
            for output in cell.outputs
            if "image/png" in output.get("data", {})
        )
        assert len(figures) == stored_figures, f"{page}: {len(figures)} figures shown, {stored_figures} stored"


@pytest.mark.parametrize("page", PAGES)
def test_previous_and_next_links_follow_the_table_of_contents(page: str, browser, server: str) -> None:
    from selenium.webdriver.common.by import By

    open_page(browser, server, page)
    index = PAGES.index(page)
    for selector, neighbour in (("a.left-prev", index - 1), ("a.right-next", index + 1)):
        links = browser.find_elements(By.CSS_SELECTOR, selector)
        if 0 <= neighbour < len(PAGES):
            assert len(links) == 1, f"{page}: expected one {selector} link"
            target = links[0].get_attribute("href")
            assert target.split("#")[0] == urljoin(server, f"{PAGES[neighbour]}.html"), f"{page}: {selector} goes to {target}"
            with urllib.request.urlopen(target) as response:
                assert response.status == 200
        else:
            assert not links, f"{page}: the {'first' if neighbour < 0 else 'last'} page has a {selector} link"


def test_download_and_launch_buttons_use_the_configured_repository(browser, server: str) -> None:
    from selenium.webdriver.common.by import By

    repository = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"].rstrip("/")
    notebook_page = next(page for page in PAGES if source_of(page).suffix == ".ipynb")
    open_page(browser, server, notebook_page)
    hrefs = [link.get_attribute("href") or "" for link in browser.find_elements(By.CSS_SELECTOR, "a")]
    owner_and_name = repository.split("github.com/")[1]
    assert any(href.startswith("https://colab.research.google.com/github/" + owner_and_name) for href in hrefs)
    assert any(href.startswith("https://mybinder.org/v2/gh/" + owner_and_name) for href in hrefs)
    download = urljoin(server, f"_sources/{notebook_page}.ipynb")
    assert download in hrefs, "the download menu should offer the .ipynb"
    with urllib.request.urlopen(download) as response:
        assert nbformat.reads(response.read().decode(), as_version=4).cells


# The draw-a-digit page: strokes on its 280x280 canvas, in canvas pixels, per digit.
_ELLIPSE = [
    (140 + 55 * math.sin(2 * math.pi * step / 24), 140 - 85 * math.cos(2 * math.pi * step / 24))
    for step in range(25)
]
DIGIT_STROKES = {
    1: [[(140, 45), (140, 235)]],
    7: [[(75, 60), (205, 60), (115, 235)]],
    0: [_ELLIPSE],
    4: [[(165, 45), (75, 165), (215, 165)], [(165, 95), (165, 240)]],
}
DEMO_PAGE = "chapters/draw_a_digit"


def _draw(browser, strokes) -> None:
    """Draw strokes with the mouse, moving in steps of a few pixels as a hand would."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    canvas = browser.find_element(By.ID, "digit-canvas")
    actions = ActionChains(browser, duration=0)
    for stroke in strokes:
        actions.move_to_element_with_offset(canvas, int(stroke[0][0]) - 140, int(stroke[0][1]) - 140)
        actions.click_and_hold()
        for (x0, y0), (x1, y1) in zip(stroke, stroke[1:]):
            steps = max(1, int(max(abs(x1 - x0), abs(y1 - y0)) // 8))
            for step in range(1, steps + 1):
                x = x0 + (x1 - x0) * step / steps
                y = y0 + (y1 - y0) * step / steps
                actions.move_to_element_with_offset(canvas, int(round(x)) - 140, int(round(y)) - 140)
        actions.release()
    actions.perform()


def _reading(browser) -> dict:
    """Wait for the page's reading of the drawing; return its input, ink and prediction."""
    return browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.digitDemo.state.pending.then(() => {"
        "  const canvas = document.getElementById('digit-canvas');"
        "  const { ink, width, height } = window.digitDemo.canvasInk(canvas);"
        "  done({input: window.digitDemo.state.lastInput, ink: Array.from(ink), width, height,"
        "        probabilities: window.digitDemo.state.lastProbabilities});"
        "});"
    )


@pytest.fixture()
def demo_page(browser, server: str):
    from selenium.webdriver.support.ui import WebDriverWait

    open_page(browser, server, DEMO_PAGE)
    browser.set_script_timeout(30)
    WebDriverWait(browser, 30).until(
        lambda driver: driver.execute_script("return document.getElementById('digit-demo').dataset.ready")
    )
    return browser


@pytest.mark.parametrize("digit", sorted(DIGIT_STROKES))
def test_the_page_reads_a_drawn_digit_as_python_prepares_it(digit: int, demo_page, server: str) -> None:
    from selenium.webdriver.common.by import By

    from mnist_helpers import segmentation

    demo_page.find_element(By.ID, "digit-clear").click()
    _draw(demo_page, DIGIT_STROKES[digit])
    reading = _reading(demo_page)
    assert reading["input"] is not None, "the page did not read the drawing"
    # The same drawing through the book's Python pipeline gives the same 28x28 image.
    ink = np.array(reading["ink"], dtype=np.float32).reshape(reading["height"], reading["width"])
    python_input = segmentation.to_mnist_format(ink).astype(int)
    page_input = np.array(reading["input"]).reshape(28, 28)
    assert np.abs(page_input - python_input).max() <= 2, "the page's preprocessing drifted from Python's"
    probabilities = np.array(reading["probabilities"])
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-4)
    assert int(probabilities.argmax()) == digit
    status = demo_page.find_element(By.ID, "digit-status")
    assert status.get_attribute("data-prediction") == str(digit)
    assert len(demo_page.find_elements(By.CSS_SELECTOR, "#digit-top3 li")) == 3
    assert not console_errors(demo_page, server)


def test_the_clear_button_empties_the_drawing_and_the_reading(demo_page) -> None:
    from selenium.webdriver.common.by import By

    _draw(demo_page, DIGIT_STROKES[1])
    _reading(demo_page)
    demo_page.find_element(By.ID, "digit-clear").click()
    assert not demo_page.find_elements(By.CSS_SELECTOR, "#digit-top3 li")
    ink = demo_page.execute_script(
        "const { ink } = window.digitDemo.canvasInk(document.getElementById('digit-canvas'));"
        "return Math.max(...ink);"
    )
    assert ink == 0
