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

package execution

import (
	"fmt"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
)

// TestSweepDeletesWhatAGoneOwnerOwned: the controllers' leader deletes a run whose owner
// no longer exists (here a job that never did, as a garbage collector would), and leaves
// alone a run whose owners all exist.
func TestSweepDeletesWhatAGoneOwnerOwned(t *testing.T) {
	setup(t)
	ns := newNamespace(t)
	admin := clientFor(t, "admin")
	fixture(t, admin, ns, "sweep", twoSteps)
	runs := admin.PipelinesV1beta1().Runs(ns)
	orphan := newRun("ghost-owned", "sweep")
	controller := true
	orphan.OwnerReferences = []metav1.OwnerReference{{APIVersion: v1beta1.SchemeGroupVersion.String(), Kind: "Job",
		Name: "ghost", UID: uuid.NewUUID(), Controller: &controller}}
	if _, err := runs.Create(t.Context(), orphan, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := runs.Create(t.Context(), newRun("kept", "sweep"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		_, err := runs.Get(t.Context(), "ghost-owned", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("the run of a job that does not exist is still there: %v", err)
	})
	if _, err := runs.Get(t.Context(), "kept", metav1.GetOptions{}); err != nil {
		t.Errorf("the run of an experiment that exists: %v", err)
	}
}
