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

package job

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/controller/worker"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned/fake"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/informers/externalversions"
)

// harness runs a scheduler against a fake clientset and a fake clock. Tests call sync
// themselves, after the informers caught up, so each step is deterministic.
type harness struct {
	t      *testing.T
	ctx    context.Context
	client *fake.Clientset
	clock  *testingclock.FakeClock
	s      *Scheduler
	key    cache.ObjectName
	// authors are the authors runs were created as, in order; forbid makes creates fail
	// as an author whose access was revoked.
	authors []string
	forbid  bool
	events  *record.FakeRecorder
}

// clientFor stands in for impersonation: it records the author and returns the fake
// clientset, or one that refuses to create runs when forbid is set.
func (h *harness) clientFor(a *v1beta1.Author) (versioned.Interface, error) {
	h.authors = append(h.authors, a.Username)
	if !h.forbid {
		return h.client, nil
	}
	c := fake.NewSimpleClientset()
	c.PrependReactor("create", "runs", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(v1beta1.Resource("runs"), "", errors.New("revoked"))
	})
	return c, nil
}

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func newJob(spec v1beta1.JobSpec) *v1beta1.Job {
	if spec.MaxConcurrency == 0 {
		spec.MaxConcurrency = 1
	}
	if spec.Enabled == nil {
		spec.Enabled = ptr.To(true)
	}
	spec.ExperimentName = "e1"
	spec.PipelineRef = v1beta1.PipelineRef{PipelineName: "p1"}
	spec.Parameters = []v1beta1.RunParameter{{Name: "a", Value: "1"}}
	return &v1beta1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: "team-a", UID: "job-uid", CreationTimestamp: metav1.NewTime(t0),
			Generation: 1},
		Spec:   spec,
		Status: v1beta1.JobStatus{Author: &v1beta1.Author{Username: "alice", Groups: []string{"system:authenticated"}}},
	}
}

func newHarness(t *testing.T, job *v1beta1.Job) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h := &harness{t: t, ctx: ctx, client: fake.NewSimpleClientset(job), clock: testingclock.NewFakeClock(t0),
		key: cache.ObjectName{Namespace: job.Namespace, Name: job.Name}, events: record.NewFakeRecorder(100)}
	factory := externalversions.NewSharedInformerFactory(h.client, 0)
	var err error
	h.s, err = NewScheduler(h.client, h.clientFor, factory.Pipelines().V1beta1().Jobs(), factory.Pipelines().V1beta1().Runs(), h.events, h.clock)
	if err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	// Informers stop only once ctx ends: cancel before waiting for them.
	t.Cleanup(func() { cancel(); factory.Shutdown() })
	if !cache.WaitForCacheSync(ctx.Done(), h.s.synced...) {
		t.Fatal("caches did not sync")
	}
	return h
}

// at sets the fake clock.
func (h *harness) at(d time.Duration) { h.clock.SetTime(t0.Add(d)) }

// sync waits until the informers show what the fake API holds, then syncs the job.
func (h *harness) sync() {
	h.t.Helper()
	err := wait.PollUntilContextTimeout(h.ctx, time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		job, err := h.client.PipelinesV1beta1().Jobs(h.key.Namespace).Get(h.ctx, h.key.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		cached, err := h.s.jobs.Jobs(h.key.Namespace).Get(h.key.Name)
		if err != nil || !apiequality.Semantic.DeepEqual(job, cached) {
			return false, nil
		}
		runs, err := h.client.PipelinesV1beta1().Runs(h.key.Namespace).List(h.ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		cachedRuns, err := h.s.runs.List(labels.Everything())
		if err != nil || len(cachedRuns) != len(runs.Items) {
			return false, nil
		}
		for _, r := range cachedRuns {
			for _, want := range runs.Items {
				if r.Name == want.Name && r.Status.Phase != want.Status.Phase {
					return false, nil
				}
			}
		}
		return true, nil
	})
	if err != nil {
		h.t.Fatalf("informers did not catch up: %v", err)
	}
	if err := h.s.sync(h.ctx, h.key); err != nil {
		h.t.Fatalf("sync: %v", err)
	}
}

// runs are the names of the runs that exist.
func (h *harness) runs() []string {
	h.t.Helper()
	list, err := h.client.PipelinesV1beta1().Runs(h.key.Namespace).List(h.ctx, metav1.ListOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	var names []string
	for _, r := range list.Items {
		names = append(names, r.Name)
	}
	slices.Sort(names)
	return names
}

func (h *harness) job() *v1beta1.Job {
	h.t.Helper()
	job, err := h.client.PipelinesV1beta1().Jobs(h.key.Namespace).Get(h.ctx, h.key.Name, metav1.GetOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	return job
}

func (h *harness) update(change func(*v1beta1.Job)) {
	h.t.Helper()
	job := h.job()
	change(job)
	if _, err := h.client.PipelinesV1beta1().Jobs(h.key.Namespace).Update(h.ctx, job, metav1.UpdateOptions{}); err != nil {
		h.t.Fatal(err)
	}
}

// finish ends a run as the executor would.
func (h *harness) finish(name string) {
	h.t.Helper()
	run, err := h.client.PipelinesV1beta1().Runs(h.key.Namespace).Get(h.ctx, name, metav1.GetOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	run.Status.Phase = v1beta1.RunPhaseSucceeded
	if _, err := h.client.PipelinesV1beta1().Runs(h.key.Namespace).UpdateStatus(h.ctx, run, metav1.UpdateOptions{}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) expectRuns(want ...time.Duration) {
	h.t.Helper()
	var names []string
	for _, d := range want {
		names = append(names, RunName("nightly", t0.Add(d)))
	}
	slices.Sort(names)
	if diff := cmp.Diff(names, h.runs()); diff != "" {
		h.t.Errorf("runs at %s (-want +got):\n%s", h.clock.Now().Sub(t0), diff)
	}
}

func (h *harness) expectStatus(last, next time.Duration, active ...time.Duration) {
	h.t.Helper()
	st := h.job().Status
	want := func(d time.Duration) string {
		if d < 0 {
			return "<none>"
		}
		return t0.Add(d).Format(time.RFC3339)
	}
	got := func(t *metav1.Time) string {
		if t == nil {
			return "<none>"
		}
		return t.UTC().Format(time.RFC3339)
	}
	if got(st.LastScheduleTime) != want(last) || got(st.NextScheduleTime) != want(next) {
		h.t.Errorf("at %s: lastScheduleTime %s, nextScheduleTime %s; want %s and %s", h.clock.Now().Sub(t0),
			got(st.LastScheduleTime), got(st.NextScheduleTime), want(last), want(next))
	}
	var names []string
	for _, d := range active {
		names = append(names, RunName("nightly", t0.Add(d)))
	}
	slices.Sort(names)
	if diff := cmp.Diff(names, st.Active); diff != "" {
		h.t.Errorf("active (-want +got):\n%s", diff)
	}
}

const none = -1

func TestSchedulerCreatesRunsOnSchedule(t *testing.T) {
	h := newHarness(t, newJob(v1beta1.JobSpec{Schedule: v1beta1.Schedule{IntervalSeconds: 10}}))
	h.at(5 * time.Second)
	h.sync()
	h.expectRuns()
	h.expectStatus(none, 10*time.Second)

	h.at(10 * time.Second)
	h.sync()
	h.expectRuns(10 * time.Second)
	h.expectStatus(10*time.Second, 20*time.Second, 10*time.Second)

	run, err := h.client.PipelinesV1beta1().Runs("team-a").Get(h.ctx, RunName("nightly", t0.Add(10*time.Second)), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if run.Labels[JobLabel] != "nightly" || run.Annotations[ScheduledTimeAnnotation] != "2026-03-01T10:00:10Z" {
		t.Errorf("run metadata: labels %v, annotations %v", run.Labels, run.Annotations)
	}
	ref := metav1.GetControllerOf(run)
	if ref == nil || ref.Kind != "Job" || ref.Name != "nightly" || ref.UID != "job-uid" {
		t.Errorf("run's controller %+v, want the job", ref)
	}
	if run.Spec.ExperimentName != "e1" || run.Spec.PipelineRef.PipelineName != "p1" || len(run.Spec.Parameters) != 1 {
		t.Errorf("run spec %+v, want the job's", run.Spec)
	}
	if c := meta.FindStatusCondition(h.job().Status.Conditions, ConditionScheduled); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("conditions %+v", h.job().Status.Conditions)
	}
	h.expectEvents("Normal RunCreated Created run nightly-1772359210 for 2026-03-01T10:00:10Z")
}

// expectEvents checks the events recorded since the last call.
func (h *harness) expectEvents(want ...string) {
	h.t.Helper()
	var got []string
	for len(h.events.Events) > 0 {
		got = append(got, <-h.events.Events)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		h.t.Errorf("events (-want +got):\n%s", diff)
	}
}

// TestSchedulerSkipsInvalidStoredJob: a job whose stored spec fails validation (here
// the cron that panicked robfig/cron in issue 13, as if written straight into the
// database) creates no runs and gets Synced False, InvalidSpec, naming the field.
// Once fixed, the job runs and the condition goes.
func TestSchedulerSkipsInvalidStoredJob(t *testing.T) {
	h := newHarness(t, newJob(v1beta1.JobSpec{Schedule: v1beta1.Schedule{Cron: "CRON_TZ=UTC\t0\t*\t*\t*\t*"}}))
	h.at(time.Hour)
	h.sync()
	h.expectRuns()
	c := meta.FindStatusCondition(h.job().Status.Conditions, pipelines.ConditionSynced)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != pipelines.ReasonInvalidSpec || !strings.Contains(c.Message, "spec.schedule.cron") {
		t.Fatalf("Synced condition %+v, want False, InvalidSpec, naming spec.schedule.cron", c)
	}
	if h.job().Status.NextScheduleTime != nil {
		t.Errorf("nextScheduleTime %v for a job that cannot run", h.job().Status.NextScheduleTime)
	}

	job := h.job()
	job.Spec.Schedule = v1beta1.Schedule{IntervalSeconds: 600}
	if _, err := h.client.PipelinesV1beta1().Jobs("team-a").Update(h.ctx, job, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.sync()
	h.expectRuns(10 * time.Minute)
	if c := meta.FindStatusCondition(h.job().Status.Conditions, pipelines.ConditionSynced); c != nil {
		t.Errorf("Synced condition %+v left on a job that runs", c)
	}
}

// TestSchedulerRecordsPanic: the hook the worker calls after a panic marks the job.
func TestSchedulerRecordsPanic(t *testing.T) {
	h := newHarness(t, newJob(v1beta1.JobSpec{Schedule: v1beta1.Schedule{IntervalSeconds: 10}}))
	if err := h.s.panicked(h.ctx, h.key, &worker.PanicError{Value: "boom"}); err != nil {
		t.Fatal(err)
	}
	c := meta.FindStatusCondition(h.job().Status.Conditions, pipelines.ConditionSynced)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != pipelines.ReasonInternalError || !strings.Contains(c.Message, "boom") {
		t.Fatalf("Synced condition %+v, want False, InternalError, with the panic", c)
	}
}

func TestSchedulerMaxConcurrencyAndCatchUp(t *testing.T) {
	h := newHarness(t, newJob(v1beta1.JobSpec{Schedule: v1beta1.Schedule{IntervalSeconds: 10}}))
	h.at(10 * time.Second)
	h.sync()
	h.expectRuns(10 * time.Second)

	// maxConcurrency 1: the run at 20s waits for the one at 10s.
	h.at(35 * time.Second)
	h.sync()
	h.expectRuns(10 * time.Second)
	h.expectStatus(10*time.Second, 20*time.Second, 10*time.Second)

	// It ends: the missed schedules are caught up, one at a time.
	h.finish(RunName("nightly", t0.Add(10*time.Second)))
	h.sync()
	h.expectRuns(10*time.Second, 20*time.Second)
	h.expectStatus(20*time.Second, 30*time.Second, 20*time.Second)
	h.finish(RunName("nightly", t0.Add(20*time.Second)))
	h.sync()
	h.expectRuns(10*time.Second, 20*time.Second, 30*time.Second)
	h.expectStatus(30*time.Second, 40*time.Second, 30*time.Second)

	// More room: several at once.
	h.update(func(j *v1beta1.Job) { j.Spec.MaxConcurrency = 3 })
	h.at(75 * time.Second)
	h.sync()
	h.expectRuns(10*time.Second, 20*time.Second, 30*time.Second, 40*time.Second, 50*time.Second)
	h.expectStatus(50*time.Second, 60*time.Second, 30*time.Second, 40*time.Second, 50*time.Second)
}

func TestSchedulerNoCatchup(t *testing.T) {
	h := newHarness(t, newJob(v1beta1.JobSpec{Schedule: v1beta1.Schedule{Cron: "0 * * * * *"}, NoCatchup: true, MaxConcurrency: 5}))
	h.at(time.Minute)
	h.sync()
	h.expectRuns(time.Minute)

	// The scheduler was down for four minutes: only the latest missed schedule runs.
	h.at(5*time.Minute + 30*time.Second)
	h.sync()
	h.expectRuns(time.Minute, 5*time.Minute)
	h.expectStatus(5*time.Minute, 6*time.Minute, time.Minute, 5*time.Minute)
}

func TestSchedulerCatchUpAfterPause(t *testing.T) {
	h := newHarness(t, newJob(v1beta1.JobSpec{Schedule: v1beta1.Schedule{Cron: "0 * * * * *"}, MaxConcurrency: 10}))
	h.at(time.Minute)
	h.sync()
	h.update(func(j *v1beta1.Job) { j.Spec.Enabled = ptr.To(false) })
	h.at(4*time.Minute + 30*time.Second)
	h.sync()
	h.expectRuns(time.Minute)
	h.expectStatus(time.Minute, none, time.Minute)

	// Enabled again, with catch-up: every schedule missed during the pause runs.
	h.update(func(j *v1beta1.Job) { j.Spec.Enabled = ptr.To(true) })
	h.sync()
	h.expectRuns(time.Minute, 2*time.Minute, 3*time.Minute, 4*time.Minute)
	h.expectStatus(4*time.Minute, 5*time.Minute, time.Minute, 2*time.Minute, 3*time.Minute, 4*time.Minute)
}

func TestSchedulerDisabledAndEnded(t *testing.T) {
	end := metav1.NewTime(t0.Add(25 * time.Second))
	h := newHarness(t, newJob(v1beta1.JobSpec{Schedule: v1beta1.Schedule{IntervalSeconds: 10, EndTime: &end}, MaxConcurrency: 10}))
	h.update(func(j *v1beta1.Job) { j.Spec.Enabled = ptr.To(false) })
	h.at(10 * time.Second)
	h.sync()
	h.expectRuns()
	h.expectStatus(none, none)

	h.update(func(j *v1beta1.Job) { j.Spec.Enabled = ptr.To(true) })
	h.at(time.Minute)
	h.sync()
	h.expectRuns(10*time.Second, 20*time.Second)
	h.expectStatus(20*time.Second, none, 10*time.Second, 20*time.Second)
	h.at(time.Hour)
	h.sync()
	h.expectRuns(10*time.Second, 20*time.Second)
}

func TestSchedulerRunExistsAlready(t *testing.T) {
	job := newJob(v1beta1.JobSpec{Schedule: v1beta1.Schedule{IntervalSeconds: 10}})
	h := newHarness(t, job)
	// Created by a previous leader that crashed before it recorded it.
	existing := &v1beta1.Run{ObjectMeta: metav1.ObjectMeta{Name: RunName("nightly", t0.Add(10*time.Second)), Namespace: "team-a",
		Labels:      map[string]string{JobLabel: "nightly"},
		Annotations: map[string]string{ScheduledTimeAnnotation: t0.Add(10 * time.Second).Format(time.RFC3339)},
		OwnerReferences: []metav1.OwnerReference{
			*metav1.NewControllerRef(job, v1beta1.SchemeGroupVersion.WithKind("Job"))}}}
	if _, err := h.client.PipelinesV1beta1().Runs("team-a").Create(h.ctx, existing, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.at(10 * time.Second)
	h.sync()
	h.expectRuns(10 * time.Second)
	h.expectStatus(10*time.Second, 20*time.Second, 10*time.Second)
}

// Right after a create, the run informer may not show the run yet: it still counts.
func TestSchedulerCountsRunsTheInformerHasNotShown(t *testing.T) {
	h := newHarness(t, newJob(v1beta1.JobSpec{Schedule: v1beta1.Schedule{IntervalSeconds: 10}}))
	h.at(10 * time.Second)
	h.sync()
	// Not waiting for the informers this time.
	h.at(20 * time.Second)
	if err := h.s.sync(h.ctx, h.key); err != nil {
		t.Fatal(err)
	}
	h.expectRuns(10 * time.Second)
}

func TestSchedulerRequeuesAtTheNextTime(t *testing.T) {
	h := newHarness(t, newJob(v1beta1.JobSpec{Schedule: v1beta1.Schedule{IntervalSeconds: 10}}))
	h.at(time.Second)
	h.sync()
	// The status update comes back through the informer and queues the job once; the
	// test is about what comes after.
	if err := wait.PollUntilContextTimeout(h.ctx, time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		cached, err := h.s.jobs.Jobs(h.key.Namespace).Get(h.key.Name)
		return err == nil && cached.Status.NextScheduleTime != nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	for h.s.queue.Len() > 0 {
		key, _ := h.s.queue.Get()
		h.s.queue.Done(key)
	}
	if h.s.queue.Len() != 0 {
		t.Fatalf("queue has %d items before the next time", h.s.queue.Len())
	}
	h.clock.Step(9 * time.Second)
	if err := wait.PollUntilContextTimeout(h.ctx, time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		return h.s.queue.Len() == 1, nil
	}); err != nil {
		t.Fatalf("the job was not queued at its next time: %v", err)
	}
}

func (h *harness) authorized() *metav1.Condition {
	return meta.FindStatusCondition(h.job().Status.Conditions, pipelines.JobConditionAuthorized)
}

func TestSchedulerCreatesRunsAsAuthor(t *testing.T) {
	h := newHarness(t, newJob(v1beta1.JobSpec{Schedule: v1beta1.Schedule{IntervalSeconds: 10}, MaxConcurrency: 10}))
	h.at(20 * time.Second)
	h.sync()
	h.expectRuns(10*time.Second, 20*time.Second)
	if diff := cmp.Diff([]string{"alice", "alice"}, h.authors); diff != "" {
		t.Errorf("runs created as (-want +got):\n%s", diff)
	}
	if c := h.authorized(); c == nil || c.Status != metav1.ConditionTrue || c.Reason != pipelines.JobReasonAuthorAllowed {
		t.Errorf("condition Authorized: %+v", c)
	}
}

// A revoked author stops the job until its spec changes, however often it is synced.
func TestSchedulerStopsWhenAuthorIsForbidden(t *testing.T) {
	h := newHarness(t, newJob(v1beta1.JobSpec{Schedule: v1beta1.Schedule{IntervalSeconds: 10}, MaxConcurrency: 10}))
	h.forbid = true
	h.at(10 * time.Second)
	h.sync()
	h.expectRuns()
	h.expectStatus(none, none)
	if c := h.authorized(); c == nil || c.Status != metav1.ConditionFalse || c.Reason != pipelines.JobReasonAuthorForbidden ||
		c.ObservedGeneration != 1 {
		t.Fatalf("condition Authorized: %+v", c)
	}
	h.expectEvents("Warning AuthorForbidden " + h.authorized().Message)

	// Access is back, but nobody has renewed the job: it stays stopped.
	h.forbid = false
	h.authors = nil
	h.at(30 * time.Second)
	h.sync()
	h.expectRuns()
	if len(h.authors) != 0 {
		t.Errorf("the stopped job tried to create runs as %v", h.authors)
	}

	// A spec update (the server records its caller as the author) starts it again.
	h.update(func(j *v1beta1.Job) {
		j.Generation++
		j.Spec.NoCatchup = true
		j.Status.Author = &v1beta1.Author{Username: "carol"}
	})
	h.sync()
	h.expectRuns(30 * time.Second)
	if diff := cmp.Diff([]string{"carol"}, h.authors); diff != "" {
		t.Errorf("runs created as (-want +got):\n%s", diff)
	}
	if c := h.authorized(); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("condition Authorized after the update: %+v", c)
	}
}

// A job stored before authors were recorded does not run.
func TestSchedulerJobWithoutAuthor(t *testing.T) {
	job := newJob(v1beta1.JobSpec{Schedule: v1beta1.Schedule{IntervalSeconds: 10}})
	job.Status.Author = nil
	h := newHarness(t, job)
	h.at(time.Minute)
	h.sync()
	h.expectRuns()
	h.expectStatus(none, none)
	if len(h.authors) != 0 {
		t.Errorf("runs created as %v", h.authors)
	}
	if c := h.authorized(); c == nil || c.Status != metav1.ConditionFalse || c.Reason != pipelines.JobReasonAuthorMissing {
		t.Errorf("condition Authorized: %+v", c)
	}
}
