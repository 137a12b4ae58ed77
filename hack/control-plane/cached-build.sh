# Shared by the build scripts of the local cluster's Go parts (sourced, not run).
# The caller defines $bin, a function `missing` printing the binaries not yet in
# $bin, and `log`. One build per bin directory at a time (tests in parallel, the
# demo beside CI wait for each other), into a staging directory renamed into place,
# so an interrupted build leaves no half-written binary the next run would take.

# Take $bin's lock (held until the script exits) and set todo=(what `missing`
# prints), start and an empty staging=$bin/.staging; print $bin and exit when
# nothing is missing.
cached_build_begin() {
  mkdir -p "$bin"
  exec 9>"$bin/.lock"
  flock 9
  mapfile -t todo < <(missing)
  if [[ ${#todo[@]} -eq 0 ]]; then echo "$bin"; exit 0; fi
  start=$(date +%s)
  staging="$bin/.staging"
  rm -rf "$staging"
  mkdir -p "$staging"
}

# Move every binary of todo from staging into $bin, failing on one the build did
# not make; print $bin.
cached_build_finish() {
  local name
  for name in "${todo[@]}"; do
    [[ -x "$staging/$name" ]] || { log "missing $staging/$name after the build"; exit 1; }
    mv -f "$staging/$name" "$bin/$name"
  done
  rmdir "$staging"
  log "built ${todo[*]} in $(( $(date +%s) - start ))s"
  echo "$bin"
}

# Exit with the fix unless Go is on PATH and $mod_dir/go.mod requires $module at
# $version (versions.env and the module must name one version). Args: what (for the
# message), mod_dir, module, version.
require_go_module() {
  local what="$1" dir="$2" module="$3" version="$4" required
  command -v go >/dev/null || { log "Go is needed to build $what (none on PATH); install Go 1.26.8 or newer, put it on PATH and re-run"; exit 1; }
  required="$(awk -v m="$module" '$1 == "require" && $2 == m { print $3 }' "$dir/go.mod")"
  if [[ "$required" != "$version" ]]; then
    local rel="${dir#"$(cd "$dir/../../../.." && pwd)/"}"
    log "$rel/go.mod requires $module ${required:-(nothing)} but versions.env says $version;"
    log "align them: cd $rel && go get $module@$version && go mod tidy"
    exit 1
  fi
}
