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

package actionauthz

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	apiserverv1 "k8s.io/apiserver/pkg/apis/apiserver/v1"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"
)

// handler answers with a stand-in kube-apiserver that allows "terminate runs" and
// "enable jobs" to alice only, and records the reviews it was asked.
func handler(asked *[]authorizationv1.SubjectAccessReviewSpec) *Handler {
	c := fake.NewClientset()
	c.PrependReactor("create", "subjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview)
		*asked = append(*asked, r.Spec)
		ra := r.Spec.ResourceAttributes
		r.Status.Allowed = r.Spec.User == "alice" && ra.Subresource == "" &&
			(ra.Verb == "terminate" && ra.Resource == "runs" || ra.Verb == "enable" && ra.Resource == "jobs")
		return true, r, nil
	})
	return &Handler{Reviews: c.AuthorizationV1().SubjectAccessReviews()}
}

func TestReview(t *testing.T) {
	attrs := func(verb, resource, sub string) *authorizationv1.ResourceAttributes {
		return &authorizationv1.ResourceAttributes{Group: "pipelines.kubeflow.org", Namespace: "team-a", Name: "r1",
			Verb: verb, Resource: resource, Subresource: sub}
	}
	for _, tc := range []struct {
		name    string
		user    string
		attrs   *authorizationv1.ResourceAttributes
		allowed bool
		asks    bool
	}{
		{name: "terminate granted", user: "alice", attrs: attrs("create", "runs", "terminate"), allowed: true, asks: true},
		{name: "enable granted", user: "alice", attrs: attrs("create", "jobs", "enable"), allowed: true, asks: true},
		{name: "retry not granted", user: "alice", attrs: attrs("create", "runs", "retry"), asks: true},
		{name: "another user", user: "bob", attrs: attrs("create", "runs", "terminate"), asks: true},
		{name: "not an action", user: "alice", attrs: attrs("create", "runs", "log")},
		{name: "not create", user: "alice", attrs: attrs("get", "runs", "terminate")},
		{name: "the parent resource", user: "alice", attrs: attrs("terminate", "runs", "")},
		{name: "another group", user: "alice", attrs: &authorizationv1.ResourceAttributes{Group: "batch", Verb: "create", Resource: "runs", Subresource: "terminate"}},
		{name: "non-resource", user: "alice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var asked []authorizationv1.SubjectAccessReviewSpec
			spec := &authorizationv1.SubjectAccessReviewSpec{User: tc.user, UID: "u1", Groups: []string{"g"},
				Extra: map[string]authorizationv1.ExtraValue{"k": {"v"}}, ResourceAttributes: tc.attrs}
			st, err := handler(&asked).Review(t.Context(), spec)
			if err != nil {
				t.Fatal(err)
			}
			if st.Allowed != tc.allowed || st.Denied {
				t.Errorf("allowed %v denied %v (%s), want allowed %v and never denied", st.Allowed, st.Denied, st.Reason, tc.allowed)
			}
			if !tc.asks {
				if len(asked) > 0 {
					t.Errorf("asked %+v", asked)
				}
				return
			}
			want := *tc.attrs
			want.Verb, want.Subresource = tc.attrs.Subresource, ""
			if len(asked) != 1 || asked[0].User != tc.user || asked[0].UID != "u1" || !cmp.Equal(asked[0].Groups, spec.Groups) ||
				!cmp.Equal(asked[0].Extra, spec.Extra) || !cmp.Equal(*asked[0].ResourceAttributes, want) {
				t.Errorf("asked %+v, want one review of %+v for the same user", asked, want)
			}
		})
	}
}

func TestServeHTTP(t *testing.T) {
	var asked []authorizationv1.SubjectAccessReviewSpec
	body, _ := json.Marshal(&authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: "alice",
		ResourceAttributes: &authorizationv1.ResourceAttributes{Group: "pipelines.kubeflow.org", Verb: "create", Resource: "runs", Subresource: "terminate"}}})
	rec := httptest.NewRecorder()
	handler(&asked).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, Path, bytes.NewReader(body)))
	var got authorizationv1.SubjectAccessReview
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != http.StatusOK || !got.Status.Allowed ||
		got.APIVersion != "authorization.k8s.io/v1" {
		t.Errorf("%d %s: %v", rec.Code, rec.Body, err)
	}
	rec = httptest.NewRecorder()
	handler(&asked).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, Path, bytes.NewReader([]byte("{"))))
	if rec.Code != http.StatusBadRequest {
		t.Errorf("a bad review: %d, want 400", rec.Code)
	}
}

// The configuration shipped for kube-apiserver sends the webhook what it answers.
func TestShippedConfiguration(t *testing.T) {
	data, err := os.ReadFile("../../artifacts/kube-apiserver/authorization-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg apiserverv1.AuthorizationConfiguration
	if err := yaml.UnmarshalStrict(data, &cfg); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range cfg.Authorizers {
		if a.Webhook != nil {
			for _, c := range a.Webhook.MatchConditions {
				got = append(got, c.Expression)
			}
			if a.Webhook.FailurePolicy != "NoOpinion" {
				t.Errorf("failurePolicy %q, want NoOpinion", a.Webhook.FailurePolicy)
			}
		}
	}
	if diff := cmp.Diff(MatchConditions, got); diff != "" {
		t.Errorf("matchConditions of artifacts/kube-apiserver/authorization-config.yaml (-want +got):\n%s", diff)
	}
}
