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
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/framework"
)

// gcWatchWait bounds waiting for kube-controller-manager's garbage collector to watch the
// aggregated API: it finds new resources by discovery every 30 seconds.
const gcWatchWait = 2 * time.Minute

// waitGCWatches waits until the server has a watch open on experiments, a resource that
// only kube-controller-manager's garbage collector watches here (the controllers watch
// runs and jobs); the collector starts watching every resource of the API at once.
func waitGCWatches(t *testing.T) {
	t.Helper()
	const metric = `apiserver_longrunning_requests{component="apiserver",group="pipelines.kubeflow.org",resource="experiments",scope="cluster",subresource="",verb="WATCH"`
	var last string
	err := wait.PollUntilContextTimeout(t.Context(), 500*time.Millisecond, gcWatchWait, true, func(ctx context.Context) (bool, error) {
		body, err := directClient(t, env.ServerURL()).PipelinesV1beta1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		last = "no " + metric
		for _, l := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(l, metric) {
				last = l
				return !strings.HasSuffix(l, " 0"), nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("the garbage collector does not watch experiments: %v (%s)", err, last)
	}
}

// TestGracefulStopEndsLongRunningRequests: SIGTERM ends the server promptly although
// long-running requests are open through kube-apiserver: the garbage collector's watches
// of every resource and a client following a step's log. Before they were ended at
// shutdown, the server's HTTP shutdown waited for them for --request-timeout (60 s by
// default, more than the 30 s Kubernetes grants a pod to stop) and gave up.
func TestGracefulStopEndsLongRunningRequests(t *testing.T) {
	setup(t)
	ns := newNamespace(t)
	c := clientFor(t, framework.AdminUser)
	fixture(t, c, ns, "p", twoSteps)
	const name = "follow"
	run := newRun(name, "p", v1beta1.RunParameter{Name: "say-outcome", Value: "Running"})
	if _, err := c.PipelinesV1beta1().Runs(ns).Create(t.Context(), run, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := waitStepPod(t, ns, name, "say", corev1.PodRunning, "")
	node.Append(ns, pod.Name, mainContainer, "first line")
	stream, err := c.PipelinesV1beta1().RESTClient().Get().Namespace(ns).Resource("runs").Name(name).
		SubResource("log").Param("step", "say").Param("follow", "true").Stream(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stream.Close() }()
	lines := bufio.NewScanner(stream)
	if !lines.Scan() || lines.Text() != "first line" {
		t.Fatalf("follow: %q (%v)", lines.Text(), lines.Err())
	}
	waitGCWatches(t)
	// Whether the server had exited when the follow ended: the server ends it, not its exit.
	exited, _ := env.ServerExited()
	ended := make(chan bool, 1)
	go func() {
		_, _ = io.Copy(io.Discard, stream)
		select {
		case <-exited:
			ended <- true
		default:
			ended <- false
		}
	}()

	logStart := logSize(t, env.ServerLog())
	begin := time.Now()
	stopErr := env.StopServer(framework.Graceful)
	took := time.Since(begin)
	log := logSince(t, env.ServerLog(), logStart)
	if err := env.StartServer(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Logf("graceful stop took %v", took.Round(time.Millisecond))
	if stopErr != nil {
		t.Fatal(stopErr)
	}
	// The HTTP server's shutdown gives up after --request-timeout and logs so.
	if took >= requestTimeout || strings.Contains(log, "Failed to shutdown server") {
		t.Errorf("graceful stop took %v (--request-timeout %v): long-running requests held it up; log:\n%s",
			took.Round(time.Millisecond), requestTimeout, lastLines(log, 30))
	}
	select {
	case afterExit := <-ended:
		if afterExit {
			t.Error("the log follow ended only when the server exited")
		}
	case <-time.After(defaultWait):
		t.Error("the log follow did not end when the server stopped")
	}

	node.Exit(ns, pod.Name, mainContainer)
	endPod(t, pod, "Succeeded")
	waitRun(t, c, ns, name, "Succeeded", inPhase(v1beta1.RunPhaseSucceeded))
}

func logSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// logSince returns what a log gained after offset.
func logSince(t *testing.T, path string, offset int64) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data[min(offset, int64(len(data))):])
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n") + fmt.Sprintf("\n(%d lines)", len(lines))
}
