#!/usr/bin/env bash
# Builds the local control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl) and kubelet from the Go module proxy, once per version
# set, then the reference CNI plugins (build-cni-plugins.sh, beside it): every Go part the
# tests, the demo and the dev cluster run. Binaries are cached outside the
# checkout, in $UNDERPIN_CACHE (default ~/.cache/underpin), keyed by the versions in
# hack/control-plane/go/versions.env.
# Prints the control plane's bin directory on stdout; progress goes to stderr.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=go/versions.env
source "$here/go/versions.env"

# Its own cache and lock; only its directory on stdout, which is not ours to print.
bash "$here/build-cni-plugins.sh" >/dev/null

cache="${UNDERPIN_CACHE:-$HOME/.cache/underpin}"
bin="$cache/controlplane-kube-$KUBE_VERSION-etcd-$ETCD_VERSION/bin"
kube_tools=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet)

# Checked per binary, not by one stamp: a cache made before a tool joined the list
# gets that tool built, and only that one.
missing() {
  local t
  for t in etcd "${kube_tools[@]}"; do [[ -x "$bin/$t" ]] || echo "$t"; done
}
if [[ -z "$(missing)" ]]; then echo "$bin"; exit 0; fi

log() { printf '[build-control-plane] %s\n' "$*" >&2; }
command -v go >/dev/null || { log "Go is needed to build the local control plane (none on PATH); install Go 1.26 or newer, put it on PATH and re-run"; exit 1; }
# shellcheck source=cached-build.sh
source "$here/cached-build.sh"
cached_build_begin
log "building ${todo[*]} (Kubernetes $KUBE_VERSION, etcd $ETCD_VERSION) into $bin (first run only; takes several minutes)"

minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
vpkg_flags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  vpkg_flags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  vpkg_flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

kube_pkgs=()
for t in "${todo[@]}"; do
  if [[ "$t" == etcd ]]; then
    (
      cd "$here/go/etcd"
      log "etcd: downloading modules and compiling"
      go build -buildvcs=false -trimpath -ldflags "-s -w" -o "$staging/etcd" .
    )
    log "etcd done ($(( $(date +%s) - start ))s)"
  else
    kube_pkgs+=("k8s.io/kubernetes/cmd/$t")
  fi
done
if [[ ${#kube_pkgs[@]} -gt 0 ]]; then
  (
    cd "$here/go/kube"
    log "kubernetes: downloading modules and compiling ${kube_pkgs[*]##*/} (the longest step)"
    go build -buildvcs=false -trimpath -ldflags "-s -w $vpkg_flags" -o "$staging/" "${kube_pkgs[@]}"
  )
fi
cached_build_finish
