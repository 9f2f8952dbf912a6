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
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned"
)

// cascadeWait bounds how long a cascade may take here (no garbage collector runs: the
// server does it).
const cascadeWait = 20 * time.Second

// TestKubectlDeleteCascade: `kubectl delete --cascade=background|foreground|orphan` of an
// experiment, a job and a pipeline does to what they own what users of Kubernetes expect,
// with no garbage collector running against this API; what an experiment owned is found
// by its UID, so a new experiment of the same name owns none of it.
func TestKubectlDeleteCascade(t *testing.T) {
	setup(t)
	c := clientFor(t, "admin")
	for _, policy := range []string{"background", "foreground", "orphan"} {
		t.Run(policy, func(t *testing.T) {
			ns := newNamespace(t)
			fixture(t, c, ns, "x")
			jobUID, expUID := ownedTree(t, c, ns)
			kubectl(t, "", "", "delete", "-n", ns, "experiments.pipelines.kubeflow.org", "x", "--cascade="+policy, "--timeout=30s")
			gone(t, c, ns, "experiment", "x")
			if policy != "orphan" {
				gone(t, c, ns, "job", "j", "run", "r1", "run", "r2")
			} else {
				orphaned(t, c, ns, expUID, jobUID)
				// A new experiment of the old one's name owns nothing of it.
				if _, err := c.PipelinesV1beta1().Experiments(ns).Create(t.Context(), newExperiment("x"), metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
				kubectl(t, "", "", "delete", "-n", ns, "experiments.pipelines.kubeflow.org", "x", "--timeout=30s")
				time.Sleep(time.Second)
				orphaned(t, c, ns, expUID, jobUID)
				// The job still owns its run: deleting the job takes it.
				kubectl(t, "", "", "delete", "-n", ns, "jobs.pipelines.kubeflow.org", "j", "--cascade=foreground", "--timeout=30s")
				gone(t, c, ns, "job", "j", "run", "r2")
			}

			kubectl(t, "", "", "delete", "-n", ns, "pipelines.pipelines.kubeflow.org", "x", "--cascade="+policy, "--timeout=30s")
			gone(t, c, ns, "pipeline", "x")
			_, err := c.PipelinesV1beta1().PipelineVersions(ns).Get(t.Context(), "x-v1", metav1.GetOptions{})
			if policy == "orphan" && err != nil {
				t.Errorf("orphaned version: %v", err)
			}
			if policy != "orphan" {
				gone(t, c, ns, "pipelineversion", "x-v1")
			}
		})
	}
}

// TestRunOfJustDeletedExperimentIsRefused: the server checks a run's experiment and
// version from memory (package refcache), and yet a run created through kube-apiserver
// right after its experiment's delete returned is refused, every time; one created
// right after the experiment is accepted.
func TestRunOfJustDeletedExperimentIsRefused(t *testing.T) {
	setup(t)
	c := clientFor(t, "admin")
	ns := newNamespace(t)
	fixture(t, c, ns, "x")
	p := c.PipelinesV1beta1()
	for i := range 10 {
		exp := fmt.Sprintf("e%d", i)
		if _, err := p.Experiments(ns).Create(t.Context(), newExperiment(exp), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Runs(ns).Create(t.Context(), newRun(exp+"-ok", exp, "x"), metav1.CreateOptions{}); err != nil {
			t.Fatalf("a run of an experiment created just before: %v", err)
		}
		if err := p.Experiments(ns).Delete(t.Context(), exp, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		_, err := p.Runs(ns).Create(t.Context(), newRun(exp+"-late", exp, "x"), metav1.CreateOptions{})
		if !apierrors.IsInvalid(err) {
			t.Fatalf("round %d: a run of an experiment deleted just before: got %v, want 422 Invalid", i, err)
		}
	}
}

// ownedTree adds to experiment x a job j, a run r1 and a run r2 created (as the
// scheduler does) by the job, and returns the UIDs of the job and the experiment.
func ownedTree(t *testing.T, c versioned.Interface, ns string) (types.UID, types.UID) {
	t.Helper()
	p := c.PipelinesV1beta1()
	j, err := p.Jobs(ns).Create(t.Context(), newJob("j", "x", "x"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Runs(ns).Create(t.Context(), newRun("r1", "x", "x"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r2 := newRun("r2", "x", "x")
	r2.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(j, v1beta1.SchemeGroupVersion.WithKind("Job"))}
	if _, err := p.Runs(ns).Create(t.Context(), r2, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e, err := p.Experiments(ns).Get(t.Context(), "x", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return j.UID, e.UID
}

// orphaned checks that the job and the runs are there and no longer name the experiment
// of expUID, and that r2 still names the job.
func orphaned(t *testing.T, c versioned.Interface, ns string, expUID, jobUID types.UID) {
	t.Helper()
	p := c.PipelinesV1beta1()
	j, err := p.Jobs(ns).Get(t.Context(), "j", metav1.GetOptions{})
	if err != nil || j.DeletionTimestamp != nil {
		t.Fatalf("orphaned job: %v", err)
	}
	refs := map[string][]metav1.OwnerReference{"job j": j.OwnerReferences}
	for _, name := range []string{"r1", "r2"} {
		r, err := p.Runs(ns).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil || r.DeletionTimestamp != nil {
			t.Fatalf("orphaned run %s: %v", name, err)
		}
		refs["run "+name] = r.OwnerReferences
	}
	for what, rs := range refs {
		for _, r := range rs {
			if r.UID == expUID {
				t.Errorf("%s still names the deleted experiment: %+v", what, rs)
			}
		}
	}
	if rs := refs["run r2"]; len(rs) != 1 || rs[0].UID != jobUID {
		t.Errorf("run r2's owners: %+v, want the job alone", rs)
	}
}

// gone waits until each of the (kind, name) pairs is not found.
func gone(t *testing.T, c versioned.Interface, ns string, objs ...string) {
	t.Helper()
	p := c.PipelinesV1beta1()
	for i := 0; i < len(objs); i += 2 {
		kind, name := objs[i], objs[i+1]
		eventually(t, cascadeWait, func() error {
			var err error
			var m metav1.Object
			switch kind {
			case "experiment":
				m, err = p.Experiments(ns).Get(t.Context(), name, metav1.GetOptions{})
			case "job":
				m, err = p.Jobs(ns).Get(t.Context(), name, metav1.GetOptions{})
			case "run":
				m, err = p.Runs(ns).Get(t.Context(), name, metav1.GetOptions{})
			case "pipeline":
				m, err = p.Pipelines(ns).Get(t.Context(), name, metav1.GetOptions{})
			case "pipelineversion":
				m, err = p.PipelineVersions(ns).Get(t.Context(), name, metav1.GetOptions{})
			}
			if apierrors.IsNotFound(err) {
				return nil
			}
			if err != nil {
				return err
			}
			return fmt.Errorf("%s %s is still there (finalizers %v)", kind, name, m.GetFinalizers())
		})
	}
}
