"""The documentation: the site builds in strict mode, the reference names every field and command,
every spec example compiles, the getting-started page runs as written (its commands, their output,
its error message), and the built site renders in a real browser with every internal link whole."""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest

from obsgen.pipeline.compile import compile_project
from obsgen.spec.load import load_project
from tests.conftest import ROOT, generation_named

pytestmark = pytest.mark.xdist_group("docs")  # its tests share a module fixture

DOCS = ROOT / "docs"
FENCE = re.compile(r'^```(?P<lang>\w*)(?:\s+title="(?P<title>[^"]*)")?\s*\n(?P<body>.*?)^```\s*$', re.M | re.S)


@dataclass(frozen=True)
class Block:
    page: str
    lang: str
    title: str
    body: str

    @property
    def spec_file(self) -> str | None:
        """Where a spec example belongs: its title, or a first line `# slo/<file>.yaml`."""
        first = self.body.splitlines()[0] if self.body else ""
        named = self.title or (first[2:].strip() if first.startswith("# ") else "")
        return named if self.lang == "yaml" and re.fullmatch(r"slo/[\w-]+\.ya?ml", named) else None


def blocks(path: Path) -> list[Block]:
    return [Block(path.name, m["lang"], m["title"] or "", m["body"]) for m in FENCE.finditer(path.read_text())]


PAGES = sorted(DOCS.glob("*.md")) + [ROOT / "README.md"]
SPECS = [b for p in PAGES for b in blocks(p) if b.spec_file]


def _hooks():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "hooks.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_page_is_in_the_site_and_the_readme_is_short() -> None:
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in DOCS.glob("*.md"):
        assert f" {page.name}" in nav or page.name == "runbooks.md", page.name
    assert len((ROOT / "README.md").read_text().splitlines()) <= 150


def test_the_reference_names_every_field_and_command() -> None:
    from obsgen import cli

    pages = _hooks().reference_pages()
    for path, (_, _, (module, name)) in _hooks().PAGES.items():
        schema = getattr(__import__(module, fromlist=[name]), name).model_json_schema()
        objects = [schema, *schema.get("$defs", {}).values()]
        for obj in objects:
            for field in obj.get("properties", {}):
                assert f"| `{field}` |" in pages[path], (path, field)
    parser = cli._parser()
    commands = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices
    assert len(commands) >= 9
    for command in commands:
        assert f"\n## {command}\n" in pages["reference/commands.md"]
    assert "--long-rules" not in pages["reference/commands.md"]  # a made-up flag is not there: the page is the parser's


@pytest.mark.parametrize("block", SPECS, ids=[f"{b.page}:{b.spec_file}" for b in SPECS])
def test_every_spec_example_compiles(block: Block, tmp_path: Path) -> None:
    """Beside the bundled example's services, which the docs' examples refer to (a composite's parts)."""
    assert block.spec_file is not None
    shutil.copytree(ROOT / "slo", tmp_path / "slo")
    target = tmp_path / block.spec_file
    target.write_text(block.body)
    project = load_project(tmp_path)
    assert project.services and compile_project(project)


def test_there_are_spec_examples_to_test() -> None:
    assert {b.page for b in SPECS} >= {"getting-started.md", "README.md", "spec.md"}


def test_the_backtest_tiers_example_loads(tmp_path: Path) -> None:
    from obsgen.spec.load import load_tiers

    (block,) = [b for b in blocks(DOCS / "backtest.md") if b.title == "faster-pages.yaml"]
    (tmp_path / block.title).write_text(block.body)
    tiers = load_tiers(tmp_path / block.title, 30 * 86400)
    assert [(t.severity, t.long_window) for t in tiers] == [("critical", 3600), ("critical", 21600), ("warning", 259200)]


def test_every_quoted_error_is_one_getting_started_produces() -> None:
    """An `error:` line quoted anywhere in the docs is one the getting-started page's commands print
    (the test above runs them), so no page quotes a message the code no longer gives."""
    proven = {line for b in blocks(DOCS / "getting-started.md") if b.title == "output" for line in b.body.splitlines()}
    quoted = [line for page in PAGES for b in blocks(page) if b.lang == "text" for line in b.body.splitlines() if line.startswith("error: ")]
    assert quoted and set(quoted) <= proven, set(quoted) - proven


def test_every_quoted_import_note_is_what_import_says() -> None:
    from obsgen.spec.imports import import_files

    corpus = ROOT / "tests" / "fixtures" / "import-corpus"
    shown = {"sloth/apiserver.yml": "sloth-apiserver.yml", "openslo/batch.yaml": "openslo-batch.yaml", "pyrra/ingress.yml": "pyrra-ingress.yml"}
    report = import_files([(name, (corpus / file).read_text()) for name, file in shown.items()]).report
    quoted = [line for b in blocks(DOCS / "migrating.md") for line in b.body.splitlines() if line.startswith("note: ")]
    assert len(quoted) >= 3
    for line in quoted:
        said = line.removeprefix("note: ").removesuffix(" ...")
        assert any(r.startswith(said) for r in report), line


def test_getting_started_runs_as_written(tmp_path: Path, node: str) -> None:
    """Every untitled shell block runs, in order, in an empty folder with obsgen and promtool on PATH
    (Debian's, as a reader installs it; the proofs run on both generations elsewhere); spec blocks
    are saved where their titles say; each `output` block's lines appear in the output of the shell
    block before it."""
    promtool = generation_named("debian").need("promtool")
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), str(Path(promtool).parent), os.environ["PATH"]])}
    cwd, last, ran = tmp_path, "", 0
    for block in blocks(DOCS / "getting-started.md"):
        if block.spec_file:
            (cwd / block.spec_file).write_text(block.body)
        elif block.lang == "sh" and not block.title:
            # `cd` carries over between blocks, as in the reader's shell
            script = block.body + '\necho "__cwd__=$PWD"'
            proc = subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
            assert proc.returncode == 0, (block.body, proc.stdout, proc.stderr)
            last = proc.stdout + proc.stderr
            cwd = Path(re.findall(r"__cwd__=(.*)", proc.stdout)[-1])
            ran += 1
        elif block.lang == "text" and block.title == "output":
            for line in filter(None, block.body.splitlines()):
                assert line.strip() in last, (line, last)
    assert ran >= 5


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if key in ("href", "src") and value:
                self.found.append(value)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(folder)], cwd=ROOT,
                          capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr  # strict: a broken link or a missing page fails
    return folder


def test_every_internal_link_of_the_built_site_resolves(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= 15
    for page in pages:
        parser = _Links()
        parser.feed(page.read_text())
        for link in parser.found:
            if re.match(r"^(https?:|mailto:|data:|#|javascript:)", link):
                continue
            path = link.split("#")[0].split("?")[0]
            target = (site / path.lstrip("/") if path.startswith("/") else page.parent / path).resolve()  # 404.html links from the root
            assert target.exists(), (str(page.relative_to(site)), link)


def test_getting_started_renders_in_a_browser(site: Path, tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        pytest.fail("chromium missing: run `make tools` (Debian package chromium)")
    page = site / "getting-started.html"
    args = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr", "--v=0"]
    dom = subprocess.run([*args, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0 and "From an empty folder to an alert that pages" in dom.stdout
    errors = [line for line in dom.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert not errors, errors
    shot = tmp_path / "getting-started.png"
    taken = subprocess.run([*args, "--window-size=1200,1600", f"--screenshot={shot}", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert taken.returncode == 0 and shot.stat().st_size > 20_000
