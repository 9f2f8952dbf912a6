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

// Package owner sets the owner references the server adds on create: a version to its
// pipeline, a run or job to its experiment. Kubernetes' garbage collector and
// `kubectl get -o yaml` then show who owns what.
package owner

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
)

// Set makes owner, of kind, an owner of obj. It is the controller unless obj already
// names another one (a run created by a job is controlled by the job).
func Set(obj, owner metav1.Object, kind string) {
	refs := obj.GetOwnerReferences()
	controlled := false
	for _, r := range refs {
		if r.UID == owner.GetUID() {
			return
		}
		controlled = controlled || (r.Controller != nil && *r.Controller)
	}
	ref := metav1.NewControllerRef(owner, v1beta1.SchemeGroupVersion.WithKind(kind))
	if controlled {
		ref.Controller = nil
	}
	obj.SetOwnerReferences(append(refs, *ref))
}
