"""A catalog of many trials (`content/trials/<slug>.yaml`): plan what changed (plan.py, state.py), build the changed
trials on every core (build.py, parallel.py), and make the catalog's own listing pages, JSON-LD and search index
(listing.py, jsonld.py, search.py)."""
