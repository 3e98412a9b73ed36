"""The command line behaves as users of MkDocs or Hugo expect, and the schema docs never drift from the model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from sitegen import __version__, schemadoc
from sitegen.cli import main
from sitegen.schema import Trial

ROOT = Path(__file__).resolve().parent.parent


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"sitegen {__version__}"
    for argv in (["--help"], ["build", "--help"], ["check", "--help"], ["new", "--help"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 0
        out = capsys.readouterr().out
        assert "usage: sitegen" in out
    assert main([]) == 0  # no command: the help, as `sitegen --help` prints it
    out = capsys.readouterr().out
    assert out.startswith("usage: sitegen") and all(f"    {name} " in out for name in ("new", "build", "check", "serve"))
    with pytest.raises(SystemExit) as e:
        main(["build", "--help"])
    assert "trials/<slug>.yaml" in capsys.readouterr().out  # --content names both layouts
    with pytest.raises(SystemExit) as e:
        main(["new", "--help"])
    assert "docs/schema.md" in capsys.readouterr().out  # every file the README says `sitegen new` makes


def test_python_dash_m_sitegen_builds(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sitegen", "build", "--output", str(tmp_path / "out")],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "findings" / "index.html").is_file()


def test_check_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = sorted(tmp_path.iterdir())
    assert main(["check", "--content", str(ROOT / "content")]) == 0
    assert "no errors" in capsys.readouterr().out
    assert sorted(tmp_path.iterdir()) == before


def test_committed_json_schema_and_docs_match_the_model() -> None:
    assert (ROOT / "schema" / "trial.schema.json").read_text() == schemadoc.json_schema(Trial), (
        "run: python -m sitegen.schemadoc"
    )
    assert (ROOT / "docs" / "schema.md").read_text() == schemadoc.markdown_reference(), "run: python -m sitegen.schemadoc"


def test_docs_list_every_field_of_every_model() -> None:
    doc = schemadoc.markdown_reference()
    for cls_name, cls in schemadoc._models(Trial, set()):
        assert f"### {cls_name}" in doc
        for field in cls.model_fields:
            assert f"| `{field}` |" in doc, (cls_name, field)


def test_default_trial_validates_against_the_exported_json_schema() -> None:
    text = (ROOT / "content" / "trial.yaml").read_text()
    assert text.splitlines()[0] == "# yaml-language-server: $schema=../schema/trial.schema.json"
    data = json.loads(json.dumps(yaml.safe_load(text), default=str))
    schema = json.loads((ROOT / "schema" / "trial.schema.json").read_text())
    errors = list(Draft202012Validator(schema).iter_errors(data))
    assert errors == []
    data["status"] = "open"
    assert list(Draft202012Validator(schema).iter_errors(data))
