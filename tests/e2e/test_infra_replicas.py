"""The replicas recipes (issue 14) parse and keep their promises: compose with PostgreSQL +
pgvector, a migration step and three replicas behind one unbuffered port; Kubernetes with
three replicas, a PodDisruptionBudget, PostgreSQL from a StatefulSet, the database URL from
a Secret, migrations before serving, readiness. (No image can be pulled here.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

INFRA = Path(__file__).resolve().parents[2] / "infra"
COMPOSE = INFRA / "replicas" / "compose.yaml"
NGINX = INFRA / "replicas" / "nginx.conf"
K8S = INFRA / "k8s" / "kith-replicas.yaml"


def _k8s() -> dict[str, dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(K8S.read_text()) if d]
    return {f"{d['kind']}/{d['metadata']['name']}": d for d in docs}


def _compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def test_compose_three_replicas_on_pgvector_behind_one_port() -> None:
    services = _compose()["services"]
    assert services["postgres"]["image"].startswith("pgvector/pgvector:pg1")
    assert "healthcheck" in services["postgres"] and "ports" not in services["postgres"]
    kith = services["kith"]
    assert kith["deploy"]["replicas"] == 3
    assert "ports" not in kith, "replicas are reached through the proxy only"
    assert kith["environment"]["KITH_DATABASE_URL"].startswith("postgresql://")
    assert "@postgres:5432/" in kith["environment"]["KITH_DATABASE_URL"]
    assert kith["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert not [v for v in kith.get("volumes", []) if not str(v).startswith("/")], \
        "no data volume shared between replicas"
    migrate = services["migrate"]
    assert migrate["command"] == ["migrate"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    proxy = services["proxy"]
    assert proxy["ports"] == ["127.0.0.1:8080:8080"]
    assert any(str(v).startswith("./nginx.conf:") for v in proxy["volumes"])
    # the password comes from the environment, never from the file
    assert "${POSTGRES_PASSWORD" in COMPOSE.read_text()


def test_the_proxy_streams_and_never_replays_a_post() -> None:
    conf = NGINX.read_text()
    assert re.search(r"proxy_buffering\s+off;", conf)
    assert re.search(r"server\s+kith:8080\s+resolve", conf)  # every replica, re-resolved
    assert re.search(r"proxy_next_upstream\s+error\s+timeout;", conf)
    assert "non_idempotent" not in conf
    assert re.search(r"proxy_set_header\s+Host\s+\$http_host;", conf)  # the origin check
    assert conf.count("{") == conf.count("}")


def test_k8s_three_replicas_with_a_budget_and_migrations_first() -> None:
    objects = _k8s()
    deploy = objects["Deployment/kith"]
    assert deploy["spec"]["replicas"] == 3
    assert deploy["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    pod = deploy["spec"]["template"]["spec"]
    labels = deploy["spec"]["template"]["metadata"]["labels"]
    pdb = objects["PodDisruptionBudget/kith"]
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert 1 <= pdb["spec"]["minAvailable"] < 3
    (init,) = pod["initContainers"]
    (main,) = pod["containers"]
    assert init["args"] == ["migrate"] and init["image"] == main["image"]
    assert main["args"] == ["serve"]
    for container in (init, main):
        env = {e["name"]: e for e in container["env"]}
        ref = env["KITH_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "kith-db", "key": "DATABASE_URL"}
        assert "value" not in env["KITH_DATABASE_URL"]
    assert main["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert main["livenessProbe"]["httpGet"]["path"] == "/healthz"
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes["data"], "no RWO volume pinning the replicas to one node"
    service = objects["Service/kith"]
    assert service["spec"]["selector"].items() <= labels.items()


def test_k8s_postgres_from_a_statefulset() -> None:
    objects = _k8s()
    pg = objects["StatefulSet/postgres"]
    (container,) = pg["spec"]["template"]["spec"]["containers"]
    assert container["image"].startswith("pgvector/pgvector:pg1")
    env = {e["name"]: e for e in container["env"]}
    assert env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "kith-postgres"
    assert pg["spec"]["volumeClaimTemplates"][0]["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert "readinessProbe" in container
    selector = objects["Service/postgres"]["spec"]["selector"]
    assert selector.items() <= pg["spec"]["template"]["metadata"]["labels"].items()
    host = "@postgres:5432/"
    assert host in K8S.read_text()  # the URL the Secret is created with


def test_the_image_carries_the_postgres_extra() -> None:
    dockerfile = (INFRA.parent / "Dockerfile").read_text()
    assert "ARG KITH_EXTRAS=postgres" in dockerfile
    assert '"kith${KITH_EXTRAS:+[$KITH_EXTRAS]}"' in dockerfile
