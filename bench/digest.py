"""Benchmark: what the model sees of a big failing pytest run, the gate's head-and-tail excerpt against the digest.

A generated project like the ones issue 16 describes: 600 passing tests that print dots and warn, 40 errors
from a missing module, and one real failure. Prints each view's size and whether the failing assertion and the
function under test survive in it; then the time of a plain run and of fault localization's coverage run.

    .venv/bin/python bench/digest.py
"""

from __future__ import annotations

import shlex
import sys
import tempfile
import time
from pathlib import Path

from luban.harness.faults import locate
from luban.harness.gate import excerpt, relative_paths
from luban.harness.testdigest import digest
from luban.harness.testrun import run_tests
from luban.workspace import Workspace

FILES = {
    "conftest.py": "import pytest\n\n\n@pytest.fixture\ndef locale():\n    import nolocale_pack\n"
                   "    return nolocale_pack.load('de')\n",
    "shop/__init__.py": "",
    "shop/pricing.py": "import warnings\n\n\ndef tax(amount):\n"
                       "    warnings.warn('tax() will need a country', DeprecationWarning)\n"
                       "    return round(amount * 1.2, 2)\n\n\ndef discounted(amount, percent):\n"
                       "    if percent >= 50:\n        return amount - 2 * amount * percent / 100\n"
                       "    return amount - amount * percent / 100\n",
    "tests/test_tax.py": "import pytest\n\nfrom shop.pricing import tax\n\n\n"
                         "@pytest.mark.parametrize('n', range(600))\ndef test_tax(n):\n    assert tax(n) >= n\n",
    "tests/test_locale.py": "import pytest\n\n\n@pytest.mark.parametrize('n', range(40))\n"
                            "def test_format(locale, n):\n    assert locale.format(n)\n",
    "tests/test_discount.py": "from shop.pricing import discounted\n\n\ndef test_small():\n"
                              "    assert discounted(100, 10) == 90\n\n\ndef test_big():\n"
                              "    assert discounted(100, 50) == 50\n",
}
ASSERTION = "assert 0.0 == 50"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        for rel, text in FILES.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
        ws = Workspace.open(root, Path(tmp) / "out")
        command = f"{shlex.quote(sys.executable)} -m pytest -q -p no:cacheprovider"
        started = time.monotonic()
        tested = run_tests(command, ws)
        plain_s = time.monotonic() - started
        views = {"raw output": tested.output, "gate excerpt (head 1800 + tail 700)":
                 excerpt(relative_paths(tested.output, ws)), "digest": digest(tested.report, ws.root)}
        print(f"{'view':40} {'chars':>7}  failing assertion  names discounted")
        for name, text in views.items():
            print(f"{name:40} {len(text):7}  {str(ASSERTION in text):17}  {'discounted' in text}")
        started = time.monotonic()
        found = locate(command, ws)
        print(f"\nplain run {plain_s:.1f} s, localization (coverage run) {time.monotonic() - started:.1f} s")
        print(found.render())
        print("\n" + views["digest"])


if __name__ == "__main__":
    main()
