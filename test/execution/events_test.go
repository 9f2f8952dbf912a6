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
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/controller"
)

// describes waits until `kubectl describe` of the object, as user, lists an event of
// each type and reason in want ("Normal WorkflowCreated") from the controllers.
func describes(t *testing.T, user, ns, resource, name string, want ...string) {
	t.Helper()
	eventually(t, func() error {
		out, stderr, err := env.Kubectl(t.Context(), user, "describe", "-n", ns, resource+".pipelines.kubeflow.org", name)
		if err != nil {
			return fmt.Errorf("kubectl describe %s %s: %v\n%s", resource, name, err, stderr)
		}
		for _, w := range want {
			// kubectl's columns: Type, Reason, Age ("5s (x2 over 9s)" when repeated), From, Message.
			eventType, reason, _ := strings.Cut(w, " ")
			re := regexp.MustCompile(`(?m)^\s+` + eventType + `\s+` + reason + `\s.*\s` + regexp.QuoteMeta(controller.EventSource) + `\s+\S`)
			if !re.MatchString(out) {
				return fmt.Errorf("kubectl describe %s %s shows no event %q from %s:\n%s", resource, name, w, controller.EventSource, out)
			}
		}
		return nil
	})
}

// TestKubectlDescribeShowsEvents: the controllers record Events on runs and jobs, which
// `kubectl describe` (real kubectl, real kube-apiserver) shows to the run's owner: a
// workflow created and each phase, a retry, a terminate, and a job's scheduled runs.
func TestKubectlDescribeShowsEvents(t *testing.T) {
	setup(t)
	// alice's own namespace: she reads the events of her runs with her own rights.
	const ns = "team-a"
	name := fmt.Sprintf("ev-%x", time.Now().UnixNano()&0xffffffff)
	alice := clientFor(t, "alice")
	fixture(t, alice, ns, name, twoSteps)
	runs := alice.PipelinesV1beta1().Runs(ns)

	ok := name + "-ok"
	if _, err := runs.Create(t.Context(), newRun(ok, name), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRun(t, alice, ns, ok, "Succeeded", inPhase(v1beta1.RunPhaseSucceeded))
	describes(t, "alice", ns, "runs", ok, "Normal "+pipelines.EventWorkflowCreated, "Normal "+pipelines.EventRunning,
		"Normal "+pipelines.EventSucceeded)

	retried := name + "-retry"
	if _, err := runs.Create(t.Context(), newRun(retried, name, v1beta1.RunParameter{Name: "again-outcome", Value: "Failed"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRun(t, alice, ns, retried, "Failed", inPhase(v1beta1.RunPhaseFailed))
	if err := action(t.Context(), alice, ns, "runs", retried, "retry"); err != nil {
		t.Fatal(err)
	}
	// Its step fails again: the parameter says so.
	waitRun(t, alice, ns, retried, "Failed again", func(r *v1beta1.Run) bool {
		return r.Status.Attempts == 2 && r.Status.Phase == v1beta1.RunPhaseFailed
	})
	describes(t, "alice", ns, "runs", retried, "Warning "+pipelines.EventFailed, "Normal "+pipelines.EventRetrying)

	stopped := name + "-stop"
	if _, err := runs.Create(t.Context(), newRun(stopped, name, v1beta1.RunParameter{Name: "say-outcome", Value: "Running"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := waitStepPod(t, ns, stopped, "say", corev1.PodRunning, "")
	waitRun(t, alice, ns, stopped, "Running", inPhase(v1beta1.RunPhaseRunning))
	if err := action(t.Context(), alice, ns, "runs", stopped, "terminate"); err != nil {
		t.Fatal(err)
	}
	waitRun(t, alice, ns, stopped, "Canceled", inPhase(v1beta1.RunPhaseCanceled))
	describes(t, "alice", ns, "runs", stopped, "Normal "+pipelines.EventTerminating, "Normal "+pipelines.EventCanceled)
	endPod(t, pod, "Succeeded")

	job := name + "-job"
	if _, err := alice.PipelinesV1beta1().Jobs(ns).Create(t.Context(), newJob(job, name, 1, 1, false), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitForRuns(t, alice, ns, job, 1)
	if err := action(t.Context(), alice, ns, "jobs", job, "disable"); err != nil {
		t.Fatal(err)
	}
	describes(t, "alice", ns, "jobs", job, "Normal "+pipelines.JobReasonRunCreated)

	// The events are in the objects' namespace, about them.
	events, err := env.ControlPlane().Client().CoreV1().Events(ns).List(t.Context(), metav1.ListOptions{
		FieldSelector: "involvedObject.name=" + ok + ",involvedObject.kind=Run"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		if e.InvolvedObject.APIVersion != v1beta1.SchemeGroupVersion.String() || e.Source.Component != controller.EventSource {
			t.Errorf("event %s: involved object %+v, source %+v", e.Name, e.InvolvedObject, e.Source)
		}
	}
	if len(events.Items) < 3 {
		t.Errorf("%d events on run %s, want at least 3", len(events.Items), ok)
	}
}
