"""The Kubernetes manifests agree with the code: commands exist, every FRESHREC_* variable is a real setting, the
probes hit real routes, the FlinkDeployment's job arguments parse, the intent CronJob runs daily and resumably."""

from __future__ import annotations

from pathlib import Path

import click
import yaml
from click.testing import CliRunner

from feature_store.offline import event_log
from infra.cli import main
from infra.config import PROJECT_ROOT, Settings
from schemas.topics import DEFAULT_TOPICS
from streaming.flink.environment import prometheus_reporter
from streaming.jobs import behavior_job

MANIFESTS = sorted((PROJECT_ROOT / "infra" / "deploy").glob("*.yaml"))


def _documents(kind: str) -> list[dict]:
    return [d for m in MANIFESTS for d in yaml.safe_load_all(m.read_text()) if d and d["kind"] == kind]


def _containers() -> list[dict]:
    pods = [d["spec"]["template"] for d in _documents("Deployment")]
    pods += [d["spec"]["jobTemplate"]["spec"]["template"] for d in _documents("CronJob")]
    return [c for pod in pods for c in pod["spec"]["containers"]]


def _claims(pod: dict) -> dict[str, str]:
    """The pod's persistent volumes: volume name -> claim."""
    return {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["spec"]["volumes"] if "persistentVolumeClaim" in v}


def _settings(container: dict) -> dict:
    """The container's FRESHREC_* variables as Settings' keyword arguments (a Secret's value: a placeholder)."""
    values: dict = {}
    for variable in container["env"]:
        *sections, name = variable["name"].removeprefix("FRESHREC_").lower().split("__")
        target = values
        for section in sections:
            target = target.setdefault(section, {})
        target[name] = variable.get("value", "from-a-secret")
    return values


def test_every_variable_is_a_setting() -> None:
    for container in _containers():
        for variable in container["env"]:
            path = variable["name"].removeprefix("FRESHREC_").lower().split("__")
            model = Settings
            for part in path:
                assert part in model.model_fields, f"{variable['name']}: no setting {part!r}"
                model = model.model_fields[part].annotation
        Settings(**_settings(container))  # the values parse together, the settings' own checks included


def test_the_job_reaches_kafka_as_the_writer_and_the_refresher_do() -> None:
    """The job's properties (a ConfigMap, no secret in it) are what the writer's settings give the Java client, with
    the password a reference to the mounted KafkaUser Secret; all three use the same cluster."""
    (deployment,) = _documents("FlinkDeployment")
    args = behavior_job.parser().parse_args(deployment["spec"]["job"]["args"][2:])
    pod = deployment["spec"]["podTemplate"]["spec"]
    mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    (config_map,) = [d for d in _documents("ConfigMap") if d["metadata"]["name"] == volumes["kafka-client"]["configMap"]["name"]]
    assert args.kafka_properties.parent == Path(mounts["kafka-client"])
    written = config_map["data"][args.kafka_properties.name]
    clients = {c["name"]: Settings(**_settings(c)).kafka for c in _containers() if c["name"] in ("writer", "refresher")}
    assert len(clients) == 2 and clients["writer"] == clients["refresher"]
    kafka = clients["writer"]
    secrets_dir = Path(mounts["kafka-user"])
    assert dict(line.split("=", 1) for line in written.splitlines()) == kafka.java_properties(secrets_dir=secrets_dir)
    assert args.bootstrap == kafka.bootstrap_servers and volumes["kafka-user"]["secret"]["secretName"] == "freshrec"
    assert str(kafka.ssl_ca_location).startswith(mounts["kafka-ca"])


def test_the_kafka_topics_are_the_codes_topics() -> None:
    """Strimzi's KafkaTopic resources: the names and configs of schemas/topics.py, replicated on the cluster."""
    topics = {d["metadata"]["name"]: d["spec"] for d in _documents("KafkaTopic")}
    assert set(topics) == set(DEFAULT_TOPICS.names())
    assert {n: t.get("config", {}) for n, t in topics.items()} == DEFAULT_TOPICS.configs()
    (kafka,) = _documents("Kafka")
    config = kafka["spec"]["kafka"]["config"]
    assert all(t["replicas"] == config["default.replication.factor"] == 3 for t in topics.values())
    assert config["min.insync.replicas"] == 2 and not config["auto.create.topics.enable"]
    (listener,) = kafka["spec"]["kafka"]["listeners"]
    bootstrap = f"{kafka['metadata']['name']}-kafka-bootstrap:{listener['port']}"  # Strimzi's bootstrap Service
    (writer,) = [c for c in _containers() if c["name"] == "writer"]
    assert Settings(**_settings(writer)).kafka.bootstrap_servers == bootstrap
    assert listener["tls"] and listener["authentication"]["type"] == "scram-sha-512"


def test_commands_and_probes_exist() -> None:
    runner = CliRunner()
    routes = {"http": {"/readyz", "/healthz"}, "metrics": {"/metrics"}}  # the API's, and --metrics-port's
    for container in _containers():
        command = container["command"]
        assert command[0] == ".venv/bin/freshrec"
        path = command[1:3] if isinstance(main.commands[command[1]], click.Group) else command[1:2]
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, result.output
        for option in (a for a in command[1:] if a.startswith("--")):
            assert option in result.output, option
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            if probe in container:
                port = container[probe]["httpGet"]["port"]
                assert container[probe]["httpGet"]["path"] in routes[port], (container["name"], probe)
                (number,) = [p["containerPort"] for p in container["ports"] if p["name"] == port]
                assert port != "metrics" or command[command.index("--metrics-port") + 1] == str(number)


def test_flink_deployment_runs_the_job_module_with_valid_arguments() -> None:
    (deployment,) = _documents("FlinkDeployment")
    job = deployment["spec"]["job"]
    assert job["entryClass"] == "org.apache.flink.client.python.PythonDriver"
    flag, module, *args = job["args"]
    assert (flag, module) == ("-pym", behavior_job.__name__)
    parsed = behavior_job.parser().parse_args(args)  # exits (fails the test) on an unknown or missing argument
    assert parsed.bootstrap and parsed.jars
    configuration = deployment["spec"]["flinkConfiguration"]
    assert job["upgradeMode"] == "savepoint" and job["parallelism"] >= 2  # a rescale: stop with a savepoint, resume
    assert {"execution.checkpointing.dir", "execution.checkpointing.savepoint-dir", "high-availability.type"} <= set(configuration)


def test_flink_deployment_serves_metrics_with_the_reporter_the_local_jobs_use() -> None:
    (deployment,) = _documents("FlinkDeployment")
    config = deployment["spec"]["flinkConfiguration"]
    assert prometheus_reporter(config["metrics.reporter.prom.port"]).items() <= config.items()


def test_intent_cronjob_runs_yesterday_once_at_a_time() -> None:
    (cron,) = [c for c in _documents("CronJob") if c["metadata"]["name"] == "freshrec-intents"]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid" and cron["spec"]["timeZone"] == "Etc/UTC"
    minute, hour, *rest = cron["spec"]["schedule"].split()
    assert rest == ["*", "*", "*"] and int(hour) == 0  # daily, after midnight UTC: yesterday is complete
    (container,) = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert "--date" not in container["command"]  # the default date is yesterday (UTC)



def test_the_job_writes_its_event_log_where_the_writer_compacts_it() -> None:
    (deployment,) = _documents("FlinkDeployment")
    parsed = behavior_job.parser().parse_args(deployment["spec"]["job"]["args"][2:])
    (writer,) = [c for c in _containers() if c["command"][1:3] == ["stream", "write"]]
    repo = next(v["value"] for v in writer["env"] if v["name"] == "FRESHREC_FEATURE_REPO")
    assert parsed.event_log_dir == Settings(feature_repo=repo).offline_dir / event_log.STREAMED

    def claims(pod: dict) -> dict[str, str]:  # mount path -> claim
        volumes = _claims(pod)
        return {m["mountPath"]: volumes[m["name"]] for c in pod["spec"]["containers"] for m in c.get("volumeMounts", [])
                if m["name"] in volumes}  # fmt: skip

    (writer_pod,) = [d["spec"]["template"] for d in _documents("Deployment") if d["metadata"]["name"] == "freshrec-snapshot-writer"]
    assert claims(deployment["spec"]["podTemplate"])[repo] == claims(writer_pod)[repo]


def test_retrain_cronjob_trains_daily_from_the_store_into_the_served_models() -> None:
    (cron,) = [c for c in _documents("CronJob") if c["metadata"]["name"] == "freshrec-retrain"]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid" and cron["spec"]["timeZone"] == "Etc/UTC"
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    command = container["command"]
    assert command[1] == "train" and command[command.index("--source") + 1] == "store" and "--before" not in command
    models = next(v["value"] for v in container["env"] if v["name"] == "FRESHREC_MODELS_DIR")
    served = [c for d in _documents("Deployment") if d["metadata"]["name"] != "freshrec-snapshot-writer"
              for c in d["spec"]["template"]["spec"]["containers"]]  # fmt: skip
    assert served and all({"name": "FRESHREC_MODELS_DIR", "value": models} in c["env"] for c in served)
    claims = _claims(pod)
    assert any(m["mountPath"] == models and claims[m["name"]] == "freshrec-models" for m in container["volumeMounts"])


def test_every_redis_client_reaches_the_redis_cluster() -> None:
    """The operator's RedisCluster: three leaders with a follower each, AUTH from the Secret every client mounts;
    every pod that speaks to Redis goes through its leader Service as a cluster client."""
    (redis_cluster,) = _documents("RedisCluster")
    spec, name = redis_cluster["spec"], redis_cluster["metadata"]["name"]
    assert spec["clusterSize"] == spec["redisLeader"]["replicas"] == spec["redisFollower"]["replicas"] >= 3
    secret = spec["kubernetesConfig"]["redisSecret"]
    clients = [c for c in _containers() if any(v["name"] == "FRESHREC_REDIS__HOST" for v in c["env"])]
    assert len(clients) >= 4
    for container in clients:
        redis = Settings(**_settings(container)).redis
        assert redis.host == f"{name}-leader" and redis.cluster and redis.port == 6379, container["name"]
        password = next(v for v in container["env"] if v["name"] == "FRESHREC_REDIS__PASSWORD")
        assert password["valueFrom"]["secretKeyRef"] == {"name": secret["name"], "key": secret["key"]}
