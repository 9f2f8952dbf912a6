package e2e

import (
	"strings"
	"testing"

	"github.com/pipelines-apiserver/pipelines-apiserver/test/framework"
)

// TestServerReadsNoArtifactStore: the artifact store's credentials are for a namespace's
// pods only (docs/artifacts.md). The server's identity, with what artifacts/rbac.yaml and
// kube-apiserver's defaults grant it, may not read a team's Secrets or ConfigMaps; kube-
// apiserver's authorizer answers, asked with the server's user and groups.
func TestServerReadsNoArtifactStore(t *testing.T) {
	setup(t)
	ns := framework.Teams[0].Namespace
	for _, resource := range []string{"secrets", "configmaps"} {
		for _, verb := range []string{"get", "list", "watch"} {
			for _, scope := range [][]string{{"-n", ns}, {"--all-namespaces"}} {
				args := append([]string{"auth", "can-i", verb, resource, "--as=" + framework.ServerIdentity,
					"--as-group=system:serviceaccounts", "--as-group=system:serviceaccounts:pipelines-system",
					"--as-group=system:authenticated"}, scope...)
				out, stderr, _ := kubectlResult(t, "", "", args...)
				if got := strings.TrimSpace(out); got != "no" {
					t.Errorf("kubectl %s: %q (%s), want no", strings.Join(args, " "), got, strings.TrimSpace(stderr))
				}
			}
		}
	}
	// The question is answered at all: the server may list pods (runs/log).
	out, stderr, _ := kubectlResult(t, "", "", "auth", "can-i", "list", "pods", "-n", ns, "--as="+framework.ServerIdentity,
		"--as-group=system:serviceaccounts", "--as-group=system:serviceaccounts:pipelines-system", "--as-group=system:authenticated")
	if got := strings.TrimSpace(out); got != "yes" {
		t.Errorf("the server may list pods in %s: %q (%s), want yes", ns, got, strings.TrimSpace(stderr))
	}
}
