"""Write full-page PNG screenshots of every page at phone (390px) and desktop (1280px) width.

    python -m tests.browser.screenshots                 # into screenshots/ (git-ignored), light scheme
    python -m tests.browser.screenshots --scheme dark   # or both: --scheme light --scheme dark
    python -m tests.browser.screenshots --out DIR

Builds the default site into a temporary folder, serves it on 127.0.0.1 and shoots it in Debian's Chromium.
Files are named PAGE-WIDTH[-dark].png, e.g. faq-390.png, index-1280-dark.png.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from .tools import ROOT, build_site, launch, page_stem, page_url, serve, site_pages

WIDTHS = {390: 844, 1280: 800}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.browser.screenshots", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots", help="folder for the PNG files")
    parser.add_argument("--scheme", action="append", choices=["light", "dark"], help="colour scheme(s)")
    args = parser.parse_args(argv)
    schemes = args.scheme or ["light"]
    args.out.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, serve(Path(tmp) / "output") as url:
        build_site(Path(tmp) / "output", base_url=url)
        with sync_playwright() as p:
            browser = launch(p)
            for scheme in schemes:
                for width, height in WIDTHS.items():
                    context = browser.new_context(viewport={"width": width, "height": height},
                                                  color_scheme=scheme)  # type: ignore[arg-type]
                    page = context.new_page()
                    for name in site_pages():
                        page.goto(page_url(url, name), wait_until="load")
                        target = args.out / f"{page_stem(name)}-{width}{'-dark' if scheme == 'dark' else ''}.png"
                        page.screenshot(path=str(target), full_page=True)
                        print(target.relative_to(ROOT) if target.is_relative_to(ROOT) else target)
                    context.close()
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
