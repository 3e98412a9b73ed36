"""Decide the pages a catalog of trials has besides each trial's own: the home page listing every trial, a listing
page for each condition, status, phase and location, the index of each of those, all paginated.

Everything here is a function of the trials' entries alone, so a listing page changes only when an entry on it does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..errors import ContentError, Problem
from ..slugs import slugify, value_key

PAGE_SIZE = 50  # trials per listing page
SHOWN_ON_HOME = 12  # values of each facet the home page shows; its facet page shows them all


@dataclass(frozen=True)
class TrialEntry:
    """A trial as the catalog lists it."""

    slug: str
    title: str
    summary: str
    condition: str
    status: str  # as shown, e.g. 'Recruiting'
    status_key: str  # as in trial.yaml, e.g. 'recruiting'
    phase: str
    phase_key: str
    locations: tuple[str, ...]  # the places the listing names
    where: str  # the places as a line of the list: 'Palo Alto, Boston and 27 more'
    updated: str  # ISO date
    conditions: tuple[str, ...]  # every condition it studies, `condition` first: it is listed under each

    @property
    def path(self) -> str:
        """The trial's folder relative to the site root."""
        return f"trials/{self.slug}/"


@dataclass(frozen=True)
class FacetValue:
    """One value trials can be narrowed to, e.g. the condition 'Soft tissue sarcoma', with its listing page."""

    name: str
    path: str  # e.g. 'conditions/soft-tissue-sarcoma/'
    count: int


@dataclass(frozen=True)
class Facet:
    """A way to narrow the list (condition, status, phase, location) and its values, most trials first."""

    key: str
    title: str  # 'Condition'
    plural: str  # 'Conditions'
    path: str  # 'conditions/'
    values: tuple[FacetValue, ...]


@dataclass(frozen=True)
class PageLink:
    """A link of the pagination: its label, the page it goes to, and whether it is the page shown."""

    label: str
    path: str
    current: bool = False


@dataclass(frozen=True)
class Crumb:
    name: str
    path: str


@dataclass(frozen=True)
class ListingPage:
    """A page of the catalog: the home page, a listing of trials, or the index of a facet's values."""

    path: str  # relative to the site root: '' for home, 'conditions/sarcoma/', 'conditions/sarcoma/page/2/'
    heading: str
    description: str
    template: str  # 'catalog.html' (trials) or 'facet.html' (a facet's values)
    breadcrumb: tuple[Crumb, ...]
    trials: tuple[TrialEntry, ...] = ()
    count_label: str = ""  # 'Trials 51 to 100 of 230'
    first: int = 0  # 1-based number of the first trial on this page
    pagination: tuple[PageLink, ...] = ()
    previous: str | None = None
    next: str | None = None
    facets: tuple[Facet, ...] = ()  # the home page: every facet, a few values each; a facet page: its facet
    not_found: str = ""

    @property
    def file(self) -> str:
        return f"{self.path}index.html"

    @property
    def root(self) -> str:
        """The prefix from this page back to the site root: relative, except on the 404 page, which hosts serve at
        any address."""
        return self.not_found or "../" * self.path.count("/")

    @property
    def site_root(self) -> str:
        return self.root


FACETS: tuple[tuple[str, str, str, str, Callable[[TrialEntry], Iterable[tuple[str, str]]]], ...] = (
    ("condition", "Condition", "Conditions", "conditions/", lambda e: [(c, slugify(c)) for c in e.conditions]),
    ("status", "Status", "Statuses", "status/", lambda e: [(e.status, e.status_key)]),
    ("phase", "Phase", "Phases", "phases/", lambda e: [(e.phase, e.phase_key)]),
    ("location", "Location", "Locations", "locations/", lambda e: [(name, slugify(name)) for name in e.locations]),
)


def where_label(named: list[str], others: int, shown: int = 5) -> str:
    """Where a trial runs, in one line: the first `shown` places it names, then how many more there are."""
    more = max(0, len(named) - shown) + others
    listed = ", ".join(named[:shown])
    if not more:
        return listed
    return f"{listed} and {more} more" if listed else f"{more} places, not named in its listing"


def sort_key(entry: TrialEntry) -> tuple[tuple[tuple[int, str, int], ...], str]:
    """Titles in the order a reader expects: case ignored, and numbers by value ("Trial 2" before "Trial 19")."""
    parts = _NUMBERS.split(entry.title.casefold())  # text, number, text, ...: the numbers at the odd places
    return (tuple((0, "", int(part)) if i % 2 else (1, part, 0) for i, part in enumerate(parts) if part), entry.slug)


_NUMBERS = re.compile(r"([0-9]+)")  # ASCII digits only: int() refuses superscripts, which \d would take


def catalog_pages(entries: Iterable[TrialEntry], site_title: str) -> list[ListingPage]:
    """Every page of the catalog besides the trials' own, in a fixed order."""
    trials = sorted(entries, key=sort_key)
    # per facet, per trial
    found = [[_by_slug(values_of(entry), path) for entry in trials] for *_, path, values_of in FACETS]
    facets = [_facet(key, title, plural, path, values) for (key, title, plural, path, _), values in zip(FACETS, found)]
    home = Crumb("All trials", "")
    pages = _listing(
        "", site_title, f"{len(trials):,} trial{'s' if len(trials) != 1 else ''} in all. Narrow the list by condition, status, "
        "phase or location, or search them all.", (), trials,
        tuple(Facet(f.key, f.title, f.plural, f.path, f.values[:SHOWN_ON_HOME]) for f in facets),
    )
    for facet, values in zip(facets, found):
        index = Crumb(facet.plural, facet.path)
        pages.append(ListingPage(
            facet.path, f"Trials by {facet.title.lower()}",
            f"Every {facet.title.lower()} of the trials on {site_title}, with how many trials each has.",
            "facet.html", (home, index), facets=(facet,),
        ))
        members: dict[str, list[TrialEntry]] = {}
        for entry, slugs in zip(trials, values):
            for slug in slugs:
                members.setdefault(f"{facet.path}{slug}/", []).append(entry)
        for value in facet.values:
            pages += _listing(
                value.path, f"{facet.title}: {value.name}",
                f"The {value.count} trial{'s' if value.count != 1 else ''} on {site_title} with the "
                f"{facet.title.lower()} {value.name}.", (home, index, Crumb(value.name, value.path)),
                members[value.path],
            )
    return pages


def _facet(key: str, title: str, plural: str, path: str, values: list[dict[str, str]]) -> Facet:
    """A facet's values (each trial's, by slug) with their counts; names of one value (`value_key`) share a page,
    under the first name met."""
    counts: dict[str, int] = {}
    names: dict[str, str] = {}
    for found in values:
        for slug, name in found.items():
            counts[slug] = counts.get(slug, 0) + 1
            _one_value_per_page(names.setdefault(slug, name), name, f"{path}{slug}/")
    ordered = sorted(counts, key=lambda s: (-counts[s], names[s].casefold(), s))
    return Facet(key, title, plural, path, tuple(FacetValue(names[s], f"{path}{s}/", counts[s]) for s in ordered))


def _one_value_per_page(first: str, name: str, page: str) -> None:
    """Refuse two different values on one page (their hashes would have to collide: about once in 10^14 pairs). A
    status's or phase's page without a hash is named by a listed value's key (registry.Study.status_key, phase_key),
    which a trial file and a registry record word each their own way ('Phase 1/2', 'Phase 1/Phase 2'): one value,
    under the first name met."""
    listed = page.startswith(("status/", "phases/")) and "--" not in page
    if first != name and not listed and value_key(first) != value_key(name):
        raise ContentError([Problem("content/trials", 0, 0, f"the values '{first}' and '{name}' would share the URL "
                                    f"{page}; change one of them")])


def _by_slug(values: Iterable[tuple[str, str]], path: str) -> dict[str, str]:
    """A trial's values of a facet by slug, once each ('São Paulo' and 'Sao Paulo' are one place), first name kept."""
    found: dict[str, str] = {}
    for name, slug in values:
        _one_value_per_page(found.setdefault(slug, name), name, f"{path}{slug}/")
    return found


def _listing(path: str, heading: str, description: str, crumbs: tuple[Crumb, ...], trials: list[TrialEntry],
             facets: tuple[Facet, ...] = ()) -> list[ListingPage]:
    """A listing of trials split into pages of PAGE_SIZE: the first at `path`, the others at `path`page/N/."""
    count = max(1, -(-len(trials) // PAGE_SIZE))
    paths = [path] + [f"{path}page/{n}/" for n in range(2, count + 1)]
    pages = []
    for n in range(1, count + 1):
        shown = trials[(n - 1) * PAGE_SIZE:n * PAGE_SIZE]
        here, first = paths[n - 1], (n - 1) * PAGE_SIZE + 1
        label = f"Trials {first:,} to {first + len(shown) - 1:,} of {len(trials):,}" if count > 1 else (
            f"{len(trials):,} trial{'s' if len(trials) != 1 else ''}")
        pages.append(ListingPage(
            here, heading if n == 1 else f"{heading} (page {n} of {count})", description, "catalog.html",
            crumbs, tuple(shown), label, first, _pagination(paths, n),
            paths[n - 2] if n > 1 else None, paths[n] if n < count else None, facets if n == 1 else (),
        ))
    return pages


def _pagination(paths: list[str], current: int) -> tuple[PageLink, ...]:
    """Links to the first and last pages and the two either side of the current one (none for a single page)."""
    if len(paths) == 1:
        return ()
    shown = sorted({1, len(paths), *range(max(1, current - 2), min(len(paths), current + 2) + 1)})
    return tuple(PageLink(str(n), paths[n - 1], n == current) for n in shown)
