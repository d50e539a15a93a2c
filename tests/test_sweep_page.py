"""The sweep page: its frames, its escaping and its limit, and a real browser stepping through it.

`autograd_lite.viz.sweep_page` writes one self-contained HTML page per sweep. The first tests
read the page as text; the ``browser`` tests open it in headless Chromium (Debian's chromium and
chromedriver, driven by selenium), step through every frame with the buttons and the arrow keys,
and compare every number shown with the engine's own: ``backward()``'s gradients and
``engine._tangents``' tangents, recomputed here with the engine's arithmetic. Outside CI they
skip when chromium, chromedriver or selenium is missing (the header says which); in CI they run.
"""

from __future__ import annotations

import itertools
import math
import os
import shutil
import struct
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from autograd_lite import Value, engine, topological_order
from autograd_lite.expr import parse
from autograd_lite.losses import mse
from autograd_lite.nn import MLP
from autograd_lite.viz import MAX_SWEEP_NODES, GraphTooLargeError, SweepPage, sweep_page

REPO = Path(__file__).resolve().parent.parent
SVG = "{http://www.w3.org/2000/svg}"

# What the browser tests start chromium with: headless, offline, a fresh profile each run.
HEADLESS_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
)


# ---------------------------------------------------------------------------------------------
# Graphs, and the engine's numbers for them
# ---------------------------------------------------------------------------------------------


def neuron() -> tuple[Value, dict[str, Value]]:
    """tanh(x1*w1 + x2*w2 + b) at micrograd's README point, labelled as the CLI labels it."""
    leaves = {
        "x1": Value(2.0, label="x1"),
        "x2": Value(0.0, label="x2"),
        "w1": Value(-3.0, label="w1"),
        "w2": Value(1.0, label="w2"),
        "b": Value(6.8813735870195432, label="b"),
    }
    return parse("tanh(x1*w1 + x2*w2 + b)").evaluate(leaves, labels=True), leaves


def mixed() -> tuple[Value, dict[str, Value]]:
    """x*x / (y - 1) + exp(-x) * 2: a repeated input, constants, operands whose order matters."""
    leaves = {"x": Value(1.5, label="x"), "y": Value(2.0, label="y")}
    return parse("x*x / (y - 1) + exp(-x) * 2").evaluate(leaves, labels=True), leaves


def engine_grads(root: Value) -> list[float]:
    """Every node's gradient in topological order, from backward() with leaves at 0."""
    order = topological_order(root)
    for node in order:
        node.grad = 0.0
    root.backward()
    return [float(node.grad) for node in order]


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


def exact(title: str) -> float | None:
    """A number as the page's tooltip writes it: its repr, or "none"."""
    return None if title == "none" else float(title)


def same(shown: float | None, expected: float | None) -> bool:
    """The same float bit for bit (NaN is NaN), or both absent."""
    if shown is None or expected is None:
        return shown is expected
    return bits(shown) == bits(expected) or (math.isnan(shown) and math.isnan(expected))


# ---------------------------------------------------------------------------------------------
# Reading the page as text
# ---------------------------------------------------------------------------------------------


class Frames(HTMLParser):
    """The page's frames: each one's attributes and the (class, title, text) of its numbers."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.frames: list[dict[str, Any]] = []
        self.ids: list[str] = []
        self.tags: list[str] = []
        self._cell: list[Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append(tag)
        if found.get("id"):
            self.ids.append(str(found["id"]))
        if "data-frame" in found:
            self.frames.append({"attrs": found, "numbers": []})
        classes = (found.get("class") or "").split()
        if self.frames and "title" in found and tag in ("td", "b"):
            self._cell = [classes, found["title"], ""]
            self.frames[-1]["numbers"].append(self._cell)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "b"):
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell[2] += data


def read(page: SweepPage) -> Frames:
    parser = Frames()
    parser.feed(page.html)
    return parser


def test_one_frame_per_node_and_only_frame_0_shown() -> None:
    """Frames numbered 0..N, N the number of Values; only frame 0 is not hidden at first."""
    y, _ = neuron()
    page = sweep_page(y)
    frames = read(page).frames
    n = len(topological_order(y))
    assert page.frames == n + 1
    assert [int(f["attrs"]["data-frame"]) for f in frames] == list(range(n + 1))
    assert ["hidden" in f["attrs"] for f in frames] == [False] + [True] * n
    ids = read(page).ids
    assert ids.count("next") == 1 and ids.count("prev") == 1


def test_the_page_needs_nothing_from_outside() -> None:
    """No link, no external script, image, font or style: only inline SVG and one inline script."""
    y, _ = mixed()
    text = sweep_page(y).html
    parser = read(sweep_page(y))
    assert parser.tags.count("script") == 1
    assert "link" not in parser.tags and "img" not in parser.tags and "iframe" not in parser.tags
    for needle in (" src=", "@import", "url(", "@font-face", "https:", "//cdn", "fetch("):
        assert needle not in text, needle
    # the only URL is the SVG namespace, which is a name, not a download
    assert text.count("http://") == text.count("http://www.w3.org/2000/svg")


def test_numbers_in_the_page_are_the_engines() -> None:
    """Each frame's gradient and each step's partial, contribution and sum, in the tooltips, are
    the engine's, bit for bit; the text shows them to 6 digits."""
    y, _ = mixed()
    page = sweep_page(y)
    order = topological_order(y)
    grads = engine_grads(y)
    frames = read(page).frames
    running = [0.0] * len(order)
    for k, frame in enumerate(frames[1:], start=1):
        i = int(frame["attrs"]["data-node"])
        assert i == len(order) - k  # the reversed topological order
        classes, title, shown = frame["numbers"][0]
        assert "upstream" in classes and same(exact(title), grads[i])
        assert shown == f"{grads[i]:.6g}"
        steps = [n for n in frame["numbers"][1:] if "result" not in n[0]]
        node = order[i]
        assert len(steps) == 4 * len(node.parents)
        for operand, parent in enumerate(node.parents):
            partial, upstream, contribution, total = steps[4 * operand : 4 * operand + 4]
            j = next(n for n, candidate in enumerate(order) if candidate is parent)
            running[j] += node.partials[operand] * grads[i]
            for cell, cls, expected in (
                (partial, "partial", node.partials[operand]),
                (upstream, "incoming", grads[i]),
                (contribution, "contribution", node.partials[operand] * grads[i]),
                (total, "total", running[j]),
            ):
                assert cls in cell[0] and same(exact(cell[1]), expected), (k, cls)
                assert cell[2] == f"{expected:.6g}"


def test_labels_are_escaped_everywhere() -> None:
    """A label holding markup, quotes, ampersands and control characters shows as written."""
    x = Value(1.0, label='<script>alert("x")</script> & \x00\x1b é')
    y = x * 2
    y.label = "</svg><b>'"
    page = sweep_page(y, title="<i>title</i>")
    assert "<script>alert" not in page.html and "</svg><b>" not in page.html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; \\x00\\x1b é" in page.html
    assert "&lt;i&gt;title&lt;/i&gt;" in page.html
    for k in range(page.frames):
        root = ET.fromstring(page.frame_svg(k).split("\n", 1)[1])  # valid XML, every frame
        words = "".join(root.itertext())
        assert '<script>alert("x")</script> & \\x00\\x1b é'[:22] in words
        assert "</svg><b>'" in words


def test_frames_as_svg_files(tmp_path: Path) -> None:
    """save_frames writes one parseable SVG per frame; each shows the graph and its own step."""
    y, _ = neuron()
    page = sweep_page(y)
    written = page.save_frames(tmp_path / "frames")
    assert [p.name for p in written] == [f"frame-{k:03d}.svg" for k in range(page.frames)]
    order = topological_order(y)
    grads = engine_grads(y)
    for k, path in enumerate(written):
        root = ET.parse(path).getroot()
        assert root.tag == f"{SVG}svg"
        sums = {
            int(t.get("data-node", -1)): t.text
            for t in root.iter(f"{SVG}text")
            if t.get("data-node")
        }
        done = {len(order) - j for j in range(1, k + 1)}  # nodes visited by frame k
        for i in done:
            assert sums[i] == f"grad {grads[i]:.4g}"
    assert len({path.read_text() for path in written}) == page.frames  # every frame differs
    with pytest.raises(ValueError, match="from 0 to 10"):
        page.frame_svg(11)


def test_the_page_is_the_same_in_another_process(tmp_path: Path) -> None:
    """The same graph gives the same page, byte for byte, in a fresh interpreter (no id()s)."""
    code = (
        "import sys\n"
        "from autograd_lite import Value\n"
        "from autograd_lite.expr import parse\n"
        "from autograd_lite.viz import sweep_page\n"
        "leaves = {'x': Value(1.5, label='x'), 'y': Value(2.0, label='y')}\n"
        "y = parse('x*x / (y - 1) + exp(-x) * 2').evaluate(leaves, labels=True)\n"
        "sys.stdout.write(sweep_page(y).html + sweep_page(y, forward=leaves['x']).html)\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    y, leaves = mixed()
    assert done.stdout == sweep_page(y).html + sweep_page(y, forward=leaves["x"]).html


def test_layout_is_layered_left_to_right_without_overlaps() -> None:
    """Every edge runs left to right; no two boxes overlap."""
    model = MLP(2, [3, 2, 1], seed=0)
    out = mse([model([0.5, -0.2]), model([0.1, 0.9])], [1.0, 0.0])
    page = sweep_page(out)
    layout = page._drawer.layout
    order = page.sweep.nodes
    for i, node in enumerate(order):
        for parent in node.parents:
            assert layout.x[page.sweep.index[parent]] < layout.x[i]
    boxes = sorted(zip(layout.x, layout.y, layout.height, strict=True))
    for (x0, y0, h0), (x1, y1, _) in itertools.pairwise(boxes):
        if x0 == x1:
            assert y0 + h0 < y1


def test_a_graph_too_large_is_refused_quickly() -> None:
    """More than max_nodes Values: GraphTooLargeError naming the limit, before any work."""
    x = Value(1.0)
    y = x
    for _ in range(100_000):
        y = -y
    started = time.perf_counter()
    with pytest.raises(GraphTooLargeError, match=f"max_nodes={MAX_SWEEP_NODES}") as info:
        sweep_page(y)
    assert time.perf_counter() - started < 1.0  # it stopped counting at the limit
    assert "frame per Value" in str(info.value) and "None for no limit" in str(info.value)
    small = (x * 2).tanh()  # x, 2, x * 2, tanh
    with pytest.raises(GraphTooLargeError, match="max_nodes=3"):
        sweep_page(small, max_nodes=3)
    assert sweep_page(small, max_nodes=4).frames == 5
    assert sweep_page(small, max_nodes=None).frames == 5


def test_a_page_at_the_limit_stays_openable() -> None:
    """A graph just under MAX_SWEEP_NODES makes a page of a few megabytes, in well under a second
    per hundred Values."""
    model = MLP(2, [10, 10, 1], seed=0)
    out = mse([model([0.1 * i, 0.2]) for i in range(2)], [1.0, 0.0])
    n = len(topological_order(out))
    assert 250 < n <= MAX_SWEEP_NODES
    page = sweep_page(out)
    assert page.frames == n + 1
    assert len(page.html.encode("utf-8")) < 10_000_000


def test_forward_page_names_the_seed_and_refuses_a_stranger() -> None:
    """forward=x: the page says forward, its frames follow the order itself; a Value outside
    the graph is refused by name."""
    y, leaves = mixed()
    page = sweep_page(y, forward=leaves["x"])
    assert page.sweep.mode == "forward" and "Forward sweep" in page.title
    frames = read(page).frames
    assert [int(f["attrs"]["data-node"]) for f in frames[1:]] == list(range(len(frames) - 1))
    with pytest.raises(ValueError, match="not one"):
        sweep_page(y, forward=Value(3.0))
    with pytest.raises(TypeError, match="sweep_page\\(\\) forward must be a Value"):
        sweep_page(y, forward=3.0)  # type: ignore[arg-type]


def test_jupyter_shows_the_page_in_an_iframe() -> None:
    """_repr_html_ is an iframe whose srcdoc is the page, escaped once."""
    import html

    y, _ = neuron()
    page = sweep_page(y)
    shown = page._repr_html_()
    assert shown.startswith('<iframe srcdoc="')
    srcdoc = shown[len('<iframe srcdoc="') : shown.index('" style=')]
    assert '"' not in srcdoc and html.unescape(srcdoc) == page.html


def test_save_writes_the_page(tmp_path: Path) -> None:
    """save() writes the page's text as UTF-8 and returns the path."""
    y, _ = neuron()
    page = sweep_page(y)
    path = page.save(tmp_path / "sweep.html")
    assert path.read_text(encoding="utf-8") == page.html


# ---------------------------------------------------------------------------------------------
# In a real browser
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless chromium through chromedriver, with a fresh profile and its console recorded."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in HEADLESS_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser") or ""
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # The driver's path is given: selenium never looks for (or downloads) one of its own.
    service = Service(executable_path=shutil.which("chromedriver"))
    driver = webdriver.Chrome(service=service, options=options)
    try:
        yield driver
    finally:
        driver.quit()


# What the visible frame shows, read in one call: its number, node, gradient or tangent, each
# step's numbers (text and exact tooltip), and the sums drawn on the boxes.
READ_FRAME = """
const visible = [...document.querySelectorAll("[data-frame]")]
  .filter((e) => e.getClientRects().length > 0);
const frame = visible[0];
const cell = (root, cls) => {
  const c = root.querySelector("." + cls);
  return c === null ? null : [c.textContent, c.title];
};
return {
  visible: visible.map((e) => Number(e.dataset.frame)),
  node: frame.dataset.node === undefined ? null : Number(frame.dataset.node),
  upstream: cell(frame, "upstream"),
  steps: [...frame.querySelectorAll("tr.step")].map((row) => ({
    operand: Number(row.dataset.operand), parent: Number(row.dataset.parent),
    partial: cell(row, "partial"), incoming: cell(row, "incoming"),
    contribution: cell(row, "contribution"), total: cell(row, "total"),
  })),
  skipped: [...frame.querySelectorAll("tr.skip")].map((row) => Number(row.dataset.operand)),
  sums: Object.fromEntries([...frame.querySelectorAll("svg text[data-node]")]
    .map((t) => [t.dataset.node, t.textContent])),
  position: document.getElementById("position").textContent,
  prevDisabled: document.getElementById("prev").disabled,
  nextDisabled: document.getElementById("next").disabled,
  resources: performance.getEntriesByType("resource").length,
};
"""


def _number_is(cell: list[str], expected: float | None) -> None:
    """A cell shows the number to 6 digits, and holds it exactly in its tooltip."""
    text, title = cell
    assert same(exact(title), expected), (title, expected)
    if expected is not None:
        assert text == f"{expected:.6g}", (text, expected)


class Expected:
    """What frame k of a sweep must show, from the engine's numbers, computed independently."""

    def __init__(self, root: Value, forward: Value | None) -> None:
        self.order = topological_order(root)
        self.forward = forward
        self.where = {node: i for i, node in enumerate(self.order)}
        self.final: list[float | None]
        if forward is None:
            self.final = list(engine_grads(root))
        else:
            tangents = engine._tangents(self.order, {forward: 1.0})
            self.final = [tangents.get(node) for node in self.order]

    def node(self, k: int) -> int:
        n = len(self.order)
        return n - k if self.forward is None else k - 1

    def check(self, k: int, seen: dict[str, Any], running: list[float | None]) -> None:
        """Frame k's numbers are the engine's; running holds every sum after the frame."""
        assert seen["visible"] == [k], seen["visible"]
        assert seen["position"] == f"frame {k} of {len(self.order)}"
        assert seen["prevDisabled"] == (k == 0)
        assert seen["nextDisabled"] == (k == len(self.order))
        assert seen["resources"] == 0  # nothing was fetched
        if k == 0:
            assert seen["node"] is None
            return
        i = self.node(k)
        assert seen["node"] == i
        node = self.order[i]
        _number_is(seen["upstream"], self.final[i])
        steps = iter(seen["steps"])
        for operand, (parent, partial) in enumerate(zip(node.parents, node.partials, strict=True)):
            j = self.where[parent]
            upstream = self.final[i] if self.forward is None else self.final[j]
            if upstream is None:  # forward: a parent with no tangent is skipped
                assert operand in seen["skipped"]
                continue
            step = next(steps)
            assert (step["operand"], step["parent"]) == (operand, j)
            contribution = partial * upstream
            receiver = j if self.forward is None else i
            previous = running[receiver]
            total = contribution if previous is None else previous + contribution
            if self.forward is None and previous is None:
                total = 0.0 + contribution  # backward() starts every gradient at 0.0
            running[receiver] = total
            _number_is(step["partial"], partial)
            _number_is(step["incoming"], upstream)
            _number_is(step["contribution"], contribution)
            _number_is(step["total"], total)
        assert next(steps, None) is None
        word = "grad" if self.forward is None else "tangent"
        shown = seen["sums"][str(i)]
        value = self.final[i]
        assert shown == (f"{word} {value:.4g}" if value is not None else "tangent 0 (no path)")


def step_through(driver: Any, path: Path, expected: Expected) -> None:
    """Open the page; every frame forward with the button, back with the other, then the same
    with the arrow keys; each time exactly one frame is shown, with the engine's numbers."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.get(path.as_uri())
    n = len(expected.order)
    first_sums: list[float | None] = [None] * n
    root_or_seed = n - 1 if expected.forward is None else expected.where[expected.forward]
    first_sums[root_or_seed] = 1.0

    def forward_pass(move: Any) -> None:
        running = list(first_sums)
        expected.check(0, driver.execute_script(READ_FRAME), running)
        for k in range(1, n + 1):
            move()
            expected.check(k, driver.execute_script(READ_FRAME), running)

    def back_pass(move: Any) -> None:
        for k in range(n - 1, -1, -1):
            move()
            seen = driver.execute_script(READ_FRAME)
            assert seen["visible"] == [k], (k, seen["visible"])

    next_button = driver.find_element(By.ID, "next")
    prev_button = driver.find_element(By.ID, "prev")
    forward_pass(next_button.click)
    assert driver.execute_script(READ_FRAME)["visible"] == [n]
    back_pass(prev_button.click)
    keys = ActionChains(driver)
    forward_pass(lambda: keys.send_keys(Keys.ARROW_RIGHT).perform())
    keys.send_keys(Keys.ARROW_RIGHT).perform()  # past the last frame: it stays
    assert driver.execute_script(READ_FRAME)["visible"] == [n]
    back_pass(lambda: keys.send_keys(Keys.ARROW_LEFT).perform())
    keys.send_keys(Keys.ARROW_LEFT).perform()
    assert driver.execute_script(READ_FRAME)["visible"] == [0]
    errors = [entry for entry in driver.get_log("browser") if entry["level"] != "INFO"]
    assert errors == [], errors


def small(text: str, **values: float) -> tuple[Value, dict[str, Value]]:
    """A small expression as the CLI builds it: few frames, so that stepping stays quick."""
    leaves = {name: Value(value, label=name) for name, value in values.items()}
    return parse(text).evaluate(leaves, labels=True), leaves


@pytest.mark.browser
def test_backward_page_in_a_browser(browser: Any, tmp_path: Path) -> None:
    """The backward sweep of x*x / (y - 1): a repeated input, a constant, a division."""
    y, _ = small("x*x / (y - 1)", x=1.5, y=2.0)
    path = sweep_page(y).save(tmp_path / "backward.html")
    step_through(browser, path, Expected(y, None))


@pytest.mark.browser
def test_forward_page_in_a_browser(browser: Any, tmp_path: Path) -> None:
    """The forward sweep of tanh(x*w + b) from w: skipped edges, nodes with no tangent."""
    y, leaves = small("tanh(x*w + b)", x=0.5, w=-1.5, b=0.1)
    path = sweep_page(y, forward=leaves["w"]).save(tmp_path / "forward.html")
    step_through(browser, path, Expected(y, leaves["w"]))


@pytest.mark.browser
def test_a_page_at_the_limit_in_a_browser(browser: Any, tmp_path: Path) -> None:
    """A page of nearly MAX_SWEEP_NODES Values opens, and End/Home reach its last/first frame."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    model = MLP(2, [10, 10, 1], seed=0)
    out = mse([model([0.1 * i, 0.2]) for i in range(2)], [1.0, 0.0])
    path = sweep_page(out).save(tmp_path / "large.html")
    n = len(topological_order(out))
    browser.get(path.as_uri())

    def press(key: str, frame: int) -> dict[str, Any]:
        """Press key until the page shows frame (a key sent while a large page is still
        starting its script can be missed; pressing End or Home again changes nothing)."""
        from selenium.webdriver.support.ui import WebDriverWait

        def shown(driver: Any) -> bool:
            ActionChains(driver).send_keys(key).perform()
            return bool(driver.execute_script(READ_FRAME)["visible"] == [frame])

        WebDriverWait(browser, 20, poll_frequency=0.2).until(shown)
        seen: dict[str, Any] = browser.execute_script(READ_FRAME)
        return seen

    seen = press(Keys.END, n)
    grads = engine_grads(out)
    assert seen["sums"]["0"] == f"grad {grads[0]:.4g}"
    assert press(Keys.HOME, 0)["visible"] == [0]
    errors = [entry for entry in browser.get_log("browser") if entry["level"] != "INFO"]
    assert errors == [], errors
