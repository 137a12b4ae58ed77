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
