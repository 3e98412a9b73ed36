"""The schema.org graph of a catalog's own pages and its DataFeed of every trial (schema.org release 30.0 terms)."""

from __future__ import annotations

from ..jsonld import JsonLd
from ..schema import Settings
from .listing import ListingPage


def catalog_feed(settings: Settings, trials: list[tuple[str, JsonLd]]) -> JsonLd:
    """A catalog's DataFeed: every trial (each with its dateModified), in the order of the list."""
    base = settings.base_url
    return {
        "@context": "https://schema.org",
        "@type": "DataFeed",
        "@id": f"{base}feed.jsonld",
        "name": f"{settings.title}: every trial",
        "url": f"{base}feed.jsonld",
        "inLanguage": settings.language,
        **({"dateModified": max(modified for modified, _ in trials)} if any(m for m, _ in trials) else {}),
        "dataFeedElement": [{"@type": "DataFeedItem", **({"dateModified": modified} if modified else {}), "item": item}
                            for modified, item in trials],  # a registry record may give no date
    }


def listing_graph(settings: Settings, page: ListingPage) -> JsonLd:
    """A catalog page: a CollectionPage whose main entity is the list of trials (or of a facet's values) it shows."""
    base = settings.base_url
    url = base + page.path
    if page.trials:
        items = [
            {"@type": "ListItem", "position": page.first + i, "name": t.title, "url": base + t.path}
            for i, t in enumerate(page.trials)
        ]
    else:
        items = [
            {"@type": "ListItem", "position": i + 1, "name": v.name, "url": base + v.path}
            for f in page.facets for i, v in enumerate(f.values)
        ]
    node: JsonLd = {
        "@context": "https://schema.org",
        "@type": "CollectionPage",
        "@id": url,
        "url": url,
        "name": page.heading,
        "description": page.description,
        "inLanguage": settings.language,
        "isPartOf": {"@type": "WebSite", "@id": f"{base}#website", "name": settings.title, "url": base},
        "mainEntity": {"@type": "ItemList", "numberOfItems": len(items), "itemListElement": items},
    }
    if page.not_found:  # served at any address: it has none of its own
        del node["@id"], node["url"]
    if page.breadcrumb:
        node["breadcrumb"] = {
            "@type": "BreadcrumbList",
            "itemListElement": [
                {"@type": "ListItem", "position": i + 1, "name": c.name, "item": base + c.path}
                for i, c in enumerate(page.breadcrumb)
            ],
        }
    return node
