"""Every deployment artefact in deploy/ agrees with the code.

No container engine or cluster runs here, so the image, the compose file, the Kubernetes
manifests, the Helm values and the systemd unit are parsed and cross-checked: the
commands name modules that exist and run as scripts, every environment variable is one
devprov reads and parses, ports and probes point at what the processes serve, grace
periods outlast the workers' graceful shutdown, and the search attributes registered
are the ones the workflows set.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import shlex
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from api.app import ApiDependencies, create_app, start_api
from config.policies import load_policy_book
from config.settings import Settings, environment_variables
from strategies.catalog import build_registry
from worker.health import create_health_app
from workflows.search_attributes import ALL_KEYS

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "kubernetes"
COMPOSE = DEPLOY / "compose" / "compose.yaml"
PRODUCT_PACKAGES = (
    "domain",
    "config",
    "strategies",
    "adapters",
    "activities",
    "workflows",
    "connection",
    "services",
    "worker",
    "api",
    "simulators",
    "cli",
    "client",
)
ENV_NAME = re.compile(r"\bDEVPROV_[A-Z0-9_]*[A-Z0-9]\b")
SERVICE_COMMANDS = {"api", "worker.central", "worker.edge", "registry"}
"""What deploy/ runs: the API, the workers, and the registry's migration job."""

Doc = dict[str, Any]


# ---------------------------------------------------------------------- helpers


def env_names_read_by_code() -> set[str]:
    """Every DEVPROV_* name the product's code mentions or its settings classes read
    (policy prefix excluded)."""
    names: set[str] = set(environment_variables())
    for package in PRODUCT_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            names |= set(ENV_NAME.findall(path.read_text()))
    return {n for n in names if not n.startswith("DEVPROV_POLICY__")}


def k8s_documents() -> list[Doc]:
    docs: list[Doc] = []
    for path in sorted(K8S.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def kind(kind_name: str) -> list[Doc]:
    return [d for d in k8s_documents() if d["kind"] == kind_name]


def workloads() -> list[Doc]:
    return [d for d in k8s_documents() if d["kind"] in {"Deployment", "DaemonSet"}]


def containers(workload: Doc) -> list[Doc]:
    containers: list[Doc] = workload["spec"]["template"]["spec"]["containers"]
    return containers


def configmap_env() -> dict[str, str]:
    (config,) = [d for d in kind("ConfigMap") if d["metadata"]["name"] == "devprov-config"]
    return {k: str(v) for k, v in config["data"].items()}


def secret_example_env() -> dict[str, str]:
    secret = yaml.safe_load((K8S / "secret.example.yaml").read_text())
    return {k: str(v) for k, v in secret["stringData"].items()}


def container_env(container: Doc) -> dict[str, str]:
    """The environment a container sees: its ConfigMap and Secret, then its own env."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            assert source["configMapRef"]["name"] == "devprov-config"
            env |= configmap_env()
        if "secretRef" in source:
            assert source["secretRef"]["name"] == "devprov-secrets"
            env |= secret_example_env()
    for item in container.get("env", []):
        env[item["name"]] = str(item.get("value", "from-field"))
    return env


def compose() -> Doc:
    doc: Doc = yaml.safe_load(COMPOSE.read_text())
    return doc


def compose_service_env(name: str) -> dict[str, str]:
    service = compose()["services"][name]
    env: dict[str, str] = {}
    for env_file in service.get("env_file", []):
        env |= parse_env_file(COMPOSE.parent / f"{env_file}.example")
    env |= {k: str(v) for k, v in service.get("environment", {}).items()}
    return env


def parse_env_file(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    return env


def systemd_unit() -> dict[str, list[str]]:
    """`key -> values` of devprov-edge@.service (keys repeat, e.g. Environment)."""
    entries: dict[str, list[str]] = {}
    for line in (DEPLOY / "systemd" / "devprov-edge@.service").read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            entries.setdefault(key.strip(), []).append(value.strip())
    return entries


def systemd_env() -> dict[str, str]:
    env = parse_env_file(DEPLOY / "systemd" / "devprov-edge.env.example")
    for item in systemd_unit()["Environment"]:
        key, _, value = item.partition("=")
        env[key] = value.replace("%i", "lab")
    return env


def dockerfile_lines() -> list[str]:
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for line in dockerfile_lines():
        if line.startswith("ENV "):
            for pair in shlex.split(line[4:]):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def python_module_commands() -> Iterator[tuple[str, list[str]]]:
    """(where, argv) of every command that runs a devprov process."""
    for workload in workloads():
        for container in containers(workload):
            yield workload["metadata"]["name"], container["command"]
    for name, service in compose()["services"].items():
        if service.get("command", [None])[0] == "python":
            yield f"compose:{name}", service["command"]
    (exec_start,) = systemd_unit()["ExecStart"]
    yield "systemd", exec_start.split()
    cmd = next(line for line in dockerfile_lines() if line.startswith("CMD "))
    yield "Dockerfile", yaml.safe_load(cmd[4:])


def module_of(argv: list[str]) -> str:
    assert Path(argv[0]).name in {"python", "python3"}, argv
    assert argv[1] == "-m", argv
    return argv[2]


def runs_as_script(module: str) -> bool:
    spec = importlib.util.find_spec(module)
    assert spec is not None, module
    assert spec.origin is not None, module
    origin = Path(spec.origin)
    if origin.name == "__init__.py":
        origin = origin.with_name("__main__.py")
        if not origin.exists():
            return False
    return 'if __name__ == "__main__":' in origin.read_text()


def seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(s|m)?", value.strip())
    assert match, value
    return float(match[1]) * (60 if match[2] == "m" else 1)


def worker_grace(env: Mapping[str, str]) -> float:
    return Settings.from_env(env).worker.graceful_shutdown_seconds


def is_worker(argv: list[str]) -> bool:
    return module_of(argv).startswith("worker.")


# ---------------------------------------------------------------------- every file


def test_every_yaml_file_in_deploy_parses() -> None:
    files = sorted(DEPLOY.rglob("*.yml")) + sorted(DEPLOY.rglob("*.yaml"))

    parsed = {path.name: list(yaml.safe_load_all(path.read_text())) for path in files}

    assert {"compose.yaml", "kustomization.yaml", "temporal-values.yaml"} <= set(parsed)
    assert all(docs for docs in parsed.values())


def test_kustomization_lists_every_manifest_but_the_secret_example() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())

    manifests = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == manifests - {"secret.example.yaml"}
    assert all(d.get("apiVersion") and d.get("kind") for d in k8s_documents())


# ---------------------------------------------------------------------- commands


def test_every_command_runs_a_devprov_module_that_exists_as_a_script() -> None:
    commands = list(python_module_commands())

    modules = {module_of(argv) for _, argv in commands}
    assert modules == SERVICE_COMMANDS
    assert all(runs_as_script(m) for m in modules)


def test_image_copies_every_package_the_project_installs() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    installed = {
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    copied = {
        line.split()[1]
        for line in dockerfile_lines()
        if line.startswith("COPY ") and "--from" not in line
    }

    assert installed <= copied
    assert all((ROOT / path).exists() for path in copied)


# ---------------------------------------------------------------------- environment


def all_deploy_envs() -> Iterator[tuple[str, dict[str, str]]]:
    yield "Dockerfile", dockerfile_env()
    for workload in workloads():
        for container in containers(workload):
            yield workload["metadata"]["name"], container_env(container)
    for name in ("api", "central-worker", "edge-worker"):
        yield f"compose:{name}", compose_service_env(name)
    yield "systemd", systemd_env()


def test_every_devprov_variable_in_deploy_is_read_by_the_code() -> None:
    known = env_names_read_by_code()
    mentioned: dict[str, set[str]] = {}
    for path in DEPLOY.rglob("*"):
        if path.is_file() and path.suffix != ".json":
            for name in ENV_NAME.findall(path.read_text()):
                mentioned.setdefault(name, set()).add(str(path.relative_to(ROOT)))

    unknown = {name: where for name, where in mentioned.items() if name not in known}
    assert unknown == {}
    assert len(mentioned) >= 20


@pytest.mark.parametrize("where", [w for w, _ in all_deploy_envs()])
def test_every_deploy_environment_parses_into_settings(where: str) -> None:
    env = dict(all_deploy_envs())[where]

    settings = Settings.from_env(env)

    assert settings.metrics.host == "0.0.0.0"
    if "DEVPROV_TEMPORAL_ADDRESS" in env:
        assert settings.temporal.frontend.endswith(":7233")


def test_kubernetes_and_temporal_values_use_the_same_namespace() -> None:
    values = yaml.safe_load((DEPLOY / "helm" / "temporal-values.yaml").read_text())

    namespaces = {n["name"] for n in values["server"]["config"]["namespaces"]["namespace"]}
    assert configmap_env()["DEVPROV_TEMPORAL_NAMESPACE"] in namespaces
    stores = values["server"]["config"]["persistence"]["datastores"]
    assert {s["sql"]["pluginName"] for s in stores.values()} == {"postgres12"}
    assert values["cassandra"]["enabled"] is False


# ---------------------------------------------------------------------- ports and probes


def worker_probe_paths() -> set[str]:
    app = create_health_app(None, [])  # type: ignore[arg-type]
    return {r.resource.canonical for r in app.router.routes() if r.resource is not None}


def api_paths() -> set[str]:
    deps = ApiDependencies(
        temporal=None,  # type: ignore[arg-type]
        registry=build_registry(),
        policies=load_policy_book(),
        settings=Settings(),
    )
    app = create_app(deps)
    return {r.resource.canonical for r in app.router.routes() if r.resource is not None}


def named_port(container: Doc, port: str | int) -> int:
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in container["ports"] if p["name"] == port]
    return int(number)


@pytest.mark.parametrize("name", [w["metadata"]["name"] for w in workloads()])
def test_probes_ask_the_endpoints_the_process_serves_on_its_ports(name: str) -> None:
    (workload,) = [w for w in workloads() if w["metadata"]["name"] == name]
    (container,) = containers(workload)
    settings = Settings.from_env(container_env(container))

    live, ready = container["livenessProbe"]["httpGet"], container["readinessProbe"]["httpGet"]
    assert (live["path"], ready["path"]) == ("/healthz", "/readyz")
    probe_ports = {named_port(container, live["port"]), named_port(container, ready["port"])}
    if is_worker(container["command"]):
        assert probe_ports == {settings.worker.health_port}
        assert {"/healthz", "/readyz"} <= worker_probe_paths()
    else:
        assert probe_ports == {settings.api.port}
    declared = {p["containerPort"] for p in container["ports"]}
    served = {settings.metrics.sdk_port} | (
        {settings.metrics.worker_port, settings.worker.health_port}
        if is_worker(container["command"])
        else {settings.api.port}
    )
    assert declared == served
    scraped = workload["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"]
    assert int(scraped) in served - {settings.metrics.sdk_port, settings.worker.health_port}


def test_the_api_probes_are_routes_of_the_api() -> None:
    paths = api_paths()

    assert {"/healthz", "/readyz", "/metrics"} <= paths


def test_dockerfile_exposes_the_ports_its_environment_configures() -> None:
    settings = Settings.from_env(dockerfile_env())
    exposed = {
        int(port)
        for line in dockerfile_lines()
        if line.startswith("EXPOSE ")
        for port in line.split()[1:]
    }

    assert exposed == {
        settings.api.port,
        settings.metrics.worker_port,
        settings.metrics.sdk_port,
        settings.worker.health_port,
    }


def test_compose_prometheus_scrapes_the_ports_each_service_serves() -> None:
    config = yaml.safe_load((DEPLOY / "compose" / "prometheus.yml").read_text())
    reference = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = {
        job["job_name"]: {t for sc in job["static_configs"] for t in sc["targets"]}
        for job in config["scrape_configs"]
    }

    assert set(targets) == {job["job_name"] for job in reference["scrape_configs"]}
    assert config["rule_files"] == reference["rule_files"]
    for job, variable in (
        ("devprov-api", "DEVPROV_API_PORT"),
        ("devprov-workers", "DEVPROV_WORKER_METRICS_PORT"),
        ("temporal-sdk", "DEVPROV_SDK_METRICS_PORT"),
    ):
        concern, field = environment_variables()[variable].split(".")
        for target in targets[job]:
            service, _, port = target.partition(":")
            settings = Settings.from_env(compose_service_env(service))
            assert getattr(getattr(settings, concern), field) == int(port), target


# ---------------------------------------------------------------------- shutdown


def test_kubernetes_grace_periods_outlast_the_processes_shutdown() -> None:
    api_shutdown = inspect.signature(start_api).parameters["shutdown_timeout"].default
    for workload in workloads():
        spec = workload["spec"]["template"]["spec"]
        (container,) = containers(workload)
        own = (
            worker_grace(container_env(container))
            if is_worker(container["command"])
            else api_shutdown
        )
        assert spec["terminationGracePeriodSeconds"] > own, workload["metadata"]["name"]


def test_compose_stop_grace_outlasts_the_workers_shutdown() -> None:
    for name in ("central-worker", "edge-worker"):
        grace = seconds(compose()["services"][name]["stop_grace_period"])
        assert grace > worker_grace(compose_service_env(name)), name


def test_systemd_unit_restarts_watches_and_waits_for_the_shutdown() -> None:
    unit = systemd_unit()

    assert unit["Type"] == ["notify"]
    assert unit["Restart"] == ["always"]
    assert seconds(unit["WatchdogSec"][0]) > 0
    assert seconds(unit["TimeoutStopSec"][0]) > worker_grace(systemd_env())


def test_systemd_unit_keeps_the_gateway_state_private() -> None:
    # The state directory holds the Zigbee network key and link keys (issue 17).
    unit = systemd_unit()

    assert unit["UMask"] == ["0077"]
    assert unit["StateDirectoryMode"] == ["0700"]


# ---------------------------------------------------------------------- wiring


def test_services_autoscalers_and_budgets_select_existing_pods() -> None:
    deployments = {d["metadata"]["name"]: d for d in kind("Deployment")}
    pod_labels = [w["spec"]["template"]["metadata"]["labels"] for w in workloads()]

    for hpa in kind("HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment"
        assert target["name"] in deployments
        assert hpa["spec"]["minReplicas"] >= 2
    for service in kind("Service"):
        selector = service["spec"]["selector"]
        assert any(selector.items() <= labels.items() for labels in pod_labels)
    for budget in kind("PodDisruptionBudget"):
        selector = budget["spec"]["selector"]["matchLabels"]
        assert any(selector.items() <= labels.items() for labels in pod_labels)
    for workload in workloads():
        selector = workload["spec"]["selector"]["matchLabels"]
        assert selector.items() <= workload["spec"]["template"]["metadata"]["labels"].items()


def test_edge_gateways_are_pinned_to_their_site_and_named_after_their_node() -> None:
    (daemonset,) = kind("DaemonSet")
    spec = daemonset["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    env = {item["name"]: item for item in container["env"]}

    assert spec["nodeSelector"]["devprov.io/edge-site"] == env["DEVPROV_SITE"]["value"]
    assert env["DEVPROV_EDGE_HOST"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    assert module_of(container["command"]) == "worker.edge"


def registered_search_attributes(script: str) -> set[str]:
    match = re.search(r"for name in ([A-Za-z ]+); do", script)
    assert match, script
    return set(match[1].split())


def test_setup_jobs_register_every_search_attribute_the_workflows_set() -> None:
    expected = {key.name for key in ALL_KEYS}
    (job,) = [j for j in kind("Job") if j["metadata"]["name"] == "devprov-temporal-setup"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    compose_script = compose()["services"]["temporal-setup"]["command"][0]

    assert registered_search_attributes(container["args"][0]) == expected
    assert registered_search_attributes(compose_script) == expected
    assert "--type Keyword" in compose_script
    assert "--type Keyword" in container["args"][0]


def test_compose_references_resolve() -> None:
    doc = compose()
    services, volumes = doc["services"], set(doc["volumes"])

    for name, service in services.items():
        depends = service.get("depends_on", {})
        assert set(depends) <= set(services), name
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith("."):
                assert (COMPOSE.parent / source).exists(), (name, source)
            else:
                assert source in volumes, (name, source)
    build = doc["x-devprov"]["build"]
    assert (COMPOSE.parent / build["context"] / build["dockerfile"]).is_file()
    assert doc["services"]["temporal"]["environment"]["DB"] == "postgres12"
    assert {"temporal-ui", "prometheus", "grafana", "postgresql"} <= set(services)


def test_grafana_provisioning_loads_the_dashboard_from_its_mount() -> None:
    grafana = compose()["services"]["grafana"]
    mounts = dict(m.split(":")[:2] for m in grafana["volumes"])
    provider = yaml.safe_load(
        (DEPLOY / "compose" / "grafana" / "provisioning" / "dashboards" / "devprov.yml").read_text()
    )
    (path,) = [p["options"]["path"] for p in provider["providers"]]

    source = next(s for s, target in mounts.items() if target == path)
    assert (COMPOSE.parent / source / "devprov-dashboard.json").is_file()


def test_the_registry_is_migrated_by_a_job_before_the_api_and_central_workers_start() -> None:
    (job,) = [j for j in kind("Job") if j["metadata"]["name"] == "devprov-registry-migrate"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    services = compose()["services"]

    assert container["command"] == ["python", "-m", "registry", "upgrade"]
    assert {"secretRef": {"name": "devprov-secrets"}} in container["envFrom"]
    assert services["registry-migrate"]["command"] == ["python", "-m", "registry", "upgrade"]
    for name in ("api", "central-worker"):
        condition = services[name]["depends_on"]["registry-migrate"]["condition"]
        assert condition == "service_completed_successfully", name
    assert secret_example_env()["DEVPROV_REGISTRY_URL"].startswith("postgresql+asyncpg://")
