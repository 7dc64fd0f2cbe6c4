"""Flink execution environments for freshrec jobs: the one place that knows PyFlink's setup quirks.

- The Python worker runs `python` from PATH unless told otherwise: point it (and the client) at this interpreter, and
  put its bin directory first on PATH (thread mode loads `pemja` from there).
- Connector jars are not inside the PyFlink wheels: they come in as `pipeline.jars` (verified by infra.jars).
- Thread mode runs Python functions inside the JVM: several times the throughput of process mode here.
- `jobmanager` (HOST:PORT of a session cluster's REST endpoint) submits there instead of to an in-process
  mini-cluster; the jars travel with the job.
- A DataStream job built in the JVM (`stream_environment`) needs the jars on the client's class loader too, so that
  Python can reach its classes through the gateway.
- An in-process mini-cluster finds metric reporters on its JVM's classpath only (Flink's plugin folders serve
  clusters): the bundled Prometheus reporter joins the classpath of the JVM PyFlink starts, which reads
  HADOOP_CLASSPATH as its one extension point, so `prometheus_reporter` options work in process as on a cluster.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pyflink.common import Configuration
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.java_gateway import get_gateway
from pyflink.table import EnvironmentSettings, TableEnvironment

PROMETHEUS_PLUGIN = "metrics-prometheus"
JOB_JAR = Path(__file__).resolve().parents[1] / "jvm" / "target" / "freshrec-flink.jar"
"""freshrec's JVM-side functions (streaming/jvm), built by scripts/setup.sh."""


def job_jar() -> Path:
    if not JOB_JAR.is_file():
        raise FileNotFoundError(f"{JOB_JAR} is not built: run scripts/setup.sh (or mvn -f streaming/jvm/pom.xml package)")
    return JOB_JAR


def configuration(jars: Sequence[Path], parallelism: int = 1, extra: dict[str, str] | None = None,
                  jobmanager: str | None = None) -> Configuration:  # fmt: skip
    _reporters_on_classpath()  # before Configuration(), which starts the JVM
    bin_dir = str(Path(sys.executable).parent)
    if not os.environ.get("PATH", "").startswith(bin_dir):
        os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    config = Configuration()
    settings = {
        **({"pipeline.jars": ";".join(p.resolve().as_uri() for p in jars)} if jars else {}),
        "python.executable": sys.executable,
        "python.client.executable": sys.executable,
        "python.execution-mode": "thread",
        "parallelism.default": str(parallelism),
        **(remote(jobmanager) if jobmanager else {}),
        **(extra or {}),
    }
    for key, value in settings.items():
        config.set_string(key, value)
    return config


def _reporters_on_classpath() -> None:
    import pyflink

    jars = [str(p) for p in sorted((Path(pyflink.__file__).parent / "plugins" / PROMETHEUS_PLUGIN).glob("*.jar"))]
    present = os.environ.get("HADOOP_CLASSPATH", "").split(os.pathsep)
    if missing := [jar for jar in jars if jar not in present]:
        os.environ["HADOOP_CLASSPATH"] = os.pathsep.join([p for p in present if p] + missing)


def prometheus_reporter(ports: str) -> dict[str, str]:
    """Options that serve every metric of the JVMs they configure on /metrics at `ports` (one port, or a range
    LOW-HIGH where several JVMs of one host share the settings: each takes the first free one). The reporter is one of
    Flink's bundled plugins (`plugins/metrics-prometheus`)."""
    return {"metrics.reporter.prom.factory.class": "org.apache.flink.metrics.prometheus.PrometheusReporterFactory",
            "metrics.reporter.prom.port": ports}  # fmt: skip


def remote(jobmanager: str) -> dict[str, str]:
    """Options that send jobs to the session cluster whose REST endpoint is `jobmanager` (HOST:PORT)."""
    host, _, port = jobmanager.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--jobmanager must be HOST:PORT (the cluster's REST endpoint), got {jobmanager!r}")
    return {"execution.target": "remote", "rest.address": host, "rest.port": port}


def table_environment(
    jars: Sequence[Path], streaming: bool = True, parallelism: int = 1, extra: dict[str, str] | None = None,
    jobmanager: str | None = None,
) -> TableEnvironment:  # fmt: skip
    builder = EnvironmentSettings.new_instance()
    builder = builder.in_streaming_mode() if streaming else builder.in_batch_mode()
    settings = configuration(jars, parallelism, extra, jobmanager)
    return TableEnvironment.create(builder.with_configuration(settings).build())


def stream_environment(jars: Sequence[Path], parallelism: int = 1, extra: dict[str, str] | None = None,
                       jobmanager: str | None = None) -> StreamExecutionEnvironment:  # fmt: skip
    """A DataStream environment whose jars are both shipped with the job and loadable from Python (the gateway).

    Without `jobmanager`: the environment Flink provides (the cluster's, under the Kubernetes operator's
    PythonDriver; an in-process mini-cluster otherwise). With it: built on the Java constructor, because
    `get_execution_environment` outside a Flink CLI always makes a local environment, ignoring `execution.target`."""
    config = configuration([], parallelism, extra, jobmanager)
    if jobmanager is None:
        env = StreamExecutionEnvironment.get_execution_environment(config)
    else:
        java = get_gateway().jvm.org.apache.flink.streaming.api.environment.StreamExecutionEnvironment
        env = StreamExecutionEnvironment(java(config._j_configuration))
    env.add_jars(*(p.resolve().as_uri() for p in jars))
    return env
