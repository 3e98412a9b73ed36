"""The browser checkers and how to reach them: Debian's Chromium, axe-core, the Nu HTML Checker and Lighthouse.

Nothing here skips: a missing tool is an error that says how to install it (scripts/test.sh does).
Used by conftest.py and by the screenshot command (python -m tests.browser.screenshots).
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
A11Y = ROOT / "tests" / "data" / "a11y"
NODE_MODULES = ROOT / "node_modules"

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROME_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
AXE_JS = NODE_MODULES / "axe-core" / "axe.min.js"
VNU_JAR = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
LIGHTHOUSE_CLI = NODE_MODULES / "lighthouse" / "cli" / "index.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]

# The pages sitegen must write for the default trial (test_site_has_every_page). Every page the build writes is
# checked, these and any other (site_pages), so a new page cannot go unchecked.
PAGES = [
    "index.html", "faq/index.html", "eligibility/index.html", "timeline/index.html",
    "arms/index.html", "approvals/index.html", "findings/index.html",
]


@functools.cache
def site_pages() -> list[str]:
    """Every HTML page of the default site, found by a quick build at collection time (PAGES first). If the build
    fails here, PAGES alone: the site fixture then fails with the build's own error."""
    import tempfile

    try:
        with tempfile.TemporaryDirectory() as tmp:
            out = build_site(Path(tmp) / "output")
            built = sorted(str(p.relative_to(out)) for p in out.rglob("*.html"))
    except Exception:  # noqa: BLE001 - reported by the site fixture instead
        return list(PAGES)
    return PAGES + [p for p in built if p not in PAGES]

def page_url(base: str, name: str) -> str:
    """The URL a reader visits for a page: its folder ('faq/'), as the canonical links give it."""
    return base + name.removesuffix("index.html")


def page_stem(name: str) -> str:
    """A short name for a page: 'index', 'faq', '404'."""
    return name.removesuffix("/index.html").removesuffix(".html")


INSTALL_HINT = "run scripts/test.sh (it installs Debian's chromium and java, and npm ci the checkers)"


class MissingTool(RuntimeError):
    """A checker is not installed: always an error, never a reason to skip."""


def require(path: Path | str, what: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise MissingTool(f"{what} not found at {p}: {INSTALL_HINT}")
    return p


def require_program(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise MissingTool(f"'{name}' is not on PATH: {INSTALL_HINT}")
    return found


@functools.cache
def axe_source() -> str:
    return require(AXE_JS, "axe-core (npm)").read_text(encoding="utf-8")


# --- The site and a server for it -----------------------------------------------------------------------------


def build_site(out: Path, base_url: str | None = None) -> Path:
    """Build the default project into out, published at base_url when given (canonical links then match)."""
    from sitegen.build import build
    from sitegen.project import Project

    project = Project.at(ROOT / "content")
    if base_url is not None and "base_url" in inspect.signature(build).parameters:
        build(project, out, base_url=base_url)
    else:
        build(project, out)
    return out


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve directory over http on 127.0.0.1 (a free port) from a background thread; yield its base URL."""
    directory.mkdir(parents=True, exist_ok=True)
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name=f"http {directory}", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --- Chromium through Playwright ------------------------------------------------------------------------------


def launch(playwright):  # type: ignore[no-untyped-def]
    """Debian's Chromium, headless, with no network of its own."""
    require(CHROMIUM, "Chromium (apt-get install chromium)")
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROME_ARGS)


def chromium_version() -> str:
    out = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=60, check=False)
    return out.stdout.strip()


# --- axe-core --------------------------------------------------------------------------------------------------

# duplicate-id-aria (an id that aria-labelledby, for= and the like point to must be unique) only asks for review
# by default; a duplicate there breaks a name or label, so it is made a violation like any other.
_AXE_RUN = """async (tags) => {
  axe.configure({rules: [{id: 'duplicate-id-aria', reviewOnFail: false}]});
  const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html, summary: n.failureSummary}))}));
}"""


def run_axe(page) -> list[dict]:  # type: ignore[no-untyped-def]
    """axe-core's violations on the loaded page, for the WCAG 2.0-2.2 A/AA tags and best practices."""
    page.add_script_tag(content=axe_source())
    return page.evaluate(_AXE_RUN, AXE_TAGS)


def axe_version(page) -> str:  # type: ignore[no-untyped-def]
    page.add_script_tag(content=axe_source())
    return page.evaluate("() => axe.version")


def format_axe(violations: list[dict], where: str) -> list[str]:
    lines = []
    for v in violations:
        for n in v["nodes"]:
            summary = " ".join((n["summary"] or "").split())
            lines.append(f"axe {v['id']} ({v['impact']}: {v['help']}) on {where}: {n['target']}  {_snip(n['html'])}"
                         f"  -- {summary}  [{v['helpUrl']}]")
    return lines


# --- The Nu HTML Checker ---------------------------------------------------------------------------------------


def run_vnu(paths: list[Path]) -> list[dict]:
    """Every message of one vnu.jar run over paths (files or folders; .css and .svg files checked too)."""
    java = require_program("java")
    jar = require(VNU_JAR, "vnu.jar (npm vnu-jar)")
    cmd = [java, "-jar", str(jar), "--format", "json", "--also-check-css", "--also-check-svg",
           *[str(p) for p in paths]]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    try:
        report = json.loads(proc.stderr)
    except json.JSONDecodeError as e:
        raise RuntimeError(f"vnu printed no JSON report (exit {proc.returncode}): {proc.stderr[:2000]}") from e
    return report["messages"]


def vnu_version() -> str:
    java = require_program("java")
    out = subprocess.run([java, "-jar", str(require(VNU_JAR, "vnu.jar")), "--version"],
                         capture_output=True, text=True, timeout=120, check=False)
    return out.stdout.strip()


def vnu_messages_for(messages: list[dict], path: Path) -> list[dict]:
    """The messages about one file (vnu names it by a file: URL)."""
    target = path.resolve().as_uri().removeprefix("file://")
    return [m for m in messages if m.get("url", "").removeprefix("file:").removeprefix("//") == target]


def format_vnu(messages: list[dict], where: str) -> list[str]:
    lines = []
    for m in messages:
        kind = m.get("subType") or m.get("type")
        line = m.get("lastLine", "?")
        lines.append(f"vnu {kind} on {where} line {line}: {m.get('message')}  {_snip(m.get('extract', ''))}")
    return lines


# --- Lighthouse ------------------------------------------------------------------------------------------------

LIGHTHOUSE_CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
LIGHTHOUSE_MINIMUM = {"performance": 95, "accessibility": 100, "best-practices": 100, "seo": 100}


def run_lighthouse(url: str, out: Path) -> dict:
    """One Lighthouse run (default mobile settings) over url in Debian's Chromium; the JSON report."""
    node = require_program("node")
    cli = require(LIGHTHOUSE_CLI, "Lighthouse (npm lighthouse)")
    require(CHROMIUM, "Chromium (apt-get install chromium)")
    flags = " ".join(["--headless=new", *CHROME_ARGS])
    cmd = [node, str(cli), url, "--output=json", f"--output-path={out}", "--quiet",
           f"--only-categories={','.join(LIGHTHOUSE_CATEGORIES)}", f"--chrome-flags={flags}"]
    env = {**os.environ, "CHROME_PATH": CHROMIUM}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, check=False)
    if proc.returncode != 0 or not out.exists():
        raise RuntimeError(f"lighthouse failed on {url} (exit {proc.returncode}): {proc.stderr[-3000:]}")
    return json.loads(out.read_text(encoding="utf-8"))


def settled_lighthouse(url: str, out: Path, first: dict) -> dict:
    """`first`, Lighthouse's report on url; or, when its performance is under LIGHTHOUSE_MINIMUM, the report of median
    performance among it and two more runs, one at a time. Performance is timed, and Lighthouse's own advice on
    variability is to run it several times and take the median, with nothing else competing for the CPUs (the
    first runs go two at a time, on a CI machine of two CPUs). The other categories do not depend on time."""
    if lighthouse_scores(first).get("performance", 0) >= LIGHTHOUSE_MINIMUM["performance"]:
        return first
    runs = [first, *(run_lighthouse(url, out.with_name(f"{out.stem}-again-{n}.json")) for n in (1, 2))]
    return sorted(runs, key=lambda report: lighthouse_scores(report).get("performance", 0))[1]


def lighthouse_scores(report: dict) -> dict[str, int]:
    return {k: round((c.get("score") or 0) * 100) for k, c in report["categories"].items()}


def lighthouse_failures(report: dict, where: str, minimum: dict[str, int] = LIGHTHOUSE_MINIMUM) -> list[str]:
    """One line for each category under its minimum, then one for each failing audit in it and its elements."""
    lines = []
    if report.get("runtimeError"):
        lines.append(f"lighthouse runtime error on {where}: {report['runtimeError']}")
    scores = lighthouse_scores(report)
    for cat_id, needed in minimum.items():
        if scores.get(cat_id, 0) >= needed:
            continue
        lines.append(f"lighthouse {cat_id} score {scores.get(cat_id)} < {needed} on {where}")
        for ref in report["categories"][cat_id]["auditRefs"]:
            audit = report["audits"][ref["id"]]
            if audit.get("score") is None or audit["score"] >= 1 or (ref.get("weight", 0) == 0 and
                                                                     cat_id != "performance"):
                continue
            shown = audit.get("displayValue", "")
            lines.append(f"  lighthouse audit {ref['id']} (score {audit['score']}{', ' + shown if shown else ''}):"
                         f" {audit['title']}{'  -- ' + audit['explanation'] if audit.get('explanation') else ''}")
            items = (audit.get("details") or {}).get("items", [])
            for item in items[:8] if isinstance(items, list) else [items]:  # a few audits give one dict
                node = item.get("node") if isinstance(item, dict) else None
                if node:
                    lines.append(f"    {node.get('selector')}  {_snip(node.get('snippet', ''))}"
                                 f"  -- {' '.join((node.get('explanation') or '').split())[:300]}")
                elif isinstance(item, dict):
                    lines.append(f"    {_snip(json.dumps(item, default=str))}")
    return lines


def lighthouse_version() -> str:
    data = json.loads((require(NODE_MODULES / "lighthouse" / "package.json", "Lighthouse")).read_text())
    return data["version"]


# --- Formatting ------------------------------------------------------------------------------------------------


def _snip(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Finding:
    """One failed check: which rule, on which page, at which element, and what was wrong."""

    rule: str
    page: str
    selector: str
    snippet: str
    detail: str

    def __str__(self) -> str:
        return f"{self.rule} on {self.page}: {self.selector}  {_snip(self.snippet)}  -- {self.detail}"


def report(title: str, lines: list[str] | list[Finding]) -> str:
    """A failure message: a title, then one line a problem."""
    return f"{title} ({len(lines)} problems):\n" + "\n".join(f"  {line}" for line in lines)
