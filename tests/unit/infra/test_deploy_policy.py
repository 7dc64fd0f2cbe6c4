"""The manifests pass the Kubernetes schema validator (kubernetes-validate, its schemas bundled: offline) and the
policy a platform team asks for: non-root, read-only root filesystem, no capabilities, requests and limits, probes
on every long-running container, required Secrets, pinned image tags, CronJobs that cannot hang past the next day,
ingress closed by a NetworkPolicy."""

from __future__ import annotations

import tomllib

import kubernetes_validate
import pytest
import yaml

from infra.config import PROJECT_ROOT

MANIFESTS = sorted((PROJECT_ROOT / "infra" / "deploy").glob("*.yaml"))
DOCUMENTS = [(m.name, d) for m in MANIFESTS for d in yaml.safe_load_all(m.read_text()) if d]
VERSION = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["version"]
DAY_S = 86_400


def _pods() -> list[tuple[str, dict, bool]]:
    """(name, pod spec, long-running) of every pod the manifests run."""
    pods = []
    for _, doc in DOCUMENTS:
        name = doc["metadata"]["name"]
        if doc["kind"] == "Deployment":
            pods.append((name, doc["spec"]["template"]["spec"], True))
        elif doc["kind"] == "CronJob":
            pods.append((name, doc["spec"]["jobTemplate"]["spec"]["template"]["spec"], False))
        elif doc["kind"] == "FlinkDeployment":  # the operator adds probes and sets limits = requests from `resource`
            pods.append((name, doc["spec"]["podTemplate"]["spec"], False))
    return pods


OPERATORS = ("flink.apache.org/", "kafka.strimzi.io/", "redis.redis.opstreelabs.in/")
"""API groups of the operators' custom resources, which the validator has no schema of
(tests/unit/infra/test_deploy_manifests.py checks the job they run and the topics they create)."""


@pytest.mark.parametrize(("manifest", "doc"), [(m, d) for m, d in DOCUMENTS if not d["apiVersion"].startswith(OPERATORS)],
                         ids=lambda v: v if isinstance(v, str) else v["metadata"]["name"])  # fmt: skip
def test_every_resource_passes_the_schema_validator_strictly(manifest: str, doc: dict) -> None:
    """Strict: an unknown or misspelt field fails too."""
    kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


@pytest.mark.parametrize(("name", "pod", "long_running"), _pods(), ids=lambda v: v if isinstance(v, str) else "")
def test_pods_run_locked_down(name: str, pod: dict, long_running: bool) -> None:
    context = pod["securityContext"]
    assert context["runAsNonRoot"] is True and context["runAsUser"] > 0, name
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}, name
    for container in pod["containers"]:
        own = container["securityContext"]
        assert own["allowPrivilegeEscalation"] is False and own["readOnlyRootFilesystem"] is True, name
        assert own["capabilities"] == {"drop": ["ALL"]}, name
        if "image" in container:  # the FlinkDeployment's image is the deployment's own `image`
            assert _pinned(container["image"]), (name, container["image"])
        if "resources" in container or long_running:
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]) and {"cpu", "memory"} <= set(resources["limits"]), name
        if long_running:
            assert "livenessProbe" in container and "readinessProbe" in container, name
        writable = {m["mountPath"] for m in container.get("volumeMounts", [])}
        assert "/tmp" in writable, f"{name}: a read-only root needs a writable /tmp"
        for variable in container.get("env", []):
            reference = variable.get("valueFrom", {}).get("secretKeyRef")
            assert reference is None or not reference.get("optional", False), f"{name}: a Secret must be required"


def test_every_image_is_pinned_to_the_release() -> None:
    images = [c["image"] for _, pod, _ in _pods() for c in pod["containers"] if "image" in c]
    images += [d["spec"]["image"] for _, d in DOCUMENTS if d["kind"] == "FlinkDeployment"]
    assert images and all(_pinned(image) for image in images), images


def _pinned(image: str) -> bool:
    return image.rsplit(":", 1)[-1] == VERSION or "@sha256:" in image


def test_cronjobs_cannot_block_the_next_day() -> None:
    """With concurrencyPolicy Forbid, one hung run would skip every later day: each run is stopped within a day."""
    crons = [d for _, d in DOCUMENTS if d["kind"] == "CronJob"]
    assert crons
    for cron in crons:
        assert cron["spec"]["concurrencyPolicy"] == "Forbid"
        deadline = cron["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"]
        assert 0 < deadline + cron["spec"].get("startingDeadlineSeconds", 0) < DAY_S, cron["metadata"]["name"]


def test_ingress_is_closed_but_what_is_allowed() -> None:
    policies = {d["metadata"]["name"]: d["spec"] for _, d in DOCUMENTS if d["kind"] == "NetworkPolicy"}
    deny = policies["freshrec-default-deny-ingress"]
    assert deny["podSelector"] == {"matchLabels": {"app": "freshrec"}} and deny["policyTypes"] == ["Ingress"]
    assert "ingress" not in deny  # no rule: nothing allowed
    labels = [d["spec"]["template"]["metadata"]["labels"] for _, d in DOCUMENTS if d["kind"] == "Deployment"]
    assert labels and all(label["app"] == "freshrec" for label in labels)  # every Deployment is covered
    (api_port,) = [p for r in policies["freshrec-api-ingress"]["ingress"] for p in r["ports"]]
    assert api_port["port"] == 8000
