// Package e2e tests pipelines-apiserver end to end: through a real kube-apiserver, with the
// real kubectl and the generated clientset, informers and apply configurations, against a
// server process built from this repository and a real MariaDB (test/framework). The tests
// never call the server's Go packages.
//
// One environment serves the whole package (TestMain). Tests work in namespaces of their
// own (newNamespace); TestRestart restarts the server and MariaDB under the others, which is
// why no test is parallel.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/controlplane"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/framework"
)

// env is the package's environment; envErr why it did not start.
var (
	env    *framework.Environment
	envErr error
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		envErr = errors.New("-short: the end-to-end tests start MariaDB, etcd, kube-apiserver and the server")
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		if !controlplane.BinariesBuilt() {
			klog.InfoS("kube-apiserver, kubectl and etcd are not built yet: hack/build-controlplane.sh builds them now (several minutes the first time)")
		}
		// The API alone: runs stay as the tests write them. test/execution runs the
		// executor and the scheduler.
		env, envErr = framework.Start(ctx, framework.Config{ServerArgs: []string{"--controllers-enabled=false"}})
		cancel()
	}
	code := m.Run()
	if env != nil {
		if err := env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stopping the environment: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// setup returns the environment, or skips or fails the test when it did not start, and
// shows the end of the server's log when the test fails.
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
	return env.NewNamespace(t, "e2e")
}

// kubectl runs kubectl as user (admin when empty) with stdin and fails the test if it fails.
func kubectl(t *testing.T, user, stdin string, args ...string) string {
	t.Helper()
	stdout, stderr, err := kubectlResult(t, user, stdin, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s%s", strings.Join(args, " "), err, stdout, stderr)
	}
	return stdout
}

// kubectlResult runs kubectl as user (admin when empty) with stdin and returns what it printed.
func kubectlResult(t *testing.T, user, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	if user == "" {
		user = framework.AdminUser
	}
	cmd := env.ControlPlane().KubectlCmd(t.Context(), env.Kubeconfig(), append([]string{"--context=" + user}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// workflow is a small Argo Workflow as the KFP v1 SDK would compile it: one parameter with a
// default.
const workflow = `{
  "apiVersion": "argoproj.io/v1alpha1",
  "kind": "Workflow",
  "metadata": {"generateName": "echo-"},
  "spec": {
    "entrypoint": "echo",
    "arguments": {"parameters": [{"name": "message", "value": "hello"}]},
    "templates": [{
      "name": "echo",
      "inputs": {"parameters": [{"name": "message"}]},
      "container": {"image": "busybox", "command": ["echo", "{{inputs.parameters.message}}"]}
    }]
  }
}`

func newExperiment(name string) *v1beta1.Experiment {
	return &v1beta1.Experiment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       v1beta1.ExperimentSpec{DisplayName: name, Description: "end-to-end test"},
	}
}

func newPipeline(name string) *v1beta1.Pipeline {
	return &v1beta1.Pipeline{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       v1beta1.PipelineSpec{DisplayName: name},
	}
}

func newPipelineVersion(name, pipeline string) *v1beta1.PipelineVersion {
	return &v1beta1.PipelineVersion{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1beta1.PipelineVersionSpec{
			PipelineName: pipeline,
			Description:  "end-to-end test",
			Workflow:     runtime.RawExtension{Raw: []byte(workflow)},
		},
	}
}

func newRun(name, experiment, pipeline string) *v1beta1.Run {
	return &v1beta1.Run{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1beta1.RunSpec{
			ExperimentName: experiment,
			PipelineRef:    v1beta1.PipelineRef{PipelineName: pipeline},
			Parameters:     []v1beta1.RunParameter{{Name: "message", Value: name}},
		},
	}
}

func newJob(name, experiment, pipeline string) *v1beta1.Job {
	return &v1beta1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1beta1.JobSpec{
			ExperimentName: experiment,
			PipelineRef:    v1beta1.PipelineRef{PipelineName: pipeline},
			// Disabled, and far apart: a scheduler must not add runs under the tests.
			Schedule:       v1beta1.Schedule{IntervalSeconds: 86400},
			MaxConcurrency: 1,
			Enabled:        ptr.To(false),
		},
	}
}

// fixture creates an experiment, a pipeline and a version of it in namespace, all called
// name (the version name-v1), for runs and jobs to refer to.
func fixture(t *testing.T, c versioned.Interface, namespace, name string) {
	t.Helper()
	ctx := t.Context()
	p := c.PipelinesV1beta1()
	if _, err := p.Experiments(namespace).Create(ctx, newExperiment(name), metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating experiment: %v", err)
	}
	if _, err := p.Pipelines(namespace).Create(ctx, newPipeline(name), metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating pipeline: %v", err)
	}
	if _, err := p.PipelineVersions(namespace).Create(ctx, newPipelineVersion(name+"-v1", name), metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating pipeline version: %v", err)
	}
}

// eventually polls f until it returns nil or timeout passes, and fails the test with its
// last error.
func eventually(t *testing.T, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
