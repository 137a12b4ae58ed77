#!/usr/bin/env bash
# Builds Whereabouts (github.com/k8snetworkplumbingwg/whereabouts), the CNI IPAM
# plugin the peer benchmark (tests/bench/peer-whereabouts.ts) runs beside Underpin,
# through the Go module proxy, once per version. Not part of Underpin and not used
# by its tests. Cached outside the checkout in $UNDERPIN_CACHE (default
# ~/.cache/underpin), keyed by WHEREABOUTS_VERSION in hack/control-plane/go/versions.env:
#   whereabouts-<version>/bin/whereabouts   the plugin (package .../whereabouts/cmd)
#   whereabouts-<version>/crds/*.yaml       its CRDs, from the module's doc/crds
#   whereabouts-<version>/rbac.yaml         the ClusterRole of the module's doc/crds/daemonset-install.yaml
# Prints that directory on stdout; progress goes to stderr.
#   --dir   only print where it is (or would be), build nothing
#
# What the v0.9.2 plugin does at CNI ADD (read from its source: cmd/whereabouts.go,
# pkg/config/config.go, pkg/types/types.go, pkg/storage/kubernetes/ipam.go,
# pkg/logging/logging.go), so a caller can keep it off the host's paths:
# - Config is the stdin `ipam` object merged with a "flat file" (fields unset on
#   stdin are taken from the file). The flat file is REQUIRED ("config file not
#   found" otherwise): the first existing one of `configuration_path`, then
#   /etc/kubernetes/cni/net.d/whereabouts.d/whereabouts.conf,
#   /etc/cni/net.d/whereabouts.d/whereabouts.conf and
#   /host/etc/cni/net.d/whereabouts.d/whereabouts.conf. Point `configuration_path`
#   at an existing file and none of the host paths is even looked at.
# - `kubernetes.kubeconfig` (stdin or flat file) is required and is the only
#   kubeconfig read (an explicit path: no $KUBECONFIG, no ~/.kube/config).
#   `datastore` and the etcd_* fields are parsed and ignored (Kubernetes only).
# - Logging goes to stderr at level debug unless `log_level` says otherwise;
#   `log_file` (no default) is opened for append when set.
# - `range` (CIDR, or "first-CIDR"), `range_start`, `range_end`, `exclude`,
#   `ipRanges`, `gateway`, `network_name` (prefixes pool and reservation names),
#   `enable_overlapping_ranges` (default true), `leader_lease_duration` /
#   `leader_renew_deadline` / `leader_retry_period` in ms (defaults 1500/1000/500),
#   `sleep_for_race` (s, default 0). ADD gives up after 2 minutes.
# - `node_slice_size` only: reads NODENAME, else <configuration_path>/nodename, else
#   /etc/hostname, and gets nodeslicepools. Leave it unset.
# - CNI_ARGS K8S_POD_NAME is required (K8S_POD_NAMESPACE too, for the pod ref);
#   the pod itself is not read at ADD. CNI_NETNS must be set (skel demands it) and
#   need not exist: after the allocation skel opens it only to refuse the plugin's
#   own namespace (a missing path passes; the host's fails, with the address already
#   taken). CNI_CONTAINERID and CNI_IFNAME are validated and recorded in the allocation.
# - Seen with strace over the peer benchmark's ADDs: it opens only the kubeconfig,
#   the flat file, CNI_NETNS, /etc/localtime and the Go runtime's /proc and /sys
#   files, writes no file, and connects only to the API server.
# - API objects, all in the kubeconfig context's namespace (kube-system when the
#   context names none): Lease "whereabouts" (coordination.k8s.io; get, create once,
#   update about 3 times: a leader election per ADD, released on exit), then ippools.whereabouts.cni.cncf.io
#   list (a connectivity check), get of the pool named after the range ("10.2.0.0-16"),
#   create when absent, JSON patch guarded by a resourceVersion test (retried on
#   conflict), and with overlapping ranges on: overlappingrangeipreservations get and
#   create (named after the address). No pods, nodes or events at ADD.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=go/versions.env
source "$here/go/versions.env"

cache="${UNDERPIN_CACHE:-$HOME/.cache/underpin}"
dir="$cache/whereabouts-$WHEREABOUTS_VERSION"
bin="$dir/bin"
module="github.com/k8snetworkplumbingwg/whereabouts"

if [[ "${1:-}" == "--dir" ]]; then echo "$dir"; exit 0; fi

# The binary is moved in last, so with it present the CRDs and RBAC are too; a
# missing CRD directory or rbac.yaml rebuilds (quick once Go's cache is warm).
missing() { [[ -x "$bin/whereabouts" && -d "$dir/crds" && -f "$dir/rbac.yaml" ]] || echo whereabouts; }
if [[ -z "$(missing)" ]]; then echo "$dir"; exit 0; fi

log() { printf '[build-whereabouts] %s\n' "$*" >&2; }
mod_dir="$here/go/whereabouts"
# shellcheck source=cached-build.sh
source "$here/cached-build.sh"
require_go_module "whereabouts" "$mod_dir" "$module" "$WHEREABOUTS_VERSION"

# cached_build_begin/finish print $bin; this script's answer is $dir.
cached_build_begin >/dev/null
log "building whereabouts ($module $WHEREABOUTS_VERSION) into $dir (first run only; a few minutes on two cores)"
(
  cd "$mod_dir"
  go mod download "$module"
  src="$(go list -m -f '{{.Dir}}' "$module")"
  mkdir -p "$staging/crds"
  install -m 0644 "$src"/doc/crds/whereabouts.cni.cncf.io_*.yaml "$staging/crds/"
  # Only the ClusterRole document: the plugin's rules, without upstream's
  # ServiceAccount, binding, ConfigMap and DaemonSet.
  {
    echo "# The ClusterRole of $module $WHEREABOUTS_VERSION doc/crds/daemonset-install.yaml."
    awk 'function flush() { if (doc ~ /(^|\n)kind: ClusterRole\n/) printf "%s", doc; doc = "" }
      /^---/ { flush(); next } { doc = doc $0 "\n" } END { flush() }' "$src/doc/crds/daemonset-install.yaml"
  } >"$staging/rbac.yaml"
  grep -q '^kind: ClusterRole$' "$staging/rbac.yaml" || { log "no ClusterRole in $src/doc/crds/daemonset-install.yaml"; exit 1; }
  # What `whereabouts --version` prints; without these it says "UNKNOWN".
  CGO_ENABLED=0 go build -buildvcs=false -trimpath \
    -ldflags "-s -w -X $module/pkg/version.Version=$WHEREABOUTS_VERSION -X $module/pkg/version.ReleaseStatus=released" \
    -o "$staging/whereabouts" "$module/cmd"
)
rm -rf "$dir/crds"
mv "$staging/crds" "$dir/crds"
mv -f "$staging/rbac.yaml" "$dir/rbac.yaml"
cached_build_finish >/dev/null
echo "$dir"
