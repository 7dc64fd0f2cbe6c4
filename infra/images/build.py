"""Build the Kafka, Redis and Flink test images with no registry: everything comes from Debian's package mirror, the
pinned, checksum-verified jars and the Flink distribution of the pinned PyFlink wheel.

Each tag names its content (a hash of the Dockerfile, its files, the base image's tag, for Kafka the jar lock's
entries, for Flink the distribution's files), so a build is skipped when an image of that tag exists and redone when
any pin changes.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from infra.jars import BUNDLES, fetch, pom_version, read_lock
from infra.stack.flink import flink_home

HERE = Path(__file__).parent
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
KAFKA_VERSION = pom_version(BUNDLES["kafka-broker"].pom)
FLINK_VERSION = importlib.metadata.version("apache-flink")
FLINK_PARTS = ("bin", "conf", "lib", "plugins")
"""What of PyFlink's distribution a JobManager or TaskManager runs (no Python: the job's operators are JVM ones)."""


class ImageError(RuntimeError):
    """An image could not be built: the engine, debootstrap or a build step failed."""


@dataclass(frozen=True)
class Images:
    kafka: str
    redis: str
    flink: str

    def environment(self) -> dict[str, str]:
        """The variables that point the test fixtures at these images."""
        return {"FRESHREC_TEST_KAFKA_IMAGE": self.kafka, "FRESHREC_TEST_REDIS_IMAGE": self.redis,
                "FRESHREC_TEST_FLINK_IMAGE": self.flink}  # fmt: skip


def build_images(cache_dir: Path, log: Callable[[str], None] = print) -> Images:
    """The base, then the Kafka, Redis and Flink images, each built only when its tag is missing."""
    base = base_image(log)
    jars = fetch("kafka-broker", cache_dir)
    lock = "".join(f"{name} {digest}\n" for name, digest in sorted(read_lock()["kafka-broker"].items()))
    kafka = _image("kafka", KAFKA_VERSION, base, {"kafka-entrypoint.sh": HERE / "kafka-entrypoint.sh"},
                   {"jars": jars}, lock, log)  # fmt: skip
    redis = _image("redis", SUITE, base, {}, {}, "", log)
    home = flink_home()
    distribution = {f"flink/{part}": home / part for part in FLINK_PARTS}
    flink = _image("flink", FLINK_VERSION, base, {"flink-entrypoint.sh": HERE / "flink-entrypoint.sh"}, distribution,
                   _tree_digest(home, FLINK_PARTS), log)  # fmt: skip
    return Images(kafka, redis, flink)


def base_image(log: Callable[[str], None] = print) -> str:
    """A minimal Debian root filesystem from Debian's packages, imported as an image."""
    tag = f"freshrec/debian:{SUITE}-{_digest(SUITE.encode(), MIRROR.encode(), b'minbase')}"
    if _exists(tag):
        return tag
    if shutil.which("debootstrap") is None:
        raise ImageError("debootstrap is not installed (apt-get install debootstrap)")
    log(f"images: debootstrap {SUITE} from {MIRROR} (a few minutes, once)")
    with tempfile.TemporaryDirectory(prefix="freshrec-rootfs-") as scratch:
        rootfs = Path(scratch) / "rootfs"
        _run(["debootstrap", "--variant=minbase", SUITE, str(rootfs), MIRROR], "debootstrap")
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(["docker", "import", "-", tag], stdin=tar.stdout, capture_output=True, text=True)
        tar.wait()
        if tar.returncode != 0 or imported.returncode != 0:
            raise ImageError(f"importing the root filesystem as {tag} failed: {imported.stderr.strip()}")
    return tag


def _image(name: str, version: str, base: str, files: dict[str, Path], folders: dict[str, Path], extra: str,
           log: Callable[[str], None]) -> str:  # fmt: skip
    dockerfile = HERE / f"{name}.Dockerfile"
    parts = [dockerfile.read_bytes(), base.encode(), extra.encode(), *(p.read_bytes() for p in files.values())]
    tag = f"freshrec/{name}:{version}-{_digest(*parts)}"
    if _exists(tag):
        return tag
    log(f"images: building {tag}")
    with tempfile.TemporaryDirectory(prefix=f"freshrec-{name}-") as scratch:
        context = Path(scratch)
        for target, source in files.items():
            shutil.copy(source, context / target)
        for target, source in folders.items():
            shutil.copytree(source, context / target, ignore=shutil.ignore_patterns(".*"))
        _run(["docker", "build", "-q", "--build-arg", f"BASE={base}", "-t", tag, "-f", str(dockerfile), str(context)],
             f"building {tag}")  # fmt: skip
    return tag


def _exists(tag: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode == 0


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise ImageError(f"{what} failed ({done.returncode}):\n{(done.stdout + done.stderr)[-3000:]}")


def _tree_digest(root: Path, parts: tuple[str, ...]) -> str:
    """Every file's path and content under root's `parts`: the distribution as it would be copied."""
    h = hashlib.sha256()
    for part in parts:
        for path in sorted(p for p in (root / part).rglob("*") if p.is_file() and not p.name.startswith(".")):
            h.update(str(path.relative_to(root)).encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()[:12]
