"""A small catalog site for the browser tests: 8 trials made from the default one (tests/test_catalog.py), with
listing pages of 3 trials so that lists paginate, and words in one trial's FAQ that no other trial has (and one
that another trial has only as the start of a longer word, twice).

The page-level checks of test_site_checkers.py and test_site_behaviour.py run on CATALOG_PAGES (one of each kind of
page a catalog has) as on every page of the single-trial site; Lighthouse, the slowest, on CATALOG_LIGHTHOUSE_PAGES.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from .tools import ROOT

TRIALS = 8
PAGE_SIZE = 3  # instead of sitegen.catalog.PAGE_SIZE (50), so that 8 trials paginate
# A word only SEARCH_TRIAL's text has (put into its first FAQ answer), and one that no trial has.
UNIQUE_WORD = "quokkaberry"
ACCENTED_WORD = "Zürichseeklinik"  # also only in SEARCH_TRIAL's: found by "zurichseeklinik" or "ZÜRICHSEEKLINIK"
MISSING_WORD = "zyxwvutsrq"
SEARCH_TRIAL = "trial-5"

# One page of each kind: the home page and its second page, a facet's index, a listing and its second page, the
# 404 page, and a trial's home and findings pages (which have the references) under trials/<slug>/.
CATALOG_PAGES = [
    "index.html", "page/2/index.html", "conditions/index.html", "status/recruiting/index.html",
    "status/recruiting/page/2/index.html", "404.html", "trials/trial-1/index.html",
    "trials/trial-1/findings/index.html",
]
CATALOG_LIGHTHOUSE_PAGES = [
    "index.html", "status/recruiting/page/2/index.html", "conditions/index.html", "trials/trial-1/index.html",
]


def build_catalog_site(out: Path, base_url: str, terms_per_file: int | None = None) -> Path:
    """Build the test catalog into out (its project beside out), published at base_url; with terms_per_file, its
    search index's terms in a terms file for about that many trials (sitegen.catalog.search.TERMS_PER_FILE, 16),
    so that the page's script must find the right one of several."""
    tests = str(ROOT / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    from test_catalog import make_catalog

    from sitegen.build import build
    from sitegen.catalog import listing as catalog
    from sitegen.catalog import search as search_module

    project = make_catalog(out.parent / f"{out.name}-project", TRIALS)
    path = project.content / "trials" / f"{SEARCH_TRIAL}.yaml"
    trial = yaml.safe_load(path.read_text(encoding="utf-8"))
    trial["faq"][0]["answer"] = (f"Bring your {UNIQUE_WORD} diary to every visit at the {ACCENTED_WORD}. "
                                 f"Wallaby. {trial['faq'][0]['answer']}")
    path.write_text(yaml.safe_dump(trial, sort_keys=False, allow_unicode=True), encoding="utf-8")
    other = project.content / "trials" / "trial-6.yaml"  # a longer word starting as SEARCH_TRIAL's, said twice
    trial = yaml.safe_load(other.read_text(encoding="utf-8"))
    trial["faq"][0]["answer"] = f"Wallabyfruit, wallabyfruit. {trial['faq'][0]['answer']}"
    other.write_text(yaml.safe_dump(trial, sort_keys=False, allow_unicode=True), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(catalog, "PAGE_SIZE", PAGE_SIZE)
        if terms_per_file is not None:
            patch.setattr(search_module, "TERMS_PER_FILE", terms_per_file)
        build(project, out, base_url=base_url, jobs=1)
    return out
