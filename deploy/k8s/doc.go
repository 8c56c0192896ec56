// Package k8s holds SABE's Kubernetes manifests (kustomize bases,
// components and overlays in this directory) and the test that checks
// them without a cluster: every overlay is rendered with the kustomize API
// and decoded strictly into the Kubernetes API types, and the invariants
// an operator relies on are checked (non-root read-only pods with limits,
// every variable documented in the README and every secret from a Secret,
// the workers' grace period, the queue keys KEDA watches).
//
// There is no Go code here besides the test.
package k8s
