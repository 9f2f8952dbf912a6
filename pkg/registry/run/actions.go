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
	"k8s.io/apimachinery/pkg/api/meta"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/action"
)

// Conditions the actions record for the executor, which carries them out.
const (
	// ConditionTerminating: termination was requested.
	ConditionTerminating = "Terminating"
	// ConditionRetrying: a retry was requested.
	ConditionRetrying = "Retrying"
)

var (
	terminable = sets.New(pipelines.RunPhasePending, pipelines.RunPhaseRunning, pipelines.RunPhaseCanceling)
	retryable  = sets.New(pipelines.RunPhaseFailed, pipelines.RunPhaseError)
)

// Actions returns the runs' action subresources, keyed by name. They change status
// through statusStore.
func (r *REST) Actions(statusStore rest.Updater) map[string]rest.Storage {
	a := &actions{runs: r, status: statusStore}
	return map[string]rest.Storage{
		"archive":   action.New(r.New, a.archive),
		"unarchive": action.New(r.New, a.unarchive),
		"terminate": action.New(r.New, a.terminate),
		"retry":     action.New(r.New, a.retry),
	}
}

type actions struct {
	runs   *REST
	status rest.Updater
}

func (a *actions) archive(ctx context.Context, name string) (runtime.Object, error) {
	return a.change(ctx, name, func(ctx context.Context, r *pipelines.Run) error {
		Archive(r, time.Now(), "ArchiveRequested", requestedBy(ctx, "archived"))
		return nil
	})
}

// unarchive refuses while the run's experiment is archived: the run would show up
// in listings of available runs under an experiment that does not.
func (a *actions) unarchive(ctx context.Context, name string) (runtime.Object, error) {
	return a.change(ctx, name, func(ctx context.Context, r *pipelines.Run) error {
		e, err := a.runs.experiments.Get(ctx, r.Spec.ExperimentName, &metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		if err == nil && e.(*pipelines.Experiment).Status.StorageState == pipelines.StorageStateArchived {
			return apierrors.NewConflict(pipelines.Resource("runs"), name,
				fmt.Errorf("its experiment %q is archived: unarchive the experiment first", r.Spec.ExperimentName))
		}
		unarchiveRun(r, time.Now(), requestedBy(ctx, "unarchived"))
		return nil
	})
}

// terminate asks the executor to stop a run that has not finished.
func (a *actions) terminate(ctx context.Context, name string) (runtime.Object, error) {
	return a.change(ctx, name, func(ctx context.Context, r *pipelines.Run) error {
		if !terminable.Has(r.Status.Phase) {
			return apierrors.NewConflict(pipelines.Resource("runs"), name,
				fmt.Errorf("the run is %s: only a Pending or Running run can be terminated", r.Status.Phase))
		}
		if r.Status.Phase != pipelines.RunPhaseCanceling {
			r.Status.Phase = pipelines.RunPhaseCanceling
			setCondition(ctx, r, ConditionTerminating, "TerminateRequested", "termination requested")
		}
		return nil
	})
}

// retry asks the executor to run a failed run again.
func (a *actions) retry(ctx context.Context, name string) (runtime.Object, error) {
	return a.change(ctx, name, func(ctx context.Context, r *pipelines.Run) error {
		if !retryable.Has(r.Status.Phase) {
			return apierrors.NewConflict(pipelines.Resource("runs"), name,
				fmt.Errorf("the run is %s: only a Failed or Error run can be retried", r.Status.Phase))
		}
		r.Status.Phase = pipelines.RunPhasePending
		r.Status.CompletionTime = nil
		r.Status.Message = ""
		setCondition(ctx, r, ConditionRetrying, "RetryRequested", "retry requested")
		return nil
	})
}

func (a *actions) change(ctx context.Context, name string, change func(context.Context, *pipelines.Run) error) (runtime.Object, error) {
	return action.Update(ctx, a.status, name, func(obj runtime.Object) error {
		return change(ctx, obj.(*pipelines.Run))
	})
}

// setCondition records a request, and who made it, for the executor.
func setCondition(ctx context.Context, r *pipelines.Run, typ, reason, msg string) {
	meta.SetStatusCondition(&r.Status.Conditions, metav1.Condition{
		Type: typ, Status: metav1.ConditionTrue, Reason: reason, Message: requestedBy(ctx, msg), ObservedGeneration: r.Generation,
	})
}

// requestedBy adds who made the request to msg.
func requestedBy(ctx context.Context, msg string) string {
	if u, ok := genericapirequest.UserFrom(ctx); ok {
		msg += " by " + u.GetName()
	}
	return msg
}

// ArchiveAll archives the runs of an experiment, for experiments/archive.
func (r *REST) ArchiveAll(ctx context.Context, statusStore rest.Updater, experiment string) error {
	list, err := r.Store.List(ctx, &metainternalversion.ListOptions{
		FieldSelector: fields.AndSelectors(
			fields.OneTermEqualSelector(ExperimentNameField, experiment),
			fields.OneTermNotEqualSelector(StorageStateField, string(pipelines.StorageStateArchived)))})
	if err != nil {
		return err
	}
	for _, run := range list.(*pipelines.RunList).Items {
		_, err := action.Update(ctx, statusStore, run.Name, func(obj runtime.Object) error {
			Archive(obj.(*pipelines.Run), time.Now(), "ExperimentArchived",
				requestedBy(ctx, fmt.Sprintf("archived with its experiment %s", experiment)))
			return nil
		})
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}
