//go:build tools

// Package tools pins the helm command that hack/control-plane/build-helm.sh builds,
// so go.mod records every module it needs. The chart tests (tests/install/helm-chart.test.ts)
// lint, render, install, upgrade and uninstall charts/underpin with it.
package tools

import _ "helm.sh/helm/v4/cmd/helm"
