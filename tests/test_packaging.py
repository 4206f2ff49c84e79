"""The wheel ships every module and data file of the packages, and the image copies them all.

A module in a folder without ``__init__.py`` or a data file whose extension pyproject.toml's
package-data does not list is missing from the wheel, and so from every installation: the
tests below then fail and name the files.
"""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from email.parser import Parser
from pathlib import Path, PurePosixPath

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "flows")
DOCKERFILE = REPO / "deploy" / "Dockerfile"
BUILD_TIMEOUT_S = 300


def source_files() -> list[str]:
    """Every file under the package folders (POSIX paths from the repository root)."""
    found = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*")):
            relative = path.relative_to(REPO)
            # Bytecode and numba's caches are written next to the sources at run time.
            if "__pycache__" in relative.parts or path.suffix == ".pyc" or not path.is_file():
                continue
            found.append(relative.as_posix())
    return found


def _version(distribution: str) -> tuple[int, ...] | None:
    try:
        text = importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    return tuple(int(p) for p in re.findall(r"\d+", text)[:2])


def can_build_without_isolation() -> bool:
    """Whether this environment holds the build backend pyproject.toml asks for.

    A fresh virtual environment (as in CI) may have no setuptools at all, and Python 3.11's
    bundled setuptools is older than the declared minimum and cannot make wheels without
    the ``wheel`` package; both then build in pip's isolated environment instead.
    """
    declared = re.search(r'"setuptools>=(\d+)', (REPO / "pyproject.toml").read_text())
    minimum = (int(declared.group(1)),) if declared else (0,)
    setuptools = _version("setuptools")
    if setuptools is None or setuptools < minimum:
        return False
    # setuptools has its own bdist_wheel since 70.1; before that it came with ``wheel``.
    return setuptools >= (70, 1) or _version("wheel") is not None


@pytest.fixture(scope="module")
def sources() -> list[str]:
    return source_files()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory, sources) -> Iterator[zipfile.ZipFile]:
    # Built from a clean copy: build/ and *.egg-info folders that earlier builds leave in a
    # checkout would slip stale files into the wheel (and other work in the tree must not
    # see them appear).
    context = tmp_path_factory.mktemp("context")
    for name in ("pyproject.toml", "README.md", *sources):
        target = context / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", str(context), "--no-deps", "-w", str(out)]
    if can_build_without_isolation():
        command.append("--no-build-isolation")
    built = subprocess.run(
        command, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False
    )
    assert built.returncode == 0, f"{' '.join(command)}\n{built.stdout}\n{built.stderr}"
    (path,) = out.glob("icrank-*.whl")
    with zipfile.ZipFile(path) as archive:
        yield archive


def package_entries(wheel: zipfile.ZipFile) -> set[str]:
    return {n for n in wheel.namelist() if PurePosixPath(n).parts[0] in PACKAGES}


def test_wheel_holds_every_module_of_the_packages(wheel, sources):
    modules = [s for s in sources if s.endswith(".py")]
    assert modules, "no modules found: is the test looking in the right place?"
    missing = sorted(set(modules) - package_entries(wheel))
    assert not missing, f"modules left out of the wheel (folder without __init__.py?): {missing}"


def test_wheel_holds_every_data_file_of_the_packages(wheel, sources):
    data = [s for s in sources if not s.endswith(".py")]
    assert "flows/defaults.yaml" in data and "flows/config.schema.json" in data
    missing = sorted(set(data) - package_entries(wheel))
    assert not missing, (
        "data files left out of the wheel (extension not in pyproject.toml's package-data, "
        f"or a folder without __init__.py?): {missing}"
    )


def test_wheel_holds_nothing_but_the_sources(wheel, sources):
    extra = sorted(package_entries(wheel) - set(sources))
    assert not extra, f"files in the wheel that the source tree does not have: {extra}"


def test_wheel_declares_no_dask_ml(wheel):
    (metadata_name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    metadata = Parser().parsestr(wheel.read(metadata_name).decode())
    requires = metadata.get_all("Requires-Dist") or []
    names = {
        re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9_.-]+", r).group()).lower() for r in requires
    }
    assert "numpy" in names and "dask" in names  # the requirements were read at all
    assert "dask-ml" not in names


def dockerfile_copies() -> set[str]:
    """Sources of the Dockerfile's COPY instructions, as repository paths."""
    copied: set[str] = set()
    for line in DOCKERFILE.read_text().splitlines():
        words = line.split()
        if not words or words[0].upper() != "COPY":
            continue
        # COPY [--flags] <src>... <dest>
        sources = [w for w in words[1:-1] if not w.startswith("--")]
        copied.update(PurePosixPath(s).as_posix().rstrip("/") for s in sources)
    return copied


def test_dockerfile_copies_every_package_the_wheel_ships(wheel):
    shipped = {
        PurePosixPath(n).parts[0]
        for n in wheel.namelist()
        if not PurePosixPath(n).parts[0].endswith(".dist-info")
    }
    assert shipped == set(PACKAGES)
    copied = dockerfile_copies()
    # `pip install .` in the image also needs the project file and the readme it names.
    assert {"pyproject.toml", "README.md"} <= copied
    assert shipped <= copied, f"packages the image would not install: {shipped - copied}"
