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

package cascade

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/klog/v2"
)

// Collector finishes, across all namespaces, what delete requests left undone.
type Collector struct {
	Owners []*Owner
}

// Sweep finishes the foreground and orphan deletions still pending, and deletes the
// objects whose owner no longer exists (a background cascade that failed or was cut
// short by a crash, or an owner reference to an object that never existed, which the
// garbage collector deletes too). The controllers' leader calls it periodically. It
// reads owners a page at a time, and the dependents' owner UIDs from their index
// (distinct values, not rows); it never lists every run.
func (c *Collector) Sweep(ctx context.Context) error {
	var errs []error
	for _, o := range c.Owners {
		seen, err := o.finishPending(ctx)
		if err != nil {
			errs = append(errs, err)
		}
		for _, d := range o.Dependents {
			if err := o.sweepDangling(ctx, d, seen); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// maxSeenOwners bounds the owners one sweep remembers (about 150 bytes each); those past
// it are looked up through their dependents, as unseen ones are.
const maxSeenOwners = 100_000

// finishPending finishes the owners that wait on a foreground or orphan finalizer. It
// returns the namespace of each owner it saw, by UID.
func (o *Owner) finishPending(ctx context.Context) (map[types.UID]string, error) {
	opts := &metainternalversion.ListOptions{Limit: pageSize}
	seen := map[types.UID]string{}
	var first error
	for {
		list, err := o.Store.List(ctx, opts)
		if err != nil {
			return seen, fmt.Errorf("listing %s: %w", o.Store.DefaultQualifiedResource, err)
		}
		err = meta.EachListItem(list, func(obj runtime.Object) error {
			m, err := meta.Accessor(obj)
			if err != nil {
				return err
			}
			if len(seen) < maxSeenOwners {
				seen[m.GetUID()] = m.GetNamespace()
			}
			if m.GetDeletionTimestamp() == nil {
				return nil
			}
			if _, err := o.Finish(ctx, obj); err != nil && first == nil {
				first = fmt.Errorf("finishing the deletion of %s %s/%s: %w", o.Kind, m.GetNamespace(), m.GetName(), err)
			}
			return ctx.Err()
		})
		if err != nil {
			return seen, err
		}
		lm, err := meta.ListAccessor(list)
		if err != nil {
			return seen, err
		}
		if lm.GetContinue() == "" {
			return seen, first
		}
		opts.Continue = lm.GetContinue()
	}
}

// sweepDangling deletes the objects of d whose owner of this kind no longer exists,
// walking the distinct owner UIDs of d's index in pages. An owner seen while paging
// through the owners, whose dependents all lie in its namespace (two seeks in the index),
// is not looked up again: with thousands of owners, that lookup was most of a sweep. One
// deleted since is the next sweep's.
func (o *Owner) sweepDangling(ctx context.Context, d Dependents, seen map[types.UID]string) error {
	if d.Values == nil {
		return nil
	}
	var first error
	after := ""
	for {
		uids, err := d.Values.IndexedValues(ctx, d.Field, after, pageSize)
		if err != nil {
			return fmt.Errorf("reading the owner UIDs of %s: %w", d.Resource, err)
		}
		for _, uid := range uids {
			if ns, ok := seen[types.UID(uid)]; ok && d.allIn(ctx, uid, ns) {
				continue
			}
			if err := o.sweepOwner(ctx, d, types.UID(uid)); err != nil && first == nil {
				first = err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		if len(uids) < pageSize {
			return first
		}
		after = uids[len(uids)-1]
	}
}

// sweepOwner deletes the objects of d that name uid, if that owner is gone.
func (o *Owner) sweepOwner(ctx context.Context, d Dependents, uid types.UID) error {
	list, err := d.Store.List(genericapirequest.WithNamespace(ctx, metav1.NamespaceAll), &metainternalversion.ListOptions{
		FieldSelector: fields.OneTermEqualSelector(d.Field, string(uid)), Limit: 1})
	if err != nil {
		return fmt.Errorf("listing the %s of %s: %w", d.Resource, uid, err)
	}
	items, err := meta.ExtractList(list)
	if err != nil || len(items) == 0 {
		return err
	}
	m, err := meta.Accessor(items[0])
	if err != nil {
		return err
	}
	name := ""
	for _, r := range m.GetOwnerReferences() {
		if r.UID == uid {
			name = r.Name
		}
	}
	nsCtx := genericapirequest.WithNamespace(ctx, m.GetNamespace())
	if name != "" {
		owner, err := o.Store.Get(nsCtx, name, &metav1.GetOptions{})
		switch {
		case err == nil:
			om, err := meta.Accessor(owner)
			if err != nil || om.GetUID() == uid {
				return err // the owner exists
			}
		case !apierrors.IsNotFound(err):
			return err
		}
	}
	klog.FromContext(ctx).Info("Deleting objects whose owner is gone", "resource", d.Resource,
		"namespace", m.GetNamespace(), "ownerKind", o.Kind, "owner", name, "ownerUID", uid)
	return o.deleteDependents(nsCtx, uid, metav1.DeletePropagationBackground)
}

// allIn says whether every object of d that names uid lies in namespace ns; false when
// that cannot be read.
func (d Dependents) allIn(ctx context.Context, uid, ns string) bool {
	first, last, err := d.Values.IndexedValueSpan(ctx, d.Field, uid)
	if err != nil {
		return false
	}
	firstNS, _, _ := strings.Cut(first, "/")
	lastNS, _, _ := strings.Cut(last, "/")
	// Keys sort by namespace first, so everything between two keys of ns is in ns.
	return first == "" || firstNS == ns && lastNS == ns
}
