//go:build tools

// Package tools records the kube-controller-manager main package so go mod tidy keeps it.
package tools

import _ "k8s.io/kubernetes/cmd/kube-controller-manager"
