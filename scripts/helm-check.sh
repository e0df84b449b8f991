#!/usr/bin/env bash
# The chart checks this repository's own machines cannot run (they have no helm and no
# kubeconform): `helm lint --strict` and `helm template` with every example values file, the
# defaults refused for lack of a Secret, and kubeconform on the output when it is installed.
# The test suite (test/helm/) checks the rest without helm: see helm/README.md.
#
#   scripts/helm-check.sh            (needs helm >= 3.14 for `lint --kube-version`; kubeconform optional)
#   KUBE_VERSION=1.30.0 scripts/helm-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."

chart=helm/llm-gateway
kube_version=${KUBE_VERSION:-1.29.0}

if ! command -v helm >/dev/null 2>&1; then
  echo "helm-check: helm not found (https://helm.sh/docs/intro/install/)" >&2
  exit 1
fi
helm version --short

# The chart reads its own copy of envoy/ (.Files.Get cannot leave the chart).
while read -r f; do
  if ! cmp -s "envoy/$f" "$chart/files/envoy/$f"; then
    echo "helm-check: $chart/files/envoy/$f differs from envoy/$f: run scripts/sync-helm-files.sh" >&2
    exit 1
  fi
done < <(cd envoy && find . -type f \( -name '*.yaml' -o -name '*.yml' \))

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for values in "$chart"/examples/*.yaml; do
  name=$(basename "$values" .yaml)
  echo "== $name: helm lint --strict"
  helm lint --strict --kube-version "$kube_version" "$chart" -f "$values"
  echo "== $name: helm template"
  helm template llm-gateway "$chart" --namespace gateway --kube-version "$kube_version" -f "$values" \
    >"$out/$name.yaml"
  echo "   $(grep -c '^kind:' "$out/$name.yaml") objects"
done

# No secret has a default: the bare chart must refuse, naming the value to set.
echo "== defaults: helm template must fail"
if helm template llm-gateway "$chart" --kube-version "$kube_version" >/dev/null 2>"$out/defaults.err"; then
  echo "helm-check: the chart rendered without any Secret configured" >&2
  exit 1
fi
grep -q "secrets.existingSecret" "$out/defaults.err" || {
  cat "$out/defaults.err" >&2
  exit 1
}

# values.schema.json is enforced by helm itself: a misspelt key must be refused.
echo "== schema: a misspelt key must be refused"
if helm template llm-gateway "$chart" --kube-version "$kube_version" -f "$chart/examples/managed.yaml" \
  --set worker.autoscalling=true \
  >/dev/null 2>"$out/schema.err"; then
  echo "helm-check: values.schema.json accepted worker.autoscalling" >&2
  exit 1
fi

if command -v kubeconform >/dev/null 2>&1; then
  echo "== kubeconform (Kubernetes $kube_version; prometheus-operator CRDs from the datree catalog)"
  kubeconform -strict -summary -kubernetes-version "$kube_version" \
    -schema-location default \
    -schema-location 'https://raw.githubusercontent.com/datreeio/CRDs-catalog/main/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json' \
    "$out"/*.yaml
else
  echo "== kubeconform not found: skipped (https://github.com/yannh/kubeconform)"
fi
echo "helm-check: ok"
