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

// Package registry builds the storage of every pipelines.kubeflow.org resource, one
// package per resource, and wires the rules that span them.
package registry

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/cascade"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/experiment"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/job"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/pipeline"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/pipelineversion"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/refcache"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/retention"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/run"
	mysqlstorage "github.com/pipelines-apiserver/pipelines-apiserver/pkg/storage/mysql"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/workflow/policy"
)

// Tables are the MySQL tables of the resources and the fields they index.
func Tables() []mysqlstorage.Table {
	return []mysqlstorage.Table{pipeline.Table, pipelineversion.Table, experiment.Table, run.Table, job.Table}
}

// Options are the cluster-wide rules the registry enforces.
type Options struct {
	// WorkflowPolicy decides what the workflows of pipeline versions may do.
	WorkflowPolicy policy.Policy
	// Stopping closes when the server begins to shut down: long-running streams
	// (runs/log follows) end then. Nil: never.
	Stopping <-chan struct{}
	// ReferenceCacheObjects bounds each reference cache (refcache.DefaultMaxObjects
	// when 0).
	ReferenceCacheObjects int
}

// NewStorage returns the storage of every resource and subresource, keyed by path as
// APIGroupInfo wants it, and the collector that finishes the cascades of deletes (for
// the controllers' leader to sweep). authz decides whether a caller may use a pipeline
// of another namespace and the service account a run's pods run as; pods reads the
// logs of runs' pods.
func NewStorage(scheme *runtime.Scheme, getter generic.RESTOptionsGetter, authz authorizer.Authorizer,
	pods corev1client.PodsGetter, opts Options) (map[string]rest.Storage, *cascade.Collector, error) {
	// What creates of runs and jobs refer to, kept in memory (package refcache).
	experiments := refcache.New("experiments", trimMeta, opts.ReferenceCacheObjects)
	pipelineCache := refcache.New("pipelines", trimMeta, opts.ReferenceCacheObjects)
	versions := refcache.New("pipelineversions", trimVersion, opts.ReferenceCacheObjects)
	getter = refcache.RESTOptionsGetter{RESTOptionsGetter: getter, Caches: map[schema.GroupResource]*refcache.Cache{
		pipelines.Resource("experiments"): experiments, pipelines.Resource("pipelines"): pipelineCache,
		pipelines.Resource("pipelineversions"): versions,
	}}
	pipelineStore, pipelineStatus, err := pipeline.NewREST(scheme, getter)
	if err != nil {
		return nil, nil, err
	}
	versionStore, versionStatus, err := pipelineversion.NewREST(scheme, getter, pipelineStore, pipelineStatus, opts.WorkflowPolicy)
	if err != nil {
		return nil, nil, err
	}
	pipelineStore.Cascade.Dependents = []cascade.Dependents{
		{Resource: "pipelineversions", Store: versionStore, Field: pipelineversion.PipelineUIDField, Values: indexed(versionStore.Store)},
	}

	experimentStore, experimentStatus, err := experiment.NewREST(scheme, getter)
	if err != nil {
		return nil, nil, err
	}
	resolver := &pipelineversion.Resolver{Pipelines: pipelineCache.Getter(pipelineStore), Versions: versions.Getter(versionStore),
		Authorizer: authz}
	runStore, runStatus, err := run.NewREST(scheme, getter, experiments.Getter(experimentStore), resolver)
	if err != nil {
		return nil, nil, err
	}
	jobStore, jobStatus, err := job.NewREST(scheme, getter, experiments.Getter(experimentStore), resolver)
	if err != nil {
		return nil, nil, err
	}
	experimentStore.Cascade.Dependents = []cascade.Dependents{
		{Resource: "runs", Store: runStore, Field: run.ExperimentUIDField, Values: indexed(runStore.Store)},
		{Resource: "jobs", Store: jobStore, Field: job.ExperimentUIDField, Values: indexed(jobStore.Store)},
	}
	jobStore.Cascade.Dependents = []cascade.Dependents{
		{Resource: "runs", Store: runStore, Field: run.JobUIDField, Values: indexed(runStore.Store)},
	}
	collector := &cascade.Collector{Owners: []*cascade.Owner{experimentStore.Cascade, jobStore.Cascade, pipelineStore.Cascade}}
	experimentStore.OnArchive = []func(ctx context.Context, experiment string) error{
		func(ctx context.Context, experiment string) error {
			return runStore.ArchiveAll(ctx, runStatus, experiment)
		},
		jobStore.DisableAll,
	}

	storage := map[string]rest.Storage{
		"pipelines":               pipelineStore,
		"pipelines/status":        pipelineStatus,
		"pipelineversions":        versionStore,
		"pipelineversions/status": versionStatus,
		"experiments":             experimentStore,
		"experiments/status":      experimentStatus,
		"runs":                    runStore,
		"runs/status":             runStatus,
		"runs/log":                run.NewLogREST(runStore, pods, opts.Stopping),
		"jobs":                    jobStore,
		"jobs/status":             jobStatus,
	}
	if recent := run.NewRecentREST(runStore); recent != nil {
		storage["recentruns"] = recent
	}
	for resource, actions := range map[string]map[string]rest.Storage{
		"experiments": experimentStore.Actions(experimentStatus),
		"runs":        runStore.Actions(runStatus),
		"jobs":        jobStore.Actions(),
	} {
		for name, a := range actions {
			storage[resource+"/"+name] = a
		}
	}
	return storage, collector, nil
}

// indexed is the MySQL storage's reader of an indexed field's values, or nil with
// another storage (the sweep then skips dangling dependents).
func indexed(s *genericregistry.Store) cascade.IndexedValues {
	v, _ := refcache.Unwrap(s.Storage.Storage).(cascade.IndexedValues)
	return v
}

// RunRetention fills in what retention needs from the storage NewStorage returned: the
// runs, their status and their index. It fails on a storage other than MySQL's, which
// has no index to find the runs due.
func RunRetention(storage map[string]rest.Storage, cfg *retention.Config) error {
	runs, ok := storage["runs"].(*run.REST)
	status, ok2 := storage["runs/status"].(rest.Updater)
	if !ok || !ok2 {
		return fmt.Errorf("retention needs the runs' storage")
	}
	index, ok := runs.Store.Storage.Storage.(retention.Index)
	if !ok {
		return fmt.Errorf("retention needs the runs' storage to read a range of an index (MySQL's)")
	}
	cfg.Runs, cfg.Status, cfg.Index = runs, status, index
	return nil
}

// trimMeta is what a reference cache keeps of an experiment or a pipeline: all but
// the managed fields.
func trimMeta(obj runtime.Object) runtime.Object {
	switch o := obj.(type) {
	case *pipelines.Experiment:
		c := *o
		c.ManagedFields = nil
		return &c
	case *pipelines.Pipeline:
		c := *o
		c.ManagedFields = nil
		return &c
	}
	return obj
}

// trimVersion is what a reference cache keeps of a pipeline version: what resolving
// and checking parameters read, not the pipeline's definition.
func trimVersion(obj runtime.Object) runtime.Object {
	v, ok := obj.(*pipelines.PipelineVersion)
	if !ok {
		return obj
	}
	return &pipelines.PipelineVersion{
		ObjectMeta: metav1.ObjectMeta{Name: v.Name, Namespace: v.Namespace, UID: v.UID, ResourceVersion: v.ResourceVersion},
		Spec:       pipelines.PipelineVersionSpec{PipelineName: v.Spec.PipelineName},
		Status:     pipelines.PipelineVersionStatus{Parameters: v.Status.Parameters},
	}
}
