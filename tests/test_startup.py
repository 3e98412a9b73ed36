"""What a cold `sitegen build` of one trial loads (nothing that only serving, importing from the registry, checking
or a catalog needs), and that no build starts a program. Most of the time of such a build is Python importing
libraries, so each one it loads and does not use is time every build pays (issue 16). Checked by what the process
loaded and started, never by a clock."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from test_catalog import make_catalog

ROOT = Path(__file__).resolve().parent.parent

# Loaded only by the command or the layout that uses them.
NOT_FOR_ONE_TRIAL = {
    "livereload", "tornado", "sitegen.serve",  # serve
    "urllib.request", "http.client", "sitegen.importer", "sitegen.registry_fetch", "sitegen.registry_xml",  # import
    "textstat", "sitegen.readability", "sitegen.freshness",  # check
    "sitegen.schemadoc",  # new
    "sitegen.catalog.plan", "sitegen.catalog.state", "sitegen.catalog.build", "sitegen.catalog.listing",  # a catalog
    "sitegen.catalog.search", "sqlite3", "multiprocessing", "concurrent.futures.process",
    "latexcodec",  # only for BibTeX the quick paths of bib.latex_to_text do not decode (the default's are plain)
}

_BUILD = """
import json, sys
from pydantic import BaseModel
from sitegen.cli import main
code = main(["build", "--content", sys.argv[1], "--output", sys.argv[2]])
schema = vars(sys.modules["sitegen.schema"])
built = [name for name, model in schema.items()
         if isinstance(model, type) and issubclass(model, BaseModel) and model.__pydantic_complete__]
print(json.dumps([code, sorted(sys.modules), sorted(built)]))
"""


def _a_build(content: Path, output: Path) -> tuple[int, set[str], list[str]]:
    """Build `content` in a fresh process: its exit code, the modules it loaded and the models whose validators it
    built."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-c", _BUILD, str(content), str(output)], capture_output=True, text=True,
                            env=env, check=True)
    code, modules, built = json.loads(result.stdout.splitlines()[-1])
    return code, set(modules), built


def test_a_build_of_one_trial_loads_nothing_only_other_commands_or_a_catalog_need(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "content", tmp_path / "content")
    code, modules, _ = _a_build(tmp_path / "content", tmp_path / "output")
    assert code == 0 and (tmp_path / "output" / "index.html").is_file()
    assert {"sitegen.render", "sitegen.write", "jinja2", "pydantic"} <= modules  # the check sees the build's imports
    loaded = {name for name in modules if name in NOT_FOR_ONE_TRIAL or name.split(".")[0] in NOT_FOR_ONE_TRIAL}
    assert sorted(loaded) == []


def test_a_build_of_one_trial_builds_the_validators_of_the_models_it_validates_only(tmp_path: Path) -> None:
    """pydantic builds a model's validator when the class is made unless told to defer it; the editor's file of a
    registry trial (EditorTrial) and a registry trial (RegistryTrial) are for a catalog only."""
    shutil.copytree(ROOT / "content", tmp_path / "content")
    code, _, built = _a_build(tmp_path / "content", tmp_path / "output")
    assert code == 0
    assert {"Trial", "Settings", "Glossary"} <= set(built)
    assert not {"EditorTrial", "RegistryTrial"} & set(built)


def test_the_build_time_benchmark_reports_wall_and_cpu_time() -> None:
    """bench/build_time.py measures this build; CPU time is the figure a busy machine disturbs least. Beside it, the
    interpreter starting alone, which no code of sitegen's can shorten."""
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "build_time.py"), "--runs", "1", "--content",
                             str(ROOT / "content")], capture_output=True, text=True, check=True)
    assert re.fullmatch(r"sitegen build, cold process, 1 runs on \d+ CPUs: median \d+ ms \(min \d+, max \d+\); "
                        r"CPU median \d+ ms \(min \d+, max \d+\); peak RSS \d+ MB\n"
                        r"the interpreter starting alone \(python -c pass\), 1 runs: "
                        r"median \d+ ms \(min \d+, max \d+\); "
                        r"CPU median \d+ ms \(min \d+, max \d+\)\n", result.stdout), result.stdout


_SPAWNS = """
import sys
from sitegen.cli import main
def heard(event, args):  # appended to a file: a catalog's forked workers hear them too
    if event in ("subprocess.Popen", "os.posix_spawn", "os.exec", "os.spawn", "os.system"):
        with open(sys.argv[3], "a") as log:
            log.write(f"{event} {args[0]}\\n")
sys.addaudithook(heard)
sys.exit(max(main(["build", "--content", sys.argv[1], "--output", sys.argv[2], "--jobs", "2"]) for _ in range(2)))
"""


def test_a_build_starts_no_process(tmp_path: Path) -> None:
    """A build and a rebuild (which swaps the new tree in with renameat2, from the C library) start no program:
    finding the C library with ctypes.util started ldconfig in every build, and in each worker of a catalog's."""
    shutil.copytree(ROOT / "content", tmp_path / "content")
    catalog = make_catalog(tmp_path / "catalog").content  # four trials: two workers
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    log = tmp_path / "started.log"
    log.write_text("")
    for content, output in [(tmp_path / "content", tmp_path / "site"), (catalog, tmp_path / "out")]:
        subprocess.run([sys.executable, "-c", _SPAWNS, str(content), str(output), str(log)], env=env, check=True,
                       capture_output=True)
        assert (output / "index.html").is_file()
    assert log.read_text() == ""
