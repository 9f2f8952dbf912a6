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
	"testing"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	serverstorage "k8s.io/apiserver/pkg/server/storage"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apiserver"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry"
	mysqlstorage "github.com/pipelines-apiserver/pipelines-apiserver/pkg/storage/mysql"
	mysqltesting "github.com/pipelines-apiserver/pipelines-apiserver/pkg/storage/mysql/testing"
)

const namespace = "team-a"

// newStorage returns every resource's storage on a fresh database of the shared
// MariaDB, with authz deciding what the caller may use.
func newStorage(t *testing.T, authz authorizer.Authorizer) map[string]rest.Storage {
	t.Helper()
	return newStorageWith(t, authz, registry.Options{})
}

// newStorageWith is newStorage under opts.
func newStorageWith(t *testing.T, authz authorizer.Authorizer, opts registry.Options) map[string]rest.Storage {
	t.Helper()
	dsn := mysqltesting.SharedServer(t).NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	backend, err := mysqlstorage.NewBackend(ctx, mysqlstorage.Config{DSN: dsn, PollInterval: 50 * time.Millisecond, Tables: registry.Tables()})
	if err != nil {
		t.Fatalf("NewBackend: %v", err)
	}
	t.Cleanup(func() { _ = backend.Close() })
	getter := &mysqlstorage.RESTOptionsGetter{
		Backend: backend,
		Codec: func(gr schema.GroupResource) (runtime.Codec, error) {
			codec, _, err := serverstorage.NewStorageCodec(serverstorage.StorageCodecConfig{
				StorageMediaType:  runtime.ContentTypeJSON,
				StorageSerializer: apiserver.Codecs,
				StorageVersion:    v1beta1.SchemeGroupVersion,
				MemoryVersion:     schema.GroupVersion{Group: gr.Group, Version: runtime.APIVersionInternal},
			})
			return codec, err
		},
		EnableGarbageCollection: true,
		DeleteCollectionWorkers: 1,
	}
	storage, _, err := registry.NewStorage(apiserver.Scheme, getter, authz, nil, opts)
	if err != nil {
		t.Fatalf("NewStorage: %v", err)
	}
	return storage
}

// requestContext is a request in namespace by the named user.
func requestContext(t *testing.T, name string, groups ...string) context.Context {
	ctx := genericapirequest.WithNamespace(t.Context(), namespace)
	return genericapirequest.WithUser(ctx, &user.DefaultInfo{Name: name, Groups: append(groups, user.AllAuthenticated)})
}

// createFixture creates an experiment, a pipeline, a version, a run and a job, all
// called "x" (the version "x-v1").
func createFixture(t *testing.T, ctx context.Context, storage map[string]rest.Storage) {
	t.Helper()
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: namespace} }
	ref := pipelines.PipelineRef{PipelineName: "x"}
	// In order: each refers to the ones before.
	for _, c := range []struct {
		resource string
		obj      runtime.Object
	}{
		{"experiments", &pipelines.Experiment{ObjectMeta: meta("x")}},
		{"pipelines", &pipelines.Pipeline{ObjectMeta: meta("x")}},
		{"pipelineversions", &pipelines.PipelineVersion{ObjectMeta: meta("x-v1"), Spec: pipelines.PipelineVersionSpec{
			PipelineName: "x", Workflow: runtime.RawExtension{Raw: []byte(manifest)}}}},
		{"runs", &pipelines.Run{ObjectMeta: meta("x"), Spec: pipelines.RunSpec{ExperimentName: "x", PipelineRef: ref}}},
		{"jobs", &pipelines.Job{ObjectMeta: meta("x"), Spec: pipelines.JobSpec{ExperimentName: "x", PipelineRef: ref,
			Schedule: pipelines.Schedule{IntervalSeconds: 3600}, MaxConcurrency: 1, Enabled: ptr.To(false)}}},
	} {
		if _, err := storage[c.resource].(rest.Creater).Create(ctx, c.obj, rest.ValidateAllObjectFunc, &metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating %s: %v", c.resource, err)
		}
	}
}

// TestStatusChangesOnlyStatus: an update through */status of every resource changes
// the status it sends and none of the metadata or spec it also sends (issue 13,
// attack 3: labels and finalizers through runs/status), as kube-apiserver treats
// custom resources; the fields server-side apply resets on */status say the same.
func TestStatusChangesOnlyStatus(t *testing.T) {
	storage := newStorage(t, authorizerfactory.NewAlwaysDenyAuthorizer())
	ctx := requestContext(t, "alice")
	createFixture(t, ctx, storage)

	message := "written through status"
	cases := []struct {
		resource, name string
		// change changes the spec and sets a status field to message.
		change func(obj runtime.Object)
		// status reads that status field back.
		status func(obj runtime.Object) string
	}{
		{"experiments", "x", func(o runtime.Object) {
			e := o.(*pipelines.Experiment)
			e.Spec.Description = "changed"
			e.Status.Conditions = []metav1.Condition{{Type: "T", Status: metav1.ConditionTrue, Reason: "R", Message: message, LastTransitionTime: metav1.Now()}}
		}, func(o runtime.Object) string { return conditionMessage(o.(*pipelines.Experiment).Status.Conditions) }},
		{"pipelines", "x", func(o runtime.Object) {
			p := o.(*pipelines.Pipeline)
			p.Spec.Description = "changed"
			p.Status.Conditions = []metav1.Condition{{Type: "T", Status: metav1.ConditionTrue, Reason: "R", Message: message, LastTransitionTime: metav1.Now()}}
		}, func(o runtime.Object) string { return conditionMessage(o.(*pipelines.Pipeline).Status.Conditions) }},
		{"pipelineversions", "x-v1", func(o runtime.Object) {
			v := o.(*pipelines.PipelineVersion)
			v.Spec.Description = "changed"
			v.Status.Conditions = []metav1.Condition{{Type: "T", Status: metav1.ConditionTrue, Reason: "R", Message: message, LastTransitionTime: metav1.Now()}}
		}, func(o runtime.Object) string {
			return conditionMessage(o.(*pipelines.PipelineVersion).Status.Conditions)
		}},
		{"runs", "x", func(o runtime.Object) {
			r := o.(*pipelines.Run)
			r.Spec.ServiceAccountName = "cluster-admin"
			r.Status.Message = message
		}, func(o runtime.Object) string { return o.(*pipelines.Run).Status.Message }},
		{"jobs", "x", func(o runtime.Object) {
			j := o.(*pipelines.Job)
			j.Spec.ServiceAccountName = "cluster-admin"
			j.Status.Conditions = []metav1.Condition{{Type: "T", Status: metav1.ConditionTrue, Reason: "R", Message: message, LastTransitionTime: metav1.Now()}}
		}, func(o runtime.Object) string { return conditionMessage(o.(*pipelines.Job).Status.Conditions) }},
	}
	for _, c := range cases {
		t.Run(c.resource, func(t *testing.T) {
			statusREST := storage[c.resource+"/status"].(interface {
				rest.Getter
				rest.Updater
				rest.ResetFieldsStrategy
			})
			before, err := statusREST.Get(ctx, c.name, &metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			obj := before.DeepCopyObject()
			m, _ := meta.Accessor(obj)
			m.SetLabels(map[string]string{"stolen": "true"})
			m.SetAnnotations(map[string]string{"stolen": "true"})
			m.SetFinalizers([]string{"x/y"})
			m.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "v1", Kind: "Namespace", Name: "team-b", UID: "0000"}})
			m.SetGeneration(42)
			c.change(obj)
			updated, _, err := statusREST.Update(ctx, c.name, rest.DefaultUpdatedObjectInfo(obj), rest.ValidateAllObjectFunc,
				rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{})
			if err != nil {
				t.Fatalf("status update: %v", err)
			}
			if got := c.status(updated); got != message {
				t.Errorf("status not written: %q", got)
			}
			stored, err := statusREST.Get(ctx, c.name, &metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			bm, _ := meta.Accessor(before)
			sm, _ := meta.Accessor(stored)
			for _, f := range []struct {
				name      string
				got, want interface{}
			}{
				{"labels", sm.GetLabels(), bm.GetLabels()},
				{"annotations", sm.GetAnnotations(), bm.GetAnnotations()},
				{"finalizers", sm.GetFinalizers(), bm.GetFinalizers()},
				{"ownerReferences", sm.GetOwnerReferences(), bm.GetOwnerReferences()},
				{"generation", sm.GetGeneration(), bm.GetGeneration()},
				{"spec", specOf(stored), specOf(before)},
			} {
				if !apiequality.Semantic.DeepEqual(f.got, f.want) {
					t.Errorf("%s changed through status: %v, was %v", f.name, f.got, f.want)
				}
			}
			reset := statusREST.GetResetFields()[fieldpath.APIVersion(v1beta1.SchemeGroupVersion.String())]
			for _, p := range []string{"metadata", "spec"} {
				if reset == nil || !reset.Has(fieldpath.MakePathOrDie(p)) {
					t.Errorf("server-side apply through status does not reset %s: reset fields %v", p, reset)
				}
			}
		})
	}
}

// TestRunPinnedVersion: a run pins its version's name and UID at create, and neither
// can be changed through runs/status (issue 13, attack 3: the executor ran whatever
// status.pipelineVersion named).
func TestRunPinnedVersion(t *testing.T) {
	storage := newStorage(t, authorizerfactory.NewAlwaysDenyAuthorizer())
	ctx := requestContext(t, "alice")
	createFixture(t, ctx, storage)
	v2 := &pipelines.PipelineVersion{ObjectMeta: metav1.ObjectMeta{Name: "x-v2", Namespace: namespace},
		Spec: pipelines.PipelineVersionSpec{PipelineName: "x", Workflow: runtime.RawExtension{Raw: []byte(manifest)}}}
	if _, err := storage["pipelineversions"].(rest.Creater).Create(ctx, v2, rest.ValidateAllObjectFunc, &metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	obj, err := storage["pipelineversions"].(rest.Getter).Get(ctx, "x-v1", &metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v1UID := obj.(*pipelines.PipelineVersion).UID
	runs := storage["runs/status"].(interface {
		rest.Getter
		rest.Updater
	})
	obj, err = runs.Get(ctx, "x", &metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	run := obj.(*pipelines.Run)
	if run.Status.PipelineVersion != "x-v1" || run.Status.PipelineVersionUID != v1UID {
		t.Fatalf("run pinned %s (UID %s), want x-v1 (UID %s)", run.Status.PipelineVersion, run.Status.PipelineVersionUID, v1UID)
	}
	for _, c := range []struct {
		name   string
		change func(*pipelines.RunStatus)
		field  string
	}{
		{"another version", func(s *pipelines.RunStatus) { s.PipelineVersion = "x-v2" }, "status.pipelineVersion"},
		{"another UID", func(s *pipelines.RunStatus) { s.PipelineVersionUID = "1234" }, "status.pipelineVersionUID"},
		{"no version", func(s *pipelines.RunStatus) { s.PipelineVersion, s.PipelineVersionUID = "", "" }, "status.pipelineVersion"},
	} {
		t.Run(c.name, func(t *testing.T) {
			changed := run.DeepCopy()
			c.change(&changed.Status)
			_, _, err := runs.Update(ctx, "x", rest.DefaultUpdatedObjectInfo(changed), rest.ValidateAllObjectFunc,
				rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{})
			if !apierrors.IsInvalid(err) {
				t.Fatalf("got %v, want 422 Invalid", err)
			}
			if !hasCause(err, c.field) {
				t.Errorf("error does not name %s: %v", c.field, err)
			}
			obj, err := runs.Get(ctx, "x", &metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := obj.(*pipelines.Run).Status; got.PipelineVersion != "x-v1" || got.PipelineVersionUID != v1UID {
				t.Errorf("pinned version changed to %s (UID %s)", got.PipelineVersion, got.PipelineVersionUID)
			}
		})
	}
}

func conditionMessage(cs []metav1.Condition) string {
	if len(cs) == 0 {
		return ""
	}
	return cs[0].Message
}

func specOf(obj runtime.Object) interface{} {
	switch o := obj.(type) {
	case *pipelines.Experiment:
		return o.Spec
	case *pipelines.Pipeline:
		return o.Spec
	case *pipelines.PipelineVersion:
		return o.Spec
	case *pipelines.Run:
		return o.Spec
	case *pipelines.Job:
		return o.Spec
	}
	return nil
}

// hasCause says whether a Status error names field among its causes.
func hasCause(err error, field string) bool {
	var status apierrors.APIStatus
	if !errors.As(err, &status) || status.Status().Details == nil {
		return false
	}
	for _, c := range status.Status().Details.Causes {
		if c.Field == field {
			return true
		}
	}
	return false
}
