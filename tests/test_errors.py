"""Bad content gets one clear message naming file, line, column and what was expected; output is left alone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from sitegen.build import build
from sitegen.cli import main
from sitegen import load
from sitegen.errors import ContentError
from sitegen.load import Position, load_yaml

TRIAL = Path(__file__).resolve().parent.parent / "content" / "trial.yaml"


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


# (case id, function from the default trial.yaml text to the bad text, expected message regex, line finder)
CASES = [
    ("syntax", lambda t: t.replace("condition: Soft tissue sarcoma", "condition: [Soft tissue sarcoma"),
     r"not valid YAML", None),
    # a quote left open: PyYAML finds out at the end of the file; the message is at the quote
    ("unclosed quote", lambda t: t.replace("\ntitle: Immunotherapy", '\ntitle: "Immunotherapy', 1),
     r'this " is never closed: expected a " before the end of the file \(line \d+\)', 'title: "Immunotherapy'),
    ("unclosed bracket", lambda t: t.replace("condition: Soft tissue sarcoma", "condition: [Soft tissue sarcoma"),
     r"while parsing a flow sequence \(from line \d+, column 12\), expected ',' or '\]'", None),
    ("tab", lambda t: t.replace("  min_age: 18", "\tmin_age: 18"), r"tab character", "\tmin_age"),
    ("duplicate key", lambda t: t.replace("phase: phase-2\n", "phase: phase-2\nphase: phase-3\n"),
     r"duplicate key 'phase' \(first given at line \d+\)", "phase: phase-3"),
    ("wrong type", lambda t: t.replace("intervention_count: 7", "intervention_count: seven"),
     r"arms\[0\]\.intervention_count: expected a whole number, got 'seven'", "intervention_count: seven"),
    ("list of strings", lambda t: t.replace("drugs: [nivolumab, ipilimumab]", "drugs: 3"),
     r"arms\[1\]\.drugs: expected a list, got a number \(3\)", "drugs: 3"),
    ("missing field", lambda t: t.replace("condition: Soft tissue sarcoma\n", ""),
     r"condition: missing required field", None),
    ("unknown field", lambda t: t.replace("  sex: any", "  sex: any\n  eligibilty_note: x"),
     r"eligibility\.eligibilty_note: unknown field 'eligibilty_note'", "eligibilty_note"),
    ("misspelt key hint", lambda t: t.replace("\neligibility:", "\neligibilty:"),
     r"unknown field 'eligibilty'; did you mean 'eligibility'\?", "eligibilty:"),
    ("not a date", lambda t: t.replace("updated: 2026-11-24", "updated: last week"),
     r"updated: expected a date \(YYYY-MM-DD\), got 'last week'", "updated: last week"),
    ("negative count", lambda t: t.replace("  others: 27", "  others: -27"),
     r"locations\.others: expected a number >= 0, got a number \(-27\)", "others: -27"),
    ("count past any trial", lambda t: t.replace("  others: 27", "  others: 99999999999999999999999999999"),
     r"locations\.others: expected a number <= 1000000000", "others: 9999"),
    ("age past any person", lambda t: t.replace("  min_age: 18", "  min_age: 180"),
     r"eligibility\.min_age: expected a number <= 150, got a number \(180\)", "min_age: 180"),
    ("non-integer count", lambda t: t.replace("hidden: 20", "hidden: 2.5"),
     r"eligibility\.inclusion\.hidden: expected a whole number", "hidden: 2.5"),
    ("status enumeration", lambda t: t.replace("status: recruiting", "status: open"),
     r"status: expected one of .*'recruiting'.*got 'open'", "status: open"),
    ("phase enumeration", lambda t: t.replace("phase: phase-2", "phase: II"), r"phase: expected one of", "phase: II"),
    ("arm type enumeration", lambda t: t.replace("type: experimental", "type: trial"),
     r"arms\[0\]\.type: expected one of", "type: trial"),
    ("duplicate arm id", lambda t: t.replace("id: arm-a", "id: arm-b"), r"arms\[1\]\.id: id 'arm-b' is already used",
     "id: arm-b\n    group: Group II"),
    ("arm names unknown drug", lambda t: t.replace("drugs: [nivolumab, ipilimumab]", "drugs: [nivolumab, ipilimumabb]"),
     r"arms\[1\]\.drugs\[1\]: 'ipilimumabb' is not the id of any drug.*did you mean 'ipilimumab'", "drugs: [nivolumab, ipilimumabb]"),
    ("approval repeated", lambda t: t.replace("approvals:\n", "approvals:\n  - drug: ipilimumab\n    brand: Yervoy\n    jurisdiction: Canada\n    indications: [Melanoma]\n", 1),
     r"Yervoy in Canada is listed twice", None),
    ("javascript url", lambda t: t.replace("url: https://clinicaltrials.gov/study/NCT05836571\n  - registry: NCI", "url: javascript:alert(1)\n  - registry: NCI"),
     r"identifiers\[0\]\.url: expected a URL starting with http://, https:// or mailto:", "javascript:alert"),
    ("unknown citation", lambda t: t.replace("[@chen2021; @monga2020;", "[@chen2012; @monga2020;", 1),
     r"cites '@chen2012', which is not in references\.bib; did you mean '@chen2021'\?", None),
    ("source not a bare key", lambda t: t.replace("  - source: chen2021\n", '  - source: "chen2021 x"\n', 1),
     r"findings\[\d+\]\.source: expected a cite key of references\.bib, without spaces", 'source: "chen2021 x"'),
    ("empty file", lambda t: "", r"the file is empty", None),
    ("not a mapping", lambda t: "- a\n- b\n", r"expected a mapping of fields, got a list", None),
]


def _build_with_bad_file(project, tmp_path, capsys, name, mutate):
    """Build the default site, break content/NAME with `mutate`, build again: (bad text, stderr, output intact?)."""
    output = tmp_path / "output"
    build(project, output)
    before = {p: p.read_bytes() for p in output.rglob("*") if p.is_file()}
    path = project.content / name
    bad = mutate(path.read_text(encoding="utf-8"))
    path.write_text(bad, encoding="utf-8")
    code = main(["build", "--content", str(project.content), "--output", str(output)])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "Traceback" not in err
    assert {p: p.read_bytes() for p in output.rglob("*") if p.is_file()} == before
    return bad, err


@pytest.mark.parametrize("case,mutate,message,line_of", CASES, ids=[c[0] for c in CASES])
def test_bad_trial_yaml_is_reported_exactly_and_output_unchanged(project, tmp_path, capsys, case, mutate, message, line_of):
    bad, err = _build_with_bad_file(project, tmp_path, capsys, "trial.yaml", mutate)
    assert re.search(message, err), err
    first = err.splitlines()[0]
    assert re.match(rf"{re.escape(str(project.content / 'trial.yaml'))}:\d+:\d+: ", first), first
    if line_of:
        assert f":{_line_of(bad, line_of)}:" in first, (first, _line_of(bad, line_of))


def test_not_utf8_names_line_and_column(project, capsys):
    trial = project.content / "trial.yaml"
    trial.write_bytes(trial.read_bytes().replace(b"Palo Alto", b"Palo \xe9Alto"))
    assert main(["check", "--content", str(project.content)]) == 1
    err = capsys.readouterr().err
    line = trial.read_bytes().split(b"Palo \xe9")[0].count(b"\n") + 1
    assert f"trial.yaml:{line}:" in err and "not UTF-8" in err


def test_a_control_character_is_reported_where_it_stands(project, capsys):
    """Found by a hostile review: PyYAML's reader gives an offset, and the message said line 1, column 1."""
    trial = project.content / "trial.yaml"
    lines = trial.read_text(encoding="utf-8").split("\n")
    lines[1] = lines[1][:8] + "\x00" + lines[1][8:]
    trial.write_text("\n".join(lines), encoding="utf-8")
    assert main(["build", "--content", str(project.content), "--output", str(project.content.parent / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{trial}:2:9: not valid YAML: the character U+0000 is not allowed\n"), err


def test_all_problems_reported_at_once_sorted(project, capsys):
    trial = project.content / "trial.yaml"
    text = trial.read_text().replace("status: recruiting", "status: open").replace("intervention_count: 6", "intervention_count: six")
    trial.write_text(text)
    assert main(["check", "--content", str(project.content)]) == 1
    lines = [l for l in capsys.readouterr().err.splitlines() if "trial.yaml:" in l]
    assert len(lines) == 2
    numbers = [int(l.split(":")[1]) for l in lines]
    assert numbers == sorted(numbers)


def test_wrong_command_line_use_exits_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["build", "--no-such-flag"])
    assert e.value.code == 2
    assert main(["build", "--content", "/no/such/folder"]) == 2


def test_warnings_are_reported_and_strict_makes_them_errors(project, tmp_path, capsys):
    bib = project.content / "references.bib"
    bib.write_text(bib.read_text() + "\n@misc{unused2020,\n  title = {Never cited},\n  year = {2020}\n}\n")
    trial = project.content / "trial.yaml"
    trial.write_text(trial.read_text().replace("    hidden: 9\n", ""))
    assert main(["check", "--content", str(project.content)]) == 0
    err = capsys.readouterr().err
    unused_line = bib.read_text().splitlines().index("@misc{unused2020,") + 1
    assert f"references.bib:{unused_line}:1: warning: reference 'unused2020' is not cited anywhere" in err
    assert "trial.yaml:" in err and "warning: eligibility.exclusion: hidden is missing" in err
    assert "warning: faq[0].answer: this answer cites no source" in err
    out = tmp_path / "out"
    assert main(["build", "--strict", "--content", str(project.content), "--output", str(out)]) == 1
    assert "not cited anywhere" in capsys.readouterr().err
    assert not out.exists()


def test_template_mistakes_name_the_template_and_line(project, tmp_path, capsys):
    faq = project.templates / "faq.html"
    faq.write_text(faq.read_text().replace("{{ item.question }}", "{{ item.questoin }}"))
    assert main(["build", "--content", str(project.content), "--templates", str(project.templates),
                 "--output", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    line = faq.read_text().splitlines().index('<h2 id="q{{ loop.index }}">{{ item.questoin }}</h2>') + 1
    assert f"faq.html:{line}:" in err and "questoin" in err and "Traceback" not in err
    faq.write_text("{% extends 'base.html' %}{% block content %}{% for x in y %}{% endblock %}")
    assert main(["check", "--content", str(project.content), "--templates", str(project.templates)]) == 1
    err = capsys.readouterr().err
    assert "faq.html:1:" in err and "template syntax error" in err


BIB_CASES = [
    ("syntax", lambda t: t.replace("  year    = {2021}\n}\n\n@misc{immuno", "  year    = {2021\n}\n\n@misc{immuno"),
     r"syntax error: expected ',' or '}' after the value of 'year' \(in the entry that starts on line \d+\)", "@misc{sarcomaReview2021,"),
    ("duplicate key", lambda t: t + "\n@misc{chen2021,\n  title = {Again},\n  year = {2021}\n}\n",
     r"duplicate.*chen2021", "@misc{chen2021,"),
    ("nothing to show", lambda t: t[:t.index("@article{olaratumab2019,")]
     + re.sub(r"  (title|journal|doi) += \{.*\},\n", "", t[t.index("@article{olaratumab2019,"):], count=3),
     r"olaratumab2019.*nothing to show", "@article{olaratumab2019,"),
]


@pytest.mark.parametrize("case,mutate,message,line_of", BIB_CASES, ids=[c[0] for c in BIB_CASES])
def test_bad_bibtex_is_reported_at_its_line_and_output_unchanged(project, tmp_path, capsys, case, mutate, message, line_of):
    bad, err = _build_with_bad_file(project, tmp_path, capsys, "references.bib", mutate)
    assert re.search(message, err), err
    first = [l for l in err.splitlines() if "references.bib:" in l][0]
    # the problem is on the entry's line, or (for a syntax error) on a line of that entry
    line = int(first.split("references.bib:")[1].split(":")[0])
    start = bad[: bad.rindex(line_of)].count("\n") + 1  # the last entry so named: a duplicate is the second
    assert start <= line <= start + 6, (first, start)


HOSTILE = [
    ("recursive alias", "x: &a [*a]\n", "an alias refers to a value that contains it"),
    ("alias bomb", "a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
     "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",
     "more than 100,000 values"),
    ("bad merge key", "<<: 1\n", "expected a mapping or list of mappings for merging"),
    ("bool key", "true: 1\n", "a key must be plain text"),
    ("set tag", "x: !!set {a, b}\n", "is not supported here"),
    ("bool tag on a word", "x: !!bool abc\n", "not a valid value for the tag tag:yaml.org,2002:bool"),
    ("timestamp tag on a word", "x: !!timestamp abc\n", "not a valid value for the tag tag:yaml.org,2002:timestamp"),
    ("bool tag on a word as a key", "!!bool abc: 1\n", "not a valid value for the tag tag:yaml.org,2002:bool"),
    ("5,000-digit number", "x: " + "9" * 5000 + "\n", "not a valid value: a number of more than 4,300 digits"),
    ("impossible date", "x: 2026-02-30\n", "not a valid date: day is out of range for month; expected a date as "
     "YYYY-MM-DD"),
    ("month 13", "x: 2026-13-01\n", "not a valid date: month must be in 1..12; expected a date as YYYY-MM-DD"),
]


@pytest.mark.parametrize("case,text,message", HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_yaml_is_a_clean_error(project, capsys, case, text, message):
    (project.content / "site.yaml").write_text(text)
    assert main(["check", "--content", str(project.content)]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and "site.yaml:1:" in err


def test_every_yaml_problem_is_reported_where_it_stands(project, capsys):
    """The first reading stops at a problem; the second finds them all, after a merge key the first changed."""
    (project.content / "site.yaml").write_text("a: 1\nb: {<<: 1}\na: 2\nc: !!set {x}\n")
    assert main(["check", "--content", str(project.content)]) == 1
    err = capsys.readouterr().err
    assert "site.yaml:2:9: not valid YAML: expected a mapping or list of mappings for merging" in err
    assert "site.yaml:3:1: duplicate key 'a' (first given at line 1)" in err and "site.yaml:4:4:" in err


def test_positions_are_those_of_the_text_that_was_read(tmp_path):
    """Where a value stands is found when first asked for, from the text read then, not from the file now; through
    aliases and merge keys, where the value is written."""
    path = tmp_path / "trial.yaml"
    path.write_text("title: x\narms:\n  - id: a\n    name: b\nbase: &b {dose: 1}\nplan:\n  <<: *b\n  0x1f: c\n")
    doc = load_yaml(path)
    path.write_text("\n" * 10 + "title: x\n")
    assert doc.position(("arms", 0, "name")) == Position(4, 11)
    assert doc.position(("arms", 0, "name"), key=True) == Position(4, 5)
    assert doc.position(("arms", 0, "drugs")) == Position(3, 5)  # a missing field: where its mapping starts
    assert doc.position(("arms", 3)) == doc.position(("arms",)) == Position(3, 3)
    assert doc.position(("plan", "dose")) == Position(5, 17) and doc.position(("plan", "dose"), key=True) == Position(5, 11)
    assert doc.position(("plan", "31"), key=True) == Position(8, 3)  # the key as the data has it


def test_values_get_the_types_pyyaml_s_safe_loader_gives_them(tmp_path):
    """libyaml composes with our own tag resolution (PyYAML's is slow): every plain scalar gets SafeLoader's type."""
    values = ["", "~", "null", "Null", "true", "No", "off", "y", "12", "-0x1F", "0o17", "1_000", "+1.5e3", ".inf",
              "-.NaN", "2026-11-29", "2026-11-29 10:00:00", "1:20", "text", "12 monkeys", "'12'", '"true"',
              "!!str 12", "[1, two]", "{a: 1}", "1.0.0", "0b101", "TRUE", "nULL", "2026-1-2"]
    text = "".join(f"v{i}: {value}\n" for i, value in enumerate(values))
    path = tmp_path / "types.yaml"
    path.write_text(text)
    expected = yaml.load(text, Loader=yaml.SafeLoader)
    assert load.load_yaml(path).data == expected
    assert repr(load.load_yaml(path).data) == repr(expected)  # 1 and 1.0, True and 1 compare equal


def test_thousands_of_problems_in_one_mapping_are_each_placed_in_one_step(project, tmp_path, monkeypatch, capsys):
    """Each problem's position is looked up in a table made once per mapping, not by reading the mapping again:
    counted in keys looked at, since 2,000 unknown fields read one by one would be 2,000,000 (and 50,000 a hang)."""
    looked_at = []
    real = load._key_of
    monkeypatch.setattr(load, "_key_of", lambda node: looked_at.append(node) or real(node))
    with (project.content / "trial.yaml").open("a", encoding="utf-8") as f:
        f.write("".join(f"unknown{i}: 1\n" for i in range(2000)))
    assert main(["check", "--content", str(project.content)]) == 1
    assert "2000 problems found" in capsys.readouterr().err and len(looked_at) < 5000
    twice = tmp_path / "twice.yaml"
    twice.write_text("".join(f"k{i}: 1\n" for i in range(2000)) * 2)
    looked_at.clear()
    with pytest.raises(ContentError) as caught:
        load_yaml(twice)
    assert len(caught.value.problems) == 2000 and len(looked_at) < 5000
    assert caught.value.problems[-1].message == "duplicate key 'k1999' (first given at line 2000); give each key once"


def test_every_value_and_key_of_the_trial_is_found_where_it_is_written():
    doc, lines = load_yaml(TRIAL), TRIAL.read_text(encoding="utf-8").splitlines()

    def walk(data, at):
        items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
        for part, value in items:
            here = (*at, part)
            written = lines[doc.position(here).line - 1][doc.position(here).column - 1:]
            if isinstance(value, str):
                assert written.startswith((value[:20], "'", '"', "|", ">")), (here, written)
            if isinstance(part, str):
                key = doc.position(here, key=True)
                assert lines[key.line - 1][key.column - 1:].startswith(part + ":"), here
            else:  # a list item: after its dash, or its list's bracket or comma
                assert lines[doc.position(here).line - 1][:doc.position(here).column - 1].rstrip()[-1] in "-[,", here
            walk(value, here)

    walk(doc.data, ())


@pytest.mark.parametrize("answer,message", [
    ("- " * 3000, "nested at most 15 lists or quotes deep"),
    ("[" * 5000, "expected at most 200 '['"),
    ("<a " * 2500, "expected at most 200 '<' in one field (write '&lt;' for more), got 2500"),
    ("word " * 3000, "expected text of at most 10,000 characters"),
])
def test_markdown_that_would_hang_or_crash_the_parser_is_refused(project, capsys, answer, message):
    trial = project.content / "trial.yaml"
    trial.write_text(trial.read_text().replace(
        "  - question: Will I have to stop taking my current medications?\n    answer: >-",
        f"  - question: Will I have to stop taking my current medications?\n    answer: '{answer}'\n    x: >-"))
    assert main(["check", "--content", str(project.content)]) == 1
    err = capsys.readouterr().err
    assert "faq[0].answer: " + message in err or message in err, err


@pytest.mark.parametrize("file,before,written,code", [
    ("trial.yaml", "\ntitle: ", "Immuno\\0therapy", "0000"), ("trial.yaml", "\ntitle: ", "colour \\e[31m", "001B"),
    ("trial.yaml", "\ntitle: ", "evil \\u202e reversed", "202E"), ("trial.yaml", "\ntitle: ", "a \\x85 b", "0085"),
    ("site.yaml", "\ntitle: ", "Soft \\u202eTissue", "202E"),
    ("glossary.yaml", "    definition: ", "Swal\\u2067lowed", "2067"),
], ids=["nul", "escape", "rlo", "c1", "site", "glossary"])
def test_a_control_or_direction_character_in_a_text_is_refused_at_its_field(project, capsys, file, before, written,
                                                                             code):
    """YAML's escapes write characters no page may show: raw in the HTML, a NUL or ESC is invalid, and a right-to-left
    override left open turns the text after it around. Refused in every file an editor writes, at the value."""
    path = project.content / file
    text = path.read_text()
    at = text.index(before) + len(before)
    line = text.count("\n", 0, at) + 1
    path.write_text(text[:at] + f'"{written}"\n' + text[text.index("\n", at) + 1:])
    assert main(["check", "--content", str(project.content)]) == 1
    err = capsys.readouterr().err
    assert f"{file}:{line}:{len(before.lstrip(chr(10))) + 1}: holds the invisible character U+{code}" in err, err


def test_the_shortest_markdown_nested_too_deep_is_refused_and_one_level_less_is_not():
    from sitegen.validate import _text_problem

    for marker in ("- ", "> ", "*\t"):  # 16 levels in 32 characters: the shortest text that nests too deep
        assert "nested at most 15 lists or quotes deep" in _text_problem(marker * 16), marker
        assert _text_problem(marker * 15 + "x") == "", marker



def test_more_rules_and_heading_underlines_than_markdown_reads_in_linear_time_are_refused():
    """Python-Markdown splits the rest of a paragraph at each line of '---' or '===' (a rule, or a heading's
    underline), so time grew with the square of their number: 8,000 took 6 s, 25,000 a minute."""
    from sitegen.validate import _text_problem

    for line in ("---", "===", "- - -", "***", "___", "-", "  ="):
        assert _text_problem(f"text\n{line}\n" * 200) == "", line
        assert ("expected at most 200 lines of only '-', '=', '*' or '_' (rules and heading underlines) in one field, "
                "got 201") in _text_problem(f"text\n{line}\n" * 201), line
    assert _text_problem("text\n-- x\n" * 300) == ""  # not a rule: text

@pytest.mark.parametrize("url,ok", [
    ("https://example.org/trials", True), ("https://example.org/a?b=1", False), ("https://example.org/#x", False),
    ("ftp://example.org/", False), ("https://", False), ("https://exa mple.org/", False),
])
def test_base_url_is_checked_and_gets_its_slash(project, tmp_path, capsys, url, ok):
    code = main(["build", "--content", str(project.content), "--output", str(tmp_path / "o"), "--base-url", url])
    assert code == (0 if ok else 2), capsys.readouterr().err
    if ok:
        assert 'href="https://example.org/trials/faq/"' in (tmp_path / "o" / "faq" / "index.html").read_text()


def test_template_runtime_errors_and_missing_folders_are_clean(project, tmp_path, capsys):
    faq = project.templates / "faq.html"
    good = faq.read_text()
    faq.write_text(good.replace("{% block content %}", "{% block content %}{{ 1 // 0 }}"))
    args = ["--content", str(project.content), "--templates", str(project.templates)]
    assert main(["check", *args]) == 1
    err = capsys.readouterr().err
    assert f"{faq}:" in err and "ZeroDivisionError" in err and "Traceback" not in err
    # found by a hostile review: a template asking for more memory than there is printed a MemoryError traceback
    faq.write_text(good.replace("{% block content %}", "{% block content %}{{ 'x' * 2 ** 62 }}"))
    assert main(["check", *args]) == 1
    err = capsys.readouterr().err
    assert f"{faq}:" in err and "MemoryError" in err and "Traceback" not in err
    assert main(["check", "--content", str(project.content), "--static", str(tmp_path / "nope")]) == 2
    faq.write_text(good)
    (project.static / "favicon.svg").unlink()  # the project's own is gone: sitegen's own is used
    assert main(["build", "--content", str(project.content), "--output", str(tmp_path / "o")]) == 0
    (project.static / "favicon.svg").symlink_to(tmp_path / "nowhere.svg")  # there, but cannot be read
    assert main(["build", "--content", str(project.content), "--output", str(tmp_path / "o")]) == 1
    assert "favicon.svg: cannot read" in capsys.readouterr().err
