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

package execution

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/controller/job"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/controller/run"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/framework"
)

// These tests run the server's scheduler on the real clock with schedules of seconds;
// pkg/controller/job tests the same rules with a fake clock over minutes and years.

func newJob(name, fixture string, intervalSeconds int64, maxConcurrency int32, noCatchup bool) *v1beta1.Job {
	return &v1beta1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1beta1.JobSpec{
			ExperimentName: fixture,
			PipelineRef:    v1beta1.PipelineRef{PipelineName: fixture},
			Schedule:       v1beta1.Schedule{IntervalSeconds: intervalSeconds},
			MaxConcurrency: maxConcurrency,
			NoCatchup:      noCatchup,
			Enabled:        ptr.To(true),
		},
	}
}

// scheduledTimes are the scheduled Unix times of the job's runs, in order.
func scheduledTimes(t *testing.T, c versioned.Interface, ns, jobName string) []int64 {
	t.Helper()
	list, err := c.PipelinesV1beta1().Runs(ns).List(t.Context(), metav1.ListOptions{LabelSelector: job.JobLabel + "=" + jobName})
	if err != nil {
		t.Fatal(err)
	}
	var times []int64
	for _, r := range list.Items {
		sec, err := strconv.ParseInt(strings.TrimPrefix(r.Name, jobName+"-"), 10, 64)
		if err != nil {
			t.Fatalf("run %s is not named after its job and scheduled time", r.Name)
		}
		if ref := metav1.GetControllerOf(&r); ref == nil || ref.Kind != "Job" || ref.Name != jobName {
			t.Errorf("run %s's controller is %+v", r.Name, ref)
		}
		times = append(times, sec)
	}
	slices.Sort(times)
	return times
}

// jobFixture makes a namespace with pipeline "p" (oneStep), whose runs Argo's controller
// finishes within seconds.
func jobFixture(t *testing.T) (versioned.Interface, string) {
	t.Helper()
	setup(t)
	ns := newNamespace(t)
	c := clientFor(t, framework.AdminUser)
	fixture(t, c, ns, "p", oneStep)
	return c, ns
}

// waitForRuns waits until the job has created at least n runs.
func waitForRuns(t *testing.T, c versioned.Interface, ns, jobName string, n int) {
	t.Helper()
	eventually(t, func() error {
		if got := len(scheduledTimes(t, c, ns, jobName)); got < n {
			return fmt.Errorf("%d runs of job %s, want %d", got, jobName, n)
		}
		return nil
	})
}

// TestJobMaxConcurrency: a job every second with maxConcurrency 1, whose runs take
// seconds each, never has two active runs; each run is created only after the one before
// it ended.
func TestJobMaxConcurrency(t *testing.T) {
	c, ns := jobFixture(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	w, err := c.PipelinesV1beta1().Runs(ns).Watch(ctx, metav1.ListOptions{LabelSelector: job.JobLabel + "=every-second"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if _, err := c.PipelinesV1beta1().Jobs(ns).Create(ctx, newJob("every-second", "p", 1, 1, false), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	active := map[string]bool{}
	finished := 0
	most := 0
	const within = 40 * time.Second
	deadline := time.After(within)
	for finished < 3 {
		select {
		case <-deadline:
			t.Fatalf("after %v: %d runs finished, want 3", within, finished)
		case ev := <-w.ResultChan():
			r, ok := ev.Object.(*v1beta1.Run)
			if !ok {
				t.Fatalf("watch: %v", ev.Object)
			}
			switch {
			case ev.Type == watch.Deleted:
				delete(active, r.Name)
			case run.Finished(r.Status.Phase):
				if active[r.Name] {
					finished++
				}
				delete(active, r.Name)
			default:
				active[r.Name] = true
			}
			most = max(most, len(active))
		}
	}
	if most != 1 {
		t.Errorf("at most %d runs were active at once, want 1", most)
	}
	j, err := c.PipelinesV1beta1().Jobs(ns).Get(ctx, "every-second", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if j.Status.LastScheduleTime == nil || j.Status.NextScheduleTime == nil || len(j.Status.Active) > 1 {
		t.Errorf("job status: last %v, next %v, active %v", j.Status.LastScheduleTime, j.Status.NextScheduleTime, j.Status.Active)
	}
}

// pauseAndResume creates a job every second that never waits for its runs, lets it run,
// disables it for pause, checks that disabled it created nothing, enables it again and
// returns the scheduled times of its runs once it created one more after the pause.
func pauseAndResume(t *testing.T, noCatchup bool) (times []int64, pausedFrom, pausedTo int64) {
	t.Helper()
	// Runs end within seconds; maxConcurrency 10 does not hold the job back.
	c, ns := jobFixture(t)
	const pause = 4 * time.Second
	if _, err := c.PipelinesV1beta1().Jobs(ns).Create(t.Context(), newJob("j", "p", 1, 10, noCatchup), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitForRuns(t, c, ns, "j", 2)
	if err := action(t.Context(), c, ns, "jobs", "j", "disable"); err != nil {
		t.Fatal(err)
	}
	// What the scheduler may have created just before it saw the job disabled.
	time.Sleep(500 * time.Millisecond)
	before := scheduledTimes(t, c, ns, "j")
	pausedFrom = time.Now().Unix()
	time.Sleep(pause)
	if during := scheduledTimes(t, c, ns, "j"); len(during) != len(before) {
		t.Errorf("a disabled job created runs: %v, before %v", during, before)
	}
	j, err := c.PipelinesV1beta1().Jobs(ns).Get(t.Context(), "j", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if j.Status.NextScheduleTime != nil {
		t.Errorf("a disabled job has a next schedule time %v", j.Status.NextScheduleTime)
	}
	pausedTo = time.Now().Unix()
	if err := action(t.Context(), c, ns, "jobs", "j", "enable"); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		times = scheduledTimes(t, c, ns, "j")
		if times[len(times)-1] < pausedTo {
			return fmt.Errorf("no run after the pause: %v", times)
		}
		return nil
	})
	return times, pausedFrom, pausedTo
}

// TestJobCatchesUp: with noCatchup false a job that was paused creates a run for every
// time it missed.
func TestJobCatchesUp(t *testing.T) {
	times, from, to := pauseAndResume(t, false)
	for i := 1; i < len(times); i++ {
		if times[i] != times[i-1]+1 {
			t.Errorf("scheduled times %v have a gap at %d (paused from %d to %d)", times, times[i-1], from, to)
		}
	}
}

// TestJobNoCatchup: with noCatchup true a paused job skips what it missed.
func TestJobNoCatchup(t *testing.T) {
	times, from, to := pauseAndResume(t, true)
	skipped := 0
	for i := 1; i < len(times); i++ {
		skipped += int(times[i] - times[i-1] - 1)
	}
	if skipped < int(to-from)-1 {
		t.Errorf("scheduled times %v skip %d seconds; paused from %d to %d", times, skipped, from, to)
	}
}

// TestJobEndTime: no run is due after the end time.
func TestJobEndTime(t *testing.T) {
	c, ns := jobFixture(t)
	end := time.Now().Add(2 * time.Second).Truncate(time.Second)
	j := newJob("ends", "p", 1, 10, false)
	j.Spec.Schedule.EndTime = &metav1.Time{Time: end}
	if _, err := c.PipelinesV1beta1().Jobs(ns).Create(t.Context(), j, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		got, err := c.PipelinesV1beta1().Jobs(ns).Get(t.Context(), "ends", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got.Status.LastScheduleTime == nil || got.Status.LastScheduleTime.Unix() != end.Unix() || got.Status.NextScheduleTime != nil {
			return fmt.Errorf("status: last %v, next %v; want last %v and no next", got.Status.LastScheduleTime, got.Status.NextScheduleTime, end)
		}
		return nil
	})
	time.Sleep(2 * time.Second)
	for _, sec := range scheduledTimes(t, c, ns, "ends") {
		if sec > end.Unix() {
			t.Errorf("a run was scheduled at %d, after the end time %d", sec, end.Unix())
		}
	}
}

// TestJobRunsAreNotCreatedTwice: the scheduler and the executor together, through a
// server restart: every scheduled time has exactly one run (names are deterministic).
func TestJobRunsAreNotCreatedTwice(t *testing.T) {
	c, ns := jobFixture(t)
	if _, err := c.PipelinesV1beta1().Jobs(ns).Create(t.Context(), newJob("j", "p", 1, 10, false), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitForRuns(t, c, ns, "j", 2)
	if err := env.RestartServer(t.Context(), framework.Kill); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		times := scheduledTimes(t, c, ns, "j")
		for i := 1; i < len(times); i++ {
			if times[i] != times[i-1]+1 {
				return fmt.Errorf("scheduled times %v have a gap at %d", times, times[i-1])
			}
		}
		if time.Now().Unix()-times[len(times)-1] > 2 {
			return fmt.Errorf("the scheduler is behind: last run at %d", times[len(times)-1])
		}
		return nil
	})
	if err := action(t.Context(), c, ns, "jobs", "j", "disable"); err != nil {
		t.Fatal(err)
	}
}
