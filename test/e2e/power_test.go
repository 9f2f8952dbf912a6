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
	"fmt"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/framework"
)

// TestServiceAccountUse: alice, with edit in team-a, may have runs and jobs run as
// the default runner, named or not, and as another account only once a Role grants
// her "use" of it; kubectl auth can-i agrees.
func TestServiceAccountUse(t *testing.T) {
	setup(t)
	const ns = "team-a"
	alice := clientFor(t, "alice")
	fixture(t, alice, ns, "sa")
	runs := alice.PipelinesV1beta1().Runs(ns)
	withSA := func(name, sa string) *v1beta1.Run {
		r := newRun(name, "sa", "sa")
		r.Spec.ServiceAccountName = sa
		return r
	}
	for _, r := range []*v1beta1.Run{withSA("sa-default", ""), withSA("sa-runner", "pipeline-runner")} {
		if _, err := runs.Create(t.Context(), r, metav1.CreateOptions{}); err != nil {
			t.Errorf("run as %q: %v", r.Spec.ServiceAccountName, err)
		}
	}
	if out, _, _ := kubectlResult(t, "alice", "", "auth", "can-i", "use", "serviceaccounts/sa-admin", "-n", ns); strings.TrimSpace(out) != "no" {
		t.Errorf("kubectl auth can-i use serviceaccounts/sa-admin: %q, want no", out)
	}
	_, err := runs.Create(t.Context(), withSA("sa-admin-1", "sa-admin"), metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `"use"`) {
		t.Fatalf("run as sa-admin: %v, want 403 naming the verb use", err)
	}
	job := newJob("sa-admin-job", "sa", "sa")
	job.Spec.ServiceAccountName = "sa-admin"
	if _, err := alice.PipelinesV1beta1().Jobs(ns).Create(t.Context(), job, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("job as sa-admin: %v, want 403", err)
	}
	if _, err := runs.Get(t.Context(), "sa-admin-1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the refused run exists: %v", err)
	}

	// What a team admin does to let alice use the account.
	kube := env.ControlPlane().Client()
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "use-sa-admin"}, Rules: []rbacv1.PolicyRule{{
		APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, ResourceNames: []string{"sa-admin"}, Verbs: []string{"use"}}}}
	if _, err := kube.RbacV1().Roles(ns).Create(t.Context(), role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "alice-use-sa-admin"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "use-sa-admin"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "alice"}}}
	if _, err := kube.RbacV1().RoleBindings(ns).Create(t.Context(), binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = kube.RbacV1().RoleBindings(ns).Delete(t.Context(), binding.Name, metav1.DeleteOptions{})
		_ = kube.RbacV1().Roles(ns).Delete(t.Context(), role.Name, metav1.DeleteOptions{})
	})
	if out, _, _ := kubectlResult(t, "alice", "", "auth", "can-i", "use", "serviceaccounts/sa-admin", "-n", ns); strings.TrimSpace(out) != "yes" {
		t.Errorf("kubectl auth can-i use serviceaccounts/sa-admin after the grant: %q, want yes", out)
	}
	// The server caches a denial for a few seconds (delegated authorization).
	eventually(t, 30*time.Second, func() error {
		_, err := runs.Create(t.Context(), withSA("sa-admin-2", "sa-admin"), metav1.CreateOptions{})
		return err
	})
}

// TestWorkflowPolicy: under the default policy, a pipeline version using each class
// of power is refused with 422 naming the field inside spec.workflow, and nothing is
// stored.
func TestWorkflowPolicy(t *testing.T) {
	setup(t)
	const ns = "team-a"
	alice := clientFor(t, "alice")
	if _, err := alice.PipelinesV1beta1().Pipelines(ns).Create(t.Context(), newPipeline("policy"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	const ctr = `"container": {"image": "busybox"`
	for _, c := range []struct {
		class, spec, template, path string
	}{
		{"privileged", "", ctr + `, "securityContext": {"privileged": true}}`, "spec.workflow.spec.templates[0].container.securityContext.privileged"},
		{"host-namespaces", `"hostNetwork": true, `, ctr + `}`, "spec.workflow.spec.hostNetwork"},
		{"host-path", "", ctr + `}, "volumes": [{"name": "root", "hostPath": {"path": "/"}}]`, "spec.workflow.spec.templates[0].volumes[0].hostPath"},
		{"pod-spec-patch", `"podSpecPatch": "{\"hostPID\": true}", `, ctr + `}`, "spec.workflow.spec.podSpecPatch"},
		{"resource-templates", "", `"resource": {"action": "create", "manifest": "apiVersion: v1\nkind: Secret\nmetadata: {name: x}"}`, "spec.workflow.spec.templates[0].resource"},
		{"template-refs", "", `"steps": [[{"name": "s", "templateRef": {"name": "w", "template": "t", "clusterScope": true}}]]`, "spec.workflow.spec.templates[0].steps[0][0].templateRef"},
	} {
		t.Run(c.class, func(t *testing.T) {
			manifest := fmt.Sprintf(`{"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "spec": {%s"entrypoint": "main", "templates": [{"name": "main", %s}]}}`,
				c.spec, c.template)
			v := &v1beta1.PipelineVersion{ObjectMeta: metav1.ObjectMeta{Name: "policy-" + c.class},
				Spec: v1beta1.PipelineVersionSpec{PipelineName: "policy", Workflow: runtime.RawExtension{Raw: []byte(manifest)}}}
			_, err := alice.PipelinesV1beta1().PipelineVersions(ns).Create(t.Context(), v, metav1.CreateOptions{})
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), c.path) || !strings.Contains(err.Error(), "--workflow-allow-"+c.class) {
				t.Fatalf("got %v, want 422 naming %s and --workflow-allow-%s", err, c.path, c.class)
			}
			if _, err := clientFor(t, framework.AdminUser).PipelinesV1beta1().PipelineVersions(ns).Get(t.Context(), v.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("refused version stored: %v", err)
			}
		})
	}
}
