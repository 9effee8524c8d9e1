"Repository invariants: README in step with index.ipynb, CI runs the README's test command, pins are exact."
import re, runpy, configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def test_readme_matches_index():
    readme_text = runpy.run_path(str(ROOT/"tools"/"readme.py"))["readme_text"]
    assert (ROOT/"README.md").read_text(encoding="utf-8") == readme_text(ROOT/"nbs"/"index.ipynb"), \
        "README.md is out of step with nbs/index.ipynb: run `python tools/readme.py`"

def test_readme_has_exactly_two_setup_commands():
    cmds = [l for l in (ROOT/"README.md").read_text().splitlines() if l.startswith("python3 -m venv .venv && ")]
    assert len(cmds) == 2, cmds
    assert "pytest -q tests" in cmds[1] and "nbdev_test" in cmds[1] and '".[dev]"' in cmds[1]
    assert "pytest" not in cmds[0]

def test_ci_runs_the_readme_command():
    ci = (ROOT/".ci"/"run").read_text()
    assert "grep -m1 -E '^python3 -m venv .venv && .*pytest -q tests' README.md" in ci

def test_every_requirement_is_pinned_in_the_constraints():
    ("settings.ini holds ranges (a user's torch is kept); constraints.txt pins every one of them "
     "exactly, for CI and the README.")
    cfg = configparser.ConfigParser(delimiters=["="]); cfg.read(ROOT/"settings.ini")
    reqs = (cfg["DEFAULT"]["requirements"] + " " + cfg["DEFAULT"]["dev_requirements"]).split()
    names = {re.split(r"[<>=!~;\[]", r, maxsplit=1)[0].lower() for r in reqs}
    pins = [l.strip() for l in (ROOT/"constraints.txt").read_text().splitlines() if l.strip() and not l.startswith("#")]
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][0-9A-Za-z.+]*", p) for p in pins), pins
    assert names <= {p.split("==")[0].lower() for p in pins}, names - {p.split("==")[0].lower() for p in pins}
    assert not any("==" in r for r in reqs), [r for r in reqs if "==" in r]
    for must in "torch fastai fastcore nbdev execnb plum-dispatch ghapi".split(): assert must in names, must
    assert cfg["DEFAULT"]["tst_flags"].split() == ["slow", "gpu"]
