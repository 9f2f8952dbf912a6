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

// Package run is the run executor: it carries out each run as an Argo Workflow in the
// run's namespace and makes the run's status follow the workflow's. It needs no Argo Go
// module: workflows are created and read through the dynamic client.
//
// A run's life, as the executor sees it:
//   - Pending without status.workflowName: the executor creates the workflow (named
//     WorkflowName(run, 1)) and records its name and attempt 1.
//   - With a workflow: phase, start and completion time, message and steps follow the
//     workflow's status (RunPhase maps the phases).
//   - Terminating condition (runs/terminate): the workflow's spec.shutdown is set to
//     Terminate; the run is Canceling until the workflow ends, then Canceled. A run
//     without a workflow yet is Canceled at once.
//   - Retrying condition on a Pending run (runs/retry of a Failed or Error run): as
//     Kubeflow Pipelines does, the executor retries the failed steps of the same
//     workflow (RetryFailedSteps: succeeded steps keep their results, failed ones and
//     their pods go, the workflow has no phase again for Argo to take up) and counts the
//     attempt in status.attempts and the workflow's AttemptAnnotation. A run without a
//     workflow to retry (never created, or deleted since) gets a new one for the attempt,
//     WorkflowName(run, attempt), which runs every step.
//
// Every step is idempotent, so a restart, or a second executor that briefly overlaps
// with the first during a leader change, never does anything twice: workflow names are
// deterministic, one that already exists and is controlled by the run is adopted, and a
// workflow that carries the attempt's annotation has been retried already.
package run

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/validation"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/compiler"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/controller/worker"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned"
	pipelinesinformers "github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/informers/externalversions/pipelines/v1beta1"
	pipelineslisters "github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/listers/pipelines/v1beta1"
	runregistry "github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/run"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/workflow"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/workflow/policy"
)

const (
	// FieldManager is the executor's name in managedFields.
	FieldManager = "pipelines-run-executor"
	// apiPollInterval is how often the executor looks for Argo's Workflow API while it
	// is not installed.
	apiPollInterval = 10 * time.Second
)

// Executor carries out runs on Argo Workflows. Make one with NewExecutor and start it
// with Run.
type Executor struct {
	client    versioned.Interface
	workflows dynamic.Interface
	runs      pipelineslisters.RunLister
	runSynced cache.InformerSynced
	queue     workqueue.TypedRateLimitingInterface[cache.ObjectName]
	clock     clock.PassiveClock
	rules     Rules
	// events records what happens to runs as Kubernetes Events.
	events record.EventRecorder

	// wfLister reads the workflows of runs; Run sets it once Argo's API is served.
	wfLister cache.GenericLister
}

// Rules are the cluster's rules on what a run's pods may do.
type Rules struct {
	// DefaultServiceAccount is the account of the pods of runs that name none.
	DefaultServiceAccount string
	// Policy is checked on each workflow before it is created.
	Policy policy.Policy
	// Compiler configures the workflows of runs of pipeline IR (KFP 2.x) versions:
	// where their pods get the launcher.
	Compiler compiler.Options
}

// NewExecutor returns an executor that reads and writes runs with client, sees them
// through runInformer, manages workflows with workflows under rules and records events
// with events. clk tells the time (clock.RealClock{} outside tests).
func NewExecutor(client versioned.Interface, workflows dynamic.Interface, runInformer pipelinesinformers.RunInformer,
	rules Rules, events record.EventRecorder, clk clock.WithTicker) (*Executor, error) {
	registerMetrics()
	e := &Executor{
		rules:     rules,
		events:    events,
		client:    client,
		workflows: workflows,
		runs:      runInformer.Lister(),
		runSynced: runInformer.Informer().HasSynced,
		clock:     clk,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[cache.ObjectName](),
			workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{Name: QueueName, Clock: clk}),
	}
	_, err := runInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    e.enqueue,
		UpdateFunc: func(_, obj interface{}) { e.enqueue(obj) },
	})
	if err != nil {
		return nil, fmt.Errorf("watching runs: %w", err)
	}
	return e, nil
}

func (e *Executor) enqueue(obj interface{}) {
	key, err := cache.ObjectToName(obj)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	e.queue.Add(key)
}

// enqueueOwner queues the run a workflow belongs to.
func (e *Executor) enqueueOwner(obj interface{}) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	wf, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	if name := wf.GetLabels()[RunLabel]; name != "" {
		e.queue.Add(cache.ObjectName{Namespace: wf.GetNamespace(), Name: name})
	}
}

// Run executes runs with the given number of workers until ctx ends. It first waits
// until Argo's Workflow API is served: until then runs stay Pending.
func (e *Executor) Run(ctx context.Context, workers int) {
	defer utilruntime.HandleCrashWithContext(ctx)
	defer e.queue.ShutDown()
	logger := klog.FromContext(ctx).WithName("run-executor")
	ctx = klog.NewContext(ctx, logger)

	if !cache.WaitForNamedCacheSyncWithContext(ctx, e.runSynced) {
		return
	}
	if err := e.waitForWorkflowAPI(ctx); err != nil {
		return
	}
	// Workflows of runs that Argo has not completed: a completed one leaves the cache (its
	// final state is read once from kube-apiserver), so memory follows the runs in flight.
	factory := dynamicinformer.NewFilteredDynamicSharedInformerFactory(e.workflows, 0, metav1.NamespaceAll,
		func(o *metav1.ListOptions) { o.LabelSelector = RunLabel + "," + workflow.CompletedLabel + "!=true" })
	defer factory.Shutdown()
	informer := factory.ForResource(workflow.Resource)
	// Runs need only a workflow's status and shutdown; its templates can be large.
	if err := informer.Informer().SetTransform(trimWorkflow); err != nil {
		logger.Error(err, "Cannot trim cached workflows")
	}
	if _, err := informer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    e.enqueueOwner,
		UpdateFunc: func(_, obj interface{}) { e.enqueueOwner(obj) },
		DeleteFunc: e.enqueueOwner,
	}); err != nil {
		logger.Error(err, "Cannot watch workflows")
		return
	}
	e.wfLister = informer.Lister()
	factory.Start(ctx.Done())
	if !cache.WaitForNamedCacheSyncWithContext(ctx, informer.Informer().HasSynced) {
		return
	}

	logger.Info("Executing runs", "workers", workers)
	worker.Run(ctx, e.queue, workers, e.clock, e.sync, e.panicked, reconcileDuration, "run")
	logger.Info("Stopped executing runs")
}

// waitForWorkflowAPI waits until kube-apiserver serves Argo's workflows and this
// executor may list them.
func (e *Executor) waitForWorkflowAPI(ctx context.Context) error {
	logger := klog.FromContext(ctx)
	var last string
	return wait.PollUntilContextCancel(ctx, apiPollInterval, true, func(ctx context.Context) (bool, error) {
		_, err := e.workflows.Resource(workflow.Resource).List(ctx, metav1.ListOptions{Limit: 1})
		if err == nil {
			return true, nil
		}
		if msg := err.Error(); msg != last {
			last = msg
			if apierrors.IsNotFound(err) {
				logger.Info("Argo Workflows is not installed: runs stay Pending until its Workflow CRD is", "resource", workflow.Resource)
			} else {
				logger.Error(err, "Cannot list Argo Workflows: runs stay Pending", "resource", workflow.Resource)
			}
		}
		return false, nil
	})
}

// sync brings one run and its workflow in line.
func (e *Executor) sync(ctx context.Context, key cache.ObjectName) error {
	run, err := e.runs.Runs(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(err) {
		// Its workflows are owned by it: the garbage collector deletes them.
		return nil
	}
	if err != nil {
		return err
	}
	if run.DeletionTimestamp != nil {
		// Waiting for the garbage collector to delete or orphan its workflow: nothing
		// more to start, and the workflow's end is no news.
		return nil
	}
	if errs := validation.ValidateStoredRun(run); len(errs) > 0 {
		// Stored by an older version or straight into the database: skipped until changed.
		return e.recordNotSynced(ctx, run, pipelines.ReasonInvalidSpec, errs.ToAggregate().Error())
	}
	terminating := meta.IsStatusConditionTrue(run.Status.Conditions, runregistry.ConditionTerminating)
	switch {
	case run.Status.WorkflowName == "" && terminating:
		if Finished(run.Status.Phase) {
			return nil
		}
		st := run.Status.DeepCopy()
		st.Phase = v1beta1.RunPhaseCanceled
		st.Message = "terminated before its workflow was created"
		now := metav1.NewTime(e.clock.Now())
		st.CompletionTime = &now
		return e.updateStatus(ctx, run, st)
	case run.Status.WorkflowName == "":
		if run.Status.Phase != v1beta1.RunPhasePending && run.Status.Phase != "" {
			return nil
		}
		return e.start(ctx, run, 1)
	case !terminating && run.Status.Phase == v1beta1.RunPhasePending &&
		meta.IsStatusConditionTrue(run.Status.Conditions, runregistry.ConditionRetrying):
		return e.retry(ctx, run, max(run.Status.Attempts, 1)+1)
	}

	wf, err := e.workflow(ctx, run)
	if apierrors.IsNotFound(err) {
		if Finished(run.Status.Phase) {
			// Deleted after the run ended, for example by Argo's TTL: the run keeps its record.
			return nil
		}
		st := run.Status.DeepCopy()
		st.Phase = v1beta1.RunPhaseError
		st.Message = fmt.Sprintf("its workflow %s was deleted", run.Status.WorkflowName)
		now := metav1.NewTime(e.clock.Now())
		st.CompletionTime = &now
		return e.updateStatus(ctx, run, st)
	}
	if err != nil {
		return err
	}
	wfStatus, err := readStatus(wf)
	if err != nil {
		return err
	}
	if terminating && !workflowFinished(wfStatus.Phase) {
		if err := e.shutdown(ctx, run, wf); err != nil {
			return err
		}
	}
	st := followWorkflow(&run.Status, wfStatus, terminating, e.clock.Now())
	return e.updateStatus(ctx, run, &st)
}

// workflow returns the run's current workflow, from the cache or, for one created a
// moment ago that the cache has not seen yet, from kube-apiserver.
func (e *Executor) workflow(ctx context.Context, run *v1beta1.Run) (*unstructured.Unstructured, error) {
	obj, err := e.wfLister.ByNamespace(run.Namespace).Get(run.Status.WorkflowName)
	if err == nil {
		return obj.(*unstructured.Unstructured), nil
	}
	if !apierrors.IsNotFound(err) || Finished(run.Status.Phase) {
		return nil, err
	}
	return e.workflows.Resource(workflow.Resource).Namespace(run.Namespace).Get(ctx, run.Status.WorkflowName, metav1.GetOptions{})
}

// start creates, or adopts, the workflow of an attempt and records it in the run's
// status. For a retry it then deletes the previous attempt's workflow.
func (e *Executor) start(ctx context.Context, run *v1beta1.Run, attempt int32) error {
	logger := klog.FromContext(ctx)
	wf, err := e.ensureWorkflow(ctx, run, attempt)
	var failed *permanentError
	if errors.As(err, &failed) {
		st := run.Status.DeepCopy()
		st.Phase = v1beta1.RunPhaseError
		st.Message = failed.Error()
		now := metav1.NewTime(e.clock.Now())
		st.CompletionTime = &now
		if attempt > 1 {
			e.setRetried(run, st, metav1.ConditionFalse, pipelines.EventRetryFailed, failed.Error())
			e.events.Eventf(run, corev1.EventTypeWarning, pipelines.EventRetryFailed, "Attempt %d cannot start: %s", attempt, failed.Error())
		}
		logger.Info("Run cannot be executed", "run", klog.KObj(run), "attempt", attempt, "reason", failed.Error())
		return e.updateStatus(ctx, run, st)
	}
	if err != nil {
		return err
	}
	if attempt == 1 {
		if err := e.recordOnExperiment(ctx, run); err != nil {
			return err
		}
	}
	wfStatus, err := readStatus(wf)
	if err != nil {
		return err
	}
	st := followWorkflow(&run.Status, wfStatus, false, e.clock.Now())
	st.WorkflowName = wf.GetName()
	st.Attempts = attempt
	if attempt > 1 {
		msg := fmt.Sprintf("attempt %d is workflow %s", attempt, wf.GetName())
		e.setRetried(run, &st, metav1.ConditionFalse, "Retried", msg)
		e.events.Event(run, corev1.EventTypeNormal, pipelines.EventRetrying, "Retrying: "+msg)
	}
	return e.updateStatus(ctx, run, &st)
}

// recordOnExperiment sets the experiment's status.lastRunCreatedAt to the run's
// creation, unless it records a later run. Here rather than at create, so that creating
// a run does not also write its experiment; an experiment deleted since is no error.
func (e *Executor) recordOnExperiment(ctx context.Context, run *v1beta1.Run) error {
	experiments := e.client.PipelinesV1beta1().Experiments(run.Namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		exp, err := experiments.Get(ctx, run.Spec.ExperimentName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if last := exp.Status.LastRunCreatedAt; last != nil && !last.Before(&run.CreationTimestamp) {
			return nil
		}
		exp.Status.LastRunCreatedAt = run.CreationTimestamp.DeepCopy()
		_, err = experiments.UpdateStatus(ctx, exp, metav1.UpdateOptions{FieldManager: FieldManager})
		return err
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("recording run %s on experiment %s: %w", run.Name, run.Spec.ExperimentName, err)
	}
	return nil
}

// retry carries out the given attempt of a failed run: the failed steps of its workflow
// run again. Without a workflow of its own to retry, the attempt gets a new one.
func (e *Executor) retry(ctx context.Context, run *v1beta1.Run, attempt int32) error {
	if run.Status.WorkflowName == "" {
		return e.start(ctx, run, attempt)
	}
	client := e.workflows.Resource(workflow.Resource).Namespace(run.Namespace)
	// The cache holds trimmed workflows; the update needs all of it.
	wf, err := client.Get(ctx, run.Status.WorkflowName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return e.start(ctx, run, attempt)
	case err != nil:
		return fmt.Errorf("reading workflow %s/%s to retry it: %w", run.Namespace, run.Status.WorkflowName, err)
	case !metav1.IsControlledBy(wf, run):
		return e.start(ctx, run, attempt)
	}
	if wf.GetAnnotations()[AttemptAnnotation] != strconv.Itoa(int(attempt)) {
		rerun, err := RetryFailedSteps(wf, attempt)
		if err != nil {
			return e.start(ctx, run, attempt)
		}
		// Before the update: Argo re-creates a step's pod under the same name.
		if err := e.deleteStepPods(ctx, wf, rerun); err != nil {
			return err
		}
		if wf, err = client.Update(ctx, wf, metav1.UpdateOptions{FieldManager: FieldManager}); err != nil {
			return fmt.Errorf("retrying workflow %s/%s: %w", run.Namespace, run.Status.WorkflowName, err)
		}
		klog.FromContext(ctx).Info("Retrying the failed steps of the workflow", "run", klog.KObj(run), "workflow", wf.GetName(),
			"attempt", attempt, "steps", len(rerun))
		e.events.Eventf(run, corev1.EventTypeNormal, pipelines.EventRetrying, "Retrying: attempt %d re-runs the failed steps of workflow %s",
			attempt, wf.GetName())
	}
	wfStatus, err := readStatus(wf)
	if err != nil {
		return err
	}
	st := followWorkflow(&run.Status, wfStatus, false, e.clock.Now())
	st.Attempts = attempt
	e.setRetried(run, &st, metav1.ConditionFalse, "Retried",
		fmt.Sprintf("attempt %d re-runs the failed steps of workflow %s", attempt, wf.GetName()))
	return e.updateStatus(ctx, run, &st)
}

// podResource is the core Pod resource, deleted through the dynamic client.
var podResource = schema.GroupVersionResource{Version: "v1", Resource: "pods"}

// deleteStepPods deletes the pods of the given nodes of a workflow.
func (e *Executor) deleteStepPods(ctx context.Context, wf *unstructured.Unstructured, nodes []string) error {
	if len(nodes) == 0 {
		return nil
	}
	pods := e.workflows.Resource(podResource).Namespace(wf.GetNamespace())
	list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: workflow.PodWorkflowLabel + "=" + wf.GetName()})
	if err != nil {
		return fmt.Errorf("listing the pods of workflow %s/%s: %w", wf.GetNamespace(), wf.GetName(), err)
	}
	rerun := sets.New(nodes...)
	for _, p := range list.Items {
		if !rerun.Has(p.GetAnnotations()[workflow.NodeNameAnnotation]) {
			continue
		}
		err := pods.Delete(ctx, p.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptr.To(p.GetUID())}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("deleting pod %s of a failed step: %w", p.GetName(), err)
		}
	}
	return nil
}

// setRetried records that a retry was carried out, or could not be.
func (e *Executor) setRetried(run *v1beta1.Run, st *v1beta1.RunStatus, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type: runregistry.ConditionRetrying, Status: status, Reason: reason, Message: msg,
		ObservedGeneration: run.Generation, LastTransitionTime: metav1.NewTime(e.clock.Now()),
	})
}

// permanentError is a reason a run cannot be carried out that trying again does not
// change: the run ends in phase Error with it as the message.
type permanentError struct{ msg string }

func (e *permanentError) Error() string { return e.msg }

func permanent(format string, args ...interface{}) error {
	return &permanentError{msg: fmt.Sprintf(format, args...)}
}

// ensureWorkflow returns the workflow of an attempt of a run, creating it unless it
// exists. One that exists is adopted only if the run controls it.
func (e *Executor) ensureWorkflow(ctx context.Context, run *v1beta1.Run, attempt int32) (*unstructured.Unstructured, error) {
	name := WorkflowName(run.Name, attempt)
	if obj, err := e.wfLister.ByNamespace(run.Namespace).Get(name); err == nil {
		return adopt(run, obj.(*unstructured.Unstructured))
	}
	if run.Status.PipelineVersion == "" {
		return nil, permanent("the run has no pipeline version")
	}
	ns := run.Spec.PipelineRef.Namespace
	if ns == "" {
		ns = run.Namespace
	}
	version, err := e.client.PipelinesV1beta1().PipelineVersions(ns).Get(ctx, run.Status.PipelineVersion, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, permanent("pipeline version %s/%s no longer exists", ns, run.Status.PipelineVersion)
	}
	if err != nil {
		return nil, fmt.Errorf("reading pipeline version %s/%s: %w", ns, run.Status.PipelineVersion, err)
	}
	// Runs stored before the UID was pinned have none; the name alone then decides.
	if pinned := run.Status.PipelineVersionUID; pinned != "" && version.UID != pinned {
		return nil, permanent("pipeline version %s/%s is not the one the run was created from: it was deleted and re-created (UID %s, pinned %s)",
			ns, run.Status.PipelineVersion, version.UID, pinned)
	}
	manifest := version.Spec.Workflow.Raw
	if len(version.Spec.PipelineSpec.Raw) > 0 {
		if manifest, err = CompileIR(run, version, e.rules.Compiler); err != nil {
			return nil, permanent("pipeline version %s/%s: %v", ns, version.Name, err)
		}
	}
	wf, err := BuildWorkflow(run, manifest, attempt, e.rules.DefaultServiceAccount)
	if err != nil {
		return nil, permanent("pipeline version %s/%s: %v", ns, version.Name, err)
	}
	// The version passed the policy in force when it was created; this one may be stricter.
	if errs := e.rules.Policy.Check(wf.Object, field.NewPath("spec", "workflow")); len(errs) > 0 {
		return nil, permanent("pipeline version %s/%s: %v", ns, version.Name, errs.ToAggregate())
	}
	client := e.workflows.Resource(workflow.Resource).Namespace(run.Namespace)
	created, err := client.Create(ctx, wf, metav1.CreateOptions{FieldManager: FieldManager})
	switch {
	case err == nil:
		workflowsCreated.Inc()
		klog.FromContext(ctx).Info("Created workflow", "run", klog.KObj(run), "workflow", name, "attempt", attempt)
		e.events.Eventf(run, corev1.EventTypeNormal, pipelines.EventWorkflowCreated, "Created workflow %s (attempt %d)", name, attempt)
		return created, nil
	case apierrors.IsAlreadyExists(err):
		existing, err := client.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("reading existing workflow %s/%s: %w", run.Namespace, name, err)
		}
		return adopt(run, existing)
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		return nil, permanent("the workflow of pipeline version %s/%s was rejected: %v", ns, version.Name, err)
	default:
		return nil, fmt.Errorf("creating workflow %s/%s: %w", run.Namespace, name, err)
	}
}

func adopt(run *v1beta1.Run, wf *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	if !metav1.IsControlledBy(wf, run) {
		return nil, permanent("workflow %s already exists and does not belong to this run", wf.GetName())
	}
	return wf, nil
}

// shutdown asks Argo to terminate a workflow: it stops the running pods and fails
// the workflow.
func (e *Executor) shutdown(ctx context.Context, run *v1beta1.Run, wf *unstructured.Unstructured) error {
	if s, _, _ := unstructured.NestedString(wf.Object, "spec", "shutdown"); s == "Terminate" {
		return nil
	}
	_, err := e.workflows.Resource(workflow.Resource).Namespace(wf.GetNamespace()).Patch(ctx, wf.GetName(),
		types.MergePatchType, []byte(`{"spec":{"shutdown":"Terminate"}}`), metav1.PatchOptions{FieldManager: FieldManager})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("terminating workflow %s/%s: %w", wf.GetNamespace(), wf.GetName(), err)
	}
	klog.FromContext(ctx).Info("Terminating workflow", "workflow", klog.KObj(wf))
	e.events.Eventf(run, corev1.EventTypeNormal, pipelines.EventTerminating, "Terminating workflow %s", wf.GetName())
	return nil
}

// panicked records on a run that the executor panicked on it.
func (e *Executor) panicked(ctx context.Context, key cache.ObjectName, err error) error {
	run, gerr := e.runs.Runs(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(gerr) {
		return nil
	}
	if gerr != nil {
		return gerr
	}
	return e.recordNotSynced(ctx, run, pipelines.ReasonInternalError,
		"the run executor failed on this run ("+err.Error()+"); the server's log has the details")
}

// recordNotSynced sets the run's Synced condition False for reason.
func (e *Executor) recordNotSynced(ctx context.Context, run *v1beta1.Run, reason, msg string) error {
	st := run.Status.DeepCopy()
	worker.SetNotSynced(&st.Conditions, run.Generation, e.clock.Now(), reason, msg)
	e.events.Event(run, corev1.EventTypeWarning, reason, msg)
	return e.write(ctx, run, st)
}

// updateStatus writes st as the run's status unless it is what the run has. The
// executor acted on the run: a Synced condition saying otherwise goes.
func (e *Executor) updateStatus(ctx context.Context, run *v1beta1.Run, st *v1beta1.RunStatus) error {
	meta.RemoveStatusCondition(&st.Conditions, pipelines.ConditionSynced)
	return e.write(ctx, run, st)
}

func (e *Executor) write(ctx context.Context, run *v1beta1.Run, st *v1beta1.RunStatus) error {
	if apiequality.Semantic.DeepEqual(&run.Status, st) {
		return nil
	}
	updated := run.DeepCopy()
	updated.Status = *st
	_, err := e.client.PipelinesV1beta1().Runs(run.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{FieldManager: FieldManager})
	if err != nil {
		return fmt.Errorf("updating the status of run %s/%s: %w", run.Namespace, run.Name, err)
	}
	if run.Status.Phase != st.Phase {
		klog.FromContext(ctx).V(2).Info("Run changed phase", "run", klog.KObj(run), "from", run.Status.Phase, "to", st.Phase)
		if ev, ok := phaseEvents[st.Phase]; ok {
			msg := fmt.Sprintf("Run is %s", st.Phase)
			if st.Message != "" {
				msg += ": " + st.Message
			}
			e.events.Event(run, ev.eventType, ev.reason, msg)
		}
	}
	return nil
}

// phaseEvents are the events of a run's phases. Pending has none: a workflow created
// or a retry says more.
var phaseEvents = map[v1beta1.RunPhase]struct{ eventType, reason string }{
	v1beta1.RunPhaseRunning:   {corev1.EventTypeNormal, pipelines.EventRunning},
	v1beta1.RunPhaseSucceeded: {corev1.EventTypeNormal, pipelines.EventSucceeded},
	v1beta1.RunPhaseFailed:    {corev1.EventTypeWarning, pipelines.EventFailed},
	v1beta1.RunPhaseError:     {corev1.EventTypeWarning, pipelines.EventError},
	v1beta1.RunPhaseCanceling: {corev1.EventTypeNormal, pipelines.EventCanceling},
	v1beta1.RunPhaseCanceled:  {corev1.EventTypeNormal, pipelines.EventCanceled},
}

// trimWorkflow keeps of a cached workflow what the executor reads: metadata, the
// shutdown request, what the steps' status reads of KFP 2.x tasks' templates
// (taskTemplates) and the status without the copies of the templates.
func trimWorkflow(obj interface{}) (interface{}, error) {
	wf, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil
	}
	trimmed := &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": wf.GetAPIVersion(),
		"kind":       wf.GetKind(),
		"metadata":   wf.Object["metadata"],
	}}
	trimmed.SetManagedFields(nil)
	spec := map[string]interface{}{}
	if s, ok, _ := unstructured.NestedString(wf.Object, "spec", "shutdown"); ok {
		spec["shutdown"] = s
	}
	if t := taskTemplates(wf); len(t) > 0 {
		spec["templates"] = t
	}
	if len(spec) > 0 {
		trimmed.Object["spec"] = spec
	}
	if st, ok := wf.Object["status"].(map[string]interface{}); ok {
		keep := map[string]interface{}{}
		for _, k := range []string{"phase", "startedAt", "finishedAt", "message", "nodes"} {
			if v, ok := st[k]; ok {
				keep[k] = v
			}
		}
		trimmed.Object["status"] = keep
	}
	return trimmed, nil
}
