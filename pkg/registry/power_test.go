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

package registry_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/utils/ptr"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/workflow/policy"
)

// recordingAuthorizer allows "use" of the service accounts in allowed and records
// what it was asked: it stands in for kube-apiserver's SubjectAccessReview, which the
// end-to-end tests ask for real.
type recordingAuthorizer struct {
	mu      sync.Mutex
	allowed []string
	asked   []authorizer.Attributes
}

func (a *recordingAuthorizer) Authorize(_ context.Context, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.asked = append(a.asked, attrs)
	if attrs.GetVerb() == "use" && slices.Contains(a.allowed, attrs.GetName()) {
		return authorizer.DecisionAllow, "", nil
	}
	return authorizer.DecisionNoOpinion, "not granted", nil
}

// TestServiceAccountNeedsUse: a run or job naming a service account is created only if
// the caller may "use" that account, asked with the caller's whole identity; an empty
// name (the server's default runner) asks nothing.
func TestServiceAccountNeedsUse(t *testing.T) {
	authz := &recordingAuthorizer{allowed: []string{"pipeline-runner"}}
	storage := newStorage(t, authorizer.AuthorizerFunc(authz.Authorize))
	ctx := genericapirequest.WithNamespace(t.Context(), namespace)
	alice := &user.DefaultInfo{Name: "alice", UID: "uid-alice", Groups: []string{"team-a", user.AllAuthenticated},
		Extra: map[string][]string{"scopes": {"s"}}}
	ctx = genericapirequest.WithUser(ctx, alice)
	createFixture(t, ctx, storage)
	authz.asked = nil

	newRun := func(name, sa string) runtime.Object {
		return &pipelines.Run{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
			Spec: pipelines.RunSpec{ExperimentName: "x", PipelineRef: pipelines.PipelineRef{PipelineName: "x"}, ServiceAccountName: sa}}
	}
	newJob := func(name, sa string) runtime.Object {
		return &pipelines.Job{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
			Spec: pipelines.JobSpec{ExperimentName: "x", PipelineRef: pipelines.PipelineRef{PipelineName: "x"}, ServiceAccountName: sa,
				Schedule: pipelines.Schedule{IntervalSeconds: 3600}, MaxConcurrency: 1, Enabled: ptr.To(false)}}
	}
	for _, c := range []struct {
		resource, sa string
		obj          func(name, sa string) runtime.Object
		allowed      bool
	}{
		{"runs", "", newRun, true},
		{"runs", "pipeline-runner", newRun, true},
		{"runs", "cluster-admin-sa", newRun, false},
		{"jobs", "", newJob, true},
		{"jobs", "pipeline-runner", newJob, true},
		{"jobs", "cluster-admin-sa", newJob, false},
	} {
		name := "sa-" + c.sa
		if c.sa == "" {
			name = "sa-default"
		}
		t.Run(c.resource+"/"+name, func(t *testing.T) {
			authz.asked = nil
			store := storage[c.resource].(interface {
				rest.Creater
				rest.Getter
			})
			_, err := store.Create(ctx, c.obj(name, c.sa), rest.ValidateAllObjectFunc, &metav1.CreateOptions{})
			switch {
			case c.allowed && err != nil:
				t.Fatalf("refused: %v", err)
			case !c.allowed && !apierrors.IsForbidden(err):
				t.Fatalf("got %v, want 403 Forbidden", err)
			}
			if _, err := store.Get(ctx, name, &metav1.GetOptions{}); c.allowed == apierrors.IsNotFound(err) {
				t.Errorf("stored: %v, want stored only if allowed", err)
			}
			var uses []authorizer.Attributes
			for _, a := range authz.asked {
				if a.GetVerb() == "use" {
					uses = append(uses, a)
				}
			}
			if c.sa == "" {
				if len(uses) != 0 {
					t.Errorf("the default account was checked: %v", uses)
				}
				return
			}
			if len(uses) != 1 {
				t.Fatalf("asked %d times for use, want once: %v", len(uses), authz.asked)
			}
			a := uses[0]
			if a.GetAPIGroup() != "" || a.GetResource() != "serviceaccounts" || a.GetName() != c.sa || a.GetNamespace() != namespace ||
				!a.IsResourceRequest() || a.GetUser() != user.Info(alice) {
				t.Errorf("asked %+v, want alice's use of serviceaccounts %s in %s", a, c.sa, namespace)
			}
		})
	}
}

// TestWorkflowPolicyAtCreate: a pipeline version whose workflow uses a form the policy
// refuses is refused with 422 naming the field, and stored when the policy allows it.
func TestWorkflowPolicyAtCreate(t *testing.T) {
	const privileged = `{"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "spec": {"entrypoint": "main",
 "templates": [{"name": "main", "container": {"image": "x", "securityContext": {"privileged": true}}}]}}`
	for _, c := range []struct {
		name   string
		policy policy.Policy
		ok     bool
	}{
		{"default", policy.Policy{}, false},
		{"allowed", policy.Policy{Privileged: true}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dsnStorage := newStorageWith(t, authorizer.AuthorizerFunc((&recordingAuthorizer{}).Authorize), registry.Options{WorkflowPolicy: c.policy})
			ctx := requestContext(t, "alice")
			if _, err := dsnStorage["pipelines"].(rest.Creater).Create(ctx, &pipelines.Pipeline{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: namespace}},
				rest.ValidateAllObjectFunc, &metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			v := &pipelines.PipelineVersion{ObjectMeta: metav1.ObjectMeta{Name: "x-v1", Namespace: namespace},
				Spec: pipelines.PipelineVersionSpec{PipelineName: "x", Workflow: runtime.RawExtension{Raw: []byte(privileged)}}}
			_, err := dsnStorage["pipelineversions"].(rest.Creater).Create(ctx, v, rest.ValidateAllObjectFunc, &metav1.CreateOptions{})
			if c.ok {
				if err != nil {
					t.Fatalf("refused under %+v: %v", c.policy, err)
				}
				return
			}
			if !apierrors.IsInvalid(err) || !hasCause(err, "spec.workflow.spec.templates[0].container.securityContext.privileged") {
				t.Fatalf("got %v, want 422 naming spec.workflow.spec.templates[0].container.securityContext.privileged", err)
			}
		})
	}
}
