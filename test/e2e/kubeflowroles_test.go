/*
Copyright 2026 The pipelines-apiserver Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/actionauthz"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned"
)

// kfpEdit is a Role written from Kubeflow Pipelines' kubeflow-pipelines-edit and -view
// ClusterRoles: KFP's actions are custom verbs on the parent resource, with no
// subresources.
const kfpEdit = `- apiGroups: [pipelines.kubeflow.org]
  resources: [pipelines, pipelines/versions, pipelineversions]
  verbs: [create, delete, update, get, list]
- apiGroups: [pipelines.kubeflow.org]
  resources: [experiments]
  verbs: [archive, create, delete, unarchive, get, list]
- apiGroups: [pipelines.kubeflow.org]
  resources: [runs]
  verbs: [archive, create, delete, retry, terminate, unarchive, reportMetrics, readArtifact, get, list]
- apiGroups: [pipelines.kubeflow.org]
  resources: [jobs]
  verbs: [create, delete, disable, enable, get, list]`

// neither grants create, read and delete but no action in either form.
const neither = `- apiGroups: [pipelines.kubeflow.org]
  resources: [pipelines, pipelineversions, experiments, runs, jobs]
  verbs: [create, delete, update, get, list]`

// TestKubeflowRoles is issue 13's acceptance point 5: a Role with KFP's custom verbs
// authorizes every action subresource (through kube-apiserver's authorization webhook,
// pkg/actionauthz); a Role with neither form is refused; kubectl auth can-i agrees.
func TestKubeflowRoles(t *testing.T) {
	setup(t)
	ctx := t.Context()
	ns := newNamespace(t)
	admin := clientFor(t, "admin")
	fixture(t, admin, ns, "kr")
	kfp, kfpConfig := userWithRole(t, "kfp-editor", ns, kfpEdit)
	none, noneConfig := userWithRole(t, "no-actions", ns, neither)

	newRuns := func(prefix string) map[string]string {
		runs := map[string]string{}
		for _, a := range []string{"terminate", "retry", "archive"} {
			r, err := admin.PipelinesV1beta1().Runs(ns).Create(ctx, newRun(prefix+"-"+a, "kr", "kr"), metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if a == "retry" {
				r.Status.Phase = v1beta1.RunPhaseFailed
				if _, err := admin.PipelinesV1beta1().Runs(ns).UpdateStatus(ctx, r, metav1.UpdateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			runs[a] = r.Name
		}
		return runs
	}
	if _, err := admin.PipelinesV1beta1().Jobs(ns).Create(ctx, newJob("kr", "kr", "kr"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	type act struct{ resource, name, sub string }
	actions := func(runs map[string]string) []act {
		return []act{
			{"runs", runs["terminate"], "terminate"}, {"runs", runs["retry"], "retry"},
			{"runs", runs["archive"], "archive"}, {"runs", runs["archive"], "unarchive"},
			{"jobs", "kr", "disable"}, {"jobs", "kr", "enable"},
			{"experiments", "kr", "archive"}, {"experiments", "kr", "unarchive"},
		}
	}

	cases := 0
	for _, tc := range []struct {
		user       string
		client     versioned.Interface
		kubeconfig string
		allowed    bool
	}{
		{"kfp-editor", kfp, kfpConfig, true},
		{"no-actions", none, noneConfig, false},
	} {
		for _, a := range actions(newRuns(tc.user)) {
			cases++
			var err error
			// A new RoleBinding reaches kube-apiserver's RBAC cache within moments.
			deadline := time.Now().Add(10 * time.Second)
			for {
				err = action(ctx, tc.client, ns, a.resource, a.name, a.sub)
				if !tc.allowed || !apierrors.IsForbidden(err) || time.Now().After(deadline) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			switch {
			case tc.allowed && err != nil:
				t.Errorf("%s: %s/%s %s: %v, want allowed", tc.user, a.resource, a.sub, a.name, err)
			case !tc.allowed && !apierrors.IsForbidden(err):
				t.Errorf("%s: %s/%s %s: %v, want Forbidden", tc.user, a.resource, a.sub, a.name, err)
			}
			want := map[bool]string{true: "yes", false: "no"}[tc.allowed]
			if got := canI(t, tc.kubeconfig, ns, a.resource, a.sub); got != want {
				t.Errorf("%s: kubectl auth can-i create %s --subresource=%s: %q, want %q", tc.user, a.resource, a.sub, got, want)
			}
		}
	}
	t.Logf("%d action cases, each checked with kubectl auth can-i", cases)

	// The webhook knows every action the server serves: each POST-only subresource.
	resources, err := admin.Discovery().ServerResourcesForGroupVersion(v1beta1.SchemeGroupVersion.String())
	if err != nil {
		t.Fatal(err)
	}
	served := map[string][]string{}
	for _, r := range resources.APIResources {
		if parent, sub, ok := strings.Cut(r.Name, "/"); ok && len(r.Verbs) == 1 && r.Verbs[0] == "create" {
			served[parent] = append(served[parent], sub)
		}
	}
	want := map[string][]string{}
	for r, subs := range actionauthz.Actions {
		want[r] = append(want[r], subs...)
	}
	sortAll := cmpopts.SortSlices(func(a, b string) bool { return a < b })
	if diff := cmp.Diff(want, served, sortAll); diff != "" {
		t.Errorf("action subresources: actionauthz.Actions (-) and served (+):\n%s", diff)
	}
}

// userWithRole issues a certificate for a new user bound to a Role of rules in ns, and
// returns their client and kubeconfig.
func userWithRole(t *testing.T, name, ns, rules string) (versioned.Interface, string) {
	t.Helper()
	c := newUserWithRole(t, name, ns, rules)
	return c, filepath.Join(env.ControlPlane().Dir(), "users", name+".kubeconfig")
}

// canI is kubectl auth can-i's answer for a user (by kubeconfig): "yes" or "no".
func canI(t *testing.T, kubeconfig, ns, resource, sub string) string {
	t.Helper()
	cmd := env.ControlPlane().KubectlCmd(t.Context(), kubeconfig, "auth", "can-i", "create",
		resource+"."+controlplaneGroup, "--subresource="+sub, "-n", ns)
	var out bytes.Buffer
	cmd.Stdout = &out
	_ = cmd.Run() // exit status 1 means "no"
	// "no - <the authorizer's reason>" when there is one.
	answer, _, _ := strings.Cut(strings.TrimSpace(out.String()), " ")
	return answer
}

const controlplaneGroup = "pipelines.kubeflow.org"

// TestAuthorizationWebhookProtected: only kube-apiserver's webhook identity may ask the
// webhook; to anyone else it would tell what other users may do.
func TestAuthorizationWebhookProtected(t *testing.T) {
	setup(t)
	ca, err := os.ReadFile(env.ControlPlane().Certs().ServingCA)
	if err != nil {
		t.Fatal(err)
	}
	review := []byte(`{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"someone","groups":["system:masters"],
"resourceAttributes":{"group":"pipelines.kubeflow.org","verb":"create","resource":"runs","subresource":"terminate","namespace":"team-a"}}}`)
	ask := func(cert, key string) ([]byte, error) {
		cfg := &rest.Config{Host: env.ServerURL(), TLSClientConfig: rest.TLSClientConfig{CAData: ca, CertFile: cert, KeyFile: key}}
		c, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return c.Discovery().RESTClient().Post().AbsPath(actionauthz.Path).SetHeader("Content-Type", "application/json").
			Body(review).DoRaw(t.Context())
	}
	users := filepath.Join(env.ControlPlane().Dir(), "users")
	if _, err := ask(filepath.Join(users, "bob.crt"), filepath.Join(users, "bob.key")); !apierrors.IsForbidden(err) {
		t.Errorf("bob asking the webhook: %v, want Forbidden", err)
	}
	webhook := filepath.Join(env.ControlPlane().Dir(), "authorization")
	body, err := ask(filepath.Join(webhook, "client.crt"), filepath.Join(webhook, "client.key"))
	if err != nil || !strings.Contains(string(body), `"allowed":true`) {
		t.Errorf("kube-apiserver's identity asking the webhook whether a member of system:masters may terminate: %v: %s", err, body)
	}
}
