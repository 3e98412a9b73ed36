"""Where a site's inputs are and where it is published: the project's folders, with sitegen's own templates and
static files beneath the project's, the base URL, and the report of what a build did."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from .errors import ContentError, Problem

PACKAGE = Path(__file__).resolve().parent
TEMPLATES = PACKAGE / "templates"  # sitegen's own templates and static files, shipped inside the package
STATIC = PACKAGE / "static"


@dataclass(frozen=True)
class Project:
    """Where a site's inputs are: content/, and the project's own templates/ and static/ folders, whose files
    override sitegen's files of the same name one at a time (either folder may be missing)."""

    content: Path
    templates: Path
    static: Path

    @classmethod
    def at(cls, content: Path, templates: Path | None = None, static: Path | None = None) -> Project:
        """A project whose own templates and static files are beside content/, unless other folders are given."""
        root = content.resolve().parent
        return cls(content, templates or root / "templates", static or root / "static")

    @property
    def template_folders(self) -> list[Path]:
        """Where templates are looked up, in order: the project's own folder (when there is one), then sitegen's."""
        return [self.templates, TEMPLATES] if self.templates.is_dir() else [TEMPLATES]

    def static_file(self, name: str) -> Path:
        """The static file `name`: the project's own, or sitegen's when the project has none of that name."""
        own = self.static / name
        return own if os.path.lexists(own) else STATIC / name  # whatever is there is the project's (a FIFO is refused)

    def static_names(self, used: tuple[str, ...] = ()) -> list[str]:
        """The static files a site publishes, sorted: the `used` ones of sitegen's, and every file of the project's
        own static folder (a logo, a font), or with no `used`, every static file of sitegen's and the project's.

        A folder in the project's static folder is a ContentError: its files would not be published, and the pages
        linking to them would be broken. Anything else there that is not a regular file (a FIFO, a link to a
        device) is named, so that reading it refuses it; a link to nothing (an editor's lock file) is not a file."""
        entries = sorted(self.static.iterdir()) if self.static.is_dir() else []
        folders = [Problem(str(p), 0, 0, "a folder: only the files in the static folder itself are published, at the "
                           "site's root, so the files in this one would be missing from the site; move them up")
                   for p in entries if p.is_dir()]
        if folders:
            raise ContentError(folders)
        own = [p.name for p in entries if p.exists()]
        sitegen = used or tuple(p.name for p in STATIC.iterdir() if p.is_file())
        return sorted({*sitegen, *own})


_NOT_IN_URL = re.compile(r'[\x00-\x1f\x7f"<>\\^`{|}]')  # characters RFC 3986 has no place for, as written


def site_url(url: str) -> str:
    """A base URL checked, as a URI (a non-ASCII host in IDNA, a non-ASCII path percent-encoded) ending in '/', or
    ValueError saying what is wrong with it."""
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed '[' of an IPv6 address, say
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("an absolute http:// or https:// URL with a host, e.g. https://example.org/trials/")
    if parts.query or parts.fragment or "?" in url or "#" in url or any(c.isspace() for c in url):
        raise ValueError("a URL without a query (?), a fragment (#) or spaces")
    unsafe = _NOT_IN_URL.search(url)
    if unsafe:  # a browser reads 'https://ex\\ample.org/' as the host 'ex'
        raise ValueError(f"a URL without the character {unsafe.group(0)!r} (write it percent-encoded)")
    if "@" in parts.netloc:  # it would be published on every page
        raise ValueError("a URL without a user name or password (user:password@)")
    try:
        port = parts.port
        host = parts.hostname.encode("idna").decode("ascii")
    except (ValueError, UnicodeError) as e:
        raise ValueError(f"a URL with a valid host and a port from 0 to 65535 ({e})") from None
    host = f"[{host}]" if ":" in host else host  # an IPv6 address
    path = quote(parts.path, safe="/%:@!$&'()*+,;=-._~")
    uri = urlunsplit((parts.scheme, host if port is None else f"{host}:{port}", path, "", ""))
    return uri if uri.endswith("/") else uri + "/"


@dataclass(frozen=True)
class BuildReport:
    """What a build did: the site's trials and files, which files it wrote (their bytes changed), and how many
    trials it rendered (the others were unchanged)."""

    trials: int
    files: tuple[str, ...]
    written: tuple[str, ...]
    rendered: int
    behind: tuple[str, ...] = ()  # outputs left to a later build (a catalog's own, under serve)

    def summary(self, output: Path, seconds: float) -> str:
        """One line: 'Built 3 trials into output/: 24 pages (8 written, 16 unchanged) and 12 other files in 0.31 s'."""
        pages = sum(name.endswith(".html") for name in self.files)
        written = sum(name.endswith(".html") for name in self.written)
        trials = f"{self.trials:,} trial{'s' if self.trials != 1 else ''}"
        return (f"Built {trials} into {output}/: {pages:,} pages ({written:,} written, {pages - written:,} unchanged) "
                f"and {len(self.files) - pages:,} other files in {seconds:.2f} s")
