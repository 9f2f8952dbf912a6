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

// Package execution tests the run executor and the job scheduler end to end: the
// server with its controllers, kube-apiserver with Argo's full Workflow CRD and its other
// CRDs, Argo Workflows' own workflow controller, kube-controller-manager, kube-scheduler and
// kwok simulating the node the step pods run on (no container runs; a pod's annotation
// controlplane.PodOutcomeAnnotation says how it ends). A stand-in kubelet serves the logs of
// the simulated node's pods.
package execution

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/klog/v2"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/controlplane"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/framework"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/kfpsdk"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/kubelet"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/processkubelet"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/shareddata"
)

// shared is the test data beside the repository (always present in CI), or beside
// the folder of a worktree; "" when there is none, which TestMain reports.
var shared, _ = shareddata.Root()

// Lease timings short enough that a hand-over fits in a test, long enough for a busy
// two-core machine to renew in time.
const (
	leaseDuration = 6 * time.Second
	renewDeadline = 4 * time.Second
	retryPeriod   = time.Second

	// defaultWait bounds waiting for the controllers, on a busy machine.
	defaultWait = 30 * time.Second

	// requestTimeout is the server's --request-timeout: short, so that a test can outlive
	// it, long enough for any ordinary request on a busy machine.
	requestTimeout = 10 * time.Second

	// sweepInterval is how often the leader finishes what deletes left undone.
	sweepInterval = 2 * time.Second
	// retentionInterval is the time between the leader's batches of retention.
	retentionInterval = time.Second
)

// Argo's names, as its controller writes them.
const (
	workflowLabel      = "workflows.argoproj.io/workflow"
	nodeNameAnnotation = "workflows.argoproj.io/node-name"
	mainContainer      = "main"
)

var workflowsResource = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "workflows"}

var (
	env    *framework.Environment
	envErr error
	// dyn is an admin's dynamic client, for workflows.
	dyn  dynamic.Interface
	node *kubelet.Kubelet
	// processes runs the pods of KFP 2.x tasks (and those annotated Process) as host processes.
	processes *processkubelet.Kubelet
	// launcherPath is cmd/pipelines-launcher built for the process stand-in.
	launcherPath string
)

func TestMain(m *testing.M) {
	flag.Parse()
	crd := filepath.Join(shared, "argo", "workflows-crd-full.yaml")
	others := filepath.Join(shared, "argo", "other-crds")
	_, othersErr := os.Stat(others)
	switch _, statErr := os.Stat(crd); {
	case testing.Short():
		envErr = errors.New("-short: the execution tests start MariaDB, etcd, kube-apiserver and the server")
	case statErr != nil || othersErr != nil:
		envErr = &framework.MissingDependencyError{Msg: fmt.Sprintf("Argo's CRDs: %v", errors.Join(statErr, othersErr)),
			Fix: "the shared test data must sit beside the repository, as in CI"}
	default:
		envErr = start(crd, others)
	}
	code := m.Run()
	if processes != nil {
		processes.Stop()
	}
	if node != nil {
		node.Close()
	}
	if env != nil {
		if err := env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stopping the environment: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

func start(crds ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	var err error
	env, err = framework.Start(ctx, framework.Config{
		CRDs:      crds,
		Execution: true,
		ServerArgs: []string{
			"--leader-elect-lease-duration=" + leaseDuration.String(),
			"--leader-elect-renew-deadline=" + renewDeadline.String(),
			"--leader-elect-retry-period=" + retryPeriod.String(),
			"--request-timeout=" + requestTimeout.String(),
			"--cascade-sweep-interval=" + sweepInterval.String(),
			// Retention is off for the cluster; a test's namespace turns it on.
			"--retention-interval=" + retentionInterval.String(),
		},
	})
	if err != nil {
		return err
	}
	dyn = dynamic.NewForConfigOrDie(env.ControlPlane().AdminRESTConfig())
	// kwok simulates the node's pods; the stand-in serves their logs.
	if node, err = kubelet.Start(ctx, env.ControlPlane().Client(), framework.SimulatedNode); err != nil {
		return err
	}
	// Pods of KFP 2.x tasks, and those annotated Process, run as host processes.
	if launcherPath, err = processkubelet.BuildLauncher(ctx, repoRoot, filepath.Join(env.Dir(), "pipelines-launcher")); err != nil {
		return err
	}
	if processes, err = processkubelet.Start(ctx, processkubelet.Config{
		Client:   env.ControlPlane().Client(),
		Dynamic:  dyn,
		Node:     framework.SimulatedNode,
		Dir:      filepath.Join(env.Dir(), "pods"),
		Launcher: launcherPath,
		Path:     kfpsdk.VenvPath(),
		ReadOnly: kfpsdk.Venv(),
		Env:      []string{"PIP_NO_INDEX=1"},
		Logs:     node,
	}); err != nil {
		return err
	}
	klog.InfoS("Execution tests ready", "node", node.Node, "launcher", launcherPath)
	return nil
}

// setup returns the environment, or skips or fails the test when it did not start.
func setup(t *testing.T) *framework.Environment {
	t.Helper()
	return framework.Use(t, env, envErr)
}

// clientFor returns the generated clientset of admin, alice or bob.
func clientFor(t *testing.T, user string) versioned.Interface {
	t.Helper()
	return env.Client(t, user)
}

// newNamespace creates a namespace for one test.
func newNamespace(t *testing.T) string {
	t.Helper()
	return env.NewNamespace(t, "x")
}

// twoSteps is a pipeline as the KFP v1 SDK compiles one: a DAG of two tasks and a
// parameter with a default. Its parameters say-outcome and again-outcome say how each
// step's pod ends (controlplane.PodOutcomeAnnotation, which Argo copies from the
// template's metadata): Succeeded by default, Failed, or Running until the test changes it.
const twoSteps = `{
  "apiVersion": "argoproj.io/v1alpha1",
  "kind": "Workflow",
  "metadata": {"generateName": "two-steps-"},
  "spec": {
    "entrypoint": "two-steps",
    "arguments": {"parameters": [
      {"name": "message", "value": "hello"},
      {"name": "say-outcome", "value": "Succeeded"},
      {"name": "again-outcome", "value": "Succeeded"}
    ]},
    "templates": [
      {"name": "two-steps", "dag": {"tasks": [
        {"name": "say", "template": "echo", "arguments": {"parameters": [
          {"name": "message", "value": "{{workflow.parameters.message}}"},
          {"name": "outcome", "value": "{{workflow.parameters.say-outcome}}"}]}},
        {"name": "again", "template": "echo", "dependencies": ["say"], "arguments": {"parameters": [
          {"name": "message", "value": "again"},
          {"name": "outcome", "value": "{{workflow.parameters.again-outcome}}"}]}}
      ]}},
      {"name": "echo", "inputs": {"parameters": [{"name": "message"}, {"name": "outcome"}]},
       "metadata": {"annotations": {"` + controlplane.PodOutcomeAnnotation + `": "{{inputs.parameters.outcome}}"}},
       "container": {"image": "busybox", "command": ["echo", "{{inputs.parameters.message}}"]}}
    ]
  }
}`

// oneStep is a pipeline of one step that succeeds, for tests of many runs.
const oneStep = `{
  "apiVersion": "argoproj.io/v1alpha1",
  "kind": "Workflow",
  "metadata": {"generateName": "one-step-"},
  "spec": {
    "entrypoint": "echo",
    "templates": [{"name": "echo", "container": {"image": "busybox", "command": ["echo", "hello"]}}]
  }
}`

// fixture creates an experiment and a pipeline with one version of manifest, all named
// name.
func fixture(t *testing.T, c versioned.Interface, ns, name, manifest string) {
	t.Helper()
	ctx := t.Context()
	p := c.PipelinesV1beta1()
	if _, err := p.Experiments(ns).Create(ctx, &v1beta1.Experiment{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating experiment: %v", err)
	}
	if _, err := p.Pipelines(ns).Create(ctx, &v1beta1.Pipeline{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating pipeline: %v", err)
	}
	version := &v1beta1.PipelineVersion{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       v1beta1.PipelineVersionSpec{PipelineName: name, Workflow: runtime.RawExtension{Raw: []byte(manifest)}},
	}
	if _, err := p.PipelineVersions(ns).Create(ctx, version, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating pipeline version: %v", err)
	}
}

func newRun(name, fixture string, params ...v1beta1.RunParameter) *v1beta1.Run {
	return &v1beta1.Run{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1beta1.RunSpec{
			ExperimentName: fixture,
			PipelineRef:    v1beta1.PipelineRef{PipelineName: fixture},
			Parameters:     params,
		},
	}
}

// waitRun waits until the run satisfies ok, and returns it.
func waitRun(t *testing.T, c versioned.Interface, ns, name, what string, ok func(*v1beta1.Run) bool) *v1beta1.Run {
	t.Helper()
	var run *v1beta1.Run
	var err error
	pollErr := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, defaultWait, true, func(ctx context.Context) (bool, error) {
		run, err = c.PipelinesV1beta1().Runs(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil && ok(run), err
	})
	if pollErr != nil {
		t.Fatalf("run %s/%s: waiting for %s: %v (err %v); status %+v", ns, name, what, pollErr, err, statusOf(run))
	}
	return run
}

func statusOf(run *v1beta1.Run) any {
	if run == nil {
		return nil
	}
	return run.Status
}

// eventually polls f until it returns nil, and fails the test with its last error
// after defaultWait.
func eventually(t *testing.T, f func() error) {
	t.Helper()
	eventuallyWithin(t, defaultWait, f)
}

// eventuallyWithin is eventually with a wait of its own.
func eventuallyWithin(t *testing.T, d time.Duration, f func() error) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, d, true, func(context.Context) (bool, error) {
		last = f()
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("%v: %v", err, last)
	}
}

// inPhase is a condition for waitRun.
func inPhase(p v1beta1.RunPhase) func(*v1beta1.Run) bool {
	return func(r *v1beta1.Run) bool { return r.Status.Phase == p }
}

// action posts an action subresource (terminate, retry, disable, ...).
func action(ctx context.Context, c versioned.Interface, ns, resource, name, sub string) error {
	return c.PipelinesV1beta1().RESTClient().Post().Namespace(ns).Resource(resource).Name(name).SubResource(sub).
		Do(ctx).Error()
}
