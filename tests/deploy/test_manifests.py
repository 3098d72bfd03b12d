"""The Kubernetes manifests and container images in infra/: valid against the Kubernetes schemas, and wired right.

Validation is offline: ``kubernetes-validate`` ships the Kubernetes JSON schemas of each release.
"""

from __future__ import annotations

import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from k12shared.settings import REPO_ROOT, Settings
from k12shared.testing.platform import SERVICES, WORKERS

K8S = REPO_ROOT / "infra" / "k8s"
DOCKERFILE = REPO_ROOT / "infra" / "docker" / "Dockerfile"
KUBERNETES_VERSION = kubernetes_validate.latest_version()
DEPLOYMENTS = {"gateway": "gateway", "metrics": "metrics-api", "routines": "routines-api", "ingest": "ingest"}


def _manifest_files() -> list[Path]:
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def _resources() -> list[dict]:
    return [doc for path in _manifest_files() for doc in yaml.safe_load_all(path.read_text()) if doc]


def _of_kind(kind: str) -> dict[str, dict]:
    return {r["metadata"]["name"]: r for r in _resources() if r["kind"] == kind}


@pytest.mark.parametrize("path", _manifest_files(), ids=lambda p: p.name)
def test_every_manifest_is_valid_against_the_kubernetes_schemas_strictly(path: Path):
    for resource in yaml.safe_load_all(path.read_text()):
        if resource:
            kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


def test_the_validator_refuses_a_broken_manifest():
    deployment = dict(_of_kind("Deployment")["gateway"])
    broken = {**deployment, "spec": {**deployment["spec"], "replicas": "three", "replicaz": 3}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest():
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    assert listed == {p.name for p in _manifest_files()}


def test_every_service_has_a_deployment_probed_on_readyz_and_healthz():
    deployments = _of_kind("Deployment")
    assert set(DEPLOYMENTS) == set(SERVICES), "a new service needs a Deployment in infra/k8s"
    for name in DEPLOYMENTS.values():
        pod = deployments[name]["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert container["securityContext"]["readOnlyRootFilesystem"] is True, name
        assert container["resources"]["requests"] and container["resources"]["limits"]["memory"], name
        assert {"configMapRef": {"name": "k12-config"}} in container["envFrom"] and {"secretRef": {"name": "k12-secrets"}} in container["envFrom"]
        assert any(m["mountPath"] == "/var/run/k12/keys" and m["readOnly"] for m in container["volumeMounts"]), name


def test_every_deployment_has_an_autoscaler_and_every_http_service_a_service():
    services, autoscalers = _of_kind("Service"), _of_kind("HorizontalPodAutoscaler")
    for name, deployment in _of_kind("Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        if name in DEPLOYMENTS.values():
            selector = services[name]["spec"]["selector"]
            assert selector.items() <= labels.items(), name
        hpa = autoscalers[name]["spec"]
        assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert 1 <= hpa["minReplicas"] < hpa["maxReplicas"]


def test_only_the_gateway_is_exposed_by_the_ingress():
    ingresses = list(_of_kind("Ingress").values())
    assert len(ingresses) == 1
    backends = {path["backend"]["service"]["name"] for rule in ingresses[0]["spec"]["rules"] for path in rule["http"]["paths"]}
    assert backends == {"gateway"}
    assert ingresses[0]["spec"]["tls"]


def test_migrations_run_as_their_own_job():
    jobs = _of_kind("Job")
    assert len(jobs) == 1
    container = next(iter(jobs.values()))["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python", "-m", "k12shared.migrate", "upgrade"]
    assert re.search(r"^FROM runtime AS migrate$", DOCKERFILE.read_text(), re.M)
    assert 'CMD ["python", "-m", "k12shared.migrate", "upgrade"]' in DOCKERFILE.read_text()


def test_configured_variables_are_settings_the_platform_reads():
    fields = {f"K12_{name.upper()}" for name in Settings.model_fields}
    config = _of_kind("ConfigMap")["k12-config"]["data"]
    secrets = _of_kind("Secret")["k12-secrets"]["stringData"]
    unknown = (set(config) | set(secrets)) - fields
    assert not unknown, f"not a Settings field: {unknown}"
    assert {"K12_DATABASE_URL", "K12_PSEUDONYM_KEY", "K12_IDEMPOTENCY_ENCRYPTION_KEY"} <= set(secrets)
    assert config["K12_ENV"] == "production"


def test_every_image_is_a_target_of_the_dockerfile_run_as_non_root():
    text = DOCKERFILE.read_text()
    targets = set(re.findall(r"^FROM \S+ AS (\S+)$", text, re.M))
    images = {c["image"] for r in _resources() if r["kind"] in {"Deployment", "Job"} for c in r["spec"]["template"]["spec"]["containers"]}
    for image in images:
        name = image.rsplit("/", 1)[1].split(":")[0]
        assert name in targets, f"{image}: no Dockerfile target {name!r}"
    assert re.search(r"^USER 10001:10001$", text, re.M)
    assert text.count("uv sync --frozen --no-dev --no-editable --package") == len(images)


def test_every_queue_worker_runs_as_its_own_deployment():
    deployments = _of_kind("Deployment")
    assert set(WORKERS) <= set(deployments), "a new worker needs a Deployment in infra/k8s/workers.yaml"
    for name, module in WORKERS.items():
        container = deployments[name]["spec"]["template"]["spec"]["containers"][0]
        assert container["command"] == ["python", "-m", module], name
        assert "ports" not in container and "readinessProbe" not in container, f"{name} serves no HTTP"


def test_ingest_api_and_worker_share_the_spool_volume():
    spool = _of_kind("ConfigMap")["k12-config"]["data"]["K12_INGEST_SPOOL_DIR"]
    claim = _of_kind("PersistentVolumeClaim")["ingest-spool"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    for name in ("ingest", "ingest-worker"):
        pod = _of_kind("Deployment")[name]["spec"]["template"]["spec"]
        volume = next(v["name"] for v in pod["volumes"] if v.get("persistentVolumeClaim", {}).get("claimName") == "ingest-spool")
        assert {"name": volume, "mountPath": spool} in pod["containers"][0]["volumeMounts"], name


def test_every_image_installs_a_workspace_package_and_runs_its_app():
    import tomllib

    members = {tomllib.loads(p.read_text())["project"]["name"] for p in [REPO_ROOT / "shared" / "pyproject.toml", *REPO_ROOT.glob("services/*/pyproject.toml")]}
    text = DOCKERFILE.read_text()
    packages = set(re.findall(r"--package (\S+)", text))
    assert packages <= members, f"not a workspace package: {packages - members}"
    commands = set(re.findall(r'CMD \["uvicorn", "([^"]+)"', text))
    assert commands == set(SERVICES.values()), "each service's ASGI app has a runtime target"
