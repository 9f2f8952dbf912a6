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
	"strings"

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

// Field is the selectable field that holds the UID of an object's owner of kind
// (Experiment, Job, Pipeline): "metadata.ownerUID.experiment". Each is stored in an
// indexed column, so that an owner's dependents are found without reading the others.
func Field(kind string) string { return "metadata.ownerUID." + strings.ToLower(kind) }

// UID is the UID of obj's first owner reference to a pipelines.kubeflow.org object of
// kind, or "" without one.
func UID(obj metav1.Object, kind string) string {
	for _, r := range obj.GetOwnerReferences() {
		if r.Kind == kind && strings.HasPrefix(r.APIVersion, v1beta1.GroupName+"/") {
			return string(r.UID)
		}
	}
	return ""
}

// UIDSize bounds the owner UID columns: a UID the server makes is 36 bytes, and a longer
// one written into an owner reference by hand is refused.
const UIDSize = 128
