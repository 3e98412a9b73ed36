"""Find content that time has made stale: a date the content gives as future that has passed, a registry trial still
recruiting after its primary completion date, a registry record not updated for longer than site.yaml allows.

Only `sitegen check` asks (with today's date, or `--today`); a build never reads the clock.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from . import imported
from .errors import ContentError, Problem
from .inputs import load_json
from .load import Document, load_yaml, read_text
from .pages import spots_past
from .registry import RegistryDate, last_day, read_study
from .validate import validate_settings, warning_at


def stale_content(content: Path, today: datetime.date) -> list[Problem]:
    """Warnings, at FILE:LINE, about every stale date in content/ (a single trial or a catalog)."""
    try:
        max_age = validate_settings(load_yaml(content / "site.yaml")).registry_max_age_days
    except (ContentError, OSError):
        return []  # the check reports a broken site.yaml itself
    folder = content / "trials"
    trials = sorted(folder.glob("*.yaml")) if folder.is_dir() else [content / "trial.yaml"]
    found: list[Problem] = []
    for path in trials:
        try:
            doc: Document | None = load_yaml(path)
        except (ContentError, OSError):
            doc = None  # the check reports a broken file itself
        found += _passed_dates(doc, path, today) if doc is not None else []
        record = path.with_name(path.name.removesuffix(".yaml") + ".ctgov.json")
        if record.is_file():
            # a status the editor's file sets wins over the registry's (see imported.py): theirs to keep current
            editor_status = doc is not None and isinstance(doc.data, dict) and "status" in doc.data
            found += _stale_record(record, today, max_age, editor_status)
    return found


def _passed_dates(doc: Document, path: Path, today: datetime.date) -> list[Problem]:
    """A projection the content dates in the future ('spots left by May 2026') whose date has passed since the content
    was last checked. One that had passed by then is the build's own warning (validate.content_warnings), at the same
    line, in words that say why the page calls the count old: said once, not twice."""
    spots = doc.data.get("spots_left") if isinstance(doc.data, dict) else None
    by = spots.get("by") if isinstance(spots, dict) else None
    end = last_day(by) if isinstance(by, str) else None
    if by is None or end is None or end >= today or _passed_when_checked(doc, path):
        return []
    when = RegistryDate(by).label
    return [warning_at(doc, ("spots_left", "by"), f"the date {when} ({by}) has passed: 'spots left by {when}' is no longer "
                     "a projection; check the count against the listing and update or remove spots_left")]


def _passed_when_checked(doc: Document, path: Path) -> bool:
    """Whether the trial's `spots_left.by` had passed on its `updated` date (the registry record's, when the editor's
    file gives none), as the build judges it (pages.spots_past). Only asked of a date that has passed."""
    try:
        return spots_past(imported.validate(doc, path))
    except (ContentError, OSError):
        return False  # the check reports a broken trial itself


def _stale_record(path: Path, today: datetime.date, max_age: int, editor_status: bool) -> list[Problem]:
    """A registry record whose status may be out of date: recruiting past its primary completion (unless the
    editor's file sets the status), or not updated for more than `max_age` days."""
    try:
        text = read_text(path)
        study = read_study(load_json(str(path), text), str(path))
    except (ContentError, OSError, UnicodeError, ValueError):
        return []  # the build reports a broken record
    lines = text.splitlines()
    again = f"re-import it with `sitegen import {study.nct_id}` (or every imported trial: `sitegen import --refresh`)"
    found = []
    end = study.primary_completion.last_day() if study.primary_completion else None
    if study.open and not editor_status and study.primary_completion is not None and end is not None and end < today:
        found.append(Problem(str(path), _date_line(lines, "primaryCompletionDateStruct"), 1,
                             f"{study.nct_id} is '{study.status_label}' but its primary completion date, "
                             f"{study.primary_completion.label}, has passed: the status may be out of date; {again}",
                             "warning"))
    # a record that gives no last update (a partial one) is as old as its first posting, as the build dates it
    dated, key, said = ((study.last_update, "lastUpdatePostDateStruct", "was last updated on") if study.last_update
                        else (study.first_posted, "studyFirstPostDateStruct", "gives no last update; it was first posted on"))
    updated = dated.last_day() if dated else None
    if dated is not None and updated is not None and (today - updated).days > max_age:
        found.append(Problem(str(path), _date_line(lines, key), 1,
                             f"{study.nct_id}'s registry record {said} {dated.label}, more "
                             f"than {max_age:,} days ago (registry_max_age_days in site.yaml): its status may be out of "
                             f"date; {again}", "warning"))
    return found


def _date_line(lines: list[str], key: str) -> int:
    """The line of the date inside `key`'s object in a record written with one key per line (0 when not found)."""
    start = next((i for i, line in enumerate(lines) if f'"{key}"' in line), None)
    if start is None:
        return 0
    return next((i + 1 for i in range(start, min(start + 4, len(lines))) if '"date"' in lines[i]), start + 1)
