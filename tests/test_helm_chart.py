"""The Helm chart (helm/icrank): rendered offline, checked as Kubernetes 1.31 objects.

Rendering goes through Helm's own engine (``helm_python``: the Helm Go SDK over ctypes, no helm
binary, no cluster, no network), which also validates the values against values.schema.json
as ``helm install`` does. Every manifest is validated in strict mode with ``kubernetes_validate``
against the bundled Kubernetes 1.31 schemas, then checked for the behaviour the deployment
relies on.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import dask
import distributed  # noqa: F401  (registers Dask's worker defaults)
import helm_python as helm
import jsonschema
import kubernetes_validate
import pytest
import yaml

from flows.runtime import WORKER_CONFIG

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest itself depends on tomli before 3.11
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
CHART_DIR = ROOT / "helm" / "icrank"
PRODUCTION_VALUES = ROOT / "deploy" / "values-production.yaml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
KUBE_VERSION = "1.31"
RELEASE, NAMESPACE = "ranking", "innovation"
SCRATCH_VARS = ("HOME", "TMPDIR", "DASK_TEMPORARY_DIRECTORY", "MPLCONFIGDIR", "NUMBA_CACHE_DIR")

JOB_VALUES: dict[str, Any] = {
    "job": {
        "enabled": True,
        "schedule": "30 1 * * *",
        "output": "s3://bucket/rankings",
        "inputs": ["s3://bucket/in/patents/", "s3://bucket/in/vc.parquet"],
    },
    "config": {"top": 50, "storage-options": {}, "sources": {"patent": {"eps-km": 10}}},
    "s3": {
        "existingSecret": "object-store",
        "accessKeyIdKey": "key-id",
        "secretAccessKeyKey": "key-secret",
        "endpointUrl": "https://objects.example.internal",
        "region": "eu-central-1",
    },
}
INGRESS_VALUES: dict[str, Any] = {
    "ingress": {
        "enabled": True,
        "className": "nginx",
        "hosts": [{"host": "dask.example.internal", "paths": [{"path": "/"}]}],
        "tls": [{"secretName": "dask-tls", "hosts": ["dask.example.internal"]}],
    }
}


def production_values() -> dict[str, Any]:
    return yaml.safe_load(PRODUCTION_VALUES.read_text(encoding="utf-8"))


VARIANTS: dict[str, Any] = {
    "defaults": lambda: None,
    "production": production_values,
    "job": lambda: JOB_VALUES,
    "job+ingress": lambda: {**JOB_VALUES, **INGRESS_VALUES},
    "production+ingress": lambda: {**production_values(), **INGRESS_VALUES},
}


@pytest.fixture(scope="module")
def chart() -> Iterator[helm.Chart]:
    with helm.Chart.load(CHART_DIR) as loaded:
        yield loaded


def render(chart: helm.Chart, values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The chart's Kubernetes objects for ``values`` (NOTES.txt left out)."""
    manifests = chart.render(values, name=RELEASE, namespace=NAMESPACE)
    docs = []
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            continue
        docs.extend(doc for doc in yaml.safe_load_all(text) if doc is not None)
    return docs


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def rendered(request: pytest.FixtureRequest, chart: helm.Chart) -> list[dict[str, Any]]:
    return render(chart, VARIANTS[request.param]())


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]


def one(docs: list[dict[str, Any]], kind: str, component: str | None = None) -> dict[str, Any]:
    found = [
        doc
        for doc in by_kind(docs, kind)
        if component is None
        or doc["metadata"]["labels"].get("app.kubernetes.io/component") == component
    ]
    assert len(found) == 1, f"expected one {kind} {component or ''}, got {len(found)}"
    return found[0]


def pod_template(doc: dict[str, Any]) -> dict[str, Any]:
    if doc["kind"] == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]
    return doc["spec"]["template"]


def workloads(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] in ("Deployment", "StatefulSet", "Job", "CronJob")]


def containers(pod_spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod_spec.get("initContainers", []), *pod_spec["containers"]]


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in container.get("env", [])}


def option(args: list[str], flag: str) -> str:
    assert args.count(flag) == 1, f"{flag} not given exactly once in {args}"
    return args[args.index(flag) + 1]


def named_ports(container: dict[str, Any]) -> dict[str, int]:
    return {p["name"]: p["containerPort"] for p in container.get("ports", []) if "name" in p}


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def scheduler_service_address(docs: list[dict[str, Any]]) -> str:
    """``tcp://<Service>:<port>`` of the Service that selects the scheduler pods."""
    scheduler = one(docs, "Deployment", "scheduler")
    labels = pod_template(scheduler)["metadata"]["labels"]
    services = [s for s in by_kind(docs, "Service") if selects(s["spec"]["selector"], labels)]
    assert len(services) == 1
    comm = next(p for p in services[0]["spec"]["ports"] if p["name"] == "comm")
    return f"tcp://{services[0]['metadata']['name']}:{comm['port']}"


# --- rendering and Kubernetes validity ------------------------------------------------------


def test_every_manifest_is_a_valid_kubernetes_131_object(rendered: list[dict[str, Any]]) -> None:
    assert rendered
    for doc in rendered:
        kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
        assert doc["metadata"]["labels"]["app.kubernetes.io/instance"] == RELEASE


def test_validation_really_runs_against_131_in_strict_mode() -> None:
    good = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {}}
    assert kubernetes_validate.validate(good, KUBE_VERSION, strict=True) == KUBE_VERSION
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate({**good, "dta": {}}, KUBE_VERSION, strict=True)


def test_defaults_render_a_cluster_without_job_or_ingress(chart: helm.Chart) -> None:
    docs = render(chart)
    kinds = sorted(doc["kind"] for doc in docs)
    assert kinds == ["ConfigMap", "Deployment", "Deployment", "Service", "ServiceAccount"]
    assert one(docs, "Deployment", "worker")["spec"]["replicas"] == 2
    assert one(docs, "Service")["spec"]["type"] == "ClusterIP"


def test_production_values_render_the_nightly_job(chart: helm.Chart) -> None:
    values = production_values()
    docs = render(chart, values)
    assert one(docs, "Deployment", "worker")["spec"]["replicas"] == values["worker"]["replicas"]
    assert 4 <= values["worker"]["replicas"] <= 8
    cron = one(docs, "CronJob")
    assert cron["spec"]["schedule"] == values["job"]["schedule"]
    args = containers(pod_template(cron)["spec"])[0]["args"]
    assert option(args, "--output") == values["job"]["output"] == "s3://my-bucket/rankings"
    assert [args[i + 1] for i, a in enumerate(args) if a == "--input"] == values["job"]["inputs"]


def test_chart_lints_clean_for_kubernetes_131() -> None:
    for values in (None, production_values(), {**JOB_VALUES, **INGRESS_VALUES}):
        report = helm.lint(CHART_DIR, values, strict=True, kube_version=f"v{KUBE_VERSION}.0")
        problems = [m for m in report["messages"] if m["severity"] >= 2]
        assert not problems and not report["errors"], report


def test_chart_metadata() -> None:
    with helm.Chart.load(CHART_DIR) as loaded:
        meta = loaded.metadata
        assert loaded.schema is not None
    assert meta["apiVersion"] == "v2"
    assert (meta["name"], meta["version"], meta["appVersion"]) == ("icrank", "0.1.0", "0.1.0")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert meta["appVersion"] == project["project"]["version"]


# --- values.schema.json ---------------------------------------------------------------------

BAD_VALUES = {
    "negative worker replicas": {"worker": {"replicas": -1}},
    "job enabled without schedule": {"job": {"enabled": True, "output": "s3://b/r"}},
    "job enabled with a malformed schedule": {
        "job": {"enabled": True, "schedule": "nightly", "output": "s3://b/r"}
    },
    "job enabled without output": {"job": {"enabled": True, "schedule": "0 2 * * *"}},
    "unknown top-level key": {"replicaCount": 3},
    "string port": {"scheduler": {"ports": {"comm": "8786"}}},
    "port out of range": {"worker": {"dashboardPort": 70000}},
    "numeric image tag": {"image": {"tag": 1.5}},
    "empty image repository": {"image": {"repository": ""}},
    "resources not an object": {"scheduler": {"resources": "1 cpu"}},
    "bad resource quantity": {"worker": {"resources": {"limits": {"cpu": "lots"}}}},
    "unknown resources key": {"job": {"resources": {"limit": {"cpu": "1"}}}},
    "unknown worker key": {"worker": {"replica": 3}},
    "bad service type": {"scheduler": {"service": {"type": "Internal"}}},
    "root user allowed": {"podSecurityContext": {"runAsNonRoot": False}},
    "writable root filesystem": {"securityContext": {"readOnlyRootFilesystem": False}},
}


@pytest.mark.parametrize("values", list(BAD_VALUES.values()), ids=list(BAD_VALUES))
def test_schema_rejects_bad_values_when_rendering(chart: helm.Chart, values: dict) -> None:
    with pytest.raises(helm.HelmValuesError):
        chart.render(values, name=RELEASE, namespace=NAMESPACE)


def test_schema_error_names_the_offending_value(chart: helm.Chart) -> None:
    with pytest.raises(helm.HelmValuesError, match="schedule"):
        chart.render({"job": {"enabled": True, "output": "s3://b/r"}}, name=RELEASE)
    with pytest.raises(helm.HelmValuesError, match="replicas"):
        chart.render({"worker": {"replicas": -1}}, name=RELEASE)
    with pytest.raises(helm.HelmValuesError, match="bogus"):
        chart.render({"bogus": True}, name=RELEASE)


def test_schema_is_draft_07_and_accepts_the_shipped_values(chart: helm.Chart) -> None:
    """The same schema through Python's jsonschema: the chart's defaults and the production
    example pass, the bad values fail (so the schema does not lean on one implementation)."""
    schema = json.loads((CHART_DIR / "values.schema.json").read_text(encoding="utf-8"))
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert schema["additionalProperties"] is False
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    defaults = yaml.safe_load((CHART_DIR / "values.yaml").read_text(encoding="utf-8"))
    validator.validate(defaults)
    for values in (production_values(), JOB_VALUES, INGRESS_VALUES):
        validator.validate(chart.merge_values(values))
    for name, values in BAD_VALUES.items():
        errors = list(validator.iter_errors(chart.merge_values(values)))
        assert errors, f"jsonschema accepts {name}"


# --- security -------------------------------------------------------------------------------


def test_every_pod_and_container_is_hardened(rendered: list[dict[str, Any]]) -> None:
    assert workloads(rendered)
    for doc in workloads(rendered):
        spec = pod_template(doc)["spec"]
        pod_sc = spec["securityContext"]
        assert pod_sc["runAsNonRoot"] is True
        assert pod_sc["runAsUser"] > 0 and pod_sc["runAsGroup"] > 0 and "fsGroup" in pod_sc
        assert pod_sc["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is False
        assert not spec.get("hostNetwork") and not spec.get("hostPID")
        for container in containers(spec):
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, container["name"]
            assert sc["readOnlyRootFilesystem"] is True, container["name"]
            assert sc["privileged"] is False, container["name"]
            assert "ALL" in sc["capabilities"]["drop"], container["name"]
            assert not sc["capabilities"].get("add"), container["name"]
            assert sc.get("runAsUser", pod_sc["runAsUser"]) != 0


def test_service_account_token_is_not_mounted(rendered: list[dict[str, Any]]) -> None:
    for account in by_kind(rendered, "ServiceAccount"):
        assert account["automountServiceAccountToken"] is False
    names = {a["metadata"]["name"] for a in by_kind(rendered, "ServiceAccount")}
    for doc in workloads(rendered):
        assert pod_template(doc)["spec"]["serviceAccountName"] in names


def test_writable_paths_lie_on_a_mounted_emptydir(rendered: list[dict[str, Any]]) -> None:
    for doc in workloads(rendered):
        spec = pod_template(doc)["spec"]
        empty_dirs = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        for v in spec["volumes"]:
            if "emptyDir" in v:
                assert isinstance(v["emptyDir"], dict)  # `emptyDir:` alone is no volume source
        for container in containers(spec):
            mounts = [
                PurePosixPath(m["mountPath"])
                for m in container["volumeMounts"]
                if m["name"] in empty_dirs and not m.get("readOnly")
            ]
            assert mounts, f"{container['name']} has no writable emptyDir"
            env = env_of(container)
            for var in SCRATCH_VARS:
                path = PurePosixPath(env[var]["value"])
                assert path.is_absolute()
                assert any(path == m or m in path.parents for m in mounts), (var, path)


def test_production_scratch_has_a_size_limit(chart: helm.Chart) -> None:
    docs = render(chart, production_values())
    volumes = pod_template(one(docs, "Deployment", "worker"))["spec"]["volumes"]
    scratch = next(v for v in volumes if "emptyDir" in v)
    assert scratch["emptyDir"]["sizeLimit"] == production_values()["scratch"]["sizeLimit"]


# --- wiring ---------------------------------------------------------------------------------


def test_workers_and_job_dial_the_scheduler_service(rendered: list[dict[str, Any]]) -> None:
    address = scheduler_service_address(rendered)
    assert re.fullmatch(rf"tcp://{RELEASE}-icrank-scheduler:\d+", address)
    worker = containers(pod_template(one(rendered, "Deployment", "worker"))["spec"])[0]
    assert worker["command"] == ["dask"] and worker["args"][0] == "worker"
    assert [a for a in worker["args"] if a.startswith("tcp://")] == [address]
    for cron in by_kind(rendered, "CronJob"):
        job = containers(pod_template(cron)["spec"])[0]
        assert job["command"] == ["icrank"] and job["args"][0] == "run"
        assert option(job["args"], "--scheduler") == address
        assert "--quiet" in job["args"]


def test_scheduler_listens_on_the_ports_its_service_targets(
    rendered: list[dict[str, Any]],
) -> None:
    scheduler = one(rendered, "Deployment", "scheduler")
    container = containers(pod_template(scheduler)["spec"])[0]
    assert container["command"] == ["dask"] and container["args"][0] == "scheduler"
    ports = named_ports(container)
    assert int(option(container["args"], "--port")) == ports["comm"]
    assert option(container["args"], "--dashboard-address") == f":{ports['dashboard']}"
    service = one(rendered, "Service")
    for port in service["spec"]["ports"]:
        target = port.get("targetPort", port["port"])
        resolved = ports.get(target) if isinstance(target, str) else target
        assert resolved == ports[port["name"]], port  # each Service port reaches its namesake
    by_name = {p["name"]: p for p in service["spec"]["ports"]}
    assert ports["dashboard"] == by_name["dashboard"]["port"]
    assert ports["comm"] == by_name["comm"]["port"]
    assert {"comm", "dashboard"} <= set(by_name)


def test_scheduler_service_selects_only_scheduler_pods(rendered: list[dict[str, Any]]) -> None:
    service = one(rendered, "Service")
    for doc in by_kind(rendered, "Deployment"):
        labels = pod_template(doc)["metadata"]["labels"]
        assert selects(doc["spec"]["selector"]["matchLabels"], labels)
        component = labels["app.kubernetes.io/component"]
        assert selects(service["spec"]["selector"], labels) == (component == "scheduler")


def test_probes_use_named_ports_of_their_container(rendered: list[dict[str, Any]]) -> None:
    for component in ("scheduler", "worker"):
        container = containers(pod_template(one(rendered, "Deployment", component))["spec"])[0]
        ports = named_ports(container)
        for kind in ("readinessProbe", "livenessProbe"):
            probe = container[kind]["httpGet"]
            assert probe["path"] == "/health"
            assert isinstance(probe["port"], str) and probe["port"] in ports, (component, kind)
            assert probe["port"] == "dashboard"
    worker = containers(pod_template(one(rendered, "Deployment", "worker"))["spec"])[0]
    assert option(worker["args"], "--dashboard-address") == f":{named_ports(worker)['dashboard']}"


def test_all_containers_run_the_same_image(rendered: list[dict[str, Any]]) -> None:
    images = {
        container["image"]
        for doc in workloads(rendered)
        for container in containers(pod_template(doc)["spec"])
    }
    assert len(images) == 1
    assert images.pop().endswith(":0.1.0")  # the tag defaults to the chart's appVersion


def test_image_digest_wins_over_tag(chart: helm.Chart) -> None:
    digest = "sha256:" + "ab" * 32
    docs = render(
        chart, {**JOB_VALUES, "image": {"repository": "r.example/icrank", "digest": digest}}
    )
    images = {c["image"] for d in workloads(docs) for c in containers(pod_template(d)["spec"])}
    assert images == {f"r.example/icrank@{digest}"}


def test_worker_threads_and_memory_come_from_its_limits(rendered: list[dict[str, Any]]) -> None:
    worker = containers(pod_template(one(rendered, "Deployment", "worker"))["spec"])[0]
    env = env_of(worker)
    for flag, resource in (("--nthreads", "limits.cpu"), ("--memory-limit", "limits.memory")):
        value = option(worker["args"], flag)
        match = re.fullmatch(r"\$\((\w+)\)", value)
        assert match, f"{flag} {value} is not an environment reference"
        field = env[match.group(1)]["valueFrom"]["resourceFieldRef"]
        assert field["resource"] == resource
        assert field.get("containerName", worker["name"]) == worker["name"]
        assert str(field.get("divisor", "1")) == "1"
    limits = worker["resources"]["limits"]
    assert limits["cpu"] and limits["memory"]
    assert re.fullmatch(r"\$\(\w+\)", option(worker["args"], "--name"))


def test_workers_start_without_dasks_malloc_trim_threshold(
    rendered: list[dict[str, Any]],
) -> None:
    worker = containers(pod_template(one(rendered, "Deployment", "worker"))["spec"])[0]
    dask_env = {
        e["name"]: e["value"]
        for e in worker["env"]
        if e["name"].startswith("DASK_") and "value" in e
    }
    # What `dask worker` makes of the container's variables, merged over Dask's defaults.
    merged = dask.config.update(
        copy.deepcopy(dask.config.config), dask.config.collect_env(dask_env)
    )
    # The same worker settings as local runs get.
    for key, value in WORKER_CONFIG.items():
        assert dask.config.get(key, default="absent", config=merged) == value
    environ = merged["distributed"]["nanny"]["pre-spawn-environ"]
    assert environ["MALLOC_TRIM_THRESHOLD_"] is None
    assert environ["OMP_NUM_THREADS"] == 1  # Dask's other settings stay


def test_job_reads_the_rendered_config_map(chart: helm.Chart) -> None:
    for values in (JOB_VALUES, production_values()):
        docs = render(chart, values)
        config_maps = {c["metadata"]["name"]: c for c in by_kind(docs, "ConfigMap")}
        spec = pod_template(one(docs, "CronJob"))["spec"]
        container = containers(spec)[0]
        config_path = PurePosixPath(option(container["args"], "--config"))
        volumes = {v["name"]: v for v in spec["volumes"]}
        (mount,) = (
            m
            for m in container["volumeMounts"]
            if "configMap" in volumes[m["name"]]
            and config_path.parent == PurePosixPath(m["mountPath"])
        )
        assert mount.get("readOnly") is True
        config_map = config_maps[volumes[mount["name"]]["configMap"]["name"]]
        assert yaml.safe_load(config_map["data"][config_path.name]) == values["config"]


def test_default_config_is_an_empty_mapping(chart: helm.Chart) -> None:
    (config_map,) = by_kind(render(chart), "ConfigMap")
    assert yaml.safe_load(config_map["data"]["config.yaml"]) == {}


def test_cronjob_never_overlaps_and_never_restarts_in_place(chart: helm.Chart) -> None:
    values = {
        **JOB_VALUES,
        "job": {
            **JOB_VALUES["job"],
            "backoffLimit": 1,
            "activeDeadlineSeconds": 7200,
            "startingDeadlineSeconds": 600,
            "successfulJobsHistoryLimit": 5,
            "failedJobsHistoryLimit": 2,
            "timeZone": "Europe/Zurich",
        },
    }
    cron = one(render(chart, values), "CronJob")
    spec, job = cron["spec"], cron["spec"]["jobTemplate"]["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["schedule"] == "30 1 * * *" and spec["timeZone"] == "Europe/Zurich"
    assert (spec["startingDeadlineSeconds"], spec["successfulJobsHistoryLimit"]) == (600, 5)
    assert spec["failedJobsHistoryLimit"] == 2
    assert (job["backoffLimit"], job["activeDeadlineSeconds"]) == (1, 7200)
    assert job["template"]["spec"]["restartPolicy"] == "Never"
    container = containers(job["template"]["spec"])[0]
    assert "readinessProbe" not in container and "livenessProbe" not in container
    # configuration, input and output errors fail the Job at once instead of being retried
    (fail_fast,) = [r for r in job["podFailurePolicy"]["rules"] if r["action"] == "FailJob"]
    assert fail_fast["onExitCodes"]["containerName"] == container["name"]
    assert sorted(fail_fast["onExitCodes"]["values"]) == [2, 3, 4, 6]


def test_job_gets_s3_credentials_from_the_existing_secret(chart: helm.Chart) -> None:
    docs = render(chart, JOB_VALUES)
    s3 = JOB_VALUES["s3"]
    for doc in (one(docs, "CronJob"), one(docs, "Deployment", "worker")):
        env = env_of(containers(pod_template(doc)["spec"])[0])
        for var, key in (
            ("AWS_ACCESS_KEY_ID", s3["accessKeyIdKey"]),
            ("AWS_SECRET_ACCESS_KEY", s3["secretAccessKeyKey"]),
        ):
            assert env[var]["valueFrom"]["secretKeyRef"] == {
                "name": s3["existingSecret"],
                "key": key,
            }
        assert env["AWS_ENDPOINT_URL"]["value"] == s3["endpointUrl"]
        assert env["AWS_DEFAULT_REGION"]["value"] == s3["region"]
    scheduler_env = env_of(
        containers(pod_template(one(docs, "Deployment", "scheduler"))["spec"])[0]
    )
    assert not any(name.startswith("AWS_") for name in scheduler_env)


def test_without_a_secret_no_credentials_are_wired(chart: helm.Chart) -> None:
    job = {**JOB_VALUES["job"]}
    docs = render(chart, {"job": job})
    for doc in workloads(docs):
        for container in containers(pod_template(doc)["spec"]):
            assert not any(name.startswith("AWS_") for name in env_of(container))


def test_job_inputs_default_to_the_demo_world(chart: helm.Chart) -> None:
    job = {k: v for k, v in JOB_VALUES["job"].items() if k != "inputs"}
    cron = one(render(chart, {"job": job}), "CronJob")
    assert "--input" not in containers(pod_template(cron)["spec"])[0]["args"]


def test_ingress_routes_to_the_dashboard_port(chart: helm.Chart) -> None:
    docs = render(chart, INGRESS_VALUES)
    ingress = one(docs, "Ingress")
    assert ingress["apiVersion"] == "networking.k8s.io/v1"
    service = one(docs, "Service")
    service_ports = {p["name"]: p["port"] for p in service["spec"]["ports"]}
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "dask.example.internal"
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == service["metadata"]["name"]
    port = backend["port"]
    assert port.get("name") == "dashboard" or port.get("number") == service_ports["dashboard"]
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"][0]["secretName"] == "dask-tls"


def test_service_type_and_ports_are_configurable(chart: helm.Chart) -> None:
    values = {
        "scheduler": {"ports": {"comm": 9786, "dashboard": 9787}, "service": {"type": "NodePort"}},
        **JOB_VALUES,
    }
    docs = render(chart, values)
    assert one(docs, "Service")["spec"]["type"] == "NodePort"
    address = scheduler_service_address(docs)
    assert address.endswith(":9786")
    job = containers(pod_template(one(docs, "CronJob"))["spec"])[0]
    assert option(job["args"], "--scheduler") == address


def test_fullname_override_renames_everything_consistently(chart: helm.Chart) -> None:
    docs = render(chart, {**JOB_VALUES, "fullnameOverride": "gii"})
    assert {d["metadata"]["name"] for d in docs} == {
        "gii",
        "gii-config",
        "gii-scheduler",
        "gii-worker",
        "gii-run",
    }
    assert scheduler_service_address(docs) == "tcp://gii-scheduler:8786"


def test_notes_explain_dashboard_outputs_and_manual_runs(chart: helm.Chart) -> None:
    notes = chart.render(JOB_VALUES, name=RELEASE, namespace=NAMESPACE)[
        "icrank/templates/NOTES.txt"
    ]
    assert f"port-forward service/{RELEASE}-icrank-scheduler 8787:8787" in notes
    assert f"create job --from=cronjob/{RELEASE}-icrank-run" in notes
    assert "s3://bucket/rankings/<run-id>/" in notes and "manifest.json" in notes


# --- the image ------------------------------------------------------------------------------


def test_dockerfile_matches_the_chart_and_the_project() -> None:
    """No container engine here: check that the image's user is the chart's, that it installs
    the project the README way and copies everything that install needs."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text(encoding="utf-8"))
    uid, gid = values["podSecurityContext"]["runAsUser"], values["podSecurityContext"]["runAsGroup"]
    assert re.search(rf"^USER {uid}:{gid}$", text, re.MULTILINE)
    assert re.search(r"^RUN pip install --no-cache-dir \. ", text, re.MULTILINE)
    assert not re.search(r"^ENTRYPOINT", text, re.MULTILINE)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    copied = {
        part.rstrip("/")
        for line in text.splitlines()
        if line.startswith("COPY ")
        for part in line.split()[1:-1]
    }
    needed = {"pyproject.toml", project["project"]["readme"]}
    # Packages are found by prefix (``include = ["core*", "flows*"]``): their top-level folders.
    needed |= {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert needed <= copied
    mount = PurePosixPath(values["scratch"]["mountPath"])
    for var in SCRATCH_VARS:
        match = re.search(rf"\b{var}=(\S+)", text)
        assert match, var
        path = PurePosixPath(match.group(1))
        assert path == mount or mount in path.parents


def test_config_values_are_valid_icrank_configuration(chart: helm.Chart, tmp_path: Path) -> None:
    """What the job finds in /etc/icrank/config.yaml loads with the app's own config loader."""
    from flows.config import load_config

    for name, values in (("production", production_values()), ("job", JOB_VALUES)):
        (config_map,) = by_kind(render(chart, values), "ConfigMap")
        path = tmp_path / f"{name}.yaml"
        path.write_text(config_map["data"]["config.yaml"], encoding="utf-8")
        config = load_config(str(path), environ={})
        assert config.top == values["config"]["top"]
