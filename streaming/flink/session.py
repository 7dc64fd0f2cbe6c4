"""A session cluster's REST API, for what a job's own client handle cannot do: find the job a consumer group runs
there whichever process submitted it (the first `stream run`, or a later `stream rescale`), stop it with a savepoint,
and read each operator's parallelism."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

JOB_NAME = "freshrec-behavior"


class SessionError(RuntimeError):
    """The cluster refused or failed a request (its reason included)."""


def job_name(group: str) -> str:
    """The behavior job's name on the cluster: one running job per consumer group."""
    return f"{JOB_NAME} {group}"


def running_job(jobmanager: str, name: str) -> str | None:
    """The id of the running (or restarting) job called `name`, None when there is none."""
    jobs = _call(jobmanager, "GET", "/jobs/overview")["jobs"]
    live = [j["jid"] for j in jobs if j["name"] == name and j["state"] in ("CREATED", "RUNNING", "RESTARTING")]
    if len(live) > 1:
        raise SessionError(f"{len(live)} jobs called {name!r} run on {jobmanager}: {live}")
    return live[0] if live else None


def parallelism(jobmanager: str, job_id: str) -> dict[str, int]:
    """Each of the job's tasks (chained operators) -> its parallelism."""
    return {v["name"]: v["parallelism"] for v in _call(jobmanager, "GET", f"/jobs/{job_id}")["vertices"]}


def wait_running(jobmanager: str, job_id: str, timeout_s: float = 300) -> None:
    """Until every task of the job runs: a job is RUNNING while its tasks still deploy and restore their state, and
    a savepoint cannot be taken before they all run."""
    deadline = time.monotonic() + timeout_s
    while True:
        job = _call(jobmanager, "GET", f"/jobs/{job_id}")
        if job["state"] in ("FAILED", "CANCELED", "FINISHED"):
            raise SessionError(f"job {job_id} is {job['state']}")
        if all(v["status"] == "RUNNING" for v in job["vertices"]):
            return
        if time.monotonic() > deadline:
            raise SessionError(f"the tasks of job {job_id} did not all run within {timeout_s:.0f} s")
        time.sleep(0.5)


def stop_with_savepoint(jobmanager: str, job_id: str, directory: Path, timeout_s: float = 300) -> str:
    """Stop the job gracefully with a savepoint under `directory` (which the cluster must reach), once all its tasks
    run; returns the savepoint's path."""
    wait_running(jobmanager, job_id, timeout_s)
    body = {"targetDirectory": directory.resolve().as_uri(), "drain": False, "formatType": "CANONICAL"}
    request = _call(jobmanager, "POST", f"/jobs/{job_id}/stop", body)["request-id"]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        answer = _call(jobmanager, "GET", f"/jobs/{job_id}/savepoints/{request}")
        if answer["status"]["id"] == "COMPLETED":
            operation = answer["operation"]
            if "failure-cause" in operation:
                cause = operation["failure-cause"]
                raise SessionError(f"stop-with-savepoint of {job_id} failed: {cause.get('stack-trace', cause)[:2000]}")
            return str(operation["location"])
        time.sleep(0.5)
    raise SessionError(f"stop-with-savepoint of {job_id} did not complete within {timeout_s:.0f} s")


def _call(jobmanager: str, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://{jobmanager}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise SessionError(f"{method} {path} on {jobmanager}: {exc.code} {exc.read().decode(errors='replace')[:2000]}") from exc
