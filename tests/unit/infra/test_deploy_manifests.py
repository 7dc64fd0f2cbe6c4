"""The Kubernetes manifests agree with the code: commands exist, every FRESHREC_* variable is a real setting, the
probes hit real routes."""

from __future__ import annotations

import yaml
from click.testing import CliRunner

from infra.cli import main
from infra.config import PROJECT_ROOT, Settings

MANIFEST = PROJECT_ROOT / "infra" / "deploy" / "api.yaml"


def _containers() -> list[dict]:
    documents = [d for d in yaml.safe_load_all(MANIFEST.read_text()) if d and d["kind"] == "Deployment"]
    return [c for d in documents for c in d["spec"]["template"]["spec"]["containers"]]


def test_every_variable_is_a_setting() -> None:
    for container in _containers():
        for variable in container["env"]:
            path = variable["name"].removeprefix("FRESHREC_").lower().split("__")
            model = Settings
            for part in path:
                assert part in model.model_fields, f"{variable['name']}: no setting {part!r}"
                model = model.model_fields[part].annotation
            if "value" in variable:  # the value parses as the setting's type
                Settings(**{path[0]: {path[1]: variable["value"]}} if len(path) == 2 else {path[0]: variable["value"]})


def test_commands_and_probes_exist() -> None:
    runner = CliRunner()
    routes = {"/readyz", "/healthz"}
    for container in _containers():
        command = container["command"]
        assert command[0] == ".venv/bin/freshrec"
        result = runner.invoke(main, [*command[1:2], "--help"])
        assert result.exit_code == 0, result.output
        for option in (a for a in command[2:] if a.startswith("--")):
            assert option in result.output, option
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            if probe in container:
                assert container[probe]["httpGet"]["path"] in routes
