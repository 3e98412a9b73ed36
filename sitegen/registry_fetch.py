"""Fetch study records from the ClinicalTrials.gov API v2 (`/studies/{NCT ID}` and `/studies?query.term=...`).

The only module of sitegen that touches the network, with the standard library alone: every request has a
timeout for each wait and a deadline for the whole answer, a 429 or 5xx answer (or a dropped connection or timeout)
is tried again after a wait that doubles each time or that the server's Retry-After asks for (capped), and a
response is read up to a size limit.
"""

from __future__ import annotations

import email.utils
import http.client
import io
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from . import __version__
from .errors import ContentError
from .inputs import load_json

DEFAULT_API_URL = "https://clinicaltrials.gov/api/v2"
NCT_ID = re.compile(r"NCT[0-9]{8}")  # ASCII digits: \d takes any script's (NCT٠٠٤١٥٢٢٠), which no URL or file name should hold
MAX_RESPONSE_BYTES = 64 * 1024 * 1024  # a page of 100 studies of the largest shared real record (235 KB) is 24 MB
PAGE_SIZE = 100  # studies per search page (the API allows up to 1,000)
TIMEOUT = 30.0  # seconds to wait for the server to answer, per request
DEADLINE = 120.0  # seconds for a whole answer: a server that sends a byte every 29 s never meets TIMEOUT
TRIES = 5  # a request is made at most this many times
FIRST_WAIT = 1.0  # seconds before the second try; doubled before each further one
MAX_WAIT = 60.0  # no wait is longer, whatever Retry-After asks
STATUSES = ("ACTIVE_NOT_RECRUITING", "COMPLETED", "ENROLLING_BY_INVITATION", "NOT_YET_RECRUITING", "RECRUITING",
            "SUSPENDED", "TERMINATED", "WITHDRAWN", "AVAILABLE", "NO_LONGER_AVAILABLE", "TEMPORARILY_NOT_AVAILABLE",
            "APPROVED_FOR_MARKETING", "WITHHELD", "UNKNOWN")


class FetchError(Exception):
    """A request that failed for good: the message says which study or search and why."""


class TooSlow(TimeoutError):
    """An answer that kept coming, but did not all come within the deadline."""


@dataclass
class Registry:
    """The API at `api_url`. `sleep` is injectable so that tests of the retries do not wait."""

    api_url: str = DEFAULT_API_URL
    timeout: float = TIMEOUT
    deadline: float = DEADLINE
    tries: int = TRIES
    max_bytes: int = MAX_RESPONSE_BYTES
    sleep: Callable[[float], None] = field(default=time.sleep)

    def study(self, nct_id: str) -> dict[str, Any]:
        """The study with this NCT ID, as the API returns it."""
        if not NCT_ID.fullmatch(nct_id):  # checked before it goes into a URL
            raise FetchError(f"'{nct_id}' is not an NCT ID (NCT and 8 digits, 0-9, e.g. NCT05836571)")
        answer = self._get(f"{self.api_url.rstrip('/')}/studies/{nct_id}?format=json", nct_id)
        if not isinstance(answer, dict):
            raise FetchError(f"{nct_id}: the registry answered with something that is not a study")
        return answer

    def search(self, text: str, statuses: list[str], limit: int) -> Iterator[dict[str, Any]]:
        """The studies matching `text` (and one of `statuses`, if any), page after page, at most `limit`."""
        params = {"query.term": text, "format": "json"}
        if statuses:
            params["filter.overallStatus"] = ",".join(statuses)
        token, given = None, 0
        tokens: set[str] = set()  # every page token the registry has named, to tell pages that never end
        while given < limit:
            page = dict(params, pageSize=str(min(PAGE_SIZE, limit - given)))
            if token:
                page["pageToken"] = token
            answer = self._get(f"{self.api_url.rstrip('/')}/studies?{urllib.parse.urlencode(page)}", f"search '{text}'")
            studies = answer.get("studies") if isinstance(answer, dict) else None
            if not isinstance(studies, list):
                raise FetchError(f"search '{text}': the registry answered with something that is not a page of studies")
            for study in studies[: limit - given]:
                yield study
                given += 1
            token = answer.get("nextPageToken")
            if not isinstance(token, str) or not token or given >= limit:  # the last page has none
                return
            if not studies or token in tokens:  # a server that pages forever, with new tokens or the same again
                why = "holds no study but names a next page" if not studies else "names a page it named before"
                raise FetchError(f"search '{text}': page {len(tokens) + 1} of the registry's answer {why}, so its pages "
                                 "would never end; the studies of the pages up to it are imported")
            tokens.add(token)

    def _get(self, url: str, what: str) -> Any:
        """The JSON at `url`, tried again on 429, 5xx, a dropped connection or a timeout."""
        request = urllib.request.Request(url, headers={"Accept": "application/json",
                                                       "User-Agent": f"sitegen/{__version__} (registry import)"})
        failure = "not tried"
        for attempt in range(1, self.tries + 1):
            wait = min(FIRST_WAIT * 2 ** (attempt - 1), MAX_WAIT)
            try:
                body = self._answer(request)
                if len(body) > self.max_bytes:
                    raise FetchError(f"{what}: the answer is larger than {self.max_bytes:,} bytes; refused")
                try:
                    return load_json(url, body)  # as a record in a file is read: NaN, 1e999 or 1,000 levels are not JSON
                except ContentError as e:
                    problem = e.problems[0]
                    where = f"line {problem.line}, column {problem.column}: " if problem.line else ""
                    raise FetchError(f"{what}: the registry's answer is not JSON the import reads ({where}"
                                     f"{problem.message})") from None
            except urllib.error.HTTPError as e:
                if e.code == 404:
                    raise FetchError(f"{what}: not found in the registry (404 from {url})") from None
                if e.code != 429 and e.code < 500:
                    said = " ".join(e.read(300).decode("utf-8", "replace").split())  # the API says what it disliked
                    refusal = " ".join(f"{e.reason}".split())  # urllib's word for a redirect loop runs to three lines
                    raise FetchError(f"{what}: the registry refused the request ({e.code} {refusal}"
                                     f"{': ' + said if said else ''})") from None
                failure = f"{e.code} {e.reason}"
                asked = retry_after(e.headers.get("Retry-After"))
                wait = min(wait if asked is None else asked, MAX_WAIT)
            except ValueError as e:  # a redirect to what is no URL ('http://[::1'): urllib cannot even parse it
                raise FetchError(f"{what}: the registry sent the request on to an address that cannot be followed "
                                 f"({e})") from None
            except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as e:
                reason = getattr(e, "reason", e)
                failure = f"{e}" if isinstance(e, TooSlow) else "no answer in time" if isinstance(reason, TimeoutError) \
                    else f"{reason}"
            if attempt < self.tries:
                self.sleep(wait)
        raise FetchError(f"{what}: {failure}, {self.tries} times; nothing was written for it")

    def _answer(self, request: urllib.request.Request) -> bytes:
        """The body of the answer to `request` (up to max_bytes + 1), or TimeoutError when it has not all come within
        the deadline. Its reading runs in a thread of its own: a name that resolves slowly, headers or a body sent a
        byte at a time hold only that thread, whose connections are shut at the deadline, which ends it."""
        given: list[bytes | BaseException] = []
        deadline = time.monotonic() + self.deadline
        connections = _Connections()

        def fetch() -> None:
            try:
                opener = urllib.request.build_opener(connections, _HttpRedirects())
                with opener.open(request, timeout=self.timeout) as response:
                    body = bytearray()
                    while len(body) <= self.max_bytes and time.monotonic() < deadline:
                        chunk = response.read1(min(65536, self.max_bytes + 1 - len(body)))
                        if not chunk:
                            break
                        body += chunk
                    if time.monotonic() >= deadline:
                        raise TooSlow(f"no whole answer within {self.deadline:g} s")
                    missing = getattr(response, "length", None)
                    if missing and len(body) <= self.max_bytes:  # read1 takes a closed connection for the end
                        raise ConnectionError(f"the answer ended after {len(body):,} bytes, {missing:,} fewer than it "
                                              "announced")
                    given.append(bytes(body))
            except urllib.error.HTTPError as e:  # what the server says with a refusal is read here, in time, too
                given.append(urllib.error.HTTPError(e.url, e.code, e.msg, e.headers, io.BytesIO(e.read(300))))
            except Exception as e:  # noqa: BLE001 - raised again in the caller, which tells a refusal from a failure
                given.append(e)

        worker = threading.Thread(target=fetch, name="registry request", daemon=True)
        worker.start()
        worker.join(self.deadline)
        if not given:
            connections.shut()
            raise TooSlow(f"no whole answer within {self.deadline:g} s")
        if isinstance(given[0], BaseException):
            raise given[0]
        return given[0]


class _Connections(urllib.request.HTTPHandler, urllib.request.HTTPSHandler):
    """urllib's http and https handlers, keeping each connection they make, so that a caller can shut them: a thread
    blocked reading one then reads its end."""

    def __init__(self) -> None:
        super().__init__()
        self.made: list[http.client.HTTPConnection] = []

    def do_open(self, http_class: Any, req: urllib.request.Request, **kwargs: Any) -> http.client.HTTPResponse:
        def make(*args: Any, **named: Any) -> http.client.HTTPConnection:
            connection: http.client.HTTPConnection = http_class(*args, **named)
            self.made.append(connection)
            return connection

        return super().do_open(make, req, **kwargs)

    def shut(self) -> None:
        for connection in self.made:
            if connection.sock is not None:
                try:
                    connection.sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # closed already


class _HttpRedirects(urllib.request.HTTPRedirectHandler):
    """urllib's redirects, to http(s) addresses only: it follows one to ftp:// too, whose answer is no HTTP response."""

    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str,
                         headers: http.client.HTTPMessage, newurl: str) -> urllib.request.Request | None:
        if urllib.parse.urlsplit(newurl).scheme.lower() not in ("http", "https"):
            raise urllib.error.HTTPError(newurl, code, f"sent on to {newurl}, which is no http(s) address", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def retry_after(value: str | None) -> float | None:
    """The seconds a Retry-After header asks to wait (a number or an HTTP date), None when it says nothing usable."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"[0-9]+", value):  # ASCII digits: isdigit() takes '²', which float() refuses
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
