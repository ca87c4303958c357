import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from luban.context.repomap import Limits, build, pagerank, repo_map
from luban.context.tagcache import CACHE_FILE
from luban.context.tags import LANGUAGES, Definition, FileTags, extract
from luban.context.tokens import estimate
from luban.context.prompt import system_prompt
from luban.workspace import Workspace

FIXTURE = Path(__file__).parent / "fixtures" / "repomap"
REPO = FIXTURE / "repo"
PRICING = ("shop/pricing.py:\n"
           "  class Price\n"
           "    def __init__(self, amount: float)\n"
           "    def cents(self) -> int\n"
           "  def apply_discount(amount: float, rate: float) -> float\n"
           "  def round_cents(value: float) -> float\n")


def headers(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.startswith(" ")]


def outline(text: str) -> dict[str, list[str]]:
    files: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        if line.startswith(" "):
            files[current].append(line)
        else:
            current = line
            files[current] = []
    return files


@pytest.fixture
def repo(tmp_path):
    """A copy of the fixture repo that a test may change."""
    return Path(shutil.copytree(REPO, tmp_path / "repo"))


def test_whole_map_of_the_polyglot_fixture_matches_the_golden_file():
    assert repo_map(REPO, budget_tokens=4096) == (FIXTURE / "expected.txt").read_text()


def test_the_fixture_covers_every_language_family():
    languages = {LANGUAGES[p.suffix] for p in REPO.rglob("*") if p.suffix in LANGUAGES}
    assert languages == {"python", "javascript", "typescript", "tsx", "go", "rust", "java", "c", "cpp"}


def test_without_files_in_play_the_most_used_definitions_lead():
    assert headers(repo_map(REPO, budget_tokens=200)) == [
        "web/util.js:",
        "native/vec.h:",
        "engine/src/geometry.rs:",
        "shop/pricing.py:",
        "web/api.ts:",
        "svc/store.go:",
        "native/matrix.cpp:",
        "native/matrix.hpp:",
    ]


def test_a_file_in_play_puts_what_it_uses_first():
    text = repo_map(REPO, budget_tokens=200, in_play=["shop/cart.py"])
    assert text.startswith(
        PRICING +
        "web/util.js:\n"
    )
    # Without it in play, pricing.py shows only its most used definition, and cart.py none.
    plain = outline(repo_map(REPO, budget_tokens=200))
    assert plain["shop/pricing.py:"] == ["  def round_cents(value: float) -> float"]
    assert "shop/cart.py:" not in plain and outline(text)["shop/cart.py:"] == ["  class Cart"]


def test_personalisation_follows_the_file_in_play():
    assert headers(repo_map(REPO, budget_tokens=200, in_play=["web/view.tsx"]))[:2] == ["web/util.js:", "web/api.ts:"]
    assert repo_map(REPO, budget_tokens=60, in_play=["svc/main.go"]) == (
        "svc/store.go:\n"
        "  type Item struct\n"
        "  type Repository interface\n"
        "    Get(sku string) (Item, bool)\n"
        "  type Store struct\n"
        "  func NewStore() *Store\n"
    )
    # An absolute path or a `./` prefix names the same file.
    assert repo_map(REPO, budget_tokens=60, in_play=[str(REPO / "svc/main.go")]) == repo_map(
        REPO, budget_tokens=60, in_play=["./svc/main.go"]
    )


def test_a_name_links_files_only_within_its_language_family():
    # cart.py defines `add`; Main.java calls Inventory's `add`. Python in play must not pull Java up.
    text = repo_map(REPO, budget_tokens=4096, in_play=["shop/cart.py"])
    assert headers(text).index("app/Inventory.java:") > headers(text).index("web/util.js:")


def test_the_map_fits_the_budget_and_grows_with_it():
    previous = ""
    for budget in (0, 5, 20, 40, 80, 160, 320, 640, 4096):
        text = repo_map(REPO, budget_tokens=budget, in_play=["engine/src/lib.rs"])
        assert estimate(text) <= budget
        assert len(text) >= len(previous)
        assert headers(text)[: len(headers(previous))] == headers(previous)
        for file, lines in outline(previous).items():
            assert set(lines) <= set(outline(text)[file])
        previous = text
    assert repo_map(REPO, budget_tokens=5) == ""
    assert previous == repo_map(REPO, budget_tokens=10_000, in_play=["engine/src/lib.rs"])


def test_only_the_given_files_are_mapped():
    assert repo_map(REPO, files=["shop/cart.py", "shop/pricing.py", "README.md", "missing.py"]) == (
        PRICING +
        "shop/cart.py:\n"
        "  class Cart\n"
        "    def __init__(self)\n"
        "    def add(self, price: Price) -> None\n"
        "    def total(self, rate: float = 0.0) -> float\n"
        "  def checkout(cart: Cart) -> float\n"
    )


def test_no_parseable_files_gives_an_empty_map(tmp_path):
    (tmp_path / "README.md").write_text("# nothing to map\n")
    (tmp_path / "latin1.py").write_bytes("def caf\xe9(): pass\n".encode("latin-1"))
    (tmp_path / "blob.c").write_bytes(b"int f(void) { return 0; }\0\x01\x02")
    (tmp_path / "empty.go").write_text("")
    assert repo_map(tmp_path) == ""
    assert repo_map(tmp_path / "does-not-exist") == ""


def test_skipped_directories_are_not_walked(repo):
    for skipped in (".git", "node_modules", ".venv", "venv", "__pycache__", ".hidden"):
        (repo / skipped).mkdir()
        (repo / skipped / "noise.py").write_text("def noise():\n    pass\n")
    assert repo_map(repo, budget_tokens=4096) == (FIXTURE / "expected.txt").read_text()


def test_a_warm_cache_serves_tags_without_reading_the_files(repo, tmp_path):
    cache = tmp_path / "cache"
    cold = repo_map(repo, budget_tokens=4096, cache_dir=cache)
    written = (cache / CACHE_FILE).read_bytes()
    assert len(json.loads(written)["files"]) == 16
    # Same size and mtime but different content: only a reparse could see the rename.
    pricing = repo / "shop/pricing.py"
    st = pricing.stat()
    pricing.write_text(pricing.read_text().replace("round_cents", "round_cints"))
    os.utime(pricing, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert repo_map(repo, budget_tokens=4096, cache_dir=cache) == cold
    assert (cache / CACHE_FILE).read_bytes() == written
    assert "round_cints" in repo_map(repo, budget_tokens=4096)
    # A new mtime invalidates the entry.
    os.utime(pricing, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert "def round_cints(value: float) -> float" in repo_map(repo, budget_tokens=4096, cache_dir=cache)


@pytest.mark.parametrize(
    "damage",
    [
        "{not json",
        "[]",
        '{"version": 1, "root": "/elsewhere", "files": {}}',
        "\udcff",
    ],
)
def test_a_damaged_cache_file_is_rebuilt(repo, tmp_path, damage):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / CACHE_FILE).write_bytes(damage.encode("utf-8", "surrogateescape"))
    assert repo_map(repo, budget_tokens=4096, cache_dir=cache) == (FIXTURE / "expected.txt").read_text()
    assert len(json.loads((cache / CACHE_FILE).read_text())["files"]) == 16


def test_damaged_cache_entries_are_reparsed(repo, tmp_path):
    cache = tmp_path / "cache"
    expected = repo_map(repo, budget_tokens=4096, cache_dir=cache)
    data = json.loads((cache / CACHE_FILE).read_text())
    data["files"]["shop/cart.py"]["defs"] = [["Cart", 4, 0, 7, "class Cart"]]  # parent out of range
    data["files"]["web/app.js"]["defs"] = "nonsense"
    data["files"]["svc/main.go"]["refs"] = [["Report"]]
    data["files"]["app/Main.java"] = ["not", "an", "entry"]
    (cache / CACHE_FILE).write_text(json.dumps(data))
    assert repo_map(repo, budget_tokens=4096, cache_dir=cache) == expected


def test_an_unwritable_cache_dir_still_gives_the_map(repo, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert repo_map(repo, budget_tokens=4096, cache_dir=blocker / "cache") == (FIXTURE / "expected.txt").read_text()


def test_generic_method_names_do_not_pull_in_unrelated_definitions(tmp_path):
    (tmp_path / "app.py").write_text(
        "from hashing import make_hashable\n\n\n"
        "def remember(seen, x):\n    seen.append(x)\n    seen.append(x)\n    seen.append(x)\n"
        "    return make_hashable(x)\n"
    )
    (tmp_path / "stack.py").write_text("class Stack:\n    def append(self, x):\n        pass\n")
    (tmp_path / "hashing.py").write_text("def make_hashable(value):\n    return value\n")
    assert headers(repo_map(tmp_path, in_play=["app.py"])) == ["hashing.py:", "app.py:", "stack.py:"]


def test_local_definitions_are_left_out_and_signatures_end_before_the_body():
    source = (
        b"def outer(\n    x,\n):  # returns inner\n    def inner():\n        class Local:\n            pass\n"
        b"    return inner\n\n\n"
        b"class Shape:\n    def area(self) -> float: ...\n\n    class Kind:\n        pass\n"
    )
    assert extract(source, "python") == FileTags(
        (
            Definition("outer", 1, 0, None, "def outer(x,)"),
            Definition("Shape", 10, 0, None, "class Shape"),
            Definition("area", 11, 1, 1, "def area(self) -> float"),
            Definition("Kind", 13, 1, 1, "class Kind"),
        ),
        (("float", 1),),
    )


def test_pagerank_hands_dangling_rank_back_through_the_restart():
    # File 0 uses a name that file 1 defines; file 1 uses nothing.
    rank, flow = pagerank([[(0, 1.0)], []], [[1]], [0.5, 0.5])
    assert rank == pytest.approx([0.5 / 1.425, 1 - 0.5 / 1.425])
    assert flow == pytest.approx([0.85 * 0.5 / 1.425])


def test_the_map_is_byte_identical_across_processes_and_import_stays_light():
    script = (
        "import sys; from pathlib import Path; import luban.context.repomap as m;"
        "assert 'tree_sitter' not in sys.modules and 'tree_sitter_language_pack' not in sys.modules;"
        f"sys.stdout.write(m.repo_map(Path({str(REPO)!r}), budget_tokens=300, in_play=['web/app.js']))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script], env={**os.environ, "PYTHONHASHSEED": seed}, capture_output=True, text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert outputs == {repo_map(REPO, budget_tokens=300, in_play=["web/app.js"])}


def huge_folder(root: Path, deep: int = 200) -> Path:
    """20 files at the top and `deep` two folders down: a folder too big to map at startup, in miniature."""
    root.mkdir(exist_ok=True)
    for i in range(20):
        (root / f"top_{i:02}.py").write_text(f"def top_{i:02}():\n    pass\n")
    (root / "a" / "b").mkdir(parents=True)
    for i in range(deep):
        (root / "a" / "b" / f"deep_{i:04}.py").write_text(f"def deep_{i:04}():\n    pass\n")
    return root


def test_the_walk_stops_at_the_file_limit_breadth_first_and_the_map_says_so(tmp_path):
    mapped = build(huge_folder(tmp_path), budget_tokens=4096, limits=Limits(files=30))
    assert mapped.skipped == ("The repo map is partial: the search for files stopped at 30 files; find the rest "
                              "with grep and glob.")
    assert sorted(headers(mapped.text)) == ([f"a/b/deep_{i:04}.py:" for i in range(10)]
                                            + [f"top_{i:02}.py:" for i in range(20)])


def test_the_time_limit_stops_walking_and_parsing_and_the_map_says_what_was_left(tmp_path):
    huge_folder(tmp_path)
    ticks = itertools.count()  # one tick per look at the clock: once at the start, per folder, per file read
    mapped = build(tmp_path, budget_tokens=4096, limits=Limits(seconds=10, clock=lambda: next(ticks)))
    assert mapped.skipped == ("The repo map is partial: 214 of the 220 source files found were not read within "
                              "10 s; find the rest with grep and glob.")
    assert sorted(headers(mapped.text)) == [f"top_{i:02}.py:" for i in range(6)]  # shallow files first
    ticks = itertools.count()
    walked = build(tmp_path, budget_tokens=4096, limits=Limits(seconds=2, clock=lambda: next(ticks)))
    assert (walked.text, walked.skipped) == ("", "The repo map is partial: the search for files stopped after 2 s and "
                                                 "20 of the 20 source files found were not read within 2 s; find the "
                                                 "rest with grep and glob.")


def test_the_files_parsed_before_the_time_limit_are_cached_so_the_next_start_maps_more(tmp_path):
    huge_folder(tmp_path / "repo", deep=10)
    cache = tmp_path / "cache"
    for parsed in (6, 12):  # a cached file is not parsed again, so only parsing spends the clock
        ticks = itertools.count()
        mapped = build(tmp_path / "repo", budget_tokens=4096, cache_dir=cache,
                       limits=Limits(seconds=10, clock=lambda: next(ticks)))
        assert len(json.loads((cache / CACHE_FILE).read_text())["files"]) == parsed
        assert (len(headers(mapped.text)), mapped.skipped) == (parsed, (
            f"The repo map is partial: {30 - parsed} of the 30 source files found were not read within 10 s; find "
            "the rest with grep and glob."))


def test_a_huge_folder_gets_a_prompt_that_says_what_its_view_left_out(tmp_path):
    huge_folder(tmp_path, deep=1600)
    view = system_prompt(Workspace.open(tmp_path, tmp_path / ".out"), "", 2500, limits=Limits(files=30)).content
    assert ("The repo map is partial: the search for files stopped at 30 files; find the rest with grep and glob."
            in view)
    assert "Files in the repository (150 of more than 1500):" in view
