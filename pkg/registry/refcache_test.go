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
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/pipelineversion"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/run"
	mysqltesting "github.com/pipelines-apiserver/pipelines-apiserver/pkg/storage/mysql/testing"
)

// createRun creates a run of pipeline p (at version, "" for the latest) in experiment.
func (e *env) createRun(name, experiment, version string) error {
	_, err := e.storage["runs"].(rest.Creater).Create(e.ctx, &pipelines.Run{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: pipelines.RunSpec{ExperimentName: experiment, PipelineRef: pipelines.PipelineRef{PipelineName: "p", VersionName: version}}},
		rest.ValidateAllObjectFunc, &metav1.CreateOptions{})
	return err
}

// TestReferenceDeletedJustBeforeIsRefused: the references a create checks come from
// memory, and yet a run created right after its experiment or its pipeline version
// was deleted on the same replica is refused, every time; a reference created right
// before is found.
func TestReferenceDeletedJustBeforeIsRefused(t *testing.T) {
	e := newEnv(t)
	e.fixture(t)
	for i := range 20 {
		exp, ver := fmt.Sprintf("exp-%d", i), fmt.Sprintf("p-x%d", i)
		e.experiment(t, exp)
		e.create(t, "pipelineversions", &pipelines.PipelineVersion{ObjectMeta: metav1.ObjectMeta{Name: ver},
			Spec: pipelines.PipelineVersionSpec{PipelineName: "p", Workflow: runtime.RawExtension{Raw: []byte(manifest)}}})
		if err := e.createRun(fmt.Sprintf("ok-%d", i), exp, ver); err != nil {
			t.Fatalf("a run of an experiment and a version created just before: %v", err)
		}
		e.delete(t, "experiments", exp, metav1.DeletePropagationBackground, false)
		err := e.createRun(fmt.Sprintf("late-%d", i), exp, ver)
		if !apierrors.IsInvalid(err) || !hasCause(err, "spec.experimentName") {
			t.Fatalf("round %d: a run of an experiment deleted just before: got %v, want invalid spec.experimentName", i, err)
		}
		e.delete(t, "pipelineversions", ver, metav1.DeletePropagationBackground, false)
		err = e.createRun(fmt.Sprintf("late-v-%d", i), "exp", ver)
		if !apierrors.IsInvalid(err) || !hasCause(err, "spec.pipelineRef.versionName") {
			t.Fatalf("round %d: a run of a version deleted just before: got %v, want invalid spec.pipelineRef.versionName", i, err)
		}
		e.gone(t, "runs", fmt.Sprintf("late-%d", i), "runs", fmt.Sprintf("late-v-%d", i))
	}
}

// TestReferenceDeletedOnAnotherReplica: replica B learns of replica A's delete only
// when its tail next polls, so within that time B accepts a run of the deleted
// experiment (the window the cache leaves, see package refcache); the cascade's sweep
// then deletes the run, whose owner is gone.
func TestReferenceDeletedOnAnotherReplica(t *testing.T) {
	dsn := mysqltesting.SharedServer(t).NewDatabase(t)
	a := newEnvOn(t, dsn, 50*time.Millisecond)
	a.fixture(t)
	a.experiment(t, "doomed")
	// B starts after the experiment exists, and polls too rarely to see A's delete.
	b := newEnvOn(t, dsn, time.Hour)
	if err := b.createRun("before", "doomed", ""); err != nil {
		t.Fatalf("a run of an existing experiment on replica B: %v", err)
	}
	a.delete(t, "experiments", "doomed", metav1.DeletePropagationBackground, false)
	a.gone(t, "experiments", "doomed", "runs", "before")
	if err := b.createRun("stale", "doomed", ""); err != nil {
		t.Fatalf("replica B, which has not seen the delete yet: %v (if refused, the window is closed: update package refcache's doc)", err)
	}
	a.exists(t, "runs", "stale")
	if err := a.collector.Sweep(a.ctx); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	a.gone(t, "runs", "stale")
}

// benchRuns numbers the runs the benchmarks create, across their repetitions.
var benchRuns atomic.Int64

// BenchmarkCreateRun creates runs through the registry with their references read
// from MySQL on each create (refs=mysql, as before package refcache) and from the
// reference caches (refs=cache).
func BenchmarkCreateRun(b *testing.B) {
	dsn := mysqltesting.SharedServer(b).NewDatabase(b)
	e := newEnvOn(b, dsn, 0)
	e.create(b, "pipelines", &pipelines.Pipeline{ObjectMeta: metav1.ObjectMeta{Name: "p"}})
	e.create(b, "pipelineversions", &pipelines.PipelineVersion{ObjectMeta: metav1.ObjectMeta{Name: "p-v1"},
		Spec: pipelines.PipelineVersionSpec{PipelineName: "p", Workflow: runtime.RawExtension{Raw: []byte(manifest)}}})
	e.experiment(b, "exp")

	// The old wiring: a second run store whose checks read the stores.
	resolver := &pipelineversion.Resolver{Pipelines: e.storage["pipelines"].(rest.Getter),
		Versions: e.storage["pipelineversions"].(rest.Getter), Authorizer: authorizerfactory.NewAlwaysAllowAuthorizer()}
	uncached, _, err := run.NewREST(e.scheme, e.getter, e.storage["experiments"].(rest.Getter), resolver)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		store rest.Creater
	}{{"refs=mysql", uncached}, {"refs=cache", e.storage["runs"].(rest.Creater)}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				_, err := c.store.Create(e.ctx, &pipelines.Run{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("r-%d", benchRuns.Add(1))},
					Spec: pipelines.RunSpec{ExperimentName: "exp", PipelineRef: pipelines.PipelineRef{PipelineName: "p"}}},
					rest.ValidateAllObjectFunc, &metav1.CreateOptions{})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestCreateResponseIsWhatIsStored: what a create returns equals what a read returns,
// for every resource. The storage decodes what it encoded for the response; handing
// back a copy of the object instead (to save the decode) fails here: the round trip
// through JSON is what truncates the timestamps to seconds.
func TestCreateResponseIsWhatIsStored(t *testing.T) {
	e := newEnv(t)
	enabled := false
	for _, c := range []struct {
		resource string
		obj      runtime.Object
	}{
		{"pipelines", &pipelines.Pipeline{ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"a": "b"}},
			Spec: pipelines.PipelineSpec{Description: "d"}}},
		{"pipelineversions", &pipelines.PipelineVersion{ObjectMeta: metav1.ObjectMeta{Name: "p-v1"},
			Spec: pipelines.PipelineVersionSpec{PipelineName: "p", Workflow: runtime.RawExtension{Raw: []byte(manifest)}}}},
		{"experiments", &pipelines.Experiment{ObjectMeta: metav1.ObjectMeta{Name: "exp", Annotations: map[string]string{"x": "y"}}}},
		{"runs", &pipelines.Run{ObjectMeta: metav1.ObjectMeta{Name: "r"}, Spec: pipelines.RunSpec{ExperimentName: "exp",
			PipelineRef: pipelines.PipelineRef{PipelineName: "p"}}}},
		{"jobs", &pipelines.Job{ObjectMeta: metav1.ObjectMeta{Name: "j"}, Spec: pipelines.JobSpec{ExperimentName: "exp",
			PipelineRef: pipelines.PipelineRef{PipelineName: "p"}, Schedule: pipelines.Schedule{IntervalSeconds: 60},
			Enabled: &enabled, MaxConcurrency: 1}}},
	} {
		created := e.create(t, c.resource, c.obj)
		read, err := e.storage[c.resource].(rest.Getter).Get(e.ctx, c.obj.(metav1.Object).GetName(), &metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !apiequality.Semantic.DeepEqual(created, read) {
			t.Errorf("%s: the create's response differs from a read (-read +created):\n%s", c.resource, cmp.Diff(read, created))
		}
	}
}
