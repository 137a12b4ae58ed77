//go:build tools

// Package tools pins the reference CNI plugins that hack/control-plane/build-cni-plugins.sh
// builds, so go.mod records every module they need. These are the plugins the
// CNI tests, the node simulator and the benchmarks chain with Underpin's own
// (macvlan/ipvlan as the main plugin, static and host-local as other IPAM,
// bridge and loopback for the networks Underpin does not serve).
package tools

import (
	_ "github.com/containernetworking/plugins/plugins/ipam/host-local"
	_ "github.com/containernetworking/plugins/plugins/ipam/static"
	_ "github.com/containernetworking/plugins/plugins/main/bridge"
	_ "github.com/containernetworking/plugins/plugins/main/ipvlan"
	_ "github.com/containernetworking/plugins/plugins/main/loopback"
	_ "github.com/containernetworking/plugins/plugins/main/macvlan"
)
