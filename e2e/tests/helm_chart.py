"""The Helm chart, offline (issue 9, acceptance 2); run by packaging.rs in a venv with
helm-python-sdk (Helm's Go library through ctypes: lint and template without a helm binary or a
cluster) and kubernetes-validate (the Kubernetes OpenAPI schemas as JSON Schema).

usage: python helm_chart.py CHART_DIR OUT_DIR

For each values case: `helm lint --strict`, render, validate every manifest in strict mode
(unknown fields are errors) against the oldest Kubernetes the chart supports and the newest the
validator knows, then check what the chart promises (modes, probes, securityContext, ports,
keys). Each case's manifests go to OUT_DIR/CASE/manifests.yaml and the router config from its
ConfigMap to OUT_DIR/CASE/config.yaml (packaging.rs loads those with the real router). Negative
cases show the checks can fail. Exit 0 only if everything holds.
"""

import copy
import os
import sys

import yaml

import helm_python as helm
from kubernetes_validate import utils as kv

CHART, OUT = sys.argv[1], sys.argv[2]
# the chart's kubeVersion (native sidecars need 1.29) and the newest schema set shipped
KUBE_VERSIONS = ["1.29.0", kv.latest_version()]
# custom resources of the Prometheus Operator: no schema in kubernetes-validate, checked below
CRDS = {("monitoring.coreos.com/v1", "ServiceMonitor"), ("monitoring.coreos.com/v1", "PodMonitor")}
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL", what)
    return cond


def load(path):
    with open(os.path.join(CHART, path)) as f:
        return yaml.safe_load(f)


def render(values):
    with helm.Chart.load(CHART) as chart:
        return chart.render(values, name="i2p", namespace="test")


def manifests(rendered):
    docs = []
    for name, text in sorted(rendered.items()):
        if name.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                docs.append(doc)
    return docs


def schema_validate(doc):
    """Errors of one manifest against every version in KUBE_VERSIONS (strict)."""
    errors = []
    for version in KUBE_VERSIONS:
        try:
            kv.validate(doc, version, strict=True)
        except kv.ValidationError as e:
            path = ".".join(str(p) for p in e.path)
            errors.append(f"k8s {version}: {path}: {e.message}")
        except kv.SchemaNotFoundError as e:
            errors.append(f"k8s {version}: {e.message}")
    return errors


def by_kind(docs, kind):
    return [d for d in docs if d.get("kind") == kind]


def router_container(pod_spec, mode):
    where = pod_spec.get("initContainers", []) if mode == "sidecar" else pod_spec["containers"]
    found = [c for c in where if c["name"] == "i2p-router"]
    return found[0] if found else None


def check_case(case, values, mode):
    print(f"== {case} ({mode})")
    report = helm.lint(CHART, values, strict=True, kube_version="v1.29.0")
    problems = [m for m in report["messages"] if m["severity"] >= 2] + report["errors"]
    check(not problems, f"{case}: helm lint --strict: {problems}")
    print(f"   lint: {len(report['messages'])} message(s), none a warning or error")
    docs = manifests(render(values))
    kinds = sorted(f"{d['kind']}/{d['metadata']['name']}" for d in docs)
    print(f"   rendered: {', '.join(kinds)}")
    for d in docs:
        if (d["apiVersion"], d["kind"]) in CRDS:
            spec = d.get("spec", {})
            eps = spec.get("endpoints") or spec.get("podMetricsEndpoints") or []
            check(spec.get("selector", {}).get("matchLabels") and eps
                  and all(e.get("path") == "/metrics" and e.get("port") == "ops" for e in eps),
                  f"{case}: {d['kind']} must select the router and scrape port ops /metrics")
            continue
        for err in schema_validate(d):
            check(False, f"{case}: {d['kind']}/{d['metadata']['name']}: {err}")
    print(f"   kubernetes-validate (strict, {' and '.join(KUBE_VERSIONS)}): "
          f"{len([d for d in docs if (d['apiVersion'], d['kind']) not in CRDS])} manifest(s)")

    os.makedirs(os.path.join(OUT, case), exist_ok=True)
    with open(os.path.join(OUT, case, "manifests.yaml"), "w") as f:
        yaml.safe_dump_all(docs, f, sort_keys=False)
    cms = by_kind(docs, "ConfigMap")
    if not check(len(cms) == 1 and "config.yaml" in cms[0]["data"], f"{case}: one ConfigMap with config.yaml"):
        return docs
    config_text = cms[0]["data"]["config.yaml"]
    with open(os.path.join(OUT, case, "config.yaml"), "w") as f:
        f.write(config_text)
    config = yaml.safe_load(config_text)

    workloads = by_kind(docs, "StatefulSet" if mode == "standalone" else "Deployment")
    other = by_kind(docs, "Deployment" if mode == "standalone" else "StatefulSet")
    if not check(len(workloads) == 1 and not other, f"{case}: exactly one workload of the mode's kind"):
        return docs
    w = workloads[0]
    pod = w["spec"]["template"]["spec"]
    c = router_container(pod, mode)
    if not check(c is not None, f"{case}: router container"):
        return docs

    # securityContext: non-root, read-only root filesystem, no capabilities, no escalation
    psc, sc = pod.get("securityContext", {}), c.get("securityContext", {})
    check(psc.get("runAsNonRoot") is True and psc.get("runAsUser", 0) != 0, f"{case}: pod runs as non-root")
    check(sc.get("readOnlyRootFilesystem") is True, f"{case}: read-only root filesystem")
    check(sc.get("allowPrivilegeEscalation") is False, f"{case}: no privilege escalation")
    check(sc.get("capabilities", {}).get("drop") == ["ALL"], f"{case}: all capabilities dropped")
    check(pod.get("automountServiceAccountToken") is False, f"{case}: no service account token")

    # probes on the operator endpoints, which must listen on the pod address at the named port
    ports = {p["name"]: p for p in c["ports"]}
    for probe, path in [("startupProbe", values.get("probes", {}).get("startup", {}).get("path", "/healthz")),
                        ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")]:
        get = c.get(probe, {}).get("httpGet", {})
        check(get.get("path") == path and get.get("port") == "ops", f"{case}: {probe} GET {path} on port ops")
    check(ports.get("ops", {}).get("containerPort") == config["ops"]["port"], f"{case}: ops port = config ops.port")
    check(config["ops"]["host"] == "0.0.0.0", f"{case}: ops listens on the pod address (probes)")

    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    check("/data" in mounts and "/etc/i2p-router" in mounts, f"{case}: /data and the config are mounted")
    vols = {v["name"]: v for v in pod["volumes"]}
    check(vols.get(mounts["/etc/i2p-router"]["name"], {}).get("configMap", {}).get("name")
          == cms[0]["metadata"]["name"], f"{case}: the config volume is the ConfigMap")

    listen = "0.0.0.0" if mode == "standalone" else "127.0.0.1"
    for key in ["http_proxy", "socks_proxy", "sam", "dns"]:
        check(config[key]["host"] == listen, f"{case}: {key} listens on {listen}")

    if mode == "standalone":
        persist = values.get("persistence", {}).get("enabled", True)
        vct = [t["metadata"]["name"] for t in w["spec"].get("volumeClaimTemplates", [])]
        check((vct == ["data"]) == persist, f"{case}: data PVC iff persistence.enabled")
        if not persist:
            check("emptyDir" in vols.get("data", {}), f"{case}: data is an emptyDir without persistence")
        services = {s["metadata"]["name"]: s for s in by_kind(docs, "Service")}
        main = services.get(w["metadata"]["name"])
        if check(main is not None, f"{case}: a Service named like the StatefulSet"):
            sp = {p["name"]: p for p in main["spec"]["ports"]}
            for name in ["http-proxy", "socks", "sam", "sam-udp", "dns-udp", "dns-tcp", "ops"]:
                check(name in sp and sp[name]["targetPort"] in ports, f"{case}: Service port {name} -> a container port")
            check(sp.get("dns-udp", {}).get("port") == 53 and ports["dns-udp"]["containerPort"] == config["dns"]["port"],
                  f"{case}: DNS on 53 -> the router's dns.port")
            check(sp.get("http-proxy", {}).get("port") == config["http_proxy"]["port"], f"{case}: proxy port = config")
            check(main["spec"]["selector"] == w["spec"]["selector"]["matchLabels"], f"{case}: Service selects the pod")
        check(w["spec"]["serviceName"] in services, f"{case}: the StatefulSet's serviceName exists")
    else:
        check(c.get("restartPolicy") == "Always", f"{case}: native sidecar (init container, restartPolicy Always)")
        apps = [x["name"] for x in pod["containers"]]
        check(apps == [x["name"] for x in values["sidecar"]["containers"]], f"{case}: the app's containers: {apps}")
        check(not by_kind(docs, "Service"), f"{case}: no Service in sidecar mode")

    want_env = values.get("env", [])
    check(c.get("env", []) == want_env, f"{case}: the container's env from values: {c.get('env')}")

    secret = values.get("keys", {}).get("existingSecret")
    servers = [t for t in config.get("tunnels", []) if t["type"] in ("server", "http", "irc")]
    check([t["name"] for t in config.get("tunnels", [])] == [t["name"] for t in values.get("tunnels", [])],
          f"{case}: tunnels from values")
    if secret:
        check(vols.get("keys", {}).get("secret", {}).get("secretName") == secret, f"{case}: keys volume is the Secret")
        check(mounts.get("/etc/i2p-router-keys", {}).get("readOnly") is True, f"{case}: Secret mounted read-only")
        own = {t["name"]: t["keys"] for t in values.get("tunnels", []) if "keys" in t}
        for t in servers:
            want = own.get(t["name"], f"/etc/i2p-router-keys/{t['name']}.dat")
            check(t.get("keys") == want, f"{case}: tunnel {t['name']} keys: {want}")
        if values["keys"].get("routerIdentity"):
            for f in ["router.keys", "ntcp2.keys"]:
                check(mounts.get(f"/data/{f}", {}).get("subPath") == f, f"{case}: {f} from the Secret")
    else:
        check("keys" not in vols, f"{case}: no Secret volume without keys.existingSecret")
        for t in servers:
            check("keys" not in t, f"{case}: tunnel {t['name']} keeps its key in /data/tunnel-keys")

    monitors = [d for d in docs if (d["apiVersion"], d["kind"]) in CRDS]
    enabled = values.get("metrics", {}).get("monitor", {}).get("enabled", False)
    want = "ServiceMonitor" if mode == "standalone" else "PodMonitor"
    check([m["kind"] for m in monitors] == ([want] if enabled else []), f"{case}: {want} iff metrics.monitor.enabled")
    return docs


cases = [
    ("defaults", {}, "standalone"),
    ("standalone", load("examples/standalone-values.yaml"), "standalone"),
    ("sidecar", load("examples/sidecar-values.yaml"), "sidecar"),
    ("standalone-keys-from-secret", {
        "keys": {"existingSecret": "my-keys", "routerIdentity": True},
        "persistence": {"enabled": False},
        "ntcp2Service": {"enabled": True},
        "config": {"ntcp2": {"host": "203.0.113.7"}, "network": {"net_id": 2}},
        "tunnels": [{"name": "site", "type": "http", "target": "web:80"},
                    {"name": "ssh", "type": "server", "target": "ssh:22", "keys": "tunnel-keys/ssh.dat"}],
    }, "standalone"),
    ("sidecar-pvc", {
        "mode": "sidecar",
        "sidecar": {"containers": [{"name": "app", "image": "example/app:1"}], "dataClaimName": "router-data"},
        "tunnels": [{"name": "app", "type": "server", "target": "127.0.0.1:9000"}],
    }, "sidecar"),
]
for case, values, mode in cases:
    check_case(case, values, mode)

print("== negative cases (each must be refused)")
for what, values in [
    ("mode bogus", {"mode": "bogus"}),
    ("sidecar without containers", {"mode": "sidecar"}),
    ("a tunnel without a name", {"tunnels": [{"type": "http", "target": "web:80"}]}),
]:
    try:
        render(values)
        check(False, f"render accepted {what}")
    except helm.HelmError as e:
        print(f"   refused, {what}: {str(e).splitlines()[0][:140]}")

# the validator itself must catch a broken manifest (else every pass above means nothing)
docs = manifests(render({}))
sts = copy.deepcopy(by_kind(docs, "StatefulSet")[0])
sts["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFileSystem"] = True
check(schema_validate(sts), "kubernetes-validate accepted an unknown field (readOnlyRootFileSystem)")
sts = copy.deepcopy(by_kind(docs, "StatefulSet")[0])
sts["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "ntcp2"
check(schema_validate(sts), "kubernetes-validate accepted a string containerPort")
print("   kubernetes-validate refuses an unknown field and a wrongly typed one")

print(f"helm {helm.helm_sdk_version()} (helm-python-sdk {helm.__version__}), kubernetes-validate schemas up to {kv.latest_version()}")
if failures:
    print(f"{len(failures)} check(s) FAILED")
    sys.exit(1)
print("chart checks: all passed")
