#!/usr/bin/env bash
# Builds the local control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl) from the Go module proxy, once per version set.
# Binaries are cached outside the checkout, in $UNDERPIN_CACHE (default
# ~/.cache/underpin), keyed by the versions in hack/controlplane/versions.env.
# Prints the bin directory on stdout; progress goes to stderr.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=controlplane/versions.env
source "$here/controlplane/versions.env"

cache="${UNDERPIN_CACHE:-$HOME/.cache/underpin}"
bin="$cache/controlplane-kube-$KUBE_VERSION-etcd-$ETCD_VERSION/bin"
stamp="$bin/.complete"
tools=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl)

if [[ -f "$stamp" ]]; then echo "$bin"; exit 0; fi

command -v go >/dev/null || { echo "build-control-plane: Go is needed to build the local control plane (none on PATH)" >&2; exit 1; }
mkdir -p "$bin"
# Two builds at once (tests in parallel, demo beside CI) wait for each other.
exec 9>"$bin/.lock"
flock 9
if [[ -f "$stamp" ]]; then echo "$bin"; exit 0; fi

log() { printf '[build-control-plane] %s\n' "$*" >&2; }
start=$(date +%s)
log "building Kubernetes $KUBE_VERSION and etcd $ETCD_VERSION into $bin (first run only; takes several minutes)"

minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
vpkg_flags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  vpkg_flags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  vpkg_flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

(
  cd "$here/controlplane/etcd"
  log "etcd: downloading modules and compiling"
  go build -trimpath -ldflags "-s -w" -o "$bin/etcd" .
)
log "etcd done ($(( $(date +%s) - start ))s)"
(
  cd "$here/controlplane/kube"
  log "kubernetes: downloading modules and compiling (the longest step)"
  go build -trimpath -ldflags "-s -w $vpkg_flags" -o "$bin/" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler \
    k8s.io/kubernetes/cmd/kubectl
)
for t in "${tools[@]}"; do [[ -x "$bin/$t" ]] || { log "missing $bin/$t after build"; exit 1; }; done
touch "$stamp"
log "control plane built in $(( $(date +%s) - start ))s"
echo "$bin"
