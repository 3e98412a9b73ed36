"""Render a gathered site into its output files, in memory: the Jinja2 environment (autoescape, StrictUndefined),
Markdown prose made safe HTML with its citations, and every page, the feed, the sitemap and the static files.

While an output is rendered, everything it reads (trial fields, settings, templates, prose, references, static
files) is noted with a fingerprint (record.py); given that record, the next render makes again only the outputs
whose reads changed.
"""

from __future__ import annotations

import functools
import html as html_text
import os
import posixpath
import re
import secrets
import stat
import sys
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlparse

import jinja2
import nh3
from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
    UndefinedError,
    select_autoescape,
)
from jinja2.bccache import Bucket, BytecodeCache
from jinja2.loaders import split_template_path
from jinja2.runtime import Context
from markupsafe import Markup

from . import jsonld
from .bib import Reference, full_stop
from .cite import CITATION, Citation, Citations, CitedReference, ProseField, citable
from .errors import ContentError, Problem
from .fingerprint import digest, fingerprint
from .glossary import Entry, TermFinder, Use, glossary_entries, mark_terms, used_terms
from .inputs import check_input, read_input
from .load import PathKey
from .markup import is_plain, markdown_html, plain_text
from .pages import GLOSSARY, Page, display_labels, not_found_page
from .project import Project
from .record import (
    MISSING,
    READS,
    Key,
    Recorded,
    RecordedList,
    RecordedPages,
    fresh,
    note,
    recording,
)
from .schema import Glossary, RegistryTrial, Settings, Trial
from .site import Site

STATIC_FILES = ("style.css", "favicon.svg")  # sitegen's own that a single trial's site uses; search.js is a catalog's
MAX_SITEMAP_URLS = 50_000  # the sitemap protocol's limit for one file

# Markdown may produce these; anything else (script, style, iframe, event handlers, javascript: URLs) is removed.
ALLOWED_TAGS = {
    "p", "br", "em", "strong", "a", "ul", "ol", "li", "code", "pre", "blockquote",
    "h3", "h4", "h5", "h6", "sub", "sup", "abbr", "table", "thead", "tbody", "tr", "th", "td", "hr",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "th": {"scope"}, "ol": {"start"}}
MAX_START = 9  # digits of a list's first number: Markdown's own limit (CommonMark's too)


def _valid_value(tag: str, attribute: str, value: str) -> str | None:
    """An allowed attribute's value as the sanitizer keeps it, or None to drop the attribute: a list's `start` only
    as a number of ASCII digits (an editor's raw HTML may say anything, and Markdown reads any Unicode digit)."""
    if attribute == "start" and not (value.isascii() and value.isdigit() and len(value) <= MAX_START):
        return None
    return value
URL_SCHEMES = {"http", "https", "mailto"}
# A citation's place while Markdown and nh3 work: private-use characters, removed from the prose first, so that no
# content can hold a placeholder (before, prose holding the placeholder text swapped a citation into an attribute).
_PLACEHOLDER = "\ue000{}\ue001"
_PLACEHOLDERS = re.compile("\ue000([0-9]+)\ue001")
_MARKERS = re.compile("[\ue000\ue001]")
_TAG = re.compile(r'(<(?:[^>"]|"[^"]*")*>)')  # a tag as nh3 writes it: attribute values always in double quotes


class BoundedLoader(FileSystemLoader):
    """Loads templates as FileSystemLoader does, each checked first to be a regular file of bounded size."""

    def get_source(self, environment: Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        for folder in self.searchpath:
            path = posixpath.join(folder, *split_template_path(template))
            if os.path.lexists(path):  # a FIFO or a device is refused by name, not taken as missing
                check_input(path)
                break
        return super().get_source(environment, template)


class RecordingLoader(BoundedLoader):
    """Loads templates as FileSystemLoader does, and notes every template an output uses with the digest of the
    source it was compiled from. Jinja asks `uptodate` each time it reuses a compiled template (extends, include,
    get_template), so that is where a reuse is noted too; and uptodate compares content, not modification times,
    which two quick saves can leave equal."""

    def get_source(self, environment: Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        try:
            source, filename, _ = super().get_source(environment, template)
        except TemplateNotFound:
            note(("template", template), MISSING)  # creating it later must render this output again
            raise
        compiled_from = digest(source.encode("utf-8"))
        note(("template", template), compiled_from)

        def uptodate() -> bool:
            reads = READS.get()  # while a build makes an output, it reads a template's source once (_Inputs)
            now = reads.inputs.fingerprint(("template", template)) if reads is not None else \
                template_digest(environment, template)
            if now != compiled_from:
                return False
            note(("template", template), compiled_from)
            return True

        return source, filename, uptodate


def template_digest(env: Environment, name: str) -> str:
    """The digest of a template's current source, as the loader would read it now."""
    try:
        source = BoundedLoader.get_source(cast(BoundedLoader, env.loader), env, name)[0]
    except TemplateNotFound:
        return MISSING
    return digest(source.encode("utf-8"))


class RecordingContext(Context):
    """Jinja's context, noting each value a template looks up by name (the labels and sources; the trial, the
    settings, the pages, the references and the prose note their own reads)."""

    def resolve_or_missing(self, key: str) -> Any:
        reads = READS.get()
        if reads is not None and key in reads.inputs.values:
            reads.note(("value", key))
        return super().resolve_or_missing(key)


def make_environment(folders: list[Path], compiled: TemplateCache | None = None, note_templates: bool = True) -> Environment:
    """The one Jinja2 environment: templates looked up in `folders` in order, everything escaped, undefined names an
    error, and every template used and value looked up noted while an output is rendered (record.py), unless not
    `note_templates` (a catalog's: its outputs note coarser reads). With `compiled`, compiled templates are kept
    from one build to the next."""
    folder_names = [str(folder) for folder in folders]
    env = Environment(
        loader=RecordingLoader(folder_names) if note_templates else BoundedLoader(folder_names),
        bytecode_cache=compiled,
        # every template is HTML or XML but robots.txt, which is plain text: an escaped '&' there is a wrong URL
        autoescape=select_autoescape(disabled_extensions=("txt",), default=True, default_for_string=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    if note_templates:  # (a catalog notes coarser reads: no value by name)
        env.context_class = RecordingContext
    env.filters["jsonld"] = jsonld_script
    env.filters["inline"] = inline_html
    return env


def compiled_templates() -> TemplateCache | None:
    """This user's folder of compiled templates: $XDG_CACHE_HOME/sitegen/templates (~/.cache/sitegen/templates
    when that is not set), in it one folder per version of this module, Jinja2 and Python (which set how a
    template compiles), the others removed. Compiling sitegen's templates takes 0.08 s, loading them a few ms: a
    build loads those an earlier build compiled, whatever its project and output folder.

    It holds code, so it is used only when its sitegen folder is this user's and theirs alone, as Jinja2 asks of
    its own default folder, and it is opened once, never through a symbolic link, and then used through what was
    opened: no one can swap another folder in after the check. Nothing is made in a folder that is not this user's.
    Otherwise, or when it cannot be made (no home folder, a read-only one, another user's), there is none (None),
    and templates are compiled as before."""
    if not (hasattr(os, "O_NOFOLLOW") and {os.open, os.mkdir, os.stat, os.unlink, os.rmdir} <= os.supports_dir_fd
            and os.scandir in os.supports_fd):  # no way to open it safely
        return None
    base = os.environ.get("XDG_CACHE_HOME", "")
    opened: list[int] = []
    try:
        cache_home = Path(base) if os.path.isabs(base) else Path.home() / ".cache"  # a relative one is ignored
        if not cache_home.is_absolute():  # HOME is a relative path: not a folder wherever the build runs
            return None
        if os.stat(cache_home if cache_home.is_dir() else cache_home.parent).st_uid != os.getuid():
            # another user's folder (root building with their HOME): a folder made there would be root's, and that
            # user's cache off until root removed it
            return None
        cache_home.mkdir(mode=0o700, exist_ok=True)  # in a home that exists, never the home itself
        opened.append(_own_folder(str(cache_home / "sitegen"), None, private=True))
        opened.append(_own_folder("templates", opened[-1]))
        version = _compiler_version()
        opened.append(_own_folder(version, opened[-1]))
    except (OSError, RuntimeError):  # RuntimeError: no home folder to find
        for fd in opened:
            os.close(fd)
        return None
    templates, folder = opened[1:]
    os.close(opened[0])
    # What is no longer used, and only what sitegen itself makes, by name (whatever else is there stays): other
    # versions' folders, half-written templates a killed build left, and what is not a file where a compiled
    # template goes (which Jinja2 would compile again forever).
    for entry in _entries(templates):
        if entry.name != version and _VERSION.fullmatch(entry.name):
            _remove_version(entry.name, templates)
    for entry in _entries(folder):
        if _PART.fullmatch(entry.name) or (_COMPILED.fullmatch(entry.name) and not entry.is_file(follow_symlinks=False)):
            _remove(entry.name, folder)
    os.close(templates)
    return TemplateCache(cache_home / "sitegen" / "templates" / version, folder)


_VERSION = re.compile(r"[0-9a-f]{32}")  # a version's folder (digest)
_COMPILED = re.compile(r"[0-9a-f]{40}\.cache")  # a compiled template (Jinja2's key for it)
_PART = re.compile(r"[0-9a-f]{40}\.cache\.[0-9a-f]{16}\.tmp")  # one being written (TemplateCache.dump_bytecode)
_DIRECTORY = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)


def _own_folder(name: str, parent: int | None, private: bool = False) -> int:
    """The folder `name` in the folder open as `parent`, made if need be, opened never through a symbolic link.
    It must be this user's, and no one else's to write (`private` ones: to read either); else OSError."""
    try:
        os.mkdir(name, 0o700, dir_fd=parent)
    except FileExistsError:
        pass
    fd = os.open(name, _DIRECTORY, dir_fd=parent)
    mine = os.fstat(fd)
    if not stat.S_ISDIR(mine.st_mode) or not _owned(mine) or (private and stat.S_IMODE(mine.st_mode) & 0o077):
        os.close(fd)
        raise PermissionError(f"{name} is not this user's alone")
    return fd


def _owned(found: os.stat_result) -> bool:
    """Whether what was found is this user's, and no one else may write it."""
    return found.st_uid == os.getuid() and not found.st_mode & 0o022


def _entries(folder: int) -> list[os.DirEntry[str]]:
    try:
        return list(os.scandir(folder))
    except OSError:
        return []


def _remove_version(name: str, parent: int) -> None:
    """Removes another version's folder in the folder open as `parent`: the files sitegen keeps in it, then the
    folder if that left it empty. Never through a symbolic link, and never deeper: sitegen makes no folder there."""
    try:
        fd = os.open(name, _DIRECTORY, dir_fd=parent)
    except OSError:  # a link, or removed by another build meanwhile
        return
    try:
        for entry in _entries(fd):
            if _COMPILED.fullmatch(entry.name) or _PART.fullmatch(entry.name):
                _remove(entry.name, fd)
    finally:
        os.close(fd)
    _remove(name, parent)  # once empty


def _remove(name: str, parent: int) -> None:
    """Removes the file, link or empty folder `name` in the folder open as `parent`, as far as it can."""
    try:
        if stat.S_ISDIR(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode):
            os.rmdir(name, dir_fd=parent)
        else:
            os.unlink(name, dir_fd=parent)
    except OSError:  # not empty, removed by another build meanwhile, or not removable: the cache still works
        pass


@functools.cache  # the running code does not change
def _compiler_version() -> str:
    """This module's, Jinja2's and Python's version: what sets the code a template compiles to."""
    return digest(Path(__file__).read_bytes() + f"\0jinja2={jinja2.__version__}\0{sys.implementation.cache_tag}".encode())


class TemplateCache(BytecodeCache):
    """Jinja2's cache of compiled templates, one file per template in a folder (compiled_templates) that is read
    and written through the descriptor it was opened as, each file opened never through a symbolic link. Jinja2
    uses a file only for a template whose source is the one it was compiled from; one it cannot read is compiled
    again. A folder that cannot be written is no cache: the templates are compiled as without one."""

    def __init__(self, folder: Path, fd: int) -> None:
        self.folder = folder  # where it is, to report
        self._fd = fd
        weakref.finalize(self, os.close, fd)

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            # not blocking: a FIFO put there would keep the build waiting for a writer
            fd = os.open(f"{bucket.key}.cache", os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=self._fd)
        except OSError:
            return
        with open(fd, "rb") as file:
            found = os.fstat(fd)
            if not (stat.S_ISREG(found.st_mode) and _owned(found)):
                return
            try:
                bucket.load_bytecode(file)
            except Exception:  # noqa: BLE001 - Jinja2 passes over a wrong header, not every damaged file
                bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        # written whole under a name of its own, then renamed: another build never reads half a template
        name = f"{bucket.key}.cache"
        part = f"{name}.{secrets.token_hex(8)}.tmp"
        try:
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=self._fd)
            with open(fd, "wb") as file:
                bucket.write_bytecode(file)
            os.replace(part, name, src_dir_fd=self._fd, dst_dir_fd=self._fd)
        except OSError:
            try:
                os.unlink(part, dir_fd=self._fd)
            except OSError:
                pass


def jsonld_script(data: Any) -> Markup:
    """JSON-LD for a <script type="application/ld+json"> element."""
    return Markup(jsonld.json_text(data))


def prose_html(env: Environment, text: str, citations: tuple[Citation, ...], findings_href: str) -> Markup:
    """Markdown to sanitized HTML, each `[@key]` group replaced by its numbered citation link(s)."""
    groups = iter(range(len(citations)))
    source = CITATION.sub(lambda _: _PLACEHOLDER.format(next(groups)), citable(_MARKERS.sub("", text)))
    html = markdown_html(source)
    if not (is_plain(source) and source.isprintable()):  # else one paragraph of printable text, which the
        # sanitizer would give back as it is (a no-break space it would write as &nbsp;, a NUL it would drop)
        html = nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, attribute_filter=_valid_value,
                         url_schemes=URL_SCHEMES,
                         link_rel="noopener")
    if not citations:  # most prose cites nothing: its HTML then depends on no template
        return Markup(html)
    template = env.get_template("_citation.html")
    links = [template.render(citation=c, findings_href=findings_href).strip() for c in citations]
    # In text a citation becomes its links; inside a tag (a link's title) only its numbers, as text.
    numbers = [html_text.escape("[" + ", ".join(str(n) for n in c.numbers) + "]") for c in citations]
    parts = _TAG.split(html)
    for i, part in enumerate(parts):
        if "\ue000" in part:
            chosen = numbers if i % 2 else links
            parts[i] = _PLACEHOLDERS.sub(lambda m, chosen=chosen: chosen[int(m.group(1))], part)
    return Markup("".join(parts))


def inline_html(html: Markup) -> Markup:
    """Prose rendered for a place that is already a block (a list item, a table cell): the outer <p> removed."""
    text = str(html)
    if text.startswith("<p>") and text.endswith("</p>") and text.count("<p>") == 1:
        return Markup(text[3:-4])
    return html


def render_site(site: Site, project: Project) -> dict[str, bytes]:
    """Every output file of the site, as bytes, keyed by its path relative to the output folder."""
    return render_incremental(site, project).files


@dataclass(frozen=True)
class Output:
    """One output file and what rendering it read: each dependency's key and fingerprint at that moment."""

    data: bytes
    reads: dict[Key, str]


@dataclass(frozen=True)
class RenderRecord:
    """A build's output files, each with what it read. Given to the next build, it lets that build reuse every
    output whose reads all still have the same fingerprint, and render only the others."""

    outputs: dict[str, Output]
    rendered: tuple[str, ...]  # the outputs this build rendered; the rest were reused
    templates: tuple[Path, ...]  # where its templates were looked up (a project's own folder may appear later)
    environment: Environment = field(repr=False)  # reused, with its compiled templates, by the next build

    @property
    def files(self) -> dict[str, bytes]:
        """Every output file, as bytes, keyed by its path relative to the output folder."""
        return {name: output.data for name, output in self.outputs.items()}


class EntryHtml:
    """The glossary page's entries as HTML (_glossary_entry.html), each made once for its term and the pages that
    use it: the trials of a catalog list the same terms, mostly used on the same pages. Made while one build
    lasts (templates do not change under it), in each process; past MAX_ENTRIES, it starts again."""

    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self.made: dict[tuple[str, tuple[Use, ...]], Markup] = {}

    def of(self, env: Environment, entries: Iterable[Entry]) -> Markup:
        """The HTML of each entry, one after the other."""
        made = self.made
        html = []
        for entry in entries:
            key = (entry.id, entry.uses)  # in one build, the id is one term's
            if key not in made:
                if len(made) >= self.MAX_ENTRIES:
                    made.clear()
                made[key] = Markup(render_template(env, "_glossary_entry.html", {"entry": entry}))
            html.append(made[key])
        return Markup("".join(html))


@dataclass(frozen=True)
class Reused:
    """What a process rendering one trial of a catalog after another makes once and reuses: the template
    environment (catalog_environment), a finder of the shared glossary's terms, and its entries' HTML."""

    environment: Environment
    finder: TermFinder | None
    entries: EntryHtml = field(default_factory=EntryHtml)


def render_incremental(
    site: Site, project: Project, previous: RenderRecord | None = None, reused: Reused | None = None,
    whole_site: bool = True, record: bool = True,
) -> RenderRecord:
    """Render the site, reusing from `previous` every output whose reads are unchanged; record what each read.

    The result is byte for byte what a build without `previous` gives: an output is reused only when everything
    its rendering read (trial fields, settings, templates, prose and its citations, references, static files)
    has the fingerprint it had then, and rendering reads nothing else. Without `whole_site` (a trial of a catalog),
    only the trial's pages are made; the catalog makes the rest, and `reused` is what it reuses from trial to trial.
    Without `record`, reads are not noted (a catalog tracks what changed by trial; noting costs a quarter of the time).
    """
    env = reused.environment if reused is not None else _environment(project, previous)
    finder = reused.finder if reused is not None else None
    inputs = _Inputs(site, project, env, finder, reused.entries if reused is not None else EntryHtml())
    outputs = inputs.outputs  # the glossary page reads the pages made before it
    rendered: list[str] = []
    made_by: dict[str, str] = {}
    for name, label, produce in _producers(site, project, env, inputs, whole_site, record):
        if name in made_by:  # a static file of the project named like a page would silently replace it
            raise ContentError([Problem(name, 0, 0, f"two outputs on one path: made by {made_by[name]} and by "
                                        f"{label}; give one of them another name")])
        made_by[name] = label
        before = previous.outputs.get(name) if previous is not None else None
        if before is not None and fresh(before.reads, inputs.fingerprint):
            outputs[name] = before
            continue
        with recording(inputs if record else None) as reads:
            data = produce()
        outputs[name] = Output(data, reads.fingerprints)
        rendered.append(name)
    return RenderRecord(outputs, tuple(rendered), tuple(project.template_folders), env)


def _producers(
    site: Site, project: Project, env: Environment, inputs: _Inputs, whole_site: bool, record: bool
) -> list[tuple[str, str, Callable[[], bytes]]]:
    """Each output file, with what makes it (named in messages) and the function that makes it. With `record`, they
    read the site through recorders (Recorded, RecordedList, _ProseReader, _PlainReader), so what each reads is
    noted while it runs; without, the trial, settings and pages are read as they are (a catalog notes less)."""
    trial = cast(Trial, Recorded(site.trial, ("trial",))) if record else site.trial
    settings = cast(Settings, Recorded(site.settings, ("site",))) if record else site.settings
    pages = cast(list[Page], RecordedPages(site.pages)) if record else site.pages
    plain = cast(dict[str, str], _PlainReader(inputs.plain_texts))
    cited = cast(tuple[CitedReference, ...], RecordedList(("cited",), site.citations.references))
    shared: dict[str, Any] = {
        "site": settings, "trial": trial, "pages": pages,
        "references": RecordedList(("value", "references"), inputs.references), **inputs.values,
        # what the pages any trial may have (FAQ, findings, glossary, 404) extend: a registry trial's footer dates
        # the record, and a partial record has no date at all
        "layout": "_registry_page.html" if isinstance(site.trial, RegistryTrial) else "base.html",
        "home_label": "the summary of the trial",  # for 404.html
    }

    def page_html(page: Page, references: tuple[CitedReference, ...]) -> bytes:
        view = cast(Page, Recorded(page, ("page", page.file))) if record else page
        glossary = site.glossary if page.slug == GLOSSARY else None
        if glossary is not None:
            note(("glossary",))
        context = {
            **shared, "page": view, "prose": _ProseReader(env, page, site.citations),
            "canonical": jsonld.page_url(settings.base_url, view),
            "jsonld": jsonld.page_graph(trial, settings, view, pages, plain, references, glossary),
            "glossary_entries": glossary_entries(glossary, glossary_uses(), site.pages) if glossary else (),
            "entries_html": lambda entries: inputs.entries.of(env, entries),
        }
        text = render_template(env, view.template, context)
        if inputs.finder is not None and page.slug != GLOSSARY and not page.not_found:
            note(("glossary",))
            text = mark_terms(text, inputs.finder, f"{page.root}glossary/index.html")[0]
        return text.encode("utf-8")

    def glossary_uses() -> dict[str, tuple[str, ...]]:
        """The terms marked on each page made so far (the glossary page comes after them all)."""
        uses = {}
        for page in site.pages:
            if page.file in inputs.outputs:
                note(("uses", page.file))
                uses[page.slug] = used_terms(inputs.outputs[page.file].data)
        return uses

    def sitemap() -> bytes:
        modified = trial.updated.isoformat()
        return sitemaps(env, settings, [(p.path, modified) for p in pages])["sitemap.xml"]

    def feed() -> bytes:
        return (jsonld.json_text(jsonld.feed(trial, settings, pages, plain)) + "\n").encode("utf-8")

    def static(name: str) -> bytes:
        data = read_static(project, name)
        note(("static", name), digest(data))
        return data

    producers: list[tuple[str, str, Callable[[], bytes]]] = [
        (page.file, f"the {page.nav_title} page", lambda page=page: page_html(page, cited))  # type: ignore[misc]
        for page in site.pages
    ]
    if not whole_site:
        return producers
    producers.append((inputs.not_found.file, "the 404 page", lambda: page_html(inputs.not_found, ())))
    producers += [("sitemap.xml", "the sitemap", sitemap), ("robots.txt", "robots.txt", lambda: robots_txt(env, settings))]
    producers.append(("feed.jsonld", "the feed", feed))
    producers += [(name, f"the static file {project.static_file(name)}", lambda name=name: static(name))  # type: ignore[misc]
                  for name in project.static_names(STATIC_FILES)]
    return producers


def read_static(project: Project, name: str) -> bytes:
    """A static file, the project's own or sitegen's, or a ContentError naming it."""
    return read_input(project.static_file(name))


class _Inputs:
    """What one build renders from, and the fingerprint of each piece of it an output can read (by key)."""

    def __init__(self, site: Site, project: Project, env: Environment, finder: TermFinder | None,
                 entries: EntryHtml) -> None:
        self.site, self.project, self.env, self.entries = site, project, env, entries
        trial, citations = site.trial, site.citations
        self.references = [
            {"number": r.number, "html": Markup(r.reference.html), "backlinks": r.backlinks}
            for r in citations.references
        ]
        # Values templates read by name; each is noted whole when a template looks its name up.
        self.values: dict[str, object] = {
            "sources": {r.reference.key: short_source(r.reference) for r in citations.references},
            **display_labels(trial, _units(site.glossary)),
        }
        self.not_found = not_found_page(trial, urlparse(site.settings.base_url).path or "/")
        self.pages = {p.file: p for p in [*site.pages, self.not_found]}
        self.by_slug = {p.slug: p for p in site.pages}
        self.plain_texts = {_dotted(f.path): f.text for p in site.pages for f in p.prose}
        self.prose_fields: dict[tuple[str, PathKey], list[ProseField]] = {}  # by page and path: looked up, not scanned
        for p in site.pages:
            for f in p.prose:
                self.prose_fields.setdefault((p.slug, f.path), []).append(f)
        self.finder = finder or (TermFinder(site.glossary) if site.glossary is not None else None)
        self.outputs: dict[str, Output] = {}  # filled as the build goes
        self._known: dict[Key, str] = {}

    def fingerprint(self, key: Key) -> str:
        """The fingerprint, in this build, of what `key` names (the same value gives the same fingerprint)."""
        if key not in self._known:
            self._known[key] = self._compute(key)
        return self._known[key]

    def _compute(self, key: Key) -> str:
        kind, *rest = key
        site = self.site
        if kind == "template":
            return template_digest(self.env, rest[0])
        if kind == "static":
            path = self.project.static_file(rest[0])
            return digest(read_input(path)) if path.is_file() else MISSING
        if kind == "trial":
            return fingerprint(getattr(site.trial, rest[0], MISSING))
        if kind == "site":
            return fingerprint(getattr(site.settings, rest[0], MISSING))
        if kind == "page":
            page = self.pages.get(rest[0])
            return fingerprint(getattr(page, rest[1], MISSING) if page is not None else MISSING)
        if kind == "pages":
            if rest == ["len"]:
                return fingerprint(len(site.pages))
            index, attribute = rest
            return fingerprint(getattr(site.pages[index], attribute, MISSING) if index < len(site.pages) else MISSING)
        if kind == "value":
            value = self.references if rest[0] == "references" else self.values.get(rest[0], MISSING)
            return fingerprint(bool(value) if rest[1:] == ["bool"] else value)
        if kind == "cited":
            return fingerprint(bool(site.citations.references) if rest == ["bool"] else site.citations.references)
        if kind == "prose":
            page = self.by_slug.get(rest[0])
            if page is None:
                return MISSING
            fields = page.prose if len(rest) == 1 else self.prose_fields.get((page.slug, rest[1]), [])
            return fingerprint([_prose_inputs(page, f.path, f.text, site.citations) for f in fields])
        if kind == "plain":
            return fingerprint(self.plain_texts.get(rest[0], MISSING))
        if kind == "glossary":
            return fingerprint(site.glossary)
        if kind == "uses":
            output = self.outputs.get(rest[0])
            return fingerprint(used_terms(output.data) if output is not None else MISSING)
        raise ValueError(f"unknown kind of dependency: {key!r}")


def _findings_href(page: Page) -> str:
    return f"{page.root}findings/index.html" if page.slug != "findings" else ""


def _prose_inputs(page: Page, path: PathKey, text: str, citations: Citations) -> tuple[object, ...]:
    """Everything a prose field's HTML is made from, besides _citation.html (noted when it is loaded)."""
    return (path, text, citations.groups.get((page.slug, path)), _findings_href(page))


class _ProseReader(Mapping[PathKey, Markup]):
    """A page's prose fields as HTML, rendered when a template reads one, and noted as read."""

    def __init__(self, env: Environment, page: Page, citations: Citations) -> None:
        self._env, self._page, self._citations = env, page, citations
        self._texts = {f.path: f.text for f in page.prose}

    def __getitem__(self, path: PathKey) -> Markup:
        note(("prose", self._page.slug, path))
        text = self._texts[path]
        return prose_html(self._env, text, self._citations.groups[(self._page.slug, path)], _findings_href(self._page))

    def __iter__(self) -> Iterator[PathKey]:
        note(("prose", self._page.slug))
        return iter(self._texts)

    def __len__(self) -> int:
        note(("prose", self._page.slug))
        return len(self._texts)


class _PlainReader(Mapping[str, str]):
    """Prose as plain text (for JSON-LD), by dotted path, made when read and noted as read."""

    def __init__(self, texts: dict[str, str]) -> None:
        self._texts = texts

    def __getitem__(self, dotted: str) -> str:
        note(("plain", dotted))
        return plain_text(self._texts[dotted])

    def __iter__(self) -> Iterator[str]:
        raise TypeError("read plain texts one by one, so that each read is noted")

    def __len__(self) -> int:
        return len(self._texts)


def catalog_environment(project: Project) -> Environment:
    """A template environment for one catalog build: for its trials (reused from one trial to the next), or for its
    own pages. Templates cannot change under one build: the catalog fingerprints them before it starts, and every
    output that renders one notes that fingerprint ('shared'). So a compiled template is not checked against its
    file again on each use, and the templates an output uses are not noted one by one (which would depend on which
    process loaded a template first)."""
    env = make_environment(project.template_folders, compiled_templates(), note_templates=False)
    env.auto_reload = False
    return env


def _environment(project: Project, previous: RenderRecord | None) -> Environment:
    """The previous build's environment when it used the same templates (its compiled templates are checked
    against the files on each use), else a new one."""
    if previous is not None and previous.templates == tuple(project.template_folders):
        return previous.environment
    return make_environment(project.template_folders, compiled_templates())


def _units(glossary: Glossary | None) -> dict[str, str]:
    """What each abbreviation of the glossary stands for, to spell units out where criteria use them."""
    return {t.abbreviation: t.term for t in glossary.terms if t.abbreviation} if glossary is not None else {}


def render_template(env: Any, template: str, context: dict[str, Any]) -> str:
    """Render one template, turning template mistakes into a Problem naming the template file and line."""
    try:
        return str(env.get_template(template).render(context))
    except TemplateSyntaxError as e:
        raise ContentError([Problem(e.filename or template, e.lineno or 0, 1, f"template syntax error: {e.message}")]) from None
    except (UndefinedError, TemplateError, ArithmeticError, LookupError, TypeError, ValueError, RecursionError,
            MemoryError) as e:  # (a template asking for more memory than there is: its string was never made)
        name, line = _template_line(e, template)
        folders = [Path(p) for p in getattr(env.loader, "searchpath", ["templates"])]
        folder = next((f for f in folders if (f / name).is_file()), folders[0])
        message = str(e) if isinstance(e, TemplateError) else f"{type(e).__name__}: {e}".removesuffix(": ")
        raise ContentError([Problem(str(folder / name), line, 1, f"template error: {message}")]) from None


def _template_line(error: BaseException, template: str) -> tuple[str, int]:
    """The template file and line a render error happened at, from the traceback Jinja2 rewrites."""
    tb = error.__traceback__
    found = (template, 0)
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith(".html"):
            found = (Path(name).name, tb.tb_lineno)
        tb = tb.tb_next
    return found


def _dotted(path: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in path)


def short_source(ref: Reference) -> str:
    """A reference as the listing shows a finding's source: title, first three authors, et al., year."""
    authors = ", ".join(ref.authors[:3]) + (", et al" if len(ref.authors) > 3 or ref.authors_truncated else "")
    name = ref.title or ref.journal  # a cited entry may lack a title
    parts = [full_stop(name) if name else "", f"{authors}." if authors else "", ref.year]  # ('Does it work?' as it is)
    return " ".join(p for p in parts if p)


def sitemaps(env: Environment, settings: Settings, urls: list[tuple[str, str | None]]) -> dict[str, bytes]:
    """sitemap.xml; past MAX_SITEMAP_URLS, a sitemap index of sitemap-1.xml, sitemap-2.xml, ..."""
    base = settings.base_url
    entries = [(base + path, modified) for path, modified in urls]
    if len(entries) <= MAX_SITEMAP_URLS:
        return {"sitemap.xml": render_template(env, "sitemap.xml", {"entries": entries}).encode("utf-8")}
    parts = [entries[i:i + MAX_SITEMAP_URLS] for i in range(0, len(entries), MAX_SITEMAP_URLS)]
    files = {f"sitemap-{n}.xml": render_template(env, "sitemap.xml", {"entries": part}).encode("utf-8")
             for n, part in enumerate(parts, 1)}
    files["sitemap.xml"] = render_template(env, "sitemap-index.xml", {"sitemaps": [base + name for name in files]}).encode("utf-8")
    return files


def robots_txt(env: Environment, settings: Settings) -> bytes:
    """robots.txt, pointing at the sitemap."""
    return render_template(env, "robots.txt", {"base_url": settings.base_url}).encode("utf-8")
