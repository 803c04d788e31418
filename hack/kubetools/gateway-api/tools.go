//go:build tools

// Package tools records the echo-basic main package and the Gateway API
// module, whose config/crd/standard the build script copies, so go mod tidy
// keeps them.
package tools

import (
	_ "sigs.k8s.io/gateway-api/apis/v1"
	_ "sigs.k8s.io/gateway-api/conformance/echo-basic"
)
