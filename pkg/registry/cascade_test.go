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
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	serverstorage "k8s.io/apiserver/pkg/server/storage"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/klog/v2"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/install"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/action"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/cascade"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/experiment"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/pipeline"
	mysqlstorage "github.com/pipelines-apiserver/pipelines-apiserver/pkg/storage/mysql"
	mysqltesting "github.com/pipelines-apiserver/pipelines-apiserver/pkg/storage/mysql/testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	mysqltesting.StopSharedServer()
	os.Exit(code)
}

const ns = "team-a"

// manifest is a workflow as the KFP v1 SDK compiles one.
const manifest = `{"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
  "metadata": {"generateName": "echo-"},
  "spec": {"entrypoint": "echo", "templates": [
    {"name": "echo", "container": {"image": "busybox", "command": ["echo", "hi"]}}]}}`

// env is the registry on a database of its own.
type env struct {
	storage   map[string]rest.Storage
	collector *cascade.Collector
	ctx       context.Context
	scheme    *runtime.Scheme
	getter    generic.RESTOptionsGetter
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvOn(t, mysqltesting.SharedServer(t).NewDatabase(t), 0)
}

// newEnvOn is the registry of one replica on the database of dsn, whose tail polls
// the change log every poll (the storage's default when 0).
func newEnvOn(t testing.TB, dsn string, poll time.Duration) *env {
	t.Helper()
	scheme := runtime.NewScheme()
	install.Install(scheme)
	codecs := serializer.NewCodecFactory(scheme)
	cfg := mysqlstorage.Config{DSN: dsn, PollInterval: poll, Tables: registry.Tables()}
	backend, err := mysqlstorage.NewBackend(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = backend.Close() })
	getter := &mysqlstorage.RESTOptionsGetter{
		Backend: backend, Prefix: "/registry", EnableGarbageCollection: true, DeleteCollectionWorkers: 1,
		Codec: func(gr schema.GroupResource) (runtime.Codec, error) {
			c, _, err := serverstorage.NewStorageCodec(serverstorage.StorageCodecConfig{
				StorageMediaType: runtime.ContentTypeJSON, StorageSerializer: codecs,
				StorageVersion: v1beta1.SchemeGroupVersion,
				MemoryVersion:  schema.GroupVersion{Group: gr.Group, Version: runtime.APIVersionInternal},
			})
			return c, err
		},
	}
	storage, collector, err := registry.NewStorage(scheme, getter, authorizerfactory.NewAlwaysAllowAuthorizer(), nil, registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &env{storage: storage, collector: collector, ctx: genericapirequest.WithNamespace(t.Context(), ns),
		scheme: scheme, getter: getter}
}

func (e *env) create(t testing.TB, resource string, obj runtime.Object) runtime.Object {
	t.Helper()
	out, err := e.storage[resource].(rest.Creater).Create(e.ctx, obj, rest.ValidateAllObjectFunc, &metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating %s: %v", resource, err)
	}
	return out
}

func (e *env) get(resource, name string) (metav1.Object, error) {
	obj, err := e.storage[resource].(rest.Getter).Get(e.ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return meta.Accessor(obj)
}

func (e *env) delete(t *testing.T, resource, name string, policy metav1.DeletionPropagation, dryRun bool) {
	t.Helper()
	opts := &metav1.DeleteOptions{PropagationPolicy: &policy}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	if _, _, err := e.storage[resource].(rest.GracefulDeleter).Delete(e.ctx, name, rest.ValidateAllObjectFunc, opts); err != nil {
		t.Fatalf("deleting %s %s (%s): %v", resource, name, policy, err)
	}
}

// gone fails the test unless each of the objects is gone within a few seconds (a
// background cascade runs after the delete's response).
func (e *env) gone(t *testing.T, objs ...string) {
	t.Helper()
	for i := 0; i < len(objs); i += 2 {
		var m metav1.Object
		var err error
		for start := time.Now(); time.Since(start) < 10*time.Second; time.Sleep(20 * time.Millisecond) {
			if m, err = e.get(objs[i], objs[i+1]); apierrors.IsNotFound(err) {
				break
			}
		}
		if !apierrors.IsNotFound(err) {
			t.Errorf("%s %s: want it gone, got %v (deleting since %v, finalizers %v)", objs[i], objs[i+1], err,
				deletion(m), finalizers(m))
		}
	}
}

// exists fails the test unless each of the objects exists and is not being deleted.
func (e *env) exists(t *testing.T, objs ...string) {
	t.Helper()
	for i := 0; i < len(objs); i += 2 {
		m, err := e.get(objs[i], objs[i+1])
		if err != nil || m.GetDeletionTimestamp() != nil {
			t.Errorf("%s %s: want it there, got %v (deleting since %v)", objs[i], objs[i+1], err, deletion(m))
		}
	}
}

func deletion(m metav1.Object) any {
	if m == nil {
		return nil
	}
	return m.GetDeletionTimestamp()
}

func finalizers(m metav1.Object) any {
	if m == nil {
		return nil
	}
	return m.GetFinalizers()
}

// fixture makes pipeline p with version p-v1, and experiment exp with a job, run r1
// (the experiment's) and run r2 (created by the job, so owned by both).
func (e *env) fixture(t *testing.T) {
	t.Helper()
	e.create(t, "pipelines", &pipelines.Pipeline{ObjectMeta: metav1.ObjectMeta{Name: "p"}})
	e.create(t, "pipelineversions", &pipelines.PipelineVersion{ObjectMeta: metav1.ObjectMeta{Name: "p-v1"},
		Spec: pipelines.PipelineVersionSpec{PipelineName: "p", Workflow: runtime.RawExtension{Raw: []byte(manifest)}}})
	e.experiment(t, "exp")
	enabled := true
	j := e.create(t, "jobs", &pipelines.Job{ObjectMeta: metav1.ObjectMeta{Name: "j"}, Spec: pipelines.JobSpec{
		ExperimentName: "exp", PipelineRef: pipelines.PipelineRef{PipelineName: "p"},
		Schedule: pipelines.Schedule{IntervalSeconds: 3600}, Enabled: &enabled, MaxConcurrency: 1}}).(*pipelines.Job)
	e.run(t, "r1", "exp")
	e.run(t, "r2", "exp", *metav1.NewControllerRef(j, v1beta1.SchemeGroupVersion.WithKind("Job")))
}

func (e *env) experiment(t testing.TB, name string) {
	t.Helper()
	e.create(t, "experiments", &pipelines.Experiment{ObjectMeta: metav1.ObjectMeta{Name: name}})
}

func (e *env) run(t *testing.T, name, experiment string, owners ...metav1.OwnerReference) {
	t.Helper()
	e.create(t, "runs", &pipelines.Run{ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: owners},
		Spec: pipelines.RunSpec{ExperimentName: experiment, PipelineRef: pipelines.PipelineRef{PipelineName: "p"}}})
}

// TestDeleteBackground: the owner goes at once, and what it owns after it, through the
// levels (experiment → job → the job's runs), and a pipeline's versions with it.
func TestDeleteBackground(t *testing.T) {
	e := newEnv(t)
	e.fixture(t)
	e.delete(t, "experiments", "exp", metav1.DeletePropagationBackground, false)
	e.gone(t, "experiments", "exp", "jobs", "j", "runs", "r1", "runs", "r2")
	e.delete(t, "pipelines", "p", metav1.DeletePropagationBackground, false)
	e.gone(t, "pipelines", "p", "pipelineversions", "p-v1")
}

// TestDeleteForeground: the owner waits, with the foregroundDeletion finalizer, until
// what it owns is gone, and then goes; a dependent with a finalizer of its own holds it
// until that finalizer is removed, and the sweep then finishes the owner.
func TestDeleteForeground(t *testing.T) {
	e := newEnv(t)
	e.fixture(t)
	e.delete(t, "experiments", "exp", metav1.DeletePropagationForeground, false)
	e.gone(t, "experiments", "exp", "jobs", "j", "runs", "r1", "runs", "r2")

	e.experiment(t, "held")
	e.run(t, "h1", "held")
	run, _ := e.get("runs", "h1")
	if _, err := updateMeta(e, "runs", "h1", func(m metav1.Object) { m.SetFinalizers([]string{"example.com/hold"}) }); err != nil {
		t.Fatal(err)
	}
	e.delete(t, "experiments", "held", metav1.DeletePropagationForeground, false)
	m, err := e.get("experiments", "held")
	if err != nil || m.GetDeletionTimestamp() == nil || !slices.Contains(m.GetFinalizers(), metav1.FinalizerDeleteDependents) {
		t.Fatalf("experiment with a held run: want it deleting with %s, got %v %v", metav1.FinalizerDeleteDependents,
			err, finalizers(m))
	}
	if r, err := e.get("runs", "h1"); err != nil || r.GetDeletionTimestamp() == nil || r.GetUID() != run.GetUID() {
		t.Fatalf("held run: want it deleting, got %v (deleting since %v)", err, deletion(r))
	}
	if _, err := updateMeta(e, "runs", "h1", func(m metav1.Object) { m.SetFinalizers(nil) }); err != nil {
		t.Fatal(err)
	}
	e.gone(t, "runs", "h1")
	if err := e.collector.Sweep(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.gone(t, "experiments", "held")
}

// TestDeleteOrphan: the owner goes, what it owns stays and no longer names it.
func TestDeleteOrphan(t *testing.T) {
	e := newEnv(t)
	e.fixture(t)
	exp, _ := e.get("experiments", "exp")
	e.delete(t, "experiments", "exp", metav1.DeletePropagationOrphan, false)
	e.gone(t, "experiments", "exp")
	e.exists(t, "jobs", "j", "runs", "r1", "runs", "r2")
	for _, o := range []string{"jobs/j", "runs/r1", "runs/r2"} {
		resource, name, _ := strings.Cut(o, "/")
		m, _ := e.get(resource, name)
		for _, r := range m.GetOwnerReferences() {
			if r.UID == exp.GetUID() {
				t.Errorf("%s still names the deleted experiment: %+v", o, m.GetOwnerReferences())
			}
		}
	}
	// r2 is still the job's: deleting the job takes it.
	e.delete(t, "jobs", "j", metav1.DeletePropagationBackground, false)
	e.gone(t, "jobs", "j", "runs", "r2")
	e.exists(t, "runs", "r1")
	e.delete(t, "pipelines", "p", metav1.DeletePropagationOrphan, false)
	e.gone(t, "pipelines", "p")
	e.exists(t, "pipelineversions", "p-v1")
}

// TestNewOwnerOfTheSameNameOwnsNothingOld: dependents are found by their owner's UID,
// so runs orphaned from an experiment are not deleted with a new experiment that has
// its name.
func TestNewOwnerOfTheSameNameOwnsNothingOld(t *testing.T) {
	e := newEnv(t)
	e.fixture(t)
	e.delete(t, "experiments", "exp", metav1.DeletePropagationOrphan, false)
	e.delete(t, "pipelines", "p", metav1.DeletePropagationOrphan, false)
	e.experiment(t, "exp")
	e.create(t, "pipelines", &pipelines.Pipeline{ObjectMeta: metav1.ObjectMeta{Name: "p"}})
	e.delete(t, "experiments", "exp", metav1.DeletePropagationBackground, false)
	e.delete(t, "pipelines", "p", metav1.DeletePropagationForeground, false)
	e.gone(t, "experiments", "exp", "pipelines", "p")
	e.exists(t, "jobs", "j", "runs", "r1", "runs", "r2", "pipelineversions", "p-v1")
}

// TestDeleteDryRun changes nothing, whatever the policy.
func TestDeleteDryRun(t *testing.T) {
	e := newEnv(t)
	e.fixture(t)
	for _, p := range []metav1.DeletionPropagation{metav1.DeletePropagationBackground,
		metav1.DeletePropagationForeground, metav1.DeletePropagationOrphan} {
		e.delete(t, "experiments", "exp", p, true)
		e.delete(t, "pipelines", "p", p, true)
		e.exists(t, "experiments", "exp", "jobs", "j", "runs", "r1", "runs", "r2", "pipelines", "p", "pipelineversions", "p-v1")
		m, _ := e.get("runs", "r1")
		if len(m.GetOwnerReferences()) != 1 {
			t.Errorf("dry run %s: run's owner references %+v", p, m.GetOwnerReferences())
		}
	}
}

// TestBackgroundFailureIsSweptLater: a background cascade that fails does not fail the
// delete, which already happened, and the sweep finishes it; so does the sweep for an
// owner deleted without any cascade (as if the server crashed right after).
func TestBackgroundFailureIsSweptLater(t *testing.T) {
	e := newEnv(t)
	e.fixture(t)
	exp := e.storage["experiments"].(*experiment.REST)
	deps := exp.Cascade.Dependents
	runs := deps[0]
	failing := &failingDeletes{Store: runs.Store}
	failing.failures.Store(1)
	runs.Store = failing
	exp.Cascade.Dependents = []cascade.Dependents{runs, deps[1]}
	e.delete(t, "experiments", "exp", metav1.DeletePropagationBackground, false)
	e.gone(t, "experiments", "exp", "jobs", "j", "runs", "r2")
	e.exists(t, "runs", "r1") // its delete failed

	// Deleted in storage alone: no hook runs.
	e.experiment(t, "crash")
	e.run(t, "c1", "crash")
	pipe := e.storage["pipelines"].(*pipeline.REST)
	storageDelete(t, e.ctx, pipe.Store, "p")
	storageDelete(t, e.ctx, exp.Store, "crash")
	e.exists(t, "runs", "c1", "pipelineversions", "p-v1")

	if err := e.collector.Sweep(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.gone(t, "runs", "r1", "runs", "c1", "pipelineversions", "p-v1")
}

// TestSweepLooksUpOnlyUnseenOwners: the sweep pages through the owners anyway, so an owner
// it saw, whose dependents all lie in its namespace, is not looked up again through them.
// With thousands of owners (10k experiments at 10M runs) the old sweep listed a dependent
// and got the owner for each, every minute. A dangling dependent is still deleted, and so is
// one in another namespace that names a live owner's UID: an owner resolves only in its
// dependent's namespace. (Kubernetes' collector would keep that one, which has a live owner
// of its own, and only remove the reference: docs/authorization.md.)
func TestSweepLooksUpOnlyUnseenOwners(t *testing.T) {
	e := newEnv(t)
	e.fixture(t)
	for i := range 5 {
		name := fmt.Sprintf("e%d", i)
		e.experiment(t, name)
		e.run(t, name+"-r", name)
	}
	exp := e.storage["experiments"].(*experiment.REST)
	counted := make([]cascade.Dependents, len(exp.Cascade.Dependents))
	var lists atomic.Int32
	for i, d := range exp.Cascade.Dependents {
		d.Store = &countingLists{Store: d.Store, lists: &lists}
		counted[i] = d
	}
	exp.Cascade.Dependents = counted

	if err := e.collector.Sweep(e.ctx); err != nil {
		t.Fatal(err)
	}
	if n := lists.Load(); n != 0 {
		t.Errorf("a sweep with every experiment present listed their dependents %d times, want 0", n)
	}
	e.exists(t, "runs", "r1", "runs", "e0-r", "runs", "e4-r")

	storageDelete(t, e.ctx, exp.Store, "e2") // no hook runs
	e.experiment(t, "lonely")
	lonely, err := e.get("experiments", "lonely")
	if err != nil {
		t.Fatal(err)
	}
	other := *e
	other.ctx = genericapirequest.WithNamespace(e.ctx, "other")
	other.fixture(t)
	other.run(t, "forged", "exp", metav1.OwnerReference{APIVersion: v1beta1.SchemeGroupVersion.String(), Kind: "Experiment",
		Name: "lonely", UID: lonely.GetUID()})
	if err := e.collector.Sweep(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.gone(t, "runs", "e2-r")
	other.gone(t, "runs", "forged")
	e.exists(t, "runs", "r1", "runs", "e0-r", "runs", "e4-r", "experiments", "lonely")
	other.exists(t, "experiments", "exp", "runs", "r1")
}

type countingLists struct {
	cascade.Store
	lists *atomic.Int32
}

func (c *countingLists) List(ctx context.Context, o *metainternalversion.ListOptions) (runtime.Object, error) {
	c.lists.Add(1)
	return c.Store.List(ctx, o)
}

// TestJobCascade: a job's delete takes the runs it created, in every policy.
func TestJobCascade(t *testing.T) {
	e := newEnv(t)
	e.fixture(t)
	e.delete(t, "jobs", "j", metav1.DeletePropagationForeground, false)
	e.gone(t, "jobs", "j", "runs", "r2")
	e.exists(t, "experiments", "exp", "runs", "r1")
}

// failingDeletes fails the first deletes it is asked for: a test's stand-in for a
// database error in the middle of a cascade.
type failingDeletes struct {
	cascade.Store
	failures atomic.Int32
}

func (f *failingDeletes) Delete(ctx context.Context, name string, v rest.ValidateObjectFunc, o *metav1.DeleteOptions) (runtime.Object, bool, error) {
	if f.failures.Add(-1) >= 0 {
		return nil, false, apierrors.NewInternalError(errors.New("injected failure"))
	}
	return f.Store.Delete(ctx, name, v, o)
}

// storageDelete deletes an object in storage alone, with no hook of the registry.
func storageDelete(t *testing.T, ctx context.Context, s *genericregistry.Store, name string) {
	t.Helper()
	key, err := s.KeyFunc(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Storage.Delete(ctx, key, s.NewFunc(), nil, storage.ValidateAllObjectFunc, false, nil, storage.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestRunWithAWorkflowWaitsForTheCollector: a run deleted in the foreground or as an
// orphan keeps its finalizer while it has a workflow, which the garbage collector deletes
// or orphans before removing the finalizer; a run without one goes at once, whatever the
// policy; dry run changes nothing.
func TestRunWithAWorkflowWaitsForTheCollector(t *testing.T) {
	e := newEnv(t)
	e.fixture(t)
	for _, policy := range []metav1.DeletionPropagation{metav1.DeletePropagationForeground, metav1.DeletePropagationOrphan} {
		t.Run(string(policy), func(t *testing.T) {
			bare, running := "bare-"+strings.ToLower(string(policy)), "running-"+strings.ToLower(string(policy))
			e.run(t, bare, "exp")
			e.run(t, running, "exp")
			_, err := action.Update(e.ctx, e.storage["runs/status"].(rest.Updater), running, func(obj runtime.Object) error {
				obj.(*pipelines.Run).Status.WorkflowName = running
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			e.delete(t, "runs", running, policy, true)
			e.exists(t, "runs", running)

			e.delete(t, "runs", bare, policy, false)
			e.gone(t, "runs", bare)
			e.delete(t, "runs", running, policy, false)
			want := metav1.FinalizerDeleteDependents
			if policy == metav1.DeletePropagationOrphan {
				want = metav1.FinalizerOrphanDependents
			}
			m, err := e.get("runs", running)
			if err != nil || m.GetDeletionTimestamp() == nil || !slices.Equal(m.GetFinalizers(), []string{want}) {
				t.Fatalf("run with a workflow: want it deleting with %s, got %v %v", want, err, finalizers(m))
			}
			// What the collector does once the workflow is gone or orphaned.
			if _, err := updateMeta(e, "runs", running, func(m metav1.Object) { m.SetFinalizers(nil) }); err != nil {
				t.Fatal(err)
			}
			e.gone(t, "runs", running)
		})
	}
}

func updateMeta(e *env, resource, name string, change func(metav1.Object)) (runtime.Object, error) {
	return action.Update(e.ctx, e.storage[resource].(rest.Updater), name, func(obj runtime.Object) error {
		m, err := meta.Accessor(obj)
		if err == nil {
			change(m)
		}
		return err
	})
}

// BenchmarkSweep: one sweep over 300 experiments with a run each, all present: what the
// leader does every minute.
func BenchmarkSweep(b *testing.B) {
	// The registry logs at start-up; in the middle of the result line that breaks
	// benchstat's parsing.
	klog.SetLogger(logr.Discard())
	e := newEnvOn(b, mysqltesting.SharedServer(b).NewDatabase(b), 0)
	e.create(b, "pipelines", &pipelines.Pipeline{ObjectMeta: metav1.ObjectMeta{Name: "p"}})
	e.create(b, "pipelineversions", &pipelines.PipelineVersion{ObjectMeta: metav1.ObjectMeta{Name: "p-v1"},
		Spec: pipelines.PipelineVersionSpec{PipelineName: "p", Workflow: runtime.RawExtension{Raw: []byte(manifest)}}})
	for i := range 300 {
		name := fmt.Sprintf("e%03d", i)
		e.experiment(b, name)
		e.create(b, "runs", &pipelines.Run{ObjectMeta: metav1.ObjectMeta{Name: name + "-r"},
			Spec: pipelines.RunSpec{ExperimentName: name, PipelineRef: pipelines.PipelineRef{PipelineName: "p"}}})
	}
	for b.Loop() {
		if err := e.collector.Sweep(e.ctx); err != nil {
			b.Fatal(err)
		}
	}
}
