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

// Package actionauthz is the authorization webhook that keeps Kubeflow Pipelines' roles
// working. KFP grants its actions as custom verbs on the parent resource (verb
// "terminate" on runs); here each action is a subresource (verb "create" on
// runs/terminate). kube-apiserver authorizes a request before it proxies it to this
// server, so only an authorizer of kube-apiserver can accept the KFP form: this
// webhook, which kube-apiserver consults after RBAC (AuthorizationConfiguration,
// failurePolicy NoOpinion), for action subresources only (MatchConditions). It allows
// "create <resource>/<action>" when a SubjectAccessReview for the verb <action> on
// <resource>, without subresource, is allowed for the same user, groups and extra. That
// review does not match MatchConditions, so it never comes back here.
package actionauthz

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authorizationclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/klog/v2"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
)

// Path is where the server serves the webhook.
const Path = "/authorize/actions"

// Actions are the action subresources of each resource, whose names are KFP's verbs.
var Actions = map[string][]string{
	"runs":        {"archive", "unarchive", "retry", "terminate"},
	"jobs":        {"enable", "disable"},
	"experiments": {"archive", "unarchive"},
}

// MatchConditions are the CEL expressions, all of which a request must meet for
// kube-apiserver to send it to the webhook: "create" on an action subresource of this
// group. They are what artifacts/authorization-config.yaml holds.
var MatchConditions = []string{
	`has(request.resourceAttributes)`,
	`request.resourceAttributes.group == '` + pipelines.GroupName + `'`,
	`request.resourceAttributes.verb == 'create'`,
	`request.resourceAttributes.resource + '/' + request.resourceAttributes.subresource in [` + quotedActions() + `]`,
}

func quotedActions() string {
	s := ""
	for _, r := range []string{"runs", "jobs", "experiments"} {
		for _, a := range Actions[r] {
			if s != "" {
				s += ", "
			}
			s += "'" + r + "/" + a + "'"
		}
	}
	return s
}

// maxBody bounds a review's size; kube-apiserver's are a few hundred bytes.
const maxBody = 1 << 20

// Handler answers kube-apiserver's SubjectAccessReviews for action subresources by
// asking reviews for the custom verb.
type Handler struct {
	// Reviews creates SubjectAccessReviews in kube-apiserver.
	Reviews authorizationclient.SubjectAccessReviewInterface
}

// ServeHTTP implements http.Handler. A review it cannot answer is a 500: kube-apiserver
// then applies the failure policy, NoOpinion, and RBAC's denial stands.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST a SubjectAccessReview", http.StatusMethodNotAllowed)
		return
	}
	var review authorizationv1.SubjectAccessReview
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&review); err != nil {
		http.Error(w, "decoding the SubjectAccessReview: "+err.Error(), http.StatusBadRequest)
		return
	}
	status, err := h.Review(r.Context(), &review.Spec)
	if err != nil {
		klog.FromContext(r.Context()).Error(err, "Answering an authorization webhook review", "user", review.Spec.User)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	review.Status = status
	if review.APIVersion == "" {
		review.APIVersion, review.Kind = authorizationv1.SchemeGroupVersion.String(), "SubjectAccessReview"
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(&review)
}

// Review answers one review: allowed iff spec asks for "create" on an action
// subresource and the same user may use the action's verb on the resource. Anything
// else gets no opinion.
func (h *Handler) Review(ctx context.Context, spec *authorizationv1.SubjectAccessReviewSpec) (authorizationv1.SubjectAccessReviewStatus, error) {
	ra := spec.ResourceAttributes
	if ra == nil || ra.Group != pipelines.GroupName || ra.Verb != "create" || !isAction(ra.Resource, ra.Subresource) {
		return authorizationv1.SubjectAccessReviewStatus{Reason: "not an action subresource of " + pipelines.GroupName}, nil
	}
	parent := *ra
	parent.Verb, parent.Subresource = ra.Subresource, ""
	resp, err := h.Reviews.Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		ResourceAttributes: &parent,
		User:               spec.User, UID: spec.UID, Groups: spec.Groups, Extra: spec.Extra,
	}}, metav1.CreateOptions{})
	if err != nil {
		return authorizationv1.SubjectAccessReviewStatus{}, fmt.Errorf("asking whether %q may %s %s: %w", spec.User, parent.Verb, parent.Resource, err)
	}
	if !resp.Status.Allowed {
		return authorizationv1.SubjectAccessReviewStatus{
			Reason: fmt.Sprintf("neither create %s/%s nor %s %s is granted", ra.Resource, ra.Subresource, parent.Verb, parent.Resource),
		}, nil
	}
	return authorizationv1.SubjectAccessReviewStatus{
		Allowed: true,
		Reason:  fmt.Sprintf("%s %s is granted (Kubeflow Pipelines' form of create %s/%s)", parent.Verb, parent.Resource, ra.Resource, ra.Subresource),
	}, nil
}

func isAction(resource, subresource string) bool {
	for _, a := range Actions[resource] {
		if a == subresource {
			return true
		}
	}
	return false
}
