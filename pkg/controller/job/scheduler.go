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

// Package job is the job scheduler: it creates the runs of recurring runs (jobs) on
// their cron or interval schedule, between their start and end time, while they are
// enabled, with at most maxConcurrency of them active, catching up missed schedules
// unless noCatchup says otherwise.
//
// A run's name is the job's name and the Unix time of its schedule, and it carries the
// label JobLabel and the job as its controlling owner. A scheduler that crashes after
// creating a run, or a second one during a leader change, therefore gets AlreadyExists
// instead of creating the run twice.
//
// Each run is created in the name of the job's author (status.author, recorded by the
// server from whoever last set the job's spec), through ClientFor: the create passes
// the same authorization and reference checks as if the author made it. A create that
// is forbidden (access revoked) stops the job with the condition Authorized=False until
// someone changes its spec; a job without an author (stored before authors were
// recorded) does not run either.
//
// Time comes from an injected clock, so tests step through schedules without sleeping.
package job

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/validation"
	runexecutor "github.com/pipelines-apiserver/pipelines-apiserver/pkg/controller/run"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/controller/worker"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned"
	pipelinesinformers "github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/informers/externalversions/pipelines/v1beta1"
	pipelineslisters "github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/listers/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/schedule"
)

const (
	// JobLabel names the job on the runs it creates.
	JobLabel = "pipelines.kubeflow.org/job"
	// ScheduledTimeAnnotation is the scheduled time of a run a job created, in RFC 3339.
	ScheduledTimeAnnotation = "pipelines.kubeflow.org/scheduled-time"
	// ConditionScheduled says whether the job's last due run could be created.
	ConditionScheduled = "Scheduled"
	// FieldManager is the scheduler's name in managedFields.
	FieldManager = "pipelines-job-scheduler"

	// expectationTimeout is how long a run the scheduler created counts as active
	// while its informer has not seen it yet.
	expectationTimeout = time.Minute
)

// ClientFor returns a client that acts as author: in the server, the loopback client
// impersonating them.
type ClientFor func(author *v1beta1.Author) (versioned.Interface, error)

// Scheduler creates the runs of jobs. Make one with NewScheduler and start it with Run.
type Scheduler struct {
	client    versioned.Interface
	clientFor ClientFor
	jobs      pipelineslisters.JobLister
	runs      pipelineslisters.RunLister
	synced    []cache.InformerSynced
	queue     workqueue.TypedRateLimitingInterface[cache.ObjectName]
	clock     clock.WithTicker
	// events records what happens to jobs as Kubernetes Events.
	events record.EventRecorder

	// expected are the runs this scheduler created that the run informer has not shown
	// yet, by job, with when they were created. They count as active: without them a
	// reconcile right after a create would see one active run too few and could exceed
	// maxConcurrency.
	mu       sync.Mutex
	expected map[cache.ObjectName]map[string]time.Time
}

// NewScheduler returns a scheduler that writes jobs' status with client, creates runs
// with clientFor's client for each job's author, sees jobs and runs through the
// informers and records events with events. clk tells the time and drives the queue's
// delays (clock.RealClock{} outside tests).
func NewScheduler(client versioned.Interface, clientFor ClientFor, jobInformer pipelinesinformers.JobInformer,
	runInformer pipelinesinformers.RunInformer, events record.EventRecorder, clk clock.WithTicker) (*Scheduler, error) {
	registerMetrics()
	s := &Scheduler{
		events:    events,
		client:    client,
		clientFor: clientFor,
		jobs:      jobInformer.Lister(),
		runs:      runInformer.Lister(),
		synced:    []cache.InformerSynced{jobInformer.Informer().HasSynced, runInformer.Informer().HasSynced},
		clock:     clk,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[cache.ObjectName](),
			workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{Name: QueueName, Clock: clk}),
		expected: map[cache.ObjectName]map[string]time.Time{},
	}
	if _, err := jobInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    s.enqueue,
		UpdateFunc: func(_, obj interface{}) { s.enqueue(obj) },
	}); err != nil {
		return nil, fmt.Errorf("watching jobs: %w", err)
	}
	// A run that ends frees a place under maxConcurrency.
	if _, err := runInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    s.enqueueOwner,
		UpdateFunc: func(_, obj interface{}) { s.enqueueOwner(obj) },
		DeleteFunc: s.enqueueOwner,
	}); err != nil {
		return nil, fmt.Errorf("watching runs: %w", err)
	}
	return s, nil
}

func (s *Scheduler) enqueue(obj interface{}) {
	key, err := cache.ObjectToName(obj)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	s.queue.Add(key)
}

// enqueueOwner queues the job that controls a run, and notes that the informer has
// shown the run: it no longer needs counting as expected, even if it ends (and leaves
// an informer of unfinished runs) before the job is synced.
func (s *Scheduler) enqueueOwner(obj interface{}) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	run, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	ref := metav1.GetControllerOf(run)
	if ref == nil || ref.Kind != "Job" || ref.APIVersion != v1beta1.SchemeGroupVersion.String() {
		return
	}
	key := cache.ObjectName{Namespace: run.GetNamespace(), Name: ref.Name}
	s.mu.Lock()
	delete(s.expected[key], run.GetName())
	s.mu.Unlock()
	s.queue.Add(key)
}

// Run schedules jobs with the given number of workers until ctx ends.
func (s *Scheduler) Run(ctx context.Context, workers int) {
	defer utilruntime.HandleCrashWithContext(ctx)
	defer s.queue.ShutDown()
	logger := klog.FromContext(ctx).WithName("job-scheduler")
	ctx = klog.NewContext(ctx, logger)
	if !cache.WaitForNamedCacheSyncWithContext(ctx, s.synced...) {
		return
	}
	logger.Info("Scheduling jobs", "workers", workers)
	worker.Run(ctx, s.queue, workers, s.clock, s.sync, s.panicked, reconcileDuration, "job")
	logger.Info("Stopped scheduling jobs")
}

// sync creates a job's due runs, records them in its status and queues the job again
// for its next scheduled time.
func (s *Scheduler) sync(ctx context.Context, key cache.ObjectName) error {
	job, err := s.jobs.Jobs(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(err) {
		s.mu.Lock()
		delete(s.expected, key)
		s.mu.Unlock()
		return nil
	}
	if err != nil {
		return err
	}
	if errs := validation.ValidateStoredJob(job); len(errs) > 0 {
		// Stored by an older version or straight into the database: skipped until changed.
		return s.recordNotSynced(ctx, job, pipelines.ReasonInvalidSpec, errs.ToAggregate().Error())
	}
	now := s.clock.Now()
	st := job.Status.DeepCopy()
	active, latest, err := s.activeRuns(key, job, now)
	if err != nil {
		return err
	}
	sched, err := schedule.New(scheduleSpec(&job.Spec.Schedule), job.CreationTimestamp.Time)
	if err != nil {
		st.Active = active
		st.NextScheduleTime = nil
		s.setCondition(job, st, metav1.ConditionFalse, pipelines.JobReasonInvalidSchedule, err.Error())
		s.events.Event(job, corev1.EventTypeWarning, pipelines.JobReasonInvalidSchedule, err.Error())
		return s.updateStatus(ctx, job, st)
	}

	// A leader that crashed between creating a run and recording it leaves the run as
	// the only record of its schedule.
	last := latest
	if st.LastScheduleTime != nil && st.LastScheduleTime.After(last) {
		last = st.LastScheduleTime.UTC()
	}
	enabled := (job.Spec.Enabled == nil || *job.Spec.Enabled) && job.DeletionTimestamp == nil && s.authorized(job, st)
	var createErr error
	if enabled {
		limit := int(max(job.Spec.MaxConcurrency, 1)) - len(active)
		for _, t := range sched.Due(last, now, limit, job.Spec.NoCatchup) {
			name, err := s.createRun(ctx, key, job, t)
			if apierrors.IsForbidden(err) {
				// Retrying cannot help: only a new spec, set by someone allowed, can.
				enabled = false
				msg := fmt.Sprintf("runs are created as %q, who may no longer create this one: %v; a spec update by someone allowed makes them its author",
					job.Status.Author.Username, err)
				s.setAuthorized(job, st, metav1.ConditionFalse, pipelines.JobReasonAuthorForbidden, msg)
				s.events.Event(job, corev1.EventTypeWarning, pipelines.JobReasonAuthorForbidden, msg)
				break
			}
			if err != nil {
				createErr = err
				s.setCondition(job, st, metav1.ConditionFalse, pipelines.JobReasonRunCreateFailed, err.Error())
				s.events.Event(job, corev1.EventTypeWarning, pipelines.JobReasonRunCreateFailed, err.Error())
				break
			}
			s.setAuthorized(job, st, metav1.ConditionTrue, pipelines.JobReasonAuthorAllowed,
				fmt.Sprintf("runs are created as %q", job.Status.Author.Username))
			scheduleLag.Observe(now.Sub(t).Seconds())
			active = append(active, name)
			last = t
			s.setCondition(job, st, metav1.ConditionTrue, pipelines.JobReasonRunCreated, "created run "+name)
		}
	}
	if !last.IsZero() {
		st.LastScheduleTime = &metav1.Time{Time: last}
	}
	slices.Sort(active)
	st.Active = slices.Compact(active)
	st.NextScheduleTime = nil
	var next time.Time
	if enabled {
		next = sched.Upcoming(last, now, job.Spec.NoCatchup)
	}
	if !next.IsZero() {
		st.NextScheduleTime = &metav1.Time{Time: next}
	}
	if err := s.updateStatus(ctx, job, st); err != nil {
		return err
	}
	if createErr != nil {
		return createErr
	}
	// A due time in the past means maxConcurrency holds it back: a run that ends
	// queues the job again.
	if !next.IsZero() && next.After(now) {
		s.queue.AddAfter(key, next.Sub(now))
	}
	return nil
}

func scheduleSpec(s *v1beta1.Schedule) schedule.Spec {
	return schedule.Spec{Cron: s.Cron, IntervalSeconds: s.IntervalSeconds, StartTime: s.StartTime, EndTime: s.EndTime}
}

// activeRuns are the names of the job's runs that have not finished, including the
// ones it created that the informer has not shown yet, and the latest scheduled time
// of its runs in the informer (which may hold unfinished runs only).
func (s *Scheduler) activeRuns(key cache.ObjectName, job *v1beta1.Job, now time.Time) ([]string, time.Time, error) {
	var latest time.Time
	runs, err := s.runs.Runs(job.Namespace).List(labels.SelectorFromSet(labels.Set{JobLabel: job.Name}))
	if err != nil {
		return nil, latest, err
	}
	seen := sets.New[string]()
	var active []string
	for _, r := range runs {
		if !metav1.IsControlledBy(r, job) {
			continue
		}
		seen.Insert(r.Name)
		if !runexecutor.Finished(r.Status.Phase) {
			active = append(active, r.Name)
		}
		if t, err := time.Parse(time.RFC3339, r.Annotations[ScheduledTimeAnnotation]); err == nil && t.After(latest) {
			latest = t.UTC()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, created := range s.expected[key] {
		if seen.Has(name) || now.Sub(created) > expectationTimeout {
			delete(s.expected[key], name)
			continue
		}
		active = append(active, name)
	}
	if len(s.expected[key]) == 0 {
		delete(s.expected, key)
	}
	return active, latest, nil
}

// authorized says whether the job's runs may be created in its author's name: it has
// one, and no create was forbidden since its spec last changed. Otherwise the job is
// stopped, and st says why.
func (s *Scheduler) authorized(job *v1beta1.Job, st *v1beta1.JobStatus) bool {
	if job.Status.Author == nil {
		s.setAuthorized(job, st, metav1.ConditionFalse, pipelines.JobReasonAuthorMissing,
			"the job was stored before jobs recorded their author; it runs again once someone allowed to create its runs updates its spec")
		return false
	}
	c := meta.FindStatusCondition(job.Status.Conditions, pipelines.JobConditionAuthorized)
	return c == nil || c.Status != metav1.ConditionFalse || c.Reason != pipelines.JobReasonAuthorForbidden ||
		c.ObservedGeneration != job.Generation
}

// RunName is the name of the run a job creates for scheduled time t.
func RunName(job string, t time.Time) string {
	return job + "-" + strconv.FormatInt(t.Unix(), 10)
}

// createRun creates the job's run for scheduled time t, unless it exists.
func (s *Scheduler) createRun(ctx context.Context, key cache.ObjectName, job *v1beta1.Job, t time.Time) (string, error) {
	run := &v1beta1.Run{
		ObjectMeta: metav1.ObjectMeta{
			Name:            RunName(job.Name, t),
			Namespace:       job.Namespace,
			Labels:          map[string]string{JobLabel: job.Name},
			Annotations:     map[string]string{ScheduledTimeAnnotation: t.UTC().Format(time.RFC3339)},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(job, v1beta1.SchemeGroupVersion.WithKind("Job"))},
		},
		Spec: v1beta1.RunSpec{
			ExperimentName:     job.Spec.ExperimentName,
			PipelineRef:        job.Spec.PipelineRef,
			Parameters:         slices.Clone(job.Spec.Parameters),
			ServiceAccountName: job.Spec.ServiceAccountName,
		},
	}
	client, err := s.clientFor(job.Status.Author)
	if err != nil {
		return "", fmt.Errorf("a client acting as %q: %w", job.Status.Author.Username, err)
	}
	_, err = client.PipelinesV1beta1().Runs(job.Namespace).Create(ctx, run, metav1.CreateOptions{FieldManager: FieldManager})
	logger := klog.FromContext(ctx)
	switch {
	case apierrors.IsAlreadyExists(err):
		// Created before a crash, or by the previous leader.
		logger.V(2).Info("Run exists already", "job", klog.KObj(job), "run", run.Name)
	case err != nil:
		return "", fmt.Errorf("creating run %s for %s as %q: %w", run.Name, t.UTC().Format(time.RFC3339),
			job.Status.Author.Username, err)
	default:
		runsCreated.Inc()
		logger.Info("Created run", "job", klog.KObj(job), "run", run.Name, "scheduledTime", t.UTC().Format(time.RFC3339))
		s.events.Eventf(job, corev1.EventTypeNormal, pipelines.JobReasonRunCreated, "Created run %s for %s", run.Name, t.UTC().Format(time.RFC3339))
	}
	s.mu.Lock()
	if s.expected[key] == nil {
		s.expected[key] = map[string]time.Time{}
	}
	s.expected[key][run.Name] = s.clock.Now()
	s.mu.Unlock()
	return run.Name, nil
}

func (s *Scheduler) setCondition(job *v1beta1.Job, st *v1beta1.JobStatus, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type: ConditionScheduled, Status: status, Reason: reason, Message: msg,
		ObservedGeneration: job.Generation, LastTransitionTime: metav1.NewTime(s.clock.Now()),
	})
}

func (s *Scheduler) setAuthorized(job *v1beta1.Job, st *v1beta1.JobStatus, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type: pipelines.JobConditionAuthorized, Status: status, Reason: reason, Message: msg,
		ObservedGeneration: job.Generation, LastTransitionTime: metav1.NewTime(s.clock.Now()),
	})
}

// panicked records on a job that the scheduler panicked on it.
func (s *Scheduler) panicked(ctx context.Context, key cache.ObjectName, err error) error {
	job, gerr := s.jobs.Jobs(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(gerr) {
		return nil
	}
	if gerr != nil {
		return gerr
	}
	return s.recordNotSynced(ctx, job, pipelines.ReasonInternalError,
		"the job scheduler failed on this job ("+err.Error()+"); the server's log has the details")
}

// recordNotSynced sets the job's Synced condition False for reason, and no next
// schedule time: the scheduler does not act on it.
func (s *Scheduler) recordNotSynced(ctx context.Context, job *v1beta1.Job, reason, msg string) error {
	st := job.Status.DeepCopy()
	st.NextScheduleTime = nil
	worker.SetNotSynced(&st.Conditions, job.Generation, s.clock.Now(), reason, msg)
	s.events.Event(job, corev1.EventTypeWarning, reason, msg)
	return s.write(ctx, job, st)
}

// updateStatus writes st as the job's status unless it is what the job has. The
// scheduler acted on the job: a Synced condition saying otherwise goes.
func (s *Scheduler) updateStatus(ctx context.Context, job *v1beta1.Job, st *v1beta1.JobStatus) error {
	meta.RemoveStatusCondition(&st.Conditions, pipelines.ConditionSynced)
	return s.write(ctx, job, st)
}

func (s *Scheduler) write(ctx context.Context, job *v1beta1.Job, st *v1beta1.JobStatus) error {
	if apiequality.Semantic.DeepEqual(&job.Status, st) {
		return nil
	}
	job = job.DeepCopy()
	job.Status = *st
	_, err := s.client.PipelinesV1beta1().Jobs(job.Namespace).UpdateStatus(ctx, job, metav1.UpdateOptions{FieldManager: FieldManager})
	if err != nil {
		return fmt.Errorf("updating the status of job %s/%s: %w", job.Namespace, job.Name, err)
	}
	return nil
}
