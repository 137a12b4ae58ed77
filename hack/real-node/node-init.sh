#!/usr/bin/env bash
# The real node's supervisor: runs containerd and kubelet the way a kind node's
# init does, inside the node's network namespace and a mount namespace of their own
# (started by real-node.ts as `unshare --mount --propagation private --fork --
# nsenter --net=/run/netns/NODE -- bash node-init.sh DIR`).
#
# In that mount namespace the node's own directories are bound over /var/lib,
# /var/log, /run, /etc/cni and /opt/cni, so kubelet's fixed paths
# (/var/lib/kubelet/device-plugins, /var/log/pods, /var/log/containers), containerd's
# state, the CNI installer DaemonSet's hostPath volumes and every mount kubelet and
# containerd make (secrets, service-account tokens, overlay rootfs, pod netns) exist
# for the node alone and vanish with its last process: nothing is mounted on the host.
#
# Environment: KUBELET, CONTAINERD (binaries), REFERENCE_PLUGINS (dir with macvlan,
# loopback). kubelet is restarted when it exits (as systemd would), so a test can kill
# it and watch running pods survive.
set -euo pipefail
dir=$1
: "${KUBELET:?}" "${CONTAINERD:?}" "${REFERENCE_PLUGINS:?}"
root="$dir/root"
logs="$dir/logs"
mkdir -p "$logs"
echo $$ >"$dir/init.pid"

for target in /var/lib /var/log /run /etc/cni /opt/cni; do
  mkdir -p "$root$target"
  mount --bind "$root$target" "$target"
done
mkdir -p /etc/cni/net.d /opt/cni/bin /var/lib/kubelet /var/log/pods /var/log/containers /run/containerd
# The default network exists before containerd starts: containerd 1.6 does not load a
# conflist moved into its directory later. Its plugins but these two arrive with the
# CNI installer DaemonSet.
cp "$dir/10-underlay.conflist" /etc/cni/net.d/
for plugin in macvlan loopback; do cp "$REFERENCE_PLUGINS/$plugin" /opt/cni/bin/; done

children=()
stop() {
  trap - TERM INT
  [[ -f "$dir/kubelet.pid" ]] && kill -TERM "$(cat "$dir/kubelet.pid")" 2>/dev/null || true
  kill -TERM "${children[@]}" 2>/dev/null || true
  wait || true
  exit 0
}
trap stop TERM INT

"$CONTAINERD" --config "$dir/containerd.toml" >>"$logs/containerd.log" 2>&1 &
children+=($!)
for _ in $(seq 1 600); do [[ -S /run/containerd/containerd.sock ]] && break; sleep 0.1; done
[[ -S /run/containerd/containerd.sock ]] || { echo "containerd did not open its socket; see $logs/containerd.log" >&2; exit 1; }

mapfile -t kubelet_args <"$dir/kubelet.args"
(
  trap 'kill -TERM "$(cat "$dir/kubelet.pid")" 2>/dev/null; exit 0' TERM
  while :; do
    "$KUBELET" "${kubelet_args[@]}" >>"$logs/kubelet.log" 2>&1 &
    echo $! >"$dir/kubelet.pid"
    wait $! || true
    echo "$(date -Is) kubelet exited; restarting" >>"$logs/kubelet.log"
    sleep 1
  done
) &
children+=($!)
echo "$(date -Is) node up: containerd ${children[0]}, kubelet supervisor ${children[1]}" >>"$logs/node.log"
wait -n || true
echo "$(date -Is) a node process exited; stopping the node" >>"$logs/node.log"
stop
