"""Shared fixtures: a small synthetic binary dataset registered through the user's import path."""
from __future__ import annotations

import sys

import os
from pathlib import Path

import pytest

from bench.synthetic import write_toy_csv

#: The paper's six datasets as files, for the real-data tests: a folder named by this variable (.ci/run sets it).
OFFLINE_ENV = "BENCH_OFFLINE_DATASETS"
OFFLINE_DATASETS = Path(os.environ[OFFLINE_ENV]) if os.environ.get(OFFLINE_ENV) else None
needs_offline_datasets = pytest.mark.skipif(
    OFFLINE_DATASETS is None or not (OFFLINE_DATASETS / "phoneme.csv").is_file(),
    reason=f"real-data test: set {OFFLINE_ENV} to a folder holding the paper's six datasets (as .ci/run does)")


@pytest.fixture
def toy_env(tmp_path, monkeypatch):
    """A data directory with the dataset `toy` and a bench.toml whose `t` profile runs on it."""
    data_dir = tmp_path / "data"
    csv = write_toy_csv(tmp_path / "toy.csv")
    from bench.data import DataCatalog
    DataCatalog(data_dir).import_files([csv], target="label")
    config = tmp_path / "bench.toml"
    config.write_text(f"""
[data]
dir = "{data_dir}"
[run]
profile = "t"
results = "{tmp_path / 'runs'}"
datasets = ["toy"]
irs = [5]
seeds = [1]
classifiers = ["SVM", "DT"]
samplers = ["No-resampling", "RandomOverSampler", "TomekLinks"]
ratios = [0.5, 1.0]
workers = 2
time_limit = 60
[table]
reference = "RandomOverSampler"
[profiles.t]
""")
    monkeypatch.setenv("BENCH_CONFIG", str(config))
    monkeypatch.delenv("BENCH_DATA_DIR", raising=False)
    return tmp_path


def importable_module(folder: Path, monkeypatch, name: str, source: str) -> Path:
    """A researcher's own module `name` in folder/mine, importable (on sys.path) for this test."""
    mine = folder / "mine"
    mine.mkdir(exist_ok=True)
    path = mine / f"{name}.py"
    path.write_text(source)
    monkeypatch.syspath_prepend(str(mine))
    return path


def write_record(dist_info: Path) -> None:
    """The RECORD pip writes into a dist-info folder: each installed file of the site folder with its sha256
    (bench.code_identity keys a distribution by its version only while its files match it)."""
    import base64
    import hashlib
    site = dist_info.parent
    lines = []
    for path in sorted(p for p in site.rglob("*") if p.is_file() and dist_info not in p.parents):
        digest = base64.urlsafe_b64encode(hashlib.sha256(path.read_bytes()).digest()).rstrip(b"=").decode()
        lines.append(f"{path.relative_to(site).as_posix()},sha256={digest},{path.stat().st_size}")
    lines.append(f"{dist_info.name}/RECORD,,")
    (dist_info / "RECORD").write_text("\n".join(lines) + "\n")


def add_to_config(folder: Path, text: str) -> None:
    """Append TOML to the toy environment's bench.toml."""
    config = folder / "bench.toml"
    config.write_text(config.read_text() + text)


def refused_before_anything_is_stored(result, folder: Path, words) -> None:
    """Exit code 2, one line naming every word, and no store created."""
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    for w in words:
        assert w in lines[0], lines[0]
    assert not (folder / "runs").exists()


class OnTerminal:
    """`python -m bench.cli ARGS` on a pseudo-terminal in a session of its own, as a person's shell runs it:
    the progress bar draws, and what it prints is read as it comes (a full buffer would block the run)."""

    def __init__(self, *args: str):
        import os
        import pty
        import subprocess
        import threading
        self._master, terminal = pty.openpty()
        self.process = subprocess.Popen([sys.executable, "-m", "bench.cli", *args], stdin=terminal,
                                        stdout=terminal, stderr=terminal, start_new_session=True)
        os.close(terminal)
        self._chunks: list[bytes] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        import os
        while True:
            try:
                data = os.read(self._master, 4096)
            except OSError:
                return
            if not data:
                return
            self._chunks.append(data)

    def wait(self, timeout: float) -> tuple[int, str]:
        """The exit code and everything printed."""
        import os
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=10)
        os.close(self._master)
        return code, b"".join(self._chunks).decode(errors="replace")


def one_line_error(result, *words, after_the_plan=False) -> str:
    """Exit code 2 and one line "error: ..." naming every word, no traceback; returns the message. (A CLI's
    bad input ends this way: tests of every command share the one check.) `after_the_plan`: a run's plan line
    printed before it."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()[1 if after_the_plan else 0:]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0].removeprefix("error: ")
