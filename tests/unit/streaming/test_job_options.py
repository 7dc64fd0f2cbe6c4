"""The behavior job's options: what Python sends is exactly what the JVM dataflow reads (`JobOptions.NAMES`), each a
field of the one `JobConfig`, in the text form the JVM parses."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from streaming.config import StreamSettings
from streaming.flink.environment import JOB_JAR
from streaming.jobs.behavior_job import JVM_OPTIONS, JobConfig, environment_options, parser


def _java_names() -> set[str]:
    source = (JOB_JAR.parents[1] / "src/main/java/io/freshrec/flink/JobOptions.java").read_text()
    declaration = re.search(r"NAMES = Set\.of\((.*?)\);", source, re.S)
    assert declaration is not None
    return set(re.findall(r'"([a-z_]+)"', declaration.group(1)))


def test_python_sends_exactly_the_options_the_jvm_reads() -> None:
    assert set(JVM_OPTIONS) == _java_names()
    assert set(JVM_OPTIONS) <= {f.name for f in fields(JobConfig)} | set(StreamSettings.model_fields)


def test_options_are_sent_as_the_jvm_parses_them() -> None:
    stream = StreamSettings(out_of_orderness_ms=7_000, max_ahead_ms=60_000, state_ttl_s=0)
    options = JobConfig("k:9092", clicks_topic="c", stream=stream, bounded=True).jvm_options()
    assert set(options) == set(JVM_OPTIONS) and all(isinstance(v, str) for v in options.values())
    assert (options["bootstrap"], options["clicks_topic"], options["bounded"]) == ("k:9092", "c", "true")
    assert (options["out_of_orderness_ms"], options["max_ahead_ms"], options["state_ttl_s"]) == ("7000", "60000", "0")
    assert JobConfig("k:9092").jvm_options()["bounded"] == "false"


def test_the_job_checkpoints_at_the_interval_of_its_stream_settings(tmp_path: Path) -> None:
    default = environment_options(JobConfig("k:9092"))
    assert default["execution.checkpointing.interval"] == f"{StreamSettings().checkpoint_interval_ms} ms"
    given = JobConfig("k:9092", stream=StreamSettings(checkpoint_interval_ms=2_500), checkpoint_dir=tmp_path)
    options = environment_options(given)
    assert options["execution.checkpointing.interval"] == "2500 ms"
    assert options["execution.checkpointing.dir"] == tmp_path.resolve().as_uri()
    module = parser().parse_args(["--bootstrap", "k:9092", "--jars", ".", "--checkpoint-interval-ms", "30000"])
    assert module.checkpoint_interval_ms == 30_000  # the Kubernetes route: the job module's arguments


def test_an_in_process_job_keeps_its_temp_files_in_its_own_folder(tmp_path: Path) -> None:
    assert "io.tmp.dirs" not in environment_options(JobConfig("k:9092"))
    options = environment_options(JobConfig("k:9092", checkpoint_dir=tmp_path, tmp_dir=tmp_path / "tmp"))
    assert options["io.tmp.dirs"] == str((tmp_path / "tmp").resolve())
    with pytest.raises(ValueError, match="session cluster"):
        JobConfig("k:9092", jobmanager="flink:8081", tmp_dir=tmp_path)
