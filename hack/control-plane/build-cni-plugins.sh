#!/usr/bin/env bash
# Builds the reference CNI plugins (macvlan, ipvlan, bridge, loopback, host-local,
# static) from github.com/containernetworking/plugins through the Go module proxy,
# once per version. The tests, the node simulator and the benchmarks chain them with
# Underpin's plugins. Cached outside the checkout, in $UNDERPIN_CACHE (default
# ~/.cache/underpin), keyed by CNI_PLUGINS_VERSION in hack/control-plane/go/versions.env.
# Prints the bin directory on stdout; progress goes to stderr.
#   --dir   only print where the plugins are (or would be), build nothing
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=go/versions.env
source "$here/go/versions.env"

cache="${UNDERPIN_CACHE:-$HOME/.cache/underpin}"
bin="$cache/cni-plugins-$CNI_PLUGINS_VERSION/bin"
module="github.com/containernetworking/plugins"
# Plugin name → main package; tools.go pins the same list.
declare -A packages=(
  [macvlan]=plugins/main/macvlan
  [ipvlan]=plugins/main/ipvlan
  [bridge]=plugins/main/bridge
  [loopback]=plugins/main/loopback
  [host-local]=plugins/ipam/host-local
  [static]=plugins/ipam/static
)

if [[ "${1:-}" == "--dir" ]]; then echo "$bin"; exit 0; fi

missing() {
  local name
  for name in "${!packages[@]}"; do [[ -x "$bin/$name" ]] || echo "$name"; done
}
if [[ -z "$(missing)" ]]; then echo "$bin"; exit 0; fi

log() { printf '[build-cni-plugins] %s\n' "$*" >&2; }
mod_dir="$here/go/cni-plugins"
# shellcheck source=cached-build.sh
source "$here/cached-build.sh"
require_go_module "the reference CNI plugins" "$mod_dir" "$module" "$CNI_PLUGINS_VERSION"

cached_build_begin
log "building ${todo[*]} ($module $CNI_PLUGINS_VERSION) into $bin (first run only; about two minutes)"
pkgs=()
for name in "${todo[@]}"; do pkgs+=("$module/${packages[$name]}"); done
(
  cd "$mod_dir"
  CGO_ENABLED=0 go build -buildvcs=false -trimpath -ldflags "-s -w -X $module/pkg/utils/buildversion.BuildVersion=$CNI_PLUGINS_VERSION" -o "$staging/" "${pkgs[@]}"
)
cached_build_finish
