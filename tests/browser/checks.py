"""Our own checks, run in the browser: keyboard, reflow and text spacing, body-text contrast, JavaScript off, print.

Each check takes a loaded Playwright page and the page's name, and returns a list of Finding (empty = passed).
Each finding names its rule, the page and the element (a CSS selector and an HTML snippet).
"""

from __future__ import annotations

import re

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from .tools import Finding

# Helpers shared by the scripts below: a readable selector and a snippet for an element.
_JS_HELPERS = r"""
const cssPath = (el) => {
  if (!(el instanceof Element)) return String(el);
  const parts = [];
  for (let e = el; e && e.nodeType === 1 && e !== document.documentElement; e = e.parentElement) {
    if (e.id) { parts.unshift('#' + CSS.escape(e.id)); break; }
    let part = e.localName;
    const cls = [...e.classList].map(c => '.' + CSS.escape(c)).join('');
    part += cls;
    const parent = e.parentElement;
    if (parent) {
      const same = [...parent.children].filter(c => c.localName === e.localName);
      if (same.length > 1) part += `:nth-of-type(${same.indexOf(e) + 1})`;
    }
    parts.unshift(part);
  }
  return parts.join(' > ') || el.localName;
};
const snippet = (el) => {
  if (!(el instanceof Element)) return '';
  const html = el.outerHTML;
  return html.length > 160 ? html.slice(0, 159) + '…' : html;
};
const finding = (rule, el, detail) => ({rule, selector: cssPath(el), snippet: snippet(el), detail});
const visuallyHidden = (el) => {
  const r = el.getBoundingClientRect();
  return r.width <= 1 || r.height <= 1;
};
"""


def _run(page, body: str, arg: object = None) -> list[dict]:  # type: ignore[no-untyped-def]
    return page.evaluate(f"(arg) => {{ {_JS_HELPERS}\n{body} }}", arg)


def _findings(raw: list[dict], name: str) -> list[Finding]:
    return [Finding(r["rule"], name, r["selector"], r["snippet"], r["detail"]) for r in raw]


# --- Contrast --------------------------------------------------------------------------------------------------

_CONTRAST = r"""
const minimum = arg;
const ctx = document.createElement('canvas').getContext('2d', {willReadFrequently: true});
const parse = (c) => {
  const m = c.match(/^rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:\s*[,/]\s*([\d.]+%?))?\s*\)$/);
  if (m) {
    let a = m[4] === undefined ? 1 : (m[4].endsWith('%') ? parseFloat(m[4]) / 100 : parseFloat(m[4]));
    return [+m[1], +m[2], +m[3], a];
  }
  ctx.clearRect(0, 0, 1, 1); ctx.fillStyle = '#000'; ctx.fillStyle = c; ctx.fillRect(0, 0, 1, 1);
  const d = ctx.getImageData(0, 0, 1, 1).data;
  return [d[0], d[1], d[2], d[3] / 255];
};
const over = (top, base) => {
  const a = top[3];
  return [0, 1, 2].map(i => top[i] * a + base[i] * (1 - a)).concat([1]);
};
const probe = document.createElement('div');
probe.style.background = 'Canvas';
document.documentElement.appendChild(probe);
let canvas = parse(getComputedStyle(probe).backgroundColor);
probe.remove();
if (canvas[3] < 1) canvas = over(canvas, [255, 255, 255, 1]);
const background = (el) => {
  const layers = [];
  for (let e = el; e; e = e.parentElement) {
    const c = parse(getComputedStyle(e).backgroundColor);
    if (c[3] > 0) layers.push(c);
    if (c[3] >= 1) break;
  }
  let base = canvas;
  if (layers.length && layers[layers.length - 1][3] >= 1) base = layers.pop();
  for (let i = layers.length - 1; i >= 0; i--) base = over(layers[i], base);
  return base;
};
const lum = (c) => {
  const f = (v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
};
const hex = (c) => '#' + c.slice(0, 3).map(v => Math.round(v).toString(16).padStart(2, '0')).join('');
const out = [];
const seen = new Set();
let checked = 0;
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let t = walker.nextNode(); t; t = walker.nextNode()) {
  if (!t.data.trim()) continue;
  const el = t.parentElement;
  if (!el || seen.has(el) || !el.closest('p, li, dd, td, .timeline-bar')) continue;
  seen.add(el);
  const range = document.createRange();
  range.selectNodeContents(t);
  const rects = [...range.getClientRects()].filter(r => r.width > 1 && r.height > 1);
  if (!rects.length || visuallyHidden(el)) continue;
  const cs = getComputedStyle(el);
  if (cs.visibility !== 'visible' || parseFloat(cs.opacity) === 0) continue;
  const bg = background(el);
  const fg = over(parse(cs.color), bg);
  const l1 = lum(fg), l2 = lum(bg);
  const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
  checked++;
  if (ratio < minimum) {
    out.push(finding('contrast-body-text-7:1', el,
      `text "${t.data.trim().slice(0, 40)}" is ${hex(fg)} on ${hex(bg)}: ${ratio.toFixed(2)}:1 < ${minimum}:1`));
  }
}
if (!checked) out.push(finding('contrast-body-text-7:1', document.body, 'no p, li, dd, td or timeline text found to check'));
return out;
"""


def contrast(page, name: str, minimum: float = 7.0) -> list[Finding]:  # type: ignore[no-untyped-def]
    """Every visible text in p, li, dd, td and the timeline's bars has at least minimum:1 contrast with its effective
    background."""
    return _findings(_run(page, _CONTRAST, minimum), name)


# --- Reflow and text spacing -----------------------------------------------------------------------------------

TEXT_SPACING_CSS = """
* { line-height: 1.5 !important; letter-spacing: 0.12em !important; word-spacing: 0.16em !important; }
p { margin-bottom: 2em !important; }
"""

_REFLOW = r"""
const rule = arg;
const out = [];
const root = document.documentElement;
const width = root.clientWidth;
if (root.scrollWidth > width) {
  // Name the outermost elements that stick out on the right and are not inside a scrolling box of their own.
  const scrolls = (e) => ['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(e).overflowX);
  const culprits = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.right <= width + 0.5 || r.width === 0) continue;
    let inside = false;
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (scrolls(p) || culprits.includes(p)) { inside = true; break; }
    }
    if (!inside) culprits.push(el);
  }
  for (const el of culprits.slice(0, 10)) {
    const r = el.getBoundingClientRect();
    out.push(finding(rule + '-horizontal-scroll', el,
      `page scrolls sideways (scrollWidth ${root.scrollWidth} > clientWidth ${width}); this element ends at ${Math.round(r.right)}px`));
  }
  if (!culprits.length) out.push(finding(rule + '-horizontal-scroll', root,
      `page scrolls sideways (scrollWidth ${root.scrollWidth} > clientWidth ${width})`));
}
for (const el of document.body.querySelectorAll('*')) {
  const cs = getComputedStyle(el);
  const clips = (v) => v === 'hidden' || v === 'clip';
  if (!clips(cs.overflowX) && !clips(cs.overflowY)) continue;
  if (visuallyHidden(el) || cs.clip !== 'auto' || cs.display === 'none') continue;
  if (!el.textContent.trim()) continue;
  const cutY = clips(cs.overflowY) && el.scrollHeight > el.clientHeight + 1;
  const cutX = clips(cs.overflowX) && el.scrollWidth > el.clientWidth + 1;
  if (cutY || cutX) {
    out.push(finding(rule + '-clipped-text', el,
      `overflow ${cs.overflowX}/${cs.overflowY} cuts off text: scroll ${el.scrollWidth}x${el.scrollHeight} > box ${el.clientWidth}x${el.clientHeight}`));
  }
}
return out;
"""


def reflow(page, name: str, rule: str = "reflow-1.4.10") -> list[Finding]:  # type: ignore[no-untyped-def]
    """No sideways scrolling of the page, and no text cut off by a box with overflow hidden."""
    return _findings(_run(page, _REFLOW, rule), name)


def text_spacing(page, name: str) -> list[Finding]:  # type: ignore[no-untyped-def]
    """WCAG 1.4.12: with the text-spacing overrides applied, reflow still holds and no text is cut off."""
    # Added by evaluate, not add_style_tag: that waits for the style's load event, which never comes with
    # JavaScript off.
    page.evaluate("(css) => { const s = document.createElement('style'); s.textContent = css;"
                  " document.head.appendChild(s); }", TEXT_SPACING_CSS)
    return reflow(page, name, rule="text-spacing-1.4.12")


# --- Keyboard --------------------------------------------------------------------------------------------------

_NUMBER_ELEMENTS = r"""
let i = 0;
for (const el of document.querySelectorAll('*')) el.setAttribute('data-a11y-order', String(i++));
return [];
"""

_FOCUS_STATE = r"""
const el = document.activeElement;
if (!el || el === document.body || el === document.documentElement) return [null];
const cs = getComputedStyle(el);
const r = el.getBoundingClientRect();
let opacity = 1;
for (let e = el; e; e = e.parentElement) opacity *= parseFloat(getComputedStyle(e).opacity);
return [{order: +el.getAttribute('data-a11y-order'), selector: cssPath(el), snippet: snippet(el), opacity,
  outline: `${cs.outlineStyle} ${cs.outlineWidth} ${cs.outlineColor}`, outlineStyle: cs.outlineStyle,
  outlineWidth: parseFloat(cs.outlineWidth) || 0, outlineColor: cs.outlineColor, boxShadow: cs.boxShadow,
  onScreen: r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth}];
"""

_UNFOCUSED_STATE = r"""
if (document.activeElement) document.activeElement.blur();
return arg.map(order => {
  const el = document.querySelector(`[data-a11y-order="${order}"]`);
  const cs = getComputedStyle(el);
  return {order, outline: `${cs.outlineStyle} ${cs.outlineWidth} ${cs.outlineColor}`, boxShadow: cs.boxShadow};
});
"""

_TRANSPARENT = re.compile(r"rgba\([^)]*,\s*0\)|transparent")


def number_elements(page) -> None:  # type: ignore[no-untyped-def]
    """Number every element in DOM order, for tab_stops and focus_findings (again after the page changed)."""
    _run(page, _NUMBER_ELEMENTS)


def tab_stops(page, limit: int = 400) -> list[dict]:  # type: ignore[no-untyped-def]
    """Press Tab until focus leaves the page or comes back to the first stop: the state of each stop."""
    stops: list[dict] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        state = _run(page, _FOCUS_STATE)[0]
        if state is None or (stops and state["order"] == stops[0]["order"]):
            break
        stops.append(state)
    return stops


def keyboard(page, name: str) -> list[Finding]:  # type: ignore[no-untyped-def]
    """From a fresh load: Tab reaches the skip link first and Enter on it puts focus in main; every tab stop shows
    a visible focus indicator (outline or box-shadow that differs from its unfocused state) and is on screen; the
    tab order follows the DOM order."""
    out: list[Finding] = []
    url = page.url
    page.goto(url)
    _run(page, _NUMBER_ELEMENTS)
    page.keyboard.press("Tab")
    first = page.evaluate("""() => { const a = document.activeElement;
      return a ? {tag: a.localName, href: a.getAttribute('href') || '', text: a.textContent.trim(),
                  html: a.outerHTML.slice(0, 160)} : null; }""")
    if not first or first["tag"] != "a" or not first["href"].startswith("#") or "skip" not in first["text"].lower():
        out.append(Finding("keyboard-skip-link-first", name, first["tag"] if first else "(nothing)",
                           first["html"] if first else "", "the first Tab stop is not a skip link (a[href^='#'] "
                                                           "whose text says 'Skip')"))
    else:
        page.keyboard.press("Enter")
        try:
            page.wait_for_function("() => { const m = document.querySelector('main'); const a = document.activeElement;"
                                   " return m && a && (a === m || m.contains(a)); }", timeout=2000)
        except PlaywrightTimeoutError:
            active = page.evaluate("() => { const a = document.activeElement; "
                                   "return a ? a.outerHTML.slice(0, 160) : '(nothing)'; }")
            out.append(Finding("keyboard-skip-link-target", name, f"a[href='{first['href']}']", first["html"],
                               f"Enter on the skip link does not move focus into main; focus is on {active} "
                               "(give the target tabindex=-1 and make it main or inside main)"))

    page.goto(url)
    _run(page, _NUMBER_ELEMENTS)
    stops = tab_stops(page)
    if not stops:
        out.append(Finding("keyboard-tab-stops", name, "body", "", "Tab reaches no element at all"))
        return out
    return out + focus_findings(page, name, stops)


def focus_findings(page, name: str, stops: list[dict]) -> list[Finding]:  # type: ignore[no-untyped-def]
    """Each tab stop (from tab_stops) shows a visible focus indicator: an outline or box-shadow that differs from
    its unfocused state, on an element that is not transparent (opacity under 0.1); it is on screen; and the stops
    follow the DOM order."""
    out: list[Finding] = []
    unfocused = {s["order"]: s for s in _run(page, _UNFOCUSED_STATE, [s["order"] for s in stops])}
    previous = None
    for s in stops:
        before = unfocused[s["order"]]
        outline = (s["outlineStyle"] != "none" and s["outlineWidth"] >= 1
                   and not _TRANSPARENT.search(s["outlineColor"]) and s["outline"] != before["outline"])
        shadow = s["boxShadow"] != "none" and s["boxShadow"] != before["boxShadow"]
        if not (outline or shadow):
            out.append(Finding("keyboard-focus-visible-2.4.7", name, s["selector"], s["snippet"],
                               f"no visible focus indicator: outline '{s['outline']}' (unfocused "
                               f"'{before['outline']}'), box-shadow '{s['boxShadow']}'"))
        elif s["opacity"] < 0.1:
            out.append(Finding("keyboard-focus-visible-2.4.7", name, s["selector"], s["snippet"],
                               f"the focused element is invisible: opacity {s['opacity']:.2f} (with its ancestors)"))
        if not s["onScreen"]:
            out.append(Finding("keyboard-focus-on-screen-2.4.11", name, s["selector"], s["snippet"],
                               "the focused element is outside the viewport or has no size"))
        if previous is not None and s["order"] < previous["order"]:
            out.append(Finding("keyboard-focus-order-2.4.3", name, s["selector"], s["snippet"],
                               f"Tab goes backwards in reading order: from {previous['selector']} to this element"))
        previous = s
    return out


# --- JavaScript off --------------------------------------------------------------------------------------------

_WORD = re.compile(r"\w+")


def main_words(page) -> list[str]:  # type: ignore[no-untyped-def]
    """The words of main's rendered text."""
    return _WORD.findall(page.locator("main").first.inner_text())


def javascript_off(text_on: list[str], text_off: list[str], name: str) -> list[Finding]:
    """Every word main shows with JavaScript is also there without it (and main has text at all)."""
    if len(text_off) < 5:
        return [Finding("no-js-main-text", name, "main", "", f"with JavaScript off main has {len(text_off)} words")]
    missing = sorted(set(text_on) - set(text_off))
    if missing:
        return [Finding("no-js-main-text", name, "main", "",
                        f"{len(missing)} words of main show only with JavaScript on: {' '.join(missing[:20])}")]
    return []


# --- Print -----------------------------------------------------------------------------------------------------

_PRINT = r"""
const out = [];
for (const nav of document.querySelectorAll('nav')) {
  if (nav.getClientRects().length && getComputedStyle(nav).display !== 'none') {
    out.push(finding('print-nav-hidden', nav, `nav is printed (display: ${getComputedStyle(nav).display}); hide it with display: none in @media print`));
  }
}
let links = 0;
for (const a of document.querySelectorAll('.references a[href^="http"], #references ~ * a[href^="http"]')) {
  links++;
  const href = a.getAttribute('href');
  const bare = href.replace(/^https?:\/\//, '');
  const after = getComputedStyle(a, '::after').content + ' ' + getComputedStyle(a, '::before').content;
  const shown = a.innerText.includes(href) || a.innerText.includes(bare) || after.includes(href) || after.includes('attr(href)');
  if (!shown) out.push(finding('print-reference-link-target', a, `printed reference link does not show its target ${href}`));
}
return [out, links];
"""


def print_media(page, name: str) -> tuple[list[Finding], int]:  # type: ignore[no-untyped-def]
    """In print: every nav is hidden and every external link in the references shows its URL. Also returns how
    many reference links were checked."""
    page.emulate_media(media="print")
    raw, links = _run(page, _PRINT)
    return _findings(raw, name), links
