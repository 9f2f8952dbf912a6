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
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/sets"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/controller/run"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/argodriver"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/framework"
)

// workflows lists the workflows of a run.
func workflows(t *testing.T, ns, runName string) []unstructured.Unstructured {
	t.Helper()
	list, err := argo.Dynamic.Resource(argodriver.Workflows).Namespace(ns).List(t.Context(),
		metav1.ListOptions{LabelSelector: run.RunLabel + "=" + runName})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// parameters are a workflow's spec.arguments.parameters as name=value.
func parameters(wf *unstructured.Unstructured) []string {
	params, _, _ := unstructured.NestedSlice(wf.Object, "spec", "arguments", "parameters")
	var out []string
	for _, p := range params {
		p, _ := p.(map[string]interface{})
		out = append(out, fmt.Sprintf("%v=%v", p["name"], p["value"]))
	}
	return out
}

// TestKFPv1RunsBecomeWorkflows: every pipeline the KFP v1 SDK compiled uploads unedited,
// and a run of it becomes a Workflow that kube-apiserver accepts under Argo's full CRD,
// with the run's parameters, labels and owner.
func TestKFPv1RunsBecomeWorkflows(t *testing.T) {
	setup(t)
	files, _ := filepath.Glob(filepath.Join(shared, "kfp-v1", "*.yaml"))
	if len(files) == 0 {
		framework.SkipOrFail(t, &framework.MissingDependencyError{Msg: "no KFP v1 pipelines in " + shared,
			Fix: "the shared test data must sit beside the repository, as in CI"})
	}
	ns := newNamespace(t)
	c := clientFor(t, framework.AdminUser)
	p := c.PipelinesV1beta1()
	if _, err := p.Experiments(ns).Create(t.Context(), &v1beta1.Experiment{ObjectMeta: metav1.ObjectMeta{Name: "kfp"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Pipelines(ns).Create(t.Context(), &v1beta1.Pipeline{ObjectMeta: metav1.ObjectMeta{Name: "kfp"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		name := strings.ReplaceAll(strings.TrimSuffix(filepath.Base(file), ".yaml"), "_", "-")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := utilyaml.ToJSON(data)
			if err != nil {
				t.Fatal(err)
			}
			version := &v1beta1.PipelineVersion{ObjectMeta: metav1.ObjectMeta{Name: name},
				Spec: v1beta1.PipelineVersionSpec{PipelineName: "kfp"}}
			version.Spec.Workflow.Raw = raw
			created, err := p.PipelineVersions(ns).Create(t.Context(), version, metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("uploading %s: %v", file, err)
			}
			var params []v1beta1.RunParameter
			var want []string
			for _, param := range created.Status.Parameters {
				params = append(params, v1beta1.RunParameter{Name: param.Name, Value: "from-run-" + param.Name})
				want = append(want, param.Name+"=from-run-"+param.Name)
			}
			r := newRun(name, "kfp", params...)
			r.Spec.PipelineRef.VersionName = name
			r.Spec.ServiceAccountName = "pipeline-runner"
			r, err = p.Runs(ns).Create(t.Context(), r, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got := waitRun(t, c, ns, name, "a workflow", func(r *v1beta1.Run) bool {
				return r.Status.WorkflowName != "" || r.Status.Phase == v1beta1.RunPhaseError
			})
			if got.Status.Phase == v1beta1.RunPhaseError {
				t.Fatalf("the run could not be executed: %s", got.Status.Message)
			}
			wf, err := argo.Dynamic.Resource(argodriver.Workflows).Namespace(ns).Get(t.Context(), got.Status.WorkflowName, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if ref := metav1.GetControllerOf(wf); ref == nil || ref.UID != r.UID || ref.Kind != "Run" {
				t.Errorf("workflow's controller %+v, want run %s", ref, r.UID)
			}
			if wf.GetLabels()[run.RunLabel] != name {
				t.Errorf("workflow labels %v", wf.GetLabels())
			}
			if sa, _, _ := unstructured.NestedString(wf.Object, "spec", "serviceAccountName"); sa != "pipeline-runner" {
				t.Errorf("workflow's service account %q", sa)
			}
			if got := parameters(wf); !slices.Equal(sets.List(sets.New(got...)), sets.List(sets.New(want...))) {
				t.Errorf("workflow parameters %v, want %v", got, want)
			}
			// The templates are the compiler's, unchanged.
			var sent map[string]any
			if err := utilyaml.Unmarshal(data, &sent); err != nil {
				t.Fatal(err)
			}
			wantTemplates := sent["spec"].(map[string]any)["templates"].([]any)
			gotTemplates, _, _ := unstructured.NestedSlice(wf.Object, "spec", "templates")
			if len(gotTemplates) != len(wantTemplates) {
				t.Errorf("workflow has %d templates, the pipeline %d", len(gotTemplates), len(wantTemplates))
			}
		})
	}
}

// TestUndeclaredParameter: a run may not pass a parameter its pipeline does not declare.
func TestUndeclaredParameter(t *testing.T) {
	setup(t)
	ns := newNamespace(t)
	c := clientFor(t, framework.AdminUser)
	fixture(t, c, ns, "p", twoSteps)
	_, err := c.PipelinesV1beta1().Runs(ns).Create(t.Context(), newRun("r", "p", v1beta1.RunParameter{Name: "nope", Value: "1"}), metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.parameters") || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("undeclared parameter: %v, want 422 naming spec.parameters and nope", err)
	}
	if wfs := workflows(t, ns, "r"); len(wfs) != 0 {
		t.Errorf("a workflow was created for a rejected run")
	}
}

// TestRunFollowsItsWorkflow: Pending, Running, Succeeded, with times and steps.
func TestRunFollowsItsWorkflow(t *testing.T) {
	setup(t)
	ns := newNamespace(t)
	c := clientFor(t, framework.AdminUser)
	fixture(t, c, ns, "p", twoSteps)
	if _, err := c.PipelinesV1beta1().Runs(ns).Create(t.Context(), newRun("r", "p", v1beta1.RunParameter{Name: "message", Value: "hi"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got := waitRun(t, c, ns, "r", "a workflow", func(r *v1beta1.Run) bool { return r.Status.WorkflowName != "" })
	if got.Status.Phase != v1beta1.RunPhasePending || got.Status.Attempts != 1 || got.Status.WorkflowName != "r" {
		t.Errorf("after the workflow was created: phase %q, attempts %d, workflow %q", got.Status.Phase, got.Status.Attempts, got.Status.WorkflowName)
	}
	exp, err := c.PipelinesV1beta1().Experiments(ns).Get(t.Context(), "p", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if last := exp.Status.LastRunCreatedAt; last == nil || !last.Equal(&got.CreationTimestamp) {
		t.Errorf("experiment's lastRunCreatedAt %v, want the run's creation %v", last, got.CreationTimestamp)
	}
	wf, err := argo.Wait(t.Context(), ns, "r", defaultWait)
	if err != nil {
		t.Fatal(err)
	}
	if params := parameters(wf); !slices.Equal(params, []string{"message=hi"}) {
		t.Errorf("workflow parameters %v", params)
	}

	if err := argo.Pending(t.Context(), ns, "r"); err != nil {
		t.Fatal(err)
	}
	if err := argo.Run(t.Context(), ns, "r"); err != nil {
		t.Fatal(err)
	}
	got = waitRun(t, c, ns, "r", "Running", inPhase(v1beta1.RunPhaseRunning))
	if got.Status.StartTime == nil || got.Status.CompletionTime != nil {
		t.Errorf("running: start %v, completion %v", got.Status.StartTime, got.Status.CompletionTime)
	}
	var steps []string
	for _, s := range got.Status.Steps {
		steps = append(steps, s.Name+":"+s.Template+":"+s.Phase)
	}
	slices.Sort(steps)
	if want := []string{"again:echo:Running", "say:echo:Running"}; !slices.Equal(steps, want) {
		t.Errorf("steps %v, want %v", steps, want)
	}

	if err := argo.Finish(t.Context(), ns, "r", "Succeeded", ""); err != nil {
		t.Fatal(err)
	}
	got = waitRun(t, c, ns, "r", "Succeeded", inPhase(v1beta1.RunPhaseSucceeded))
	if got.Status.CompletionTime == nil || got.Status.CompletionTime.Before(got.Status.StartTime) {
		t.Errorf("succeeded: start %v, completion %v", got.Status.StartTime, got.Status.CompletionTime)
	}
	for _, s := range got.Status.Steps {
		if s.Phase != "Succeeded" || s.CompletionTime == nil {
			t.Errorf("step %s: %+v", s.Name, s)
		}
	}
	out, _, err := env.Kubectl(t.Context(), framework.AdminUser, "get", "runs", "-n", ns, "r")
	if err != nil || !strings.Contains(out, "Succeeded") {
		t.Errorf("kubectl get runs: %v\n%s", err, out)
	}
}

// runningRun creates run "r" of pipeline "p" (twoSteps) in a namespace of its own and
// waits until it runs, as Argo started its workflow.
func runningRun(t *testing.T) (versioned.Interface, string) {
	t.Helper()
	setup(t)
	ns := newNamespace(t)
	c := clientFor(t, framework.AdminUser)
	fixture(t, c, ns, "p", twoSteps)
	if _, err := c.PipelinesV1beta1().Runs(ns).Create(t.Context(), newRun("r", "p"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := argo.Wait(t.Context(), ns, "r", defaultWait); err != nil {
		t.Fatal(err)
	}
	if err := argo.Run(t.Context(), ns, "r"); err != nil {
		t.Fatal(err)
	}
	waitRun(t, c, ns, "r", "Running", inPhase(v1beta1.RunPhaseRunning))
	return c, ns
}

// TestRunFails: a failed workflow fails the run, with Argo's message.
func TestRunFails(t *testing.T) {
	c, ns := runningRun(t)
	if err := argo.Finish(t.Context(), ns, "r", "Failed", "child 'say' failed"); err != nil {
		t.Fatal(err)
	}
	got := waitRun(t, c, ns, "r", "Failed", inPhase(v1beta1.RunPhaseFailed))
	if got.Status.Message != "child 'say' failed" || got.Status.CompletionTime == nil {
		t.Errorf("failed run: message %q, completion %v", got.Status.Message, got.Status.CompletionTime)
	}
}

// TestTerminate: terminate mid-run shuts the workflow down; the run goes Canceling, then
// Canceled once Argo stopped it.
func TestTerminate(t *testing.T) {
	c, ns := runningRun(t)
	if err := action(t.Context(), c, ns, "runs", "r", "terminate"); err != nil {
		t.Fatal(err)
	}
	waitRun(t, c, ns, "r", "Canceling", inPhase(v1beta1.RunPhaseCanceling))
	eventually(t, func() error {
		shut, err := argo.HonourShutdown(t.Context(), ns, "r")
		if err == nil && !shut {
			err = fmt.Errorf("workflow's spec.shutdown is not Terminate")
		}
		return err
	})
	got := waitRun(t, c, ns, "r", "Canceled", inPhase(v1beta1.RunPhaseCanceled))
	if got.Status.CompletionTime == nil {
		t.Errorf("canceled run has no completion time")
	}
	// Nothing more to terminate.
	if err := action(t.Context(), c, ns, "runs", "r", "terminate"); !apierrors.IsConflict(err) {
		t.Errorf("terminate of a canceled run: %v, want 409", err)
	}
}

// TestRetry: retry of a failed run runs its failed step again in the same workflow, as
// Kubeflow Pipelines does, keeping the step that succeeded; the second attempt succeeds.
func TestRetry(t *testing.T) {
	c, ns := runningRun(t)
	if err := argo.FailStep(t.Context(), ns, "r", "again", "out of memory"); err != nil {
		t.Fatal(err)
	}
	first := waitRun(t, c, ns, "r", "Failed", inPhase(v1beta1.RunPhaseFailed))

	if err := action(t.Context(), c, ns, "runs", "r", "retry"); err != nil {
		t.Fatal(err)
	}
	got := waitRun(t, c, ns, "r", "the second attempt", func(r *v1beta1.Run) bool { return r.Status.Attempts == 2 })
	if got.Status.Phase != v1beta1.RunPhaseRunning || got.Status.WorkflowName != "r" {
		t.Errorf("retried: phase %q, workflow %q; want Running in the same workflow", got.Status.Phase, got.Status.WorkflowName)
	}
	// What Argo's controller finds: the workflow Running again, the step that succeeded
	// kept with its pod, the failed one gone with its pod, to be run again.
	wf, err := argo.Dynamic.Resource(argodriver.Workflows).Namespace(ns).Get(t.Context(), "r", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if phase, _, _ := unstructured.NestedString(wf.Object, "status", "phase"); phase != "Running" {
		t.Errorf("retried workflow is %q", phase)
	}
	nodes, _, _ := unstructured.NestedMap(wf.Object, "status", "nodes")
	var kept []string
	for _, n := range nodes {
		n := n.(map[string]interface{})
		kept = append(kept, fmt.Sprintf("%v:%v", n["displayName"], n["phase"]))
	}
	slices.Sort(kept)
	if want := []string{"r:Running", "say:Succeeded"}; !slices.Equal(kept, want) {
		t.Errorf("nodes after the retry %v, want %v", kept, want)
	}
	pods, err := env.ControlPlane().Client().CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: argodriver.WorkflowLabel + "=r"})
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, p := range pods.Items {
		// Deleted: a kubelet would finish the graceful deletion; the stand-in does not.
		if p.DeletionTimestamp == nil {
			left = append(left, p.Annotations[argodriver.NodeNameAnnotation])
		}
	}
	if want := []string{"r.say"}; !slices.Equal(left, want) {
		t.Errorf("pods after the retry: %v, want %v", left, want)
	}

	if err := argo.Run(t.Context(), ns, "r"); err != nil {
		t.Fatal(err)
	}
	if err := argo.Finish(t.Context(), ns, "r", "Succeeded", ""); err != nil {
		t.Fatal(err)
	}
	got = waitRun(t, c, ns, "r", "Succeeded", inPhase(v1beta1.RunPhaseSucceeded))
	if got.Status.Attempts != 2 || !got.Status.StartTime.Equal(first.Status.StartTime) {
		t.Errorf("after the retry: attempts %d, start %v (first attempt started %v)", got.Status.Attempts, got.Status.StartTime, first.Status.StartTime)
	}
	if n := len(workflows(t, ns, "r")); n != 1 {
		t.Errorf("%d workflows for the run, want 1", n)
	}
	// A succeeded run is not retried.
	if err := action(t.Context(), c, ns, "runs", "r", "retry"); !apierrors.IsConflict(err) {
		t.Errorf("retry of a succeeded run: %v, want 409", err)
	}
}

// TestRestartCreatesNoSecondWorkflow: killing the server while runs are being started
// and starting it again leaves exactly one workflow per run.
func TestRestartCreatesNoSecondWorkflow(t *testing.T) {
	setup(t)
	ns := newNamespace(t)
	c := clientFor(t, framework.AdminUser)
	fixture(t, c, ns, "p", twoSteps)
	const n = 10
	for i := range n {
		if _, err := c.PipelinesV1beta1().Runs(ns).Create(t.Context(), newRun(fmt.Sprintf("r%d", i), "p"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Killed while it creates the workflows of the runs above: some exist, some not.
	if err := env.RestartServer(t.Context(), framework.Kill); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		name := fmt.Sprintf("r%d", i)
		waitRun(t, c, ns, name, "a workflow", func(r *v1beta1.Run) bool { return r.Status.WorkflowName != "" })
		if err := argo.Run(t.Context(), ns, name); err != nil {
			t.Fatal(err)
		}
		waitRun(t, c, ns, name, "Running", inPhase(v1beta1.RunPhaseRunning))
	}
	all, err := argo.Dynamic.Resource(argodriver.Workflows).Namespace(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	perRun := map[string]int{}
	for _, wf := range all.Items {
		perRun[wf.GetLabels()[run.RunLabel]]++
	}
	for i := range n {
		if got := perRun[fmt.Sprintf("r%d", i)]; got != 1 {
			t.Errorf("run r%d has %d workflows, want 1", i, got)
		}
	}
	if len(all.Items) != n {
		t.Errorf("%d workflows for %d runs", len(all.Items), n)
	}
}
