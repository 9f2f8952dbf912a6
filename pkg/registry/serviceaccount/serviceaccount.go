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

// Package serviceaccount decides whether the caller may have a run's pods run as a
// service account: a run's pods hold that account's power, so naming one is using it.
package serviceaccount

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
)

// Verb is the RBAC verb on serviceaccounts (core group) that lets a caller name an
// account as the one a run or job's pods run as.
const Verb = "use"

var resource = schema.GroupResource{Resource: "serviceaccounts"}

// Authorize checks that the caller may use the service account name in the request's
// namespace: kube-apiserver is asked, through authz (a SubjectAccessReview), whether
// the caller's user, groups, extra and UID may "use" it. An empty name is the
// server's configured default runner and needs no check.
func Authorize(ctx context.Context, authz authorizer.Authorizer, name string) error {
	if name == "" {
		return nil
	}
	ns, _ := genericapirequest.NamespaceFrom(ctx)
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok {
		return apierrors.NewForbidden(resource, name, fmt.Errorf("no user to authorize"))
	}
	decision, reason, err := authz.Authorize(ctx, authorizer.AttributesRecord{
		User:            u,
		Verb:            Verb,
		Namespace:       ns,
		APIVersion:      "v1",
		Resource:        resource.Resource,
		Name:            name,
		ResourceRequest: true,
	})
	if decision == authorizer.DecisionAllow {
		return nil
	}
	msg := fmt.Sprintf("user %q cannot use service account %q in namespace %q, which running pods as it needs "+
		"(RBAC verb %q on serviceaccounts)", u.GetName(), name, ns, Verb)
	if reason != "" {
		msg += ": " + reason
	}
	if err != nil {
		msg += ": " + err.Error()
	}
	return apierrors.NewForbidden(resource, name, fmt.Errorf("%s", msg))
}
