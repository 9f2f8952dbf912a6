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

// Package retention archives finished runs and deletes archived ones once they are old
// enough, by a cluster-wide policy that a namespace's annotations override. The
// controllers' leader calls Retainer.Run periodically; each call is one bounded batch,
// found through the runs' retention indexes (runregistry.AvailableSinceField and
// ArchivedSinceField), never by listing runs.
package retention

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/client-go/dynamic"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/action"
	runregistry "github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/run"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/workflow"
)

// Index reads the keys ("namespace/name") whose indexed field lies in [from, to), at most
// limit, in the index's order. The MySQL storage of runs is one.
type Index interface {
	IndexedRange(ctx context.Context, field, from, to string, limit int) ([]string, error)
}

// Runs is what retention does to runs: read, delete, and update status (to archive).
type Runs interface {
	rest.Getter
	rest.GracefulDeleter
}

// Config is what a Retainer needs.
type Config struct {
	// Default is the cluster-wide policy; a namespace's annotations override it.
	Default Policy
	// BatchSize bounds the runs one call of Run archives or deletes, together.
	BatchSize int
	// Runs reads and deletes runs; Status archives them (the runs/status storage).
	Runs   Runs
	Status rest.Updater
	// Index is the runs' storage, which reads the retention indexes.
	Index Index
	// Namespaces lists the namespaces and their annotations.
	Namespaces corev1client.NamespaceInterface
	// Kube deletes runs' workflows and their pods in kube-apiserver.
	Kube dynamic.Interface
	// Clock tells the time. Default: the real one.
	Clock clock.PassiveClock
}

// Retainer applies the retention policies.
type Retainer struct {
	cfg Config
	// next is the namespace the next batch starts from: the one after where the
	// previous batch ran out, so that the namespaces take turns.
	next string
	// refused are the namespaces whose annotations were refused, with the error, so
	// that each is logged once, not every batch.
	refused map[string]string
}

// New checks cfg.
func New(cfg Config) (*Retainer, error) {
	if cfg.Runs == nil || cfg.Status == nil || cfg.Index == nil || cfg.Namespaces == nil || cfg.Kube == nil {
		return nil, fmt.Errorf("retention needs the runs' storage, their index and clients of kube-apiserver")
	}
	if cfg.BatchSize < 1 {
		return nil, fmt.Errorf("retention's batch size must be at least 1, not %d", cfg.BatchSize)
	}
	if err := cfg.Default.Validate(); err != nil {
		return nil, err
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	registerMetrics()
	return &Retainer{cfg: cfg, refused: map[string]string{}}, nil
}

// errNotDue: the run changed since the index was read and is not due any more.
var errNotDue = errors.New("not due")

// Result counts what one batch did. Skipped are runs the index named that had changed
// when read again (no longer due, gone, or changed while being deleted).
type Result struct {
	Archived, Deleted, Workflows, Skipped, Failed int
}

// Run archives and deletes the runs that are due, at most BatchSize of them, namespace
// by namespace, starting after the namespace where the previous batch ran out. It reads each namespace's runs due
// from one range of an index, and acts on each run through the storage, reading it
// again first: a run unarchived, retried or re-created meanwhile is left alone.
func (r *Retainer) Run(ctx context.Context) (Result, error) {
	begin := time.Now()
	var res Result
	namespaces, err := r.policies(ctx)
	if err != nil {
		return res, err
	}
	now := r.cfg.Clock.Now()
	budget := r.cfg.BatchSize
	var errs []error
	start := sort.Search(len(namespaces), func(i int) bool { return namespaces[i].name >= r.next })
	r.next = ""
	for i := range namespaces {
		ns := namespaces[(start+i)%len(namespaces)]
		if ns.policy.ArchiveAfter > 0 {
			n, err := r.archive(ctx, ns.name, now.Add(-ns.policy.ArchiveAfter), ns.policy.ArchiveAfter, budget, &res)
			budget -= n
			errs = append(errs, err)
		}
		if ns.policy.DeleteAfter > 0 && budget > 0 {
			n, err := r.delete(ctx, ns.name, now.Add(-ns.policy.DeleteAfter), budget, &res)
			budget -= n
			errs = append(errs, err)
		}
		if budget == 0 {
			// The next batch starts after this namespace, which may have more: a
			// namespace's backlog waits its turn rather than starving the others.
			r.next = namespaces[(start+i+1)%len(namespaces)].name
			break
		}
	}
	batchDuration.Observe(time.Since(begin).Seconds())
	if res != (Result{}) {
		klog.FromContext(ctx).Info("Applied the runs' retention policies", "archived", res.Archived, "deleted", res.Deleted,
			"workflowsDeleted", res.Workflows, "skipped", res.Skipped, "failed", res.Failed, "duration", time.Since(begin).Round(time.Millisecond))
	}
	return res, errors.Join(errs...)
}

// namespacePolicy is one namespace's policy.
type namespacePolicy struct {
	name   string
	policy Policy
}

// policies lists the namespaces, in name order, with their policies; those whose policy
// does nothing are left out.
func (r *Retainer) policies(ctx context.Context) ([]namespacePolicy, error) {
	var out []namespacePolicy
	refused := map[string]string{}
	opts := metav1.ListOptions{Limit: 500}
	for {
		list, err := r.cfg.Namespaces.List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("listing namespaces for their retention policies: %w", err)
		}
		for _, ns := range list.Items {
			p, err := PolicyFor(r.cfg.Default, ns.Annotations)
			if err != nil {
				refused[ns.Name] = err.Error()
				if r.refused[ns.Name] != err.Error() {
					klog.FromContext(ctx).Error(err, "Ignoring a namespace's retention annotations, using the cluster's policy",
						"namespace", ns.Name)
				}
			}
			if p.ArchiveAfter > 0 || p.DeleteAfter > 0 {
				out = append(out, namespacePolicy{ns.Name, p})
			}
		}
		if list.Continue == "" {
			break
		}
		opts.Continue = list.Continue
	}
	r.refused = refused
	slices.SortFunc(out, func(a, b namespacePolicy) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// podResource is the core Pod resource, deleted through the dynamic client.
var podResource = schema.GroupVersionResource{Version: "v1", Resource: "pods"}

// due reads the names of up to limit runs of namespace whose field is before cutoff.
func (r *Retainer) due(ctx context.Context, field, namespace string, cutoff time.Time, limit int) ([]string, error) {
	keys, err := r.cfg.Index.IndexedRange(ctx, field, namespace+"/", runregistry.RetentionKey(namespace, cutoff), limit)
	if err != nil {
		return nil, fmt.Errorf("reading the runs of %s due for retention: %w", namespace, err)
	}
	names := make([]string, 0, len(keys))
	for _, k := range keys {
		names = append(names, k[len(namespace)+1:])
	}
	return names, nil
}

// archive archives the runs of namespace that finished (or were unarchived) before
// cutoff, at most limit, and returns how many it tried.
func (r *Retainer) archive(ctx context.Context, namespace string, cutoff time.Time, after time.Duration, limit int, res *Result) (int, error) {
	names, err := r.due(ctx, runregistry.AvailableSinceField, namespace, cutoff, limit)
	if err != nil {
		return 0, err
	}
	due := runregistry.RetentionKey(namespace, cutoff)
	nsCtx := genericapirequest.WithNamespace(ctx, namespace)
	var first error
	for _, name := range names {
		_, err := action.Update(nsCtx, r.cfg.Status, name, func(obj runtime.Object) error {
			run := obj.(*pipelines.Run)
			if since, _ := runregistry.RetentionFields(run); since == "" || since >= due {
				return errNotDue
			}
			runregistry.Archive(run, r.cfg.Clock.Now(), "RetentionPolicy",
				fmt.Sprintf("archived by the retention policy: available for %s since it finished", after))
			return nil
		})
		switch {
		case err == nil:
			res.Archived++
			runsArchived.Inc()
			klog.FromContext(ctx).V(2).Info("Archived a run by the retention policy", "run", klog.KRef(namespace, name))
		case errors.Is(err, errNotDue) || apierrors.IsNotFound(err):
			res.Skipped++
			klog.FromContext(ctx).V(3).Info("Not archiving a run: it changed", "run", klog.KRef(namespace, name), "reason", err)
		default:
			res.Failed++
			retentionErrors.Inc()
			if first == nil {
				first = fmt.Errorf("archiving run %s/%s: %w", namespace, name, err)
			}
		}
	}
	return len(names), first
}

// delete deletes the runs of namespace archived before cutoff, at most limit, each after
// its workflow, and returns how many it tried.
func (r *Retainer) delete(ctx context.Context, namespace string, cutoff time.Time, limit int, res *Result) (int, error) {
	names, err := r.due(ctx, runregistry.ArchivedSinceField, namespace, cutoff, limit)
	if err != nil {
		return 0, err
	}
	due := runregistry.RetentionKey(namespace, cutoff)
	nsCtx := genericapirequest.WithNamespace(ctx, namespace)
	var first error
	for _, name := range names {
		err := r.deleteRun(nsCtx, name, due, res)
		switch {
		case err == nil:
		case errors.Is(err, errNotDue) || apierrors.IsNotFound(err) || apierrors.IsConflict(err):
			res.Skipped++
			klog.FromContext(ctx).V(3).Info("Not deleting a run: it changed", "run", klog.KRef(namespace, name), "reason", err)
		default:
			res.Failed++
			retentionErrors.Inc()
			if first == nil {
				first = fmt.Errorf("deleting run %s/%s: %w", namespace, name, err)
			}
		}
	}
	return len(names), first
}

// deleteRun deletes one archived run if it is still due, its workflow and that
// workflow's pods first: with no garbage collector (or none that knows this API) they
// would otherwise stay. The run goes last, so a failure leaves it to be found again.
func (r *Retainer) deleteRun(ctx context.Context, name, due string, res *Result) error {
	obj, err := r.cfg.Runs.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return err
	}
	run := obj.(*pipelines.Run)
	if _, since := runregistry.RetentionFields(run); since == "" || since >= due {
		return errNotDue
	}
	if run.Status.WorkflowName != "" {
		deleted, err := r.deleteWorkflow(ctx, run)
		if err != nil {
			return err
		}
		if deleted {
			res.Workflows++
			workflowsDeleted.Inc()
		}
	}
	_, _, err = r.cfg.Runs.Delete(ctx, name, rest.ValidateAllObjectFunc, &metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: ptr.To(run.UID), ResourceVersion: ptr.To(run.ResourceVersion)}})
	if err != nil {
		return err
	}
	res.Deleted++
	runsDeleted.Inc()
	klog.FromContext(ctx).V(2).Info("Deleted a run by the retention policy", "run", klog.KObj(run), "workflow", run.Status.WorkflowName)
	return nil
}

// deleteWorkflow deletes the run's workflow, if it is the run's (its controller), and
// that workflow's pods. It says whether there was one.
func (r *Retainer) deleteWorkflow(ctx context.Context, run *pipelines.Run) (bool, error) {
	workflows := r.cfg.Kube.Resource(workflow.Resource).Namespace(run.Namespace)
	wf, err := workflows.Get(ctx, run.Status.WorkflowName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading workflow %s: %w", run.Status.WorkflowName, err)
	}
	if c := metav1.GetControllerOfNoCopy(wf); c == nil || c.UID != run.UID {
		return false, nil // another run's, or no run's
	}
	pods := r.cfg.Kube.Resource(podResource).Namespace(run.Namespace)
	list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: workflow.PodWorkflowLabel + "=" + wf.GetName()})
	if err != nil {
		return false, fmt.Errorf("listing the pods of workflow %s: %w", wf.GetName(), err)
	}
	for _, p := range list.Items {
		if c := metav1.GetControllerOfNoCopy(&p); c == nil || c.UID != wf.GetUID() {
			continue
		}
		err := pods.Delete(ctx, p.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptr.To(p.GetUID())}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return false, fmt.Errorf("deleting pod %s of workflow %s: %w", p.GetName(), wf.GetName(), err)
		}
	}
	err = workflows.Delete(ctx, wf.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptr.To(wf.GetUID())}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return false, fmt.Errorf("deleting workflow %s: %w", wf.GetName(), err)
	}
	return true, nil
}
