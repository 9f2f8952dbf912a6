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
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/framework"
)

// identityRE finds a server's leader-election identity in its log.
var identityRE = regexp.MustCompile(`"Campaigning for the controllers' lease".* identity="([^"]+)"`)

// identityIn returns the last identity a server's log announced.
func identityIn(t *testing.T, log string) string {
	t.Helper()
	var id string
	err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, defaultWait, true, func(context.Context) (bool, error) {
		data, err := os.ReadFile(log)
		if err != nil {
			return false, err
		}
		all := identityRE.FindAllSubmatch(data, -1)
		if len(all) == 0 {
			return false, nil
		}
		id = string(all[len(all)-1][1])
		return true, nil
	})
	if err != nil {
		t.Fatalf("no leader-election identity in %s: %v", log, err)
	}
	return id
}

// holder is the identity that holds the controllers' lease.
func holder(t *testing.T) string {
	t.Helper()
	lease, err := env.ControlPlane().Client().CoordinationV1().Leases("pipelines-system").Get(t.Context(), "pipelines-controllers", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if lease.Spec.HolderIdentity == nil {
		return ""
	}
	return *lease.Spec.HolderIdentity
}

// waitHolder waits until want holds the lease and returns how long that took.
func waitHolder(t *testing.T, want string, within time.Duration) time.Duration {
	t.Helper()
	begin := time.Now()
	var got string
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, within, true, func(context.Context) (bool, error) {
		got = holder(t)
		return got == want, nil
	})
	if err != nil {
		t.Fatalf("lease held by %q after %v, want %q", got, within, want)
	}
	return time.Since(begin)
}

// directClient talks to one server replica directly, as the admin, the way a Service
// in front of the replicas would route a request.
func directClient(t *testing.T, url string) versioned.Interface {
	t.Helper()
	cfg, err := env.RESTConfig(framework.AdminUser)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Host = url
	cfg.CAData, cfg.CAFile = nil, env.ControlPlane().Certs().ServingCA
	return versioned.NewForConfigOrDie(cfg)
}

// runOnce creates a run through c and checks that exactly one workflow carries it out.
func runOnce(t *testing.T, c versioned.Interface, ns, name string) {
	t.Helper()
	if _, err := c.PipelinesV1beta1().Runs(ns).Create(t.Context(), newRun(name, "p"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRun(t, c, ns, name, "a workflow", func(r *v1beta1.Run) bool { return r.Status.WorkflowName != "" })
	if n := len(workflows(t, ns, name)); n != 1 {
		t.Errorf("run %s has %d workflows, want 1", name, n)
	}
}

// TestTwoReplicas: of two servers on one database, exactly one runs the controllers.
// Stopping it hands the lease over at once (it releases it); killing it hands it over
// within the lease duration. Runs are executed exactly once throughout.
func TestTwoReplicas(t *testing.T) {
	setup(t)
	ns := newNamespace(t)
	c := clientFor(t, framework.AdminUser)
	fixture(t, c, ns, "p", twoSteps)

	first := identityIn(t, env.ServerLog())
	waitHolder(t, first, defaultWait)
	replica, err := env.StartReplica(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = replica.Stop(framework.Graceful) })
	second := identityIn(t, replica.Log())
	if second == first {
		t.Fatalf("both replicas call themselves %q", first)
	}
	// The second campaigns, but the first keeps the lease.
	time.Sleep(leaseDuration)
	if got := holder(t); got != first {
		t.Fatalf("lease held by %q while the first replica %q runs", got, first)
	}
	runOnce(t, c, ns, "while-both-run")

	// A graceful stop releases the lease.
	if err := env.StopServer(framework.Graceful); err != nil {
		t.Fatal(err)
	}
	took := waitHolder(t, second, leaseDuration+retryPeriod)
	t.Logf("after a graceful stop the second replica led within %v", took.Round(time.Millisecond))
	direct := directClient(t, replica.URL())
	runOnce(t, direct, ns, "second-leads")

	// The first comes back and waits; the second is killed and cannot release the lease:
	// the first takes over once it expires.
	if err := env.StartServer(t.Context()); err != nil {
		t.Fatal(err)
	}
	first = identityIn(t, env.ServerLog())
	time.Sleep(2 * retryPeriod)
	if got := holder(t); got != second {
		t.Fatalf("lease held by %q after the first replica came back, want %q still", got, second)
	}
	if err := replica.Stop(framework.Kill); err != nil {
		t.Fatal(err)
	}
	took = waitHolder(t, first, leaseDuration+2*retryPeriod+renewDeadline)
	t.Logf("after the leader was killed the other replica led within %v (lease duration %v)", took.Round(time.Millisecond), leaseDuration)
	runOnce(t, c, ns, "first-leads-again")

	all, err := dyn.Resource(workflowsResource).Namespace(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Items) != 3 {
		var names []string
		for _, wf := range all.Items {
			names = append(names, wf.GetName())
		}
		t.Errorf("workflows %v, want one for each of the 3 runs", names)
	}
}

// TestMetrics: the leader's /metrics has the executor's and the scheduler's metrics:
// queue depth, reconcile latency, workflows and runs created, schedule lag.
func TestMetrics(t *testing.T) {
	setup(t)
	// Something for every metric to have counted, whoever leads.
	ns := newNamespace(t)
	c := clientFor(t, framework.AdminUser)
	fixture(t, c, ns, "p", twoSteps)
	if _, err := c.PipelinesV1beta1().Jobs(ns).Create(t.Context(), newJob("j", "p", 1, 1, false), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitForRuns(t, c, ns, "j", 1)
	if err := action(t.Context(), c, ns, "jobs", "j", "disable"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`workqueue_depth{name="run_executor"}`,
		`workqueue_depth{name="job_scheduler"}`,
		`pipelines_run_executor_reconcile_duration_seconds_bucket{result="success"`,
		`pipelines_job_scheduler_reconcile_duration_seconds_bucket{result="success"`,
		`pipelines_run_executor_workflows_created_total`,
		`pipelines_job_scheduler_runs_created_total`,
		`pipelines_job_scheduler_schedule_lag_seconds_bucket`,
		`leader_election_master_status{name="pipelines-controllers"} 1`,
	}
	eventually(t, func() error {
		body, err := directClient(t, env.ServerURL()).PipelinesV1beta1().RESTClient().Get().AbsPath("/metrics").DoRaw(t.Context())
		if err != nil {
			return err
		}
		for _, w := range want {
			if !strings.Contains(string(body), w) {
				return fmt.Errorf("/metrics of the leading server lacks %s", w)
			}
		}
		return nil
	})
}
