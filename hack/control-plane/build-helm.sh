#!/usr/bin/env bash
# Builds helm from helm.sh/helm/v4 through the Go module proxy, once per version.
# The chart tests lint, render, install, upgrade and uninstall charts/underpin with it.
# Cached outside the checkout, in $UNDERPIN_CACHE (default ~/.cache/underpin), keyed
# by HELM_VERSION in hack/control-plane/go/versions.env.
# Prints the bin directory on stdout; progress goes to stderr.
#   --dir   only print where helm is (or would be), build nothing
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=go/versions.env
source "$here/go/versions.env"

cache="${UNDERPIN_CACHE:-$HOME/.cache/underpin}"
bin="$cache/helm-$HELM_VERSION/bin"
module="helm.sh/helm/v4"

if [[ "${1:-}" == "--dir" ]]; then echo "$bin"; exit 0; fi

missing() { [[ -x "$bin/helm" ]] || echo helm; }
if [[ -z "$(missing)" ]]; then echo "$bin"; exit 0; fi

log() { printf '[build-helm] %s\n' "$*" >&2; }
mod_dir="$here/go/helm"
# shellcheck source=cached-build.sh
source "$here/cached-build.sh"
require_go_module "helm" "$mod_dir" "$module" "$HELM_VERSION"

cached_build_begin
log "building helm ($module $HELM_VERSION) into $bin (first run only; about four minutes on two cores)"
(
  cd "$mod_dir"
  # helm prints this version (`helm version`); without it, it would say "main".
  CGO_ENABLED=0 go build -buildvcs=false -trimpath -ldflags "-s -w -X $module/internal/version.version=$HELM_VERSION" -o "$staging/helm" "$module/cmd/helm"
)
cached_build_finish
