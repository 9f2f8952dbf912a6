package e2e

import (
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestTeams: a RoleBinding to the built-in edit role is all a team needs (the shipped
// ClusterRoles aggregate into it), and it gives nothing in other namespaces.
func TestTeams(t *testing.T) {
	setup(t)
	bob := clientFor(t, "bob")
	fixture(t, bob, "team-b", "bobs")
	if _, err := bob.PipelinesV1beta1().Runs("team-b").Create(t.Context(), newRun("bobs-1", "bobs", "bobs"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("bob creating a run in team-b: %v", err)
	}
	if _, err := bob.PipelinesV1beta1().Runs("team-a").List(t.Context(), metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("bob listing runs in team-a: %v, want Forbidden", err)
	}
	alice := clientFor(t, "alice")
	if _, err := alice.PipelinesV1beta1().Runs("team-b").Get(t.Context(), "bobs-1", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("alice reading bob's run: %v, want Forbidden", err)
	}
	// Status is the executor's: edit does not include it.
	_, err := bob.PipelinesV1beta1().Runs("team-b").Patch(t.Context(), "bobs-1", "application/merge-patch+json",
		[]byte(`{"status":{"phase":"Succeeded"}}`), metav1.PatchOptions{}, "status")
	if !apierrors.IsForbidden(err) {
		t.Errorf("bob patching a run's status: %v, want Forbidden", err)
	}
	_, stderr, err := kubectlResult(t, "alice", "", "get", "runs", "-n", "team-b")
	if err == nil || !strings.Contains(stderr, `User "alice" cannot list resource "runs"`) {
		t.Errorf("kubectl get runs -n team-b as alice: %v\n%s", err, stderr)
	}
}
