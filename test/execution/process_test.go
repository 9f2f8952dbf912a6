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
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/processkubelet"
)

// repoRoot is the module's root, from this package's directory.
const repoRoot = "../.."

// passValues is a KFP v1-style pipeline whose steps run as host processes (annotation
// Process): produce writes an output parameter in its private /tmp, and a secret's key and a
// field of its pod from its env into a file of an emptyDir volume; consume gets the value as
// an argument and fails unless it is the one produced and its own /tmp does not hold
// produce's file.
const passValues = `{
  "apiVersion": "argoproj.io/v1alpha1",
  "kind": "Workflow",
  "metadata": {"generateName": "pass-values-"},
  "spec": {
    "entrypoint": "main",
    "arguments": {"parameters": [{"name": "word", "value": "hello"}]},
    "templates": [
      {"name": "main", "dag": {"tasks": [
        {"name": "produce", "template": "produce", "arguments": {"parameters": [{"name": "word", "value": "{{workflow.parameters.word}}"}]}},
        {"name": "consume", "template": "consume", "depends": "produce",
         "arguments": {"parameters": [{"name": "got", "value": "{{tasks.produce.outputs.parameters.out}}"}]}}
      ]}},
      {"name": "produce", "inputs": {"parameters": [{"name": "word"}]},
       "metadata": {"annotations": {"` + processkubelet.OutcomeAnnotation + `": "Process"}},
       "volumes": [{"name": "scratch", "emptyDir": {}}],
       "container": {"image": "busybox", "command": ["sh", "-c",
         "echo producing; printf '%s-%s' \"$0\" \"$SECRET_WORD\" > /tmp/out; echo \"$POD_NS\" > /scratch/ns; cat /scratch/ns",
         "{{inputs.parameters.word}}"],
         "env": [
           {"name": "SECRET_WORD", "valueFrom": {"secretKeyRef": {"name": "words", "key": "word"}}},
           {"name": "MISSING", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k", "optional": true}}},
           {"name": "POD_NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}],
         "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}]},
       "outputs": {"parameters": [{"name": "out", "valueFrom": {"path": "/tmp/out"}}]}},
      {"name": "consume", "inputs": {"parameters": [{"name": "got"}]},
       "metadata": {"annotations": {"` + processkubelet.OutcomeAnnotation + `": "Process"}},
       "container": {"image": "busybox", "command": ["sh", "-c",
         "echo \"got $0\"; test ! -e /tmp/out && test \"$0\" = hello-secret", "{{inputs.parameters.got}}"]}}
    ]
  }
}`

// TestProcessesPassValues: with the process stand-in kubelet, a step's output parameter
// (read from its file by the stand-in, as Argo's wait container would) reaches the next step
// through Argo's real controller; env comes from a Secret and the downward API; /tmp is each
// pod's own; runs/log serves what the processes printed.
func TestProcessesPassValues(t *testing.T) {
	setup(t)
	ns := newNamespace(t)
	ctx := t.Context()
	if _, err := env.ControlPlane().Client().CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "words"}, StringData: map[string]string{"word": "secret"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	admin := clientFor(t, "admin")
	name := "pass-values"
	fixture(t, admin, ns, name, passValues)
	if _, err := admin.PipelinesV1beta1().Runs(ns).Create(ctx, newRun(name, name), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	run := waitRun(t, admin, ns, name, "finished", func(r *v1beta1.Run) bool { return r.Status.CompletionTime != nil })
	if run.Status.Phase != v1beta1.RunPhaseSucceeded {
		t.Fatalf("run %s: %+v", run.Status.Phase, run.Status)
	}
	path := "/apis/pipelines.kubeflow.org/v1beta1/namespaces/" + ns + "/runs/" + name + "/log"
	out, stderr, err := env.Kubectl(ctx, "admin", "get", "--raw", path+"?step=produce")
	if err != nil || out != "producing\n"+ns+"\n" {
		t.Errorf("log of produce: %v %s\n%q", err, stderr, out)
	}
	out, stderr, err = env.Kubectl(ctx, "admin", "get", "--raw", path+"?step=consume")
	if err != nil || out != "got hello-secret\n" {
		t.Errorf("log of consume: %v %s\n%q", err, stderr, out)
	}
}

// TestProcessFails: a process that exits 3 fails its step, its pod (exit code 3 in its status)
// and the run.
func TestProcessFails(t *testing.T) {
	setup(t)
	ns := newNamespace(t)
	ctx := t.Context()
	if _, err := env.ControlPlane().Client().CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "words"}, StringData: map[string]string{"word": "secret"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	admin := clientFor(t, "admin")
	name := "exit-three"
	fixture(t, admin, ns, name, strings.Replace(passValues, `"echo \"got $0\"; `, `"exit 3; `, 1))
	if _, err := admin.PipelinesV1beta1().Runs(ns).Create(ctx, newRun(name, name), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	run := waitRun(t, admin, ns, name, "finished", func(r *v1beta1.Run) bool { return r.Status.CompletionTime != nil })
	if run.Status.Phase != v1beta1.RunPhaseFailed {
		t.Fatalf("run %s, want Failed: %+v", run.Status.Phase, run.Status)
	}
	pods := stepPods(t, ns, name, "consume")
	if len(pods) != 1 || pods[0].Status.Phase != corev1.PodFailed {
		t.Fatalf("consume's pods: %+v", pods)
	}
	for _, cs := range pods[0].Status.ContainerStatuses {
		if cs.Name == "main" && (cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 3) {
			t.Errorf("consume's main container: %+v, want exit code 3", cs.State)
		}
	}
}
