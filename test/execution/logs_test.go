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
	"bufio"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
)

// TestRunLogs: alice reads a step's log lines through runs/log, from the pod the
// workflow's step ran in, as kube-apiserver serves them from the pod's kubelet (here a
// stand-in on kwok's node that serves logs the test wrote); bob may not.
func TestRunLogs(t *testing.T) {
	setup(t)
	// alice's own namespace, so names of their own for each run of the test.
	const ns = "team-a"
	name := fmt.Sprintf("logs-%x", time.Now().UnixNano()&0xffffffff)
	alice := clientFor(t, "alice")
	fixture(t, alice, ns, name, twoSteps)
	// Step say ends, step again runs until the test ends it.
	run := newRun(name, name, v1beta1.RunParameter{Name: "again-outcome", Value: "Running"})
	if _, err := alice.PipelinesV1beta1().Runs(ns).Create(t.Context(), run, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	againPod := waitStepPod(t, ns, name, "again", corev1.PodRunning, "")
	waitRun(t, alice, ns, name, "Running", inPhase(v1beta1.RunPhaseRunning))
	sayPods := stepPods(t, ns, name, "say")
	if len(sayPods) != 1 {
		t.Fatalf("%d pods for step say", len(sayPods))
	}
	for step, pod := range map[string]string{"say": sayPods[0].Name, "again": againPod.Name} {
		node.Append(ns, pod, mainContainer, step+" line 1", step+" line 2", step+" line 3")
	}
	node.Exit(ns, sayPods[0].Name, mainContainer)

	path := "/apis/pipelines.kubeflow.org/v1beta1/namespaces/" + ns + "/runs/" + name + "/log"
	out, stderr, err := env.Kubectl(t.Context(), "alice", "get", "--raw", path+"?step=say")
	if err != nil {
		t.Fatalf("alice reading the log of step say: %v\n%s", err, stderr)
	}
	if want := "say line 1\nsay line 2\nsay line 3\n"; out != want {
		t.Errorf("log of step say:\n%q\nwant\n%q", out, want)
	}
	out, stderr, err = env.Kubectl(t.Context(), "alice", "get", "--raw", path+"?step=again&tailLines=1")
	if err != nil || out != "again line 3\n" {
		t.Errorf("tailLines=1 of step again: %v %s\n%q", err, stderr, out)
	}
	// All steps, each line prefixed with its step.
	out, _, err = env.Kubectl(t.Context(), "alice", "get", "--raw", path)
	if err != nil || strings.Count(out, "\n") != 6 || !strings.Contains(out, "again line 2") {
		t.Errorf("log of all steps: %v\n%s", err, out)
	}

	_, stderr, err = env.Kubectl(t.Context(), "bob", "get", "--raw", path+"?step=say")
	if err == nil || !strings.Contains(stderr, "Forbidden") {
		t.Errorf("bob reading alice's run's log: %v\n%s", err, stderr)
	}
	_, stderr, err = env.Kubectl(t.Context(), "alice", "get", "--raw", path+"?step=nope")
	if err == nil || !strings.Contains(stderr, "NotFound") {
		t.Errorf("log of a step that does not exist: %v\n%s", err, stderr)
	}

	// follow=true streams lines as the step writes them, until its container exits.
	stream, err := alice.PipelinesV1beta1().RESTClient().Get().Namespace(ns).Resource("runs").Name(name).
		SubResource("log").Param("step", "again").Param("follow", "true").Stream(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stream.Close() }()
	lines := bufio.NewScanner(stream)
	for i := 1; i <= 3; i++ {
		if !lines.Scan() {
			t.Fatalf("follow: stream ended after %d lines: %v", i-1, lines.Err())
		}
	}
	// A follow is a long-running request: it outlives the server's --request-timeout
	// (set short in TestMain) for as long as the step runs.
	time.Sleep(requestTimeout + 2*time.Second)
	node.Append(ns, againPod.Name, mainContainer, "again line 4")
	if !lines.Scan() || lines.Text() != "again line 4" {
		t.Errorf("follow: %q (%v), want the line written after the request", lines.Text(), lines.Err())
	}
	node.Exit(ns, againPod.Name, mainContainer)
	if lines.Scan() {
		t.Errorf("follow: a line %q after the container exited", lines.Text())
	}
	endPod(t, againPod, "Succeeded")
	waitRun(t, alice, ns, name, "Succeeded", inPhase(v1beta1.RunPhaseSucceeded))
}
