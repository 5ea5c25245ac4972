"""requirements.lock, environment.yml and pyproject.toml agree, and the venv matches the lock."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest
import tomllib
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;#]+)$")


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(lines: list[str], where: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith(("#", "-r", "-e")):
            continue
        m = PIN.match(line)
        if not m:
            raise AssertionError(f"{where}: {line!r} is not an exact pin NAME==VERSION")
        pins[_canon(m.group(1))] = m.group(2)
    return pins


@pytest.fixture(scope="module")
def lock() -> dict[str, str]:
    return read_pins((ROOT / "requirements.lock").read_text().splitlines(), "requirements.lock")


def test_lock_pins_everything_the_course_needs(lock: dict[str, str]) -> None:
    assert lock["torch"] == "2.13.0"
    for name, major in {"jupyterlab": "4.", "nbgrader": "0.9.", "ipywidgets": "8.", "nbval": "", "pytest": "",
                        "matplotlib": "", "tqdm": "", "faker": "", "anyascii": "", "sacrebleu": "",
                        "pytest-xdist": "", "playwright": "", "pyyaml": ""}.items():
        assert name in lock, f"{name} is not pinned in requirements.lock"
        assert lock[name].startswith(major), f"{name}=={lock[name]} is not the {major}x series"


def test_every_pyproject_requirement_is_pinned_and_satisfied_by_the_lock(lock: dict[str, str]) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = [r for extra in project["optional-dependencies"].values() for r in extra]
    requirements = list(project["dependencies"]) + extras
    for text in requirements:
        req = Requirement(text)
        name = _canon(req.name)
        assert name in lock, f"pyproject requires {text!r} but requirements.lock does not pin {req.name}"
        assert req.specifier.contains(lock[name], prereleases=True), f"lock pins {name}=={lock[name]}, outside {text!r}"


def test_environment_yml_installs_the_same_pins(lock: dict[str, str]) -> None:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml needs exactly one pip section"
    pip_lines = pip_sections[0]
    assert "-r requirements.lock" in pip_lines, "environment.yml's pip section must install requirements.lock"
    # Any package environment.yml pins itself (conda or pip) must agree with the lock.
    conda_pins = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str) and "=" in dep:
            name, version = re.split(r"=+", dep, maxsplit=1)
            conda_pins[_canon(name)] = version
    for name, version in {**conda_pins, **read_pins(pip_lines, "environment.yml")}.items():
        if name == "python":
            continue
        assert name in lock and lock[name] == version, (
            f"environment.yml pins {name}={version}, lock has {lock.get(name)}")


def test_installed_environment_matches_the_lock(lock: dict[str, str]) -> None:
    wrong = []
    for name, version in lock.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            wrong.append(f"{name} missing")
            continue
        if installed.split("+")[0] != version:
            wrong.append(f"{name} {installed} != {version}")
    assert not wrong, "the venv drifted from requirements.lock (run `make setup`): " + ", ".join(wrong)
