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
	"database/sql"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/framework"
)

// TestSweepDeletesWhatAGoneOwnerOwned: a run's reference to an owner that no longer exists
// (here a job that never did) does not survive, and a run whose owners all exist is left
// alone. Two collectors race for the dangling reference: the controllers' leader's sweep
// deletes the run, and Kubernetes' garbage collector, once its discovery has found this API
// (every 30 s), removes the reference instead, as it does when another owner (the run's
// experiment) still exists. Which one wins depends on when the collector starts watching
// runs; CI failed this test when the collector won and the test expected a delete.
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
	ghost := orphan.OwnerReferences[0].UID
	if _, err := runs.Create(t.Context(), orphan, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := runs.Create(t.Context(), newRun("kept", "sweep"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Deleted, or being deleted: a run whose executor made a workflow first keeps its
	// finalizer until the garbage collector has deleted the workflow (TestGarbageCollector...),
	// which may not yet watch this API this early. The run may come just after a sweep
	// began, and a slow sweep puts the next one off by up to ten intervals
	// (pkg/controller's maxSweepStretch).
	eventuallyWithin(t, 11*sweepInterval+defaultWait, func() error {
		r, err := runs.Get(t.Context(), "ghost-owned", metav1.GetOptions{})
		if apierrors.IsNotFound(err) || err == nil && r.DeletionTimestamp != nil {
			return nil
		}
		if err == nil && !slices.ContainsFunc(r.OwnerReferences, func(o metav1.OwnerReference) bool { return o.UID == ghost }) {
			t.Logf("the garbage collector removed the reference to the job first; the run's owners: %v", r.OwnerReferences)
			return nil
		}
		return fmt.Errorf("the run of a job that does not exist is still there, still naming it: %v; %s; the leader's sweeps:\n%s",
			err, sweepSteps(t, ghost), sweepLog(t))
	})
	if _, err := runs.Get(t.Context(), "kept", metav1.GetOptions{}); err != nil {
		t.Errorf("the run of an experiment that exists: %v", err)
	}
}

// TestGarbageCollectorDeletesARunsWorkflow: kube-controller-manager's garbage collector
// reads the owner reference a workflow holds to its run in the aggregated API and does
// what each propagation policy of `kubectl delete run` asks: background, the run goes at
// once and the workflow (and its pods) after it; foreground, the workflow goes first and
// the run only then; orphan, the workflow stays and no longer names the run. Deleting an
// experiment deletes its runs (the server) and so their workflows (the collector).
func TestGarbageCollectorDeletesARunsWorkflow(t *testing.T) {
	setup(t)
	// The collector finds the aggregated API by discovery, every 30 s. Until it watches
	// runs it learns of a deleted run only when it next checks the workflow's owner, with
	// a backoff that has grown to tens of seconds by then.
	waitGCWatches(t)
	ns := newNamespace(t)
	c := clientFor(t, framework.AdminUser)
	fixture(t, c, ns, "p", oneStep)
	runs := c.PipelinesV1beta1().Runs(ns)
	for _, policy := range []string{"background", "foreground", "orphan"} {
		t.Run(policy, func(t *testing.T) {
			name := "delete-" + policy
			if _, err := runs.Create(t.Context(), newRun(name, "p"), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			r := waitRun(t, c, ns, name, "Succeeded", inPhase(v1beta1.RunPhaseSucceeded))
			wf := waitWorkflow(t, ns, r.Status.WorkflowName)
			if n := len(workflowPods(t, ns, wf.GetName())); n != 1 {
				t.Fatalf("workflow %s has %d pods, want 1", wf.GetName(), n)
			}
			_, stderr, err := env.Kubectl(t.Context(), framework.AdminUser, "delete", "-n", ns, "runs.pipelines.kubeflow.org", name,
				"--cascade="+policy, "--timeout=60s")
			if err != nil {
				t.Fatalf("kubectl delete --cascade=%s: %v\n%s", policy, err, stderr)
			}
			if _, err := runs.Get(t.Context(), name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("run after kubectl delete returned: %v, want NotFound", err)
			}
			switch policy {
			case "foreground":
				// kubectl waits for the run to go, which the collector allows only once
				// the workflow, which blocks its owner's deletion, is gone.
				if _, err := dyn.Resource(workflowsResource).Namespace(ns).Get(t.Context(), wf.GetName(), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
					t.Errorf("workflow when its run was gone in the foreground: %v, want NotFound", err)
				}
			case "background":
				workflowGone(t, ns, wf.GetName())
			case "orphan":
				eventually(t, func() error {
					got, err := dyn.Resource(workflowsResource).Namespace(ns).Get(t.Context(), wf.GetName(), metav1.GetOptions{})
					if err != nil {
						return err
					}
					if refs := got.GetOwnerReferences(); len(refs) != 0 {
						return fmt.Errorf("orphaned workflow's owners: %+v", refs)
					}
					return nil
				})
			}
			if policy == "orphan" {
				if n := len(workflowPods(t, ns, wf.GetName())); n != 1 {
					t.Errorf("the orphaned workflow has %d pods, want 1", n)
				}
				return
			}
			eventually(t, func() error {
				if n := len(workflowPods(t, ns, wf.GetName())); n != 0 {
					return fmt.Errorf("%d pods of the deleted workflow left", n)
				}
				return nil
			})
		})
	}

	// An experiment's runs go with it, and the collector takes their workflows.
	if _, err := runs.Create(t.Context(), newRun("of-experiment", "p"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := waitRun(t, c, ns, "of-experiment", "a workflow", func(r *v1beta1.Run) bool { return r.Status.WorkflowName != "" })
	waitWorkflow(t, ns, r.Status.WorkflowName)
	if err := c.PipelinesV1beta1().Experiments(ns).Delete(t.Context(), "p", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	workflowGone(t, ns, r.Status.WorkflowName)
}

// workflowGone waits until the workflow is not found.
func workflowGone(t *testing.T, ns, name string) {
	t.Helper()
	eventually(t, func() error {
		_, err := dyn.Resource(workflowsResource).Namespace(ns).Get(t.Context(), name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("workflow %s/%s is still there: %v", ns, name, err)
	})
}

// workflowPods lists the pods of a workflow.
func workflowPods(t *testing.T, ns, name string) []corev1.Pod {
	t.Helper()
	list, err := env.ControlPlane().Client().CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: workflowLabel + "=" + name})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// sweepSteps retraces, from outside, the first step of the leader's sweep to a dependent
// whose owner (ownerUID) is gone, so that a failure says whether it was missed there or
// later: the rows that name the owner, and the walk of the owner-UID index's distinct
// values as IndexedValues takes it.
func sweepSteps(t *testing.T, ownerUID types.UID) string {
	var b strings.Builder
	dsn, err := env.DatabaseDSN()
	if err == nil {
		var db *sql.DB
		if db, err = sql.Open("mysql", dsn); err == nil {
			defer db.Close()
			var rows int
			found := false
			err = db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM runs WHERE owner_job = ?", string(ownerUID)).Scan(&rows)
			if err == nil {
				// The index walk: is ownerUID the next value after the one before it?
				var v sql.NullString
				err = db.QueryRowContext(t.Context(), "SELECT MAX(owner_job) FROM runs WHERE owner_job < ?", string(ownerUID)).Scan(&v)
				if err == nil {
					var got sql.NullString
					err = db.QueryRowContext(t.Context(), "SELECT owner_job FROM runs WHERE owner_job > ? ORDER BY owner_job LIMIT 1",
						v.String).Scan(&got)
					found = got.String == string(ownerUID)
				}
			}
			fmt.Fprintf(&b, "rows naming the owner in MySQL: %d, found by the index walk: %t (%v)", rows, found, err)
		}
	}
	if err != nil {
		fmt.Fprintf(&b, "MySQL: %v", err)
	}
	return b.String()
}

// sweepLog is what the server logged about its sweeps, for a test that waited on one.
func sweepLog(t *testing.T) string {
	data, err := os.ReadFile(env.ServerLog())
	if err != nil {
		return err.Error()
	}
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, "Swept") || strings.Contains(l, "Sweeping") || strings.Contains(l, "owner is gone") || strings.Contains(l, "leader") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines[max(0, len(lines)-60):], "\n")
}
