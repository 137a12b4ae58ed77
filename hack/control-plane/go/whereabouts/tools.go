//go:build tools

// Package tools pins the Whereabouts CNI IPAM plugin that
// hack/control-plane/build-whereabouts.sh builds, so go.mod records every module it
// needs. The peer benchmark (tests/bench/peer-whereabouts.ts) runs it beside Underpin.
package tools

import _ "github.com/k8snetworkplumbingwg/whereabouts/cmd"
