#!/usr/bin/env bash
# Checks deploy/ by running the tools each file is meant for, not by reading it:
#   - the systemd units with `systemd-analyze verify` (any complaint fails: it exits 0 on a
#     directive it ignores);
#   - the compose file with `docker compose config` (or `docker-compose config`);
#   - the Kubernetes manifests (deploy/k8s) against the Kubernetes schemas with
#     `kubernetes-validate --strict` (pip install kubernetes-validate), after checking that the
#     tool does refuse a manifest with an unknown field, so a pass means something;
#   - the Grafana dashboard (deploy/grafana/egov.json): it parses, and shows every metric
#     crates/runtime/src/metrics.rs names.
# A tool that is not installed is skipped with a message; the script fails (exit 1) when a
# check that ran failed. Usage: scripts/check-deploy.sh (from anywhere in the repository).
set -uo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
deploy="$root/deploy"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=0
ran=0

pass() { echo "ok    $1"; ran=$((ran + 1)); }
fail() { echo "FAIL  $1"; ran=$((ran + 1)); failed=1; }
skip() { echo "skip  $1"; }

# --- systemd units -------------------------------------------------------------------------
if command -v systemd-analyze >/dev/null 2>&1; then
    # The units run /usr/local/bin/egov, absent on a build machine: verify copies that run an
    # executable that is there, so that only the units' own faults are reported.
    mkdir -p "$work/systemd"
    cp "$deploy"/systemd/*.service "$work/systemd/"
    sed -i "s#/usr/local/bin/egov#$(command -v true)#" "$work"/systemd/*.service
    out="$(systemd-analyze verify "$work"/systemd/*.service 2>&1)"
    if [ $? -eq 0 ] && [ -z "$out" ]; then
        pass "systemd units (systemd-analyze verify)"
    else
        echo "$out" | sed "s#$work/systemd/#deploy/systemd/#g"
        fail "systemd units (systemd-analyze verify)"
    fi
else
    skip "systemd units: systemd-analyze is not installed"
fi

# --- compose file --------------------------------------------------------------------------
compose=()
if docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
    compose=(docker-compose)
fi
if [ ${#compose[@]} -gt 0 ]; then
    if EGOV_DB_PASSWORD=check "${compose[@]}" -f "$deploy/compose.yaml" config --quiet; then
        pass "compose file (${compose[*]} config)"
    else
        fail "compose file (${compose[*]} config)"
    fi
else
    skip "compose file: neither \`docker compose\` nor docker-compose is installed"
fi

# --- Kubernetes manifests ------------------------------------------------------------------
if command -v kubernetes-validate >/dev/null 2>&1; then
    # The validator must refuse a manifest with a field Kubernetes does not know.
    sed 's/^  replicas: 2$/  replicas: 2\n  replicaz: 2/' "$deploy/k8s/approval.yaml" >"$work/broken.yaml"
    if kubernetes-validate --strict --quiet "$work/broken.yaml" >/dev/null 2>&1; then
        fail "Kubernetes manifests: kubernetes-validate took a manifest with an unknown field"
    elif kubernetes-validate --strict --quiet "$deploy"/k8s/*.yaml; then
        pass "Kubernetes manifests (kubernetes-validate --strict)"
    else
        fail "Kubernetes manifests (kubernetes-validate --strict)"
    fi
else
    skip "Kubernetes manifests: kubernetes-validate is not installed (pip install kubernetes-validate)"
fi

# --- Grafana dashboard ---------------------------------------------------------------------
if command -v python3 >/dev/null 2>&1; then
    if python3 - "$deploy/grafana/egov.json" "$root/crates/runtime/src/metrics.rs" <<'EOF'
import json, re, sys
dashboard = json.load(open(sys.argv[1]))
exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p.get("targets", []))
names = re.findall(r'pub const [A-Z_]+: &str = "(egov_[a-z_]+)";', open(sys.argv[2]).read())
missing = [n for n in names if n not in exprs]
if not names or missing:
    print("metrics not on the dashboard:", ", ".join(missing) or "(none found)")
    sys.exit(1)
EOF
    then
        pass "Grafana dashboard (parses, shows every metric)"
    else
        fail "Grafana dashboard (parses, shows every metric)"
    fi
else
    skip "Grafana dashboard: python3 is not installed"
fi

if [ "$failed" -ne 0 ]; then
    echo "check-deploy: a check failed"
    exit 1
fi
echo "check-deploy: $ran checks passed"
