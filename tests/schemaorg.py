"""Offline schema.org validator for the test suite.

Checks JSON-LD as the site writes it into ``<script type="application/ld+json">`` (compact form,
``"@context": "https://schema.org"``) against the schema.org 30.0 vocabulary copied into
``tests/data/schemaorg/``. Nothing here touches the network.

    vocab = Vocabulary.load()
    errors = validate(data, vocab)   # [] means valid

What is checked:

* every ``@type`` is a current schema.org type (not a property, an enumeration member or a
  superseded type);
* every property is a current schema.org property (retired terms such as ``phase`` are absent from
  30.0; terms with ``schema:supersededBy`` are rejected) and the node has a type within its
  ``domainIncludes``, following ``rdfs:subClassOf`` (with several ``@type``s, one fitting is enough);
* every value fits the property's ``rangeIncludes``: nested nodes and resolved ``{"@id": ...}``
  references by type; strings, numbers and booleans by data type (ISO 8601 dates, absolute URLs,
  numbers, ...); a plain absolute URL is accepted for a range of entity types (the schema.org
  convention for referring to an entity); enumeration values (``"https://schema.org/Recruiting"``,
  ``"Recruiting"`` or ``{"@id": "https://schema.org/Recruiting"}``) must be members of an
  enumeration in the range.

With ``strict_enumerations`` (the default) a string given for a property whose range includes an
enumeration must name a member of it, even when the range also lists ``Text`` (``status`` does):
the site should emit the enumerated value, not free text.

``expand()`` runs pyld's JSON-LD expansion with a document loader that serves the local copy of the
schema.org context and refuses every other URL.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DATA_DIR = Path(__file__).resolve().parent / "data" / "schemaorg"
VOCABULARY_PATH = DATA_DIR / "schemaorg-current-https.jsonld"
CONTEXT_PATH = DATA_DIR / "schemaorgcontext.jsonld"

SCHEMA_PREFIXES = ("https://schema.org/", "http://schema.org/", "schema:")

# URLs that "@context" may use for schema.org; all resolve to the local context file.
SCHEMA_CONTEXT_URLS = frozenset(
    f"{scheme}://schema.org{suffix}"
    for scheme in ("https", "http")
    for suffix in ("", "/", "/docs/jsonldcontext.jsonld", "/docs/jsonldcontext.json")
)

_HANDLED_KEYWORDS = frozenset({"@context", "@id", "@type", "@graph"})
_URL_SCHEMES_WITH_HOST = frozenset({"http", "https", "ftp", "ftps"})
_URL_SCHEMES_WITHOUT_HOST = frozenset({"mailto", "tel", "urn", "data"})

# Data type "kinds", most specific first: a range's kind is the first one among its ancestors.
_DATATYPE_KINDS = (
    "URL", "Integer", "Float", "Number", "Boolean", "Date", "DateTime", "Time", "Duration", "Quantity", "Text",
)
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
_DATE = re.compile(r"(\d{4})(-(\d{2})(-(\d{2}))?)?")
_TZ = r"(Z|[+-]\d{2}:\d{2})?"
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?" + _TZ)
_TIME = re.compile(r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?" + _TZ)
_DURATION = re.compile(r"P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?")


def schema_name(term: str) -> str | None:
    """The schema.org local name of ``term`` ("schema:X", "http(s)://schema.org/X" or bare "X").

    ``None`` for a term of another vocabulary or any other IRI.
    """
    for prefix in SCHEMA_PREFIXES:
        if term.startswith(prefix):
            return term[len(prefix):] or None
    if not term or ":" in term or "/" in term or "#" in term:
        return None
    return term


def _is_schema_iri(term: str) -> bool:
    return term.startswith(SCHEMA_PREFIXES)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _schema_refs(value: Any) -> frozenset[str]:
    """Local names of the schema.org ``{"@id": "schema:X"}`` references in a vocabulary field."""
    names = (schema_name(ref["@id"]) if _is_schema_iri(ref["@id"]) else ref["@id"] for ref in _as_list(value))
    return frozenset(name for name in names if name)


def is_absolute_url(text: str) -> bool:
    if not text or any(char.isspace() for char in text):
        return False
    parts = urlsplit(text)
    if parts.scheme in _URL_SCHEMES_WITH_HOST:
        return bool(parts.netloc)
    return parts.scheme in _URL_SCHEMES_WITHOUT_HOST and bool(parts.path)


def _join(names: Iterable[str]) -> str:
    return ", ".join(sorted(names))


@dataclass(frozen=True)
class Property:
    name: str
    domains: frozenset[str]
    ranges: frozenset[str]
    superseded_by: str | None = None


@dataclass(frozen=True)
class Vocabulary:
    """schema.org types, properties and enumeration members, by local name ("MedicalTrial")."""

    ancestors_of: Mapping[str, frozenset[str]]  # class -> itself and all its superclasses
    properties: Mapping[str, Property]
    members: Mapping[str, frozenset[str]]  # enumeration member -> the classes it is an instance of
    superseded_classes: Mapping[str, str]  # retired class -> its replacement
    datatypes: frozenset[str]  # Text, URL, Date, Number, ... (typed schema:DataType, and their subclasses)

    @classmethod
    def load(cls, path: Path | None = None) -> Vocabulary:
        """Load the vocabulary (once per file and process) from tests/data/schemaorg/ or ``path``."""
        return _load_vocabulary(Path(path or VOCABULARY_PATH).resolve())

    @classmethod
    def from_graph(cls, graph: list[dict[str, Any]]) -> Vocabulary:
        parents: dict[str, frozenset[str]] = {}
        properties: dict[str, Property] = {}
        instances: list[tuple[str, frozenset[str]]] = []
        superseded_classes: dict[str, str] = {}
        datatype_roots: set[str] = set()
        for entry in graph:
            if not _is_schema_iri(entry["@id"]):
                continue  # equivalent terms of other vocabularies (gs1:, unece:, ...)
            name = schema_name(entry["@id"])
            assert name is not None
            kinds = set(_as_list(entry["@type"]))
            superseded = _schema_refs(entry.get("schema:supersededBy"))
            if "rdf:Property" in kinds:
                properties[name] = Property(
                    name=name,
                    domains=_schema_refs(entry.get("schema:domainIncludes")),
                    ranges=_schema_refs(entry.get("schema:rangeIncludes")),
                    superseded_by=min(superseded) if superseded else None,
                )
            elif "rdfs:Class" in kinds:
                parents[name] = _schema_refs(entry.get("rdfs:subClassOf"))
                if superseded:
                    superseded_classes[name] = min(superseded)
                if "schema:DataType" in kinds:
                    datatype_roots.add(name)
            else:  # an enumeration member (or schema:True/False), typed by its enumeration
                instances.append((name, frozenset(filter(None, map(schema_name, kinds)))))

        @functools.cache
        def ancestors(name: str) -> frozenset[str]:
            result = {name}
            for parent in parents.get(name, ()):
                result |= ancestors(parent)
            return frozenset(result)

        ancestors_of = {name: ancestors(name) for name in parents}
        return cls(
            ancestors_of=ancestors_of,
            properties=properties,
            members=dict(instances),
            superseded_classes=superseded_classes,
            datatypes=frozenset(name for name, up in ancestors_of.items() if up & datatype_roots),
        )

    def is_class(self, name: str) -> bool:
        return name in self.ancestors_of

    def ancestors(self, name: str) -> frozenset[str]:
        return self.ancestors_of.get(name, frozenset({name}))

    def is_subclass(self, name: str, of: str) -> bool:
        return of in self.ancestors(name)

    def fits(self, types: Iterable[str], ranges: Iterable[str]) -> bool:
        """Whether any of ``types`` is one of ``ranges`` or a subclass of one."""
        wanted = frozenset(ranges)
        return any(self.ancestors(name) & wanted for name in types)

    def is_datatype(self, name: str) -> bool:
        return name in self.datatypes

    def is_enumeration(self, name: str) -> bool:
        return self.is_subclass(name, "Enumeration")

    def members_of(self, enumeration: str) -> list[str]:
        return sorted(m for m, types in self.members.items() if self.fits(types, [enumeration]))

    def datatype_kind(self, name: str) -> str:
        ancestors = self.ancestors(name)
        return next((kind for kind in _DATATYPE_KINDS if kind in ancestors), "Text")


@functools.cache
def _load_vocabulary(path: Path) -> Vocabulary:
    with path.open(encoding="utf-8") as handle:
        return Vocabulary.from_graph(json.load(handle)["@graph"])


# --- literal checks: each returns None when the value fits, else a short reason ---------------------


def _check_text(value: Any, kind: str) -> str | None:
    """Check a JSON string/number/boolean against one data type kind."""
    if isinstance(value, bool):
        return None if kind == "Boolean" else f"a boolean is not a {kind}"
    if isinstance(value, (int, float)):
        if kind in ("Number", "Float"):
            return None
        if kind == "Integer":
            return None if float(value).is_integer() else "not an integer"
        return f"a JSON number is not a {kind}"
    text: str = value
    if kind in ("Text", "Quantity"):
        return None
    if kind == "URL":
        return None if is_absolute_url(text) else "not an absolute URL"
    if kind in ("Number", "Float"):
        return None if _NUMBER.fullmatch(text) else "not a number"
    if kind == "Integer":
        return None if _INTEGER.fullmatch(text) else "not an integer"
    if kind == "Boolean":
        return None if text in ("true", "false", "True", "False") else "not a boolean"
    if kind == "Date":
        return None if _is_iso_date(text) else "not an ISO 8601 date (YYYY-MM-DD)"
    if kind == "DateTime":
        return None if _is_iso_datetime(text) else "not an ISO 8601 date-time (YYYY-MM-DDThh:mm[:ss][zone])"
    if kind == "Time":
        return None if _is_iso_time(text) else "not an ISO 8601 time (hh:mm[:ss][zone])"
    if kind == "Duration":
        return None if _DURATION.fullmatch(text) else "not an ISO 8601 duration (e.g. P3M, PT1H30M)"
    raise AssertionError(f"unknown data type kind {kind}")


def _is_iso_date(text: str) -> bool:
    match = _DATE.fullmatch(text)
    if not match:
        return False
    if match.group(5):
        try:
            date.fromisoformat(text)
        except ValueError:
            return False
    return match.group(3) is None or 1 <= int(match.group(3)) <= 12


def _is_iso_datetime(text: str) -> bool:
    if not _DATETIME.fullmatch(text):
        return False
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_iso_time(text: str) -> bool:
    if not _TIME.fullmatch(text):
        return False
    try:
        time.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_schema_context(context: Any) -> bool:
    if isinstance(context, str):
        return context in SCHEMA_CONTEXT_URLS
    if isinstance(context, list):
        return bool(context) and all(_is_schema_context(item) for item in context)
    if isinstance(context, dict):  # {"@vocab": "https://schema.org/"}, nothing else is understood here
        return set(context) <= {"@vocab", "@language"} and context.get("@vocab") in (
            "https://schema.org/", "http://schema.org/",
        )
    return False


# --- the validator -----------------------------------------------------------------------------------


class _Validator:
    def __init__(self, vocab: Vocabulary, strict_enumerations: bool) -> None:
        self.vocab = vocab
        self.strict_enumerations = strict_enumerations
        self.errors: list[str] = []
        self.id_types: dict[str, set[str]] = {}  # @id -> known types of the node(s) carrying it

    def error(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")

    # -- document and nodes

    def document(self, data: Any) -> None:
        if isinstance(data, list):
            items: list[tuple[Any, str]] = [(item, f"$[{i}]") for i, item in enumerate(data)]
        else:
            items = [(data, "$")]
        for item, _ in items:
            self.collect_ids(item)
        for item, path in items:
            if not isinstance(item, dict):
                self.error(path, f"expected a JSON object, got {type(item).__name__}")
                continue
            if "@context" not in item:
                self.error(path, 'missing "@context" (expected "https://schema.org")')
            self.node(item, path)

    def collect_ids(self, value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                self.collect_ids(item)
        elif isinstance(value, dict) and "@value" not in value:
            node_id = value.get("@id")
            if isinstance(node_id, str) and len(value) > 1:
                names = (schema_name(t) for t in _as_list(value.get("@type")) if isinstance(t, str))
                known = {name for name in names if name and self.vocab.is_class(name)}
                self.id_types.setdefault(node_id, set()).update(known)
            for key, item in value.items():
                if key != "@context":
                    self.collect_ids(item)

    def node(self, node: dict[str, Any], path: str) -> None:
        node_id = node.get("@id")
        label = node_id if isinstance(node_id, str) else path
        if "@context" in node and not _is_schema_context(node["@context"]):
            self.error(label, f'"@context" {node["@context"]!r} is not the schema.org context')
        if "@id" in node and not isinstance(node_id, str):
            self.error(path, f'"@id" must be a string, got {node_id!r}')
        for i, item in enumerate(_as_list(node.get("@graph"))):
            if isinstance(item, dict):
                self.node(item, f"{path}.@graph[{i}]")
            else:
                self.error(f"{path}.@graph[{i}]", f"expected a node object, got {item!r}")
        properties = [key for key in node if not key.startswith("@")]
        types = self.node_types(node, label, needs_type=bool(properties))
        for key in node:
            if key.startswith("@") and key not in _HANDLED_KEYWORDS:
                self.error(label, f"unsupported JSON-LD keyword {key!r} on a node")
        for key in properties:
            prop = self.property(key, label, types)
            for value, value_path in self.values(node[key], f"{path}.{key}"):
                self.value(value, value_path, prop, f"{label}: property {key!r}")

    def node_types(self, node: dict[str, Any], label: str, needs_type: bool) -> list[str]:
        """The node's known schema.org types, reporting unknown ones."""
        if "@type" not in node:
            if needs_type:
                self.error(label, 'node has no "@type", so its properties cannot be checked')
            return []
        known: list[str] = []
        for raw in _as_list(node["@type"]):
            if not isinstance(raw, str):
                self.error(label, f'"@type" must be a string, got {raw!r}')
                continue
            name = schema_name(raw)
            if name is None:
                self.error(label, f"type {raw!r} is not a schema.org type")
            elif self.vocab.is_class(name):
                if name in self.vocab.superseded_classes:
                    replacement = self.vocab.superseded_classes[name]
                    self.error(label, f"type {raw!r} is superseded by {replacement!r}")
                known.append(name)
            elif name in self.vocab.properties:
                self.error(label, f"type {raw!r} is a property, not a type")
            elif name in self.vocab.members:
                self.error(label, f"type {raw!r} is an enumeration member, not a type")
            else:
                self.error(label, f"unknown type {raw!r}: not in schema.org 30.0")
        return known

    def property(self, key: str, label: str, types: list[str]) -> Property | None:
        """The property named by ``key`` if it exists and fits the node's types, else None."""
        where = f"{label}: property {key!r}"
        name = schema_name(key)
        if name is None:
            self.error(where, "not a schema.org term")
            return None
        prop = self.vocab.properties.get(name)
        if prop is None:
            if self.vocab.is_class(name) or name in self.vocab.members:
                self.error(where, "names a type or enumeration member, not a property")
            else:
                self.error(where, "unknown property: not in schema.org 30.0 (retired or never defined)")
            return None
        if prop.superseded_by:
            self.error(where, f"superseded by {prop.superseded_by!r}; not part of the current vocabulary")
            return None
        if types and not self.vocab.fits(types, prop.domains):
            self.error(
                where,
                f"not allowed on {_join(types)}: its domain is {_join(prop.domains)} (and their subtypes)",
            )
        return prop

    # -- values

    def values(self, value: Any, path: str) -> Iterator[tuple[Any, str]]:
        """Each single value of a property, with its JSON path (flattening arrays, @list and @set)."""
        if isinstance(value, list):
            for i, item in enumerate(value):
                yield from self.values(item, f"{path}[{i}]")
        elif isinstance(value, dict) and ("@list" in value or "@set" in value):
            keyword = "@list" if "@list" in value else "@set"
            yield from self.values(_as_list(value[keyword]), f"{path}.{keyword}")
        else:
            yield value, path

    def value(self, value: Any, path: str, prop: Property | None, where: str) -> None:
        where_value = f"{where} (value at {path})" if path.endswith("]") else where
        if value is None:
            self.error(where_value, "null value")
            return
        if isinstance(value, dict):
            if "@value" in value:
                if prop is not None:
                    self.literal(value["@value"], prop, where_value)
            elif set(value) == {"@id"}:
                self.reference(value["@id"], prop, where_value)
            else:
                self.node(value, path)
                self.nested(value, prop, where_value)
            return
        if prop is not None:
            self.literal(value, prop, where_value)

    def nested(self, node: dict[str, Any], prop: Property | None, where: str) -> None:
        if prop is None:
            return
        names = (schema_name(t) for t in _as_list(node.get("@type")) if isinstance(t, str))
        types = [name for name in names if name and self.vocab.is_class(name)]
        if types and not self.vocab.fits(types, prop.ranges):
            self.error(where, f"a {_join(types)} node does not fit the range {_join(prop.ranges)}")

    def reference(self, ref: Any, prop: Property | None, where: str) -> None:
        if not isinstance(ref, str):
            self.error(where, f'"@id" must be a string, got {ref!r}')
            return
        if prop is None:
            return
        member = schema_name(ref) if _is_schema_iri(ref) else None
        if member is not None and member in self.vocab.members:
            if problem := self.enumeration_member(member, prop.ranges):
                self.error(where, f"{ref!r}: {problem}")
            return
        enumerations = sorted(r for r in prop.ranges if self.vocab.is_enumeration(r))
        if member is not None and enumerations:
            self.error(where, f"{ref!r} is not a member of {self.describe_enumerations(enumerations)}")
            return
        if self.id_types.get(ref):
            types = self.id_types[ref]
            if not self.vocab.fits(types, prop.ranges):
                self.error(where, f"{ref!r} is a {_join(types)}, which does not fit the range {_join(prop.ranges)}")
            return
        if not any(not self.vocab.is_datatype(r) or self.vocab.datatype_kind(r) == "URL" for r in prop.ranges):
            self.error(where, f"a reference to {ref!r} does not fit the range {_join(prop.ranges)}")

    def enumeration_member(self, member: str, ranges: frozenset[str]) -> str | None:
        member_types = self.vocab.members[member]
        if self.vocab.fits(member_types, ranges):
            return None
        enumerations = [r for r in ranges if self.vocab.is_enumeration(r)] or list(ranges)
        return f"{member} is a {_join(member_types)} value, not a member of {_join(enumerations)}"

    def literal(self, value: Any, prop: Property, where: str) -> None:
        if isinstance(value, str):
            problem = self.string(value, prop.ranges)
        elif isinstance(value, (bool, int, float)):
            problem = self.scalar(value, prop.ranges)
        else:
            problem = f"unexpected JSON value {value!r}"
        if problem:
            self.error(where, problem)

    def scalar(self, value: bool | int | float, ranges: frozenset[str]) -> str | None:
        datatypes = sorted(r for r in ranges if self.vocab.is_datatype(r))
        if any(_check_text(value, self.vocab.datatype_kind(r)) is None for r in datatypes):
            return None
        return f"{value!r} does not fit the range {_join(ranges)}"

    def string(self, text: str, ranges: frozenset[str]) -> str | None:
        if not text.strip():
            return f"empty string (range {_join(ranges)})"
        enumerations = sorted(r for r in ranges if self.vocab.is_enumeration(r))
        named = schema_name(text)
        if named is not None and named in self.vocab.members:
            problem = self.enumeration_member(named, ranges)
            if problem is None:
                return None
            if enumerations or _is_schema_iri(text):
                return f"{text!r}: {problem}"
        if enumerations and (self.strict_enumerations or _is_schema_iri(text)):
            return f"{text!r} is not a member of {self.describe_enumerations(enumerations)}"
        hints: list[str] = []
        for r in sorted(ranges):
            if self.vocab.is_datatype(r):
                hint = _check_text(text, self.vocab.datatype_kind(r))
                if hint is None:
                    return None
                hints.append(f"{r}: {hint}")
        entities = sorted(r for r in ranges if not self.vocab.is_datatype(r))
        if entities:
            if is_absolute_url(text):
                return None
            hints.append(f"{_join(entities)}: expected a node, or an absolute URL referring to one")
        return f"{text!r} does not fit the range {_join(ranges)} ({'; '.join(hints)})"

    def describe_enumerations(self, enumerations: Iterable[str], limit: int = 12) -> str:
        """E.g. "MedicalTrialDesign (members: DoubleBlindedTrial, ...)"."""
        described = []
        for enumeration in enumerations:
            members = self.vocab.members_of(enumeration)
            shown = ", ".join(members[:limit]) + (", ..." if len(members) > limit else "")
            described.append(f"{enumeration} (members: {shown})" if members else enumeration)
        return "; ".join(described)


def validate(data: dict[str, Any] | list[Any], vocab: Vocabulary, *, strict_enumerations: bool = True) -> list[str]:
    """Validate one JSON-LD document (compact form, schema.org context); [] means valid.

    Each error names the node (its @id, or its JSON path such as ``$.@graph[0].sponsor[1]``),
    the property and the reason.
    """
    validator = _Validator(vocab, strict_enumerations)
    validator.document(data)
    return validator.errors


# --- JSON-LD expansion, offline ----------------------------------------------------------------------


class OfflineDocumentError(LookupError):
    """Raised by the offline document loader for any URL but the schema.org context."""


@functools.cache
def _context_document() -> dict[str, Any]:
    with CONTEXT_PATH.open(encoding="utf-8") as handle:
        document: dict[str, Any] = json.load(handle)
    return document


def offline_document_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """A pyld document loader serving the local schema.org context; every other URL raises."""
    if url not in SCHEMA_CONTEXT_URLS:
        raise OfflineDocumentError(f"refusing to load {url!r}: only the schema.org context is available offline")
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": copy.deepcopy(_context_document()),
    }


def expand(data: dict[str, Any] | list[Any]) -> list[Any]:
    """Expand JSON-LD with pyld, resolving the schema.org context from tests/data/schemaorg/."""
    from pyld import jsonld  # type: ignore[import-untyped]

    expanded: list[Any] = jsonld.expand(data, {"documentLoader": offline_document_loader})
    return expanded
