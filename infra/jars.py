"""Pinned jar bundles from Maven Central: resolved by Maven, verified against `maven/jars.lock`, cached.

Maven resolves the pinned coordinates (with `--strict-checksums` against the repository's own digests) into its local
repository, which is the download cache; the bundle is then copied next to a stamp only after every file's SHA-256
matches the committed lock and no file is missing or extra. A second fetch of a verified bundle is a no-op.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

MAVEN_DIR = Path(__file__).parent / "maven"
LOCK_FILE = MAVEN_DIR / "jars.lock"
_STAMP = ".verified"


@dataclass(frozen=True)
class Bundle:
    name: str
    pom: Path
    transitive: bool

    def directory(self, cache_dir: Path) -> Path:
        return cache_dir / "jars" / f"{self.name}-{pom_version(self.pom)}"


BUNDLES = {
    "kafka-broker": Bundle("kafka-broker", MAVEN_DIR / "kafka-broker.xml", transitive=True),
    "flink-connectors": Bundle("flink-connectors", MAVEN_DIR / "flink-connectors.xml", transitive=False),
}


class JarError(RuntimeError):
    """A bundle could not be resolved, or a jar does not match the lock."""


def read_lock(lock_file: Path = LOCK_FILE) -> dict[str, dict[str, str]]:
    """bundle -> {jar file name -> sha256}."""
    lock: dict[str, dict[str, str]] = {}
    for line in lock_file.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            bundle, name, digest = line.split()
            lock.setdefault(bundle, {})[name] = digest
    return lock


def fetch(bundle_name: str, cache_dir: Path) -> Path:
    """The verified bundle directory, resolving it first if needed."""
    bundle = _bundle(bundle_name)
    target = bundle.directory(cache_dir)
    expected = read_lock().get(bundle.name)
    if not expected:
        raise JarError(f"{bundle.name} has no entries in {LOCK_FILE}; run `freshrec jars lock`")
    if (target / _STAMP).is_file():
        return target
    with tempfile.TemporaryDirectory(dir=_mkdir(target.parent)) as tmp:
        staging = Path(tmp) / "jars"
        _resolve(bundle, staging)
        problems = verify(staging, expected)
        if problems:
            raise JarError(f"{bundle.name}: " + "; ".join(problems))
        (staging / _STAMP).write_text("sha256 verified against jars.lock\n")
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    return target


def verify(directory: Path, expected: dict[str, str]) -> list[str]:
    """Every mismatch between the jars in `directory` and the lock (empty when they agree exactly)."""
    found = {p.name: sha256(p) for p in directory.glob("*.jar")}
    problems = [f"missing {n}" for n in sorted(expected.keys() - found.keys())]
    problems += [f"unexpected {n}" for n in sorted(found.keys() - expected.keys())]
    problems += [f"checksum mismatch for {n}" for n in sorted(expected.keys() & found.keys()) if found[n] != expected[n]]
    return problems


def lock(cache_dir: Path, lock_file: Path = LOCK_FILE) -> None:
    """Re-resolve every bundle and rewrite the lock (run by a maintainer after changing a pom, then reviewed)."""
    lines = ["# bundle  jar  sha256 -- written by `freshrec jars lock`; verified on every fetch"]
    for bundle in BUNDLES.values():
        with tempfile.TemporaryDirectory(dir=_mkdir(cache_dir)) as tmp:
            _resolve(bundle, Path(tmp))
            lines += [f"{bundle.name} {p.name} {sha256(p)}" for p in sorted(Path(tmp).glob("*.jar"))]
    lock_file.write_text("\n".join(lines) + "\n")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def classpath(directory: Path) -> str:
    return str(directory / "*")


def _resolve(bundle: Bundle, output: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise JarError("Maven (`mvn`) is not installed: run scripts/setup.sh or `apt-get install maven`")
    cmd = [
        mvn, "-B", "-q", "--strict-checksums", "-f", str(bundle.pom), "dependency:copy-dependencies",
        f"-DoutputDirectory={output}", "-DincludeScope=runtime", f"-DexcludeTransitive={str(not bundle.transitive).lower()}",
    ]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        errors = [line for line in result.stdout.splitlines() + result.stderr.splitlines() if "ERROR" in line]
        raise JarError(f"mvn could not resolve {bundle.name}: " + " | ".join(errors[:3]))


def _bundle(name: str) -> Bundle:
    try:
        return BUNDLES[name]
    except KeyError:
        raise JarError(f"unknown jar bundle {name!r}; known: {', '.join(BUNDLES)}") from None


def pom_version(pom: Path) -> str:
    text = pom.read_text()
    start = text.index("<version>", text.index("<artifactId>")) + len("<version>")
    return text[start : text.index("</version>", start)]


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
