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

// Package cascade carries out a delete's propagation policy for what the deleted object
// owns, as Kubernetes' garbage collector does for owner references: a pipeline's
// versions, an experiment's runs and jobs, a job's runs. Not every cluster runs a
// collector against an aggregated API (a bare kube-apiserver, a local control plane), so
// the server does it itself; where a collector runs too, both do the same idempotent
// steps and whichever comes second finds nothing left to do.
//
// Dependents are found by their owner's UID, in an indexed column, never by name (a new
// experiment of an old one's name owns none of the old runs) and never by reading every
// object. The rules:
//   - background: the owner is deleted at once; then whatever still names it is deleted,
//     after the response (Store.AfterDelete, on every path that deletes an owner). A
//     failure there is logged, not returned: the delete already happened, and
//     Collector.Sweep retries.
//   - foreground: the owner gets a deletionTimestamp and the foregroundDeletion
//     finalizer; its dependents are deleted in the foreground too (a job takes its runs
//     with it), and once none is left the finalizer is removed and the owner goes.
//   - orphan: the owner gets the orphan finalizer; its dependents lose their reference to
//     it and stay; then the finalizer is removed and the owner goes.
//
// The delete request does the foreground and orphan steps itself and returns once they
// are done; whatever it could not finish (a dependent with a finalizer of its own, a
// database error, a crash) the controllers' leader finishes in Collector.Sweep.
package cascade

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/util/dryrun"
	"k8s.io/klog/v2"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/action"
)

// pageSize bounds each read of dependents or owners.
const pageSize = 500

// afterDeleteTimeout bounds the background deletion of an owner's dependents that a
// delete request starts; what is left then is the sweep's.
const afterDeleteTimeout = time.Minute

// maxBackground bounds the background cascades an owner resource runs at once; a
// delete beyond them leaves its dependents to the sweep.
const maxBackground = 4

// Store is what the cascade needs of a dependent resource's REST: deleting through it
// (not its generic store) lets a dependent that owns objects cascade in turn.
type Store interface {
	rest.Lister
	rest.GracefulDeleter
	rest.Updater
}

// Dependents are the objects of one resource that an owner resource owns.
type Dependents struct {
	// Resource names them in logs, e.g. "runs".
	Resource string
	// Store lists, deletes and updates them.
	Store Store
	// Field is the indexed field that holds the owner's UID (see package owner).
	Field string
	// Values reads the distinct owner UIDs from Field's index; nil skips them in the sweep.
	Values IndexedValues
}

// IndexedValues is what the MySQL storage offers for an indexed field.
type IndexedValues interface {
	IndexedValues(ctx context.Context, field, after string, limit int) ([]string, error)
	// IndexedValueSpan returns the first and last keys ("namespace/name") whose field
	// holds value, or empty strings if none does.
	IndexedValueSpan(ctx context.Context, field, value string) (first, last string, err error)
}

// Owner is an owner resource and what it owns.
type Owner struct {
	// Kind names the owner in owner references, e.g. "Experiment".
	Kind string
	// Store is the owner's generic store.
	Store *genericregistry.Store
	// Dependents are the resources it owns.
	Dependents []Dependents
	// background holds a token per background cascade running.
	background chan struct{}
}

// New returns the cascade of an owner resource, and hooks it into store so that every
// delete of an owner (one by one, by collection, or by removing its last finalizer)
// deletes what still names it. The caller adds the dependents once their stores exist.
func New(kind string, store *genericregistry.Store) *Owner {
	o := &Owner{Kind: kind, Store: store, background: make(chan struct{}, maxBackground)}
	store.AfterDelete = o.afterDelete
	return o
}

// Delete deletes the owner called name, in the namespace of ctx, as options say, and
// finishes a foreground or orphan deletion at once when it can. Resources that own
// objects call it from their REST's Delete.
func (o *Owner) Delete(ctx context.Context, name string, deleteValidation rest.ValidateObjectFunc,
	options *metav1.DeleteOptions) (runtime.Object, bool, error) {
	obj, deleted, err := o.Store.Delete(ctx, name, deleteValidation, options)
	if err != nil || deleted || (options != nil && dryrun.IsDryRun(options.DryRun)) {
		return obj, deleted, err
	}
	// Finalizers are pending: do now what the garbage collector would.
	gone, err := o.Finish(ctx, obj)
	if err != nil {
		// The owner is marked for deletion, which is what the caller asked; the sweep
		// finishes it.
		klog.FromContext(ctx).Error(err, "Finishing a deletion; the controllers will retry",
			"kind", o.Kind, "object", klog.KRef(genericapirequest.NamespaceValue(ctx), name))
	}
	return obj, gone, nil
}

// Finish carries out the foreground or orphan finalizer of obj, an owner being deleted,
// and removes the finalizer once its dependents are gone or orphaned. It says whether
// the owner is then gone.
func (o *Owner) Finish(ctx context.Context, obj runtime.Object) (bool, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return false, err
	}
	if m.GetDeletionTimestamp() == nil {
		return false, nil
	}
	ctx = genericapirequest.WithNamespace(ctx, m.GetNamespace())
	finalizers := m.GetFinalizers()
	var finalizer string
	switch {
	case slices.Contains(finalizers, metav1.FinalizerOrphanDependents):
		finalizer = metav1.FinalizerOrphanDependents
		if err := o.orphan(ctx, m.GetUID()); err != nil {
			return false, err
		}
	case slices.Contains(finalizers, metav1.FinalizerDeleteDependents):
		finalizer = metav1.FinalizerDeleteDependents
		if err := o.deleteDependents(ctx, m.GetUID(), metav1.DeletePropagationForeground); err != nil {
			return false, err
		}
		// Dependents with finalizers of their own are still there; they block the owner.
		if left, err := o.hasDependents(ctx, m.GetUID()); err != nil || left {
			return false, err
		}
	default:
		return false, nil
	}
	return o.removeFinalizer(ctx, m.GetName(), m.GetUID(), finalizer)
}

// removeFinalizer removes finalizer from the owner of uid, and says whether the owner
// went with it (its last finalizer).
func (o *Owner) removeFinalizer(ctx context.Context, name string, uid types.UID, finalizer string) (bool, error) {
	gone := false
	_, err := action.Update(ctx, o.Store, name, func(obj runtime.Object) error {
		m, err := meta.Accessor(obj)
		if err != nil {
			return err
		}
		if m.GetUID() != uid {
			return apierrors.NewConflict(o.Store.DefaultQualifiedResource, name, errors.New("replaced by a new object"))
		}
		m.SetFinalizers(slices.DeleteFunc(m.GetFinalizers(), func(f string) bool { return f == finalizer }))
		gone = len(m.GetFinalizers()) == 0
		return nil
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		// Gone already, or a new object of that name: a collector finished first.
		return true, nil
	}
	return gone && err == nil, err
}

// afterDelete is the store's AfterDelete hook: the owner is gone, so whatever still
// names it goes, in the background. The delete's response does not wait for it: however
// many runs an experiment had, the delete answers at once.
func (o *Owner) afterDelete(obj runtime.Object, options *metav1.DeleteOptions) {
	if options != nil && dryrun.IsDryRun(options.DryRun) {
		return
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	ns, name, uid := m.GetNamespace(), m.GetName(), m.GetUID()
	select {
	case o.background <- struct{}{}:
	default:
		klog.InfoS("Too many background cascades at once; the controllers' sweep will delete what the object owned",
			"kind", o.Kind, "object", klog.KRef(ns, name), "uid", uid)
		return
	}
	go func() {
		defer func() { <-o.background }()
		ctx, cancel := context.WithTimeout(context.Background(), afterDeleteTimeout)
		defer cancel()
		if err := o.deleteDependents(genericapirequest.WithNamespace(ctx, ns), uid, metav1.DeletePropagationBackground); err != nil {
			klog.ErrorS(err, "Deleting what a deleted object owned; the controllers' sweep will retry",
				"kind", o.Kind, "object", klog.KRef(ns, name), "uid", uid)
		}
	}()
}

// deleteDependents deletes the objects that name uid as their owner, in the namespace
// of ctx, with policy for what they own in turn.
func (o *Owner) deleteDependents(ctx context.Context, uid types.UID, policy metav1.DeletionPropagation) error {
	return o.eachDependent(ctx, uid, func(d Dependents, m metav1.Object) error {
		if m.GetDeletionTimestamp() != nil && policy != metav1.DeletePropagationForeground {
			return nil // being deleted already
		}
		depUID := m.GetUID()
		_, _, err := d.Store.Delete(ctx, m.GetName(), rest.ValidateAllObjectFunc, &metav1.DeleteOptions{
			Preconditions: &metav1.Preconditions{UID: &depUID}, PropagationPolicy: &policy})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil // gone, or replaced by a new object of that name
		}
		return err
	})
}

// orphan removes the references to uid from the objects that name it as their owner.
func (o *Owner) orphan(ctx context.Context, uid types.UID) error {
	return o.eachDependent(ctx, uid, func(d Dependents, m metav1.Object) error {
		depUID := m.GetUID()
		_, err := action.Update(ctx, d.Store, m.GetName(), func(obj runtime.Object) error {
			dm, err := meta.Accessor(obj)
			if err != nil {
				return err
			}
			if dm.GetUID() != depUID {
				return apierrors.NewNotFound(o.Store.DefaultQualifiedResource, m.GetName())
			}
			dm.SetOwnerReferences(slices.DeleteFunc(dm.GetOwnerReferences(), func(r metav1.OwnerReference) bool {
				return r.UID == uid
			}))
			return nil
		})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})
}

// hasDependents says whether any object in the namespace of ctx still names uid.
func (o *Owner) hasDependents(ctx context.Context, uid types.UID) (bool, error) {
	for _, d := range o.Dependents {
		list, err := d.Store.List(ctx, &metainternalversion.ListOptions{
			FieldSelector: fields.OneTermEqualSelector(d.Field, string(uid)), Limit: 1})
		if err != nil {
			return false, fmt.Errorf("listing the %s of %s: %w", d.Resource, uid, err)
		}
		if meta.LenList(list) > 0 {
			return true, nil
		}
	}
	return false, nil
}

// eachDependent calls fn on each object, in the namespace of ctx, that names uid as its
// owner, a page at a time from the owner UID index. It goes on past a failing object
// and returns the first error.
func (o *Owner) eachDependent(ctx context.Context, uid types.UID, fn func(Dependents, metav1.Object) error) error {
	var first error
	for _, d := range o.Dependents {
		opts := &metainternalversion.ListOptions{FieldSelector: fields.OneTermEqualSelector(d.Field, string(uid)), Limit: pageSize}
		for {
			list, err := d.Store.List(ctx, opts)
			if err != nil {
				return errors.Join(first, fmt.Errorf("listing the %s of %s: %w", d.Resource, uid, err))
			}
			err = meta.EachListItem(list, func(item runtime.Object) error {
				m, err := meta.Accessor(item)
				if err != nil {
					return err
				}
				if err := fn(d, m); err != nil && first == nil {
					first = fmt.Errorf("%s %s/%s: %w", d.Resource, m.GetNamespace(), m.GetName(), err)
				}
				return ctx.Err()
			})
			if err != nil {
				return errors.Join(first, err)
			}
			lm, err := meta.ListAccessor(list)
			if err != nil {
				return err
			}
			if lm.GetContinue() == "" {
				break
			}
			opts.Continue = lm.GetContinue()
		}
	}
	return first
}
