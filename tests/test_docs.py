"""The README and docs/ as a reader meets them: code that runs, links that resolve, nothing pointing outside.

* Every fenced ```python block of README.md and docs/*.md runs on its own: each in a fresh Python
  process (a fresh namespace, jax's default configuration, not tests/conftest.py's strict one), so a
  block that uses a name it does not define or import fails here. Blocks meant to be read, not run
  (shell commands, printed output) are fenced ```console or ```text; every fence names its language.
  The blocks assert their own claims, as the notebooks do.
* Every relative link (and its #anchor), every repository path and every dotted ``jinit.`` name the
  pages mention exists.
* Nothing in the README, docs, notebooks, tests, benchmarks or the package points outside the
  repository: no issue or pull-request numbers, no notes or tutorials a reader does not have.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(["README.md", *(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))])
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
LANGUAGES = {"python", "console", "text"}


def fences(page: str) -> list[tuple[str, str]]:
    """(language, code) of every fenced block of a page, in order."""
    return [(m.group(1).strip(), m.group(2)) for m in FENCE.finditer((ROOT / page).read_text())]


def python_blocks() -> list[tuple[str, int, str]]:
    out = []
    for page in PAGES:
        blocks = [code for lang, code in fences(page) if lang == "python"]
        out += [(page, i, code) for i, code in enumerate(blocks)]
    return out


BLOCKS = python_blocks()


def run_block(code: str) -> subprocess.CompletedProcess[str]:
    """One block in a fresh interpreter on the CPU, as a reader would run it (no inherited XLA flags)."""
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "PYTHONWARNINGS")}
    env.update(PYTHONPATH=str(ROOT), JAX_PLATFORMS="cpu")
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def block_runs(request: pytest.FixtureRequest) -> dict[str, Future[subprocess.CompletedProcess[str]]]:
    """The selected blocks, started two at a time (each is mostly one process importing jax and compiling).

    Under pytest-xdist (``make test`` runs ``-n 2``) each worker would start every block, so there
    each block starts when its own test runs, and the workers are the parallelism.
    """
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return {}
    selected = {
        item.callspec.id
        for item in request.session.items
        if getattr(item, "originalname", None) == "test_python_block_runs_on_its_own"
    }
    pool = ThreadPoolExecutor(max_workers=2)
    request.addfinalizer(pool.shutdown)
    return {f"{p}[{i}]": pool.submit(run_block, code) for p, i, code in BLOCKS if f"{p}[{i}]" in selected}


@pytest.mark.parametrize(("page", "index", "code"), BLOCKS, ids=[f"{p}[{i}]" for p, i, _ in BLOCKS])
def test_python_block_runs_on_its_own(page: str, index: int, code: str, block_runs: dict[str, Future]) -> None:
    started = block_runs.get(f"{page}[{index}]")
    result = started.result() if started is not None else run_block(code)
    assert result.returncode == 0, f"{page}, python block {index} failed:\n{result.stderr[-3000:]}"


def test_a_block_runs_in_a_fresh_namespace() -> None:
    """What one block defines, the next cannot use: each runs with nothing but its own code."""
    assert run_block("w = 1\nassert w == 1").returncode == 0
    assert run_block("assert w == 1").returncode != 0


@pytest.mark.parametrize("page", PAGES)
def test_every_fence_names_its_language(page: str) -> None:
    text = (ROOT / page).read_text()
    assert text.count("```") % 2 == 0, f"{page}: an unclosed ``` fence"
    langs = [lang for lang, _ in fences(page)]
    assert len(langs) == text.count("```") // 2, f"{page}: a fence the parser did not pair; check its indentation"
    odd = [lang or "(none)" for lang in langs if lang not in LANGUAGES]
    assert not odd, f"{page}: fences must be one of {sorted(LANGUAGES)}; got {odd}"


def github_anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text())
    return {github_anchor(h) for h in re.findall(r"^#+ (.*)$", text, re.MULTILINE)}


@pytest.mark.parametrize("page", PAGES)
def test_links_resolve(page: str) -> None:
    text = FENCE.sub("", (ROOT / page).read_text())
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+://", target):
            broken.append(f"{target} (outside the repository)")
            continue
        file, _, anchor = target.partition("#")
        path = (ROOT / page).parent / file if file else ROOT / page
        if not path.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and anchor not in anchors(path):
            broken.append(f"{target} (no such heading in {path.relative_to(ROOT)})")
    assert not broken, f"{page}: {broken}"


@pytest.mark.parametrize("page", PAGES)
def test_repository_paths_exist(page: str) -> None:
    text = (ROOT / page).read_text()
    paths = set(re.findall(r"\b(?:jinit|tests|benchmarks|notebooks|docs)/[\w./-]*\w", text))
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert not missing, f"{page} mentions paths that do not exist: {missing}"


def resolve(name: str) -> object:
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:n]))
        except ModuleNotFoundError:
            continue
        for attr in parts[n:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(name)


@pytest.mark.parametrize("page", PAGES)
def test_jinit_names_exist(page: str) -> None:
    names = set(re.findall(r"\bjinit(?:\.[A-Za-z_]\w*)+", (ROOT / page).read_text()))
    stale = []
    for name in sorted(names):
        try:
            resolve(name)
        except (AttributeError, ImportError) as e:
            stale.append(f"{name} ({e})")
    assert not stale, f"{page} names what does not exist: {stale}"


OUTSIDE = [
    re.compile(r"(?i)\bissues?\s*#?\d"),  # a tracker number after the word
    re.compile(r"(?i)\b(?:core|flax|schemes|notebooks|models?|performance)\s+issues?\b"),  # "the core issue"
    re.compile(r"(?<![\w&/])#(?![0-9A-Fa-f]{6}\b)\d+\b"),  # "#3", not a colour "#000000"
    re.compile(r"\b[\w.-]+/[\w.-]+#\d+\b"),  # "owner/repo#123"
    re.compile(r"(?i)\b(?:PR|pull request)\s*#?\d"),
    re.compile(r"(?i)\bclosing notes?\b"),
    re.compile(r"(?i)\bseed tutorials?\b|\btutorials?\s+\d{3}\b|\bseeds' table\b|\bthe seeds this project\b"),
]


def text_files() -> list[Path]:
    files = [ROOT / p for p in PAGES] + [ROOT / "Makefile", ROOT / "pyproject.toml"]
    for folder, pattern in (("notebooks", "*.py"), ("tests", "*.py"), ("benchmarks", "*"), ("jinit", "**/*.py")):
        files += [p for p in sorted((ROOT / folder).glob(pattern)) if p.is_file() and p.suffix in (".py", ".md", ".sh")]
    return [p for p in files if p != Path(__file__).resolve()]


def test_nothing_points_outside_the_repository() -> None:
    hits = []
    for path in text_files():
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if any(p.search(line) for p in OUTSIDE):
                hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:120]}")
    assert not hits, "pointers outside the repository (say it in the repository's own words):\n" + "\n".join(hits)


def test_the_outside_pointer_check_can_fail() -> None:
    caught = [
        "see issue 5",
        "(jax PR #35096)",
        "pytorch/pytorch#50664",
        "in the closing note of the core issue",
        "as tutorial 001 says",
        "the seed tutorials",
        "#3",
    ]
    missed = [s for s in caught if not any(p.search(s) for p in OUTSIDE)]
    assert not missed, missed
    fine = ["`#laws`", "colour #1f77b4", "a hash of the index", "Klambauer et al. (2017)", "# 3 sigma"]
    flagged = [s for s in fine if any(p.search(s) for p in OUTSIDE)]
    assert not flagged, flagged
