"""The TV's scripts parse as ES5, for old smart-TV browsers (Chromium 47 and later).

The TV-lite page (``/tv/<screen>``) loads ``assets/tiles.js`` and ``assets/wallboard.js`` and
nothing else; a ``let``, an arrow function or a template string in either would leave an old
TV blank. Checked by acorn (npm, ``tests/js``) with ``ecmaVersion: 5``; the check itself is
shown to refuse ES2015.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from wallboard.layouts.lite import SCRIPTS

ROOT = Path(__file__).resolve().parent.parent
CHECK = ROOT / "tests" / "js" / "es5.js"


def es5(*files: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    assert node is not None, "Node.js is needed for this test (the machine's)"
    assert (ROOT / "tests" / "js" / "node_modules" / "acorn").is_dir(), "run `make test` (npm ci in tests/js)"
    return subprocess.run([node, str(CHECK), *map(str, files)], capture_output=True, text=True, timeout=60)


def test_the_tv_lite_scripts_parse_as_es5() -> None:
    files = [ROOT / "assets" / name for name in SCRIPTS]
    done = es5(*files)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split("\n")[:-1] == [f"ok {f}" for f in files]


@pytest.mark.parametrize(
    "source",
    ["let a = 1;", "var f = () => 1;", "var s = `x`;", "class A {}", "var o = {a, b};", "for (var x of []) {}"],
)
def test_the_check_refuses_es2015(tmp_path: Path, source: str) -> None:
    script = tmp_path / "new.js"
    script.write_text(source)
    done = es5(script)
    assert done.returncode == 1 and done.stdout.startswith(f"{script}:1:"), done.stdout
