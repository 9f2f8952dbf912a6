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

package run

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"
	storeerr "k8s.io/apiserver/pkg/storage/errors"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	mysqlstorage "github.com/pipelines-apiserver/pipelines-apiserver/pkg/storage/mysql"
)

// Fields that are not selectable (the field label conversion refuses them) and exist
// only to be stored in indexed columns: a run's place among its namespace's runs and
// among its experiment's, newest first (see NewestFirst).
const (
	NewestInNamespaceField  = "internal.newestFirst.namespace"
	NewestInExperimentField = "internal.newestFirst.experiment"
)

// newestSize is the width of the inverted creation time; lastSecond is 9999-12-31T23:59:59Z.
const (
	newestSize = 12
	lastSecond = 253402300799
)

// NewestFirst returns a run's values of NewestInNamespaceField and
// NewestInExperimentField: "<namespace>/<inverted creation time>" and
// "<namespace>/<experiment>/<inverted creation time>", the time as the seconds left until
// the end of year 9999 in 12 digits. Their ascending order, then the key's, is newest
// first, then by name, so each index is read forwards and needs no descending index.
func NewestFirst(namespace, experiment string, created time.Time) (inNamespace, inExperiment string) {
	inv := fmt.Sprintf("%0*d", newestSize, lastSecond-created.Unix())
	return namespace + "/" + inv, namespace + "/" + experiment + "/" + inv
}

// RecentREST serves recentruns, a read-only view of runs: the runs of a namespace, or of
// one experiment with the field selector spec.experimentName=NAME, newest first (by
// creationTimestamp, then by name), paged with limit and continue. Each page is one
// range of an index, so the first page costs the same among 100 runs or 10 million.
// Items are Runs with their resourceVersion; the list's resourceVersion is the one
// every resource of this server shares, so a client watches runs from it for changes.
type RecentREST struct {
	runs   *genericregistry.Store
	lister mysqlstorage.OrderedLister
}

var (
	_ rest.Lister                   = &RecentREST{}
	_ rest.Scoper                   = &RecentREST{}
	_ rest.SingularNameProvider     = &RecentREST{}
	_ rest.GroupVersionKindProvider = &RecentREST{}
)

// NewRecentREST serves recentruns from the runs' store, or returns nil if that store is
// not this project's MySQL storage (which keeps the index).
func NewRecentREST(runs *REST) *RecentREST {
	lister, ok := runs.Store.Storage.Storage.(mysqlstorage.OrderedLister)
	if !ok {
		return nil
	}
	return &RecentREST{runs: runs.Store, lister: lister}
}

func (*RecentREST) New() runtime.Object     { return &pipelines.Run{} }
func (*RecentREST) NewList() runtime.Object { return &pipelines.RunList{} }
func (*RecentREST) Destroy()                {}
func (*RecentREST) NamespaceScoped() bool   { return true }

// GetSingularName is not "run": kubectl must keep finding runs by that name.
func (*RecentREST) GetSingularName() string { return "recentrun" }

// GroupVersionKind is RecentRun, not Run: kubectl maps a resource to its kind and the
// kind back to a resource, and Run must stay runs.
func (*RecentREST) GroupVersionKind(gv schema.GroupVersion) schema.GroupVersionKind {
	return gv.WithKind(v1beta1.RecentRunKind)
}

func (r *RecentREST) ConvertToTable(ctx context.Context, obj runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return tableConvertor.ConvertToTable(ctx, obj, tableOptions)
}

// List implements rest.Lister.
func (r *RecentREST) List(ctx context.Context, options *metainternalversion.ListOptions) (runtime.Object, error) {
	ns, ok := genericapirequest.NamespaceFrom(ctx)
	if !ok || ns == "" {
		return nil, apierrors.NewBadRequest("recentruns are listed in one namespace: name it (kubectl -n NAMESPACE); " +
			"every namespace's runs are listed by key as runs")
	}
	label, field := labels.Everything(), fields.Everything()
	if options != nil {
		if options.LabelSelector != nil {
			label = options.LabelSelector
		}
		if options.FieldSelector != nil {
			field = options.FieldSelector
		}
	} else {
		options = &metainternalversion.ListOptions{}
	}
	order := mysqlstorage.ListOrder{Field: NewestInNamespaceField, Prefix: ns + "/"}
	for _, req := range field.Requirements() {
		if req.Field == ExperimentNameField && (req.Operator == selection.Equals || req.Operator == selection.DoubleEquals) {
			order = mysqlstorage.ListOrder{Field: NewestInExperimentField, Prefix: ns + "/" + req.Value + "/"}
			break
		}
	}
	pred := Match(label, field)
	pred.Limit, pred.Continue = options.Limit, options.Continue
	list := r.NewList()
	err := r.lister.GetListInOrder(ctx, r.runs.KeyRootFunc(ctx), order, storage.ListOptions{
		ResourceVersion:      options.ResourceVersion,
		ResourceVersionMatch: options.ResourceVersionMatch,
		Predicate:            pred,
		Recursive:            true,
	}, list)
	if err != nil {
		return nil, storeerr.InterpretListError(err, pipelines.Resource("recentruns"))
	}
	return list, nil
}
