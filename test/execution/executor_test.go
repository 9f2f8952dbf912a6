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
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/controller/run"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/controlplane"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/framework"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/shareddata"
)

// workflows lists the workflows of a run.
func workflows(t *testing.T, ns, runName string) []unstructured.Unstructured {
	t.Helper()
	list, err := dyn.Resource(workflowsResource).Namespace(ns).List(t.Context(),
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
	dir := shareddata.Dir(t, "kfp-v1")
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) == 0 {
		t.Fatalf("no KFP v1 pipelines in %s", dir)
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
			// Argo's controller may end the workflow in Error at once (the service account
			// does not exist, outputs have no artifact repository): that is not this test's.
			if got.Status.WorkflowName == "" {
				t.Fatalf("the run could not be executed: %s", got.Status.Message)
			}
			wf, err := dyn.Resource(workflowsResource).Namespace(ns).Get(t.Context(), got.Status.WorkflowName, metav1.GetOptions{})
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

// recordPhases watches run name in ns from now on and returns a function that waits until
// the watch has delivered the run at resourceVersion rv (a version the test read: a get
// sees a write before a watch does), stops the watch and returns the phases it saw, in
// order.
func recordPhases(t *testing.T, c versioned.Interface, ns, name string) func(rv string) []v1beta1.RunPhase {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	w, err := c.PipelinesV1beta1().Runs(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		phases []v1beta1.RunPhase
		seen   = map[string]bool{}
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			r, ok := ev.Object.(*v1beta1.Run)
			if !ok || r.Name != name {
				continue
			}
			mu.Lock()
			seen[r.ResourceVersion] = true
			if n := len(phases); r.Status.Phase != "" && (n == 0 || phases[n-1] != r.Status.Phase) {
				phases = append(phases, r.Status.Phase)
			}
			mu.Unlock()
		}
	}()
	return func(rv string) []v1beta1.RunPhase {
		_ = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, defaultWait, true, func(context.Context) (bool, error) {
			mu.Lock()
			defer mu.Unlock()
			return seen[rv], nil
		})
		w.Stop()
		cancel()
		<-done
		return phases
	}
}

// waitWorkflow returns the workflow once it exists.
func waitWorkflow(t *testing.T, ns, name string) *unstructured.Unstructured {
	t.Helper()
	var wf *unstructured.Unstructured
	eventually(t, func() error {
		var err error
		wf, err = dyn.Resource(workflowsResource).Namespace(ns).Get(t.Context(), name, metav1.GetOptions{})
		return err
	})
	return wf
}

// stepPods returns the pods of a workflow's step (Argo's node "<workflow>.<task>") that
// are not being deleted.
func stepPods(t *testing.T, ns, wf, task string) []corev1.Pod {
	t.Helper()
	list, err := env.ControlPlane().Client().CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: workflowLabel + "=" + wf})
	if err != nil {
		t.Fatal(err)
	}
	var pods []corev1.Pod
	for _, p := range list.Items {
		if p.Annotations[nodeNameAnnotation] == wf+"."+task && p.DeletionTimestamp == nil {
			pods = append(pods, p)
		}
	}
	return pods
}

// waitStepPod waits until the step has a pod in phase, other than the pod not, and returns it.
func waitStepPod(t *testing.T, ns, wf, task string, phase corev1.PodPhase, not types.UID) corev1.Pod {
	t.Helper()
	var found corev1.Pod
	eventually(t, func() error {
		for _, p := range stepPods(t, ns, wf, task) {
			if p.Status.Phase == phase && p.UID != not {
				found = p
				return nil
			}
		}
		return fmt.Errorf("no %s pod for step %s of workflow %s/%s", phase, task, ns, wf)
	})
	return found
}

// endPod tells kwok to end a pod held Running (controlplane.PodOutcomeAnnotation).
func endPod(t *testing.T, pod corev1.Pod, outcome string) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, controlplane.PodOutcomeAnnotation, outcome)
	_, err := env.ControlPlane().Client().CoreV1().Pods(pod.Namespace).Patch(t.Context(), pod.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	if err != nil {
		t.Fatalf("ending pod %s: %v", pod.Name, err)
	}
}

// stepPhases are a run's steps as name:template:phase, sorted.
func stepPhases(r *v1beta1.Run) []string {
	var steps []string
	for _, s := range r.Status.Steps {
		steps = append(steps, s.Name+":"+s.Template+":"+s.Phase)
	}
	slices.Sort(steps)
	return steps
}

// TestRunFollowsItsWorkflow: Argo's controller runs the workflow, kwok its pods; the run
// goes Pending, Running, Succeeded, with times and steps.
func TestRunFollowsItsWorkflow(t *testing.T) {
	setup(t)
	ns := newNamespace(t)
	c := clientFor(t, framework.AdminUser)
	fixture(t, c, ns, "p", twoSteps)
	phases := recordPhases(t, c, ns, "r")
	if _, err := c.PipelinesV1beta1().Runs(ns).Create(t.Context(), newRun("r", "p", v1beta1.RunParameter{Name: "message", Value: "hi"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got := waitRun(t, c, ns, "r", "a workflow", func(r *v1beta1.Run) bool { return r.Status.WorkflowName != "" })
	if got.Status.Attempts != 1 || got.Status.WorkflowName != "r" {
		t.Errorf("after the workflow was created: attempts %d, workflow %q", got.Status.Attempts, got.Status.WorkflowName)
	}
	exp, err := c.PipelinesV1beta1().Experiments(ns).Get(t.Context(), "p", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if last := exp.Status.LastRunCreatedAt; last == nil || !last.Equal(&got.CreationTimestamp) {
		t.Errorf("experiment's lastRunCreatedAt %v, want the run's creation %v", last, got.CreationTimestamp)
	}
	wf, err := dyn.Resource(workflowsResource).Namespace(ns).Get(t.Context(), "r", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if params := parameters(wf); !slices.Contains(params, "message=hi") {
		t.Errorf("workflow parameters %v", params)
	}

	got = waitRun(t, c, ns, "r", "Succeeded", inPhase(v1beta1.RunPhaseSucceeded))
	if want, seen := []v1beta1.RunPhase{v1beta1.RunPhasePending, v1beta1.RunPhaseRunning, v1beta1.RunPhaseSucceeded}, phases(got.ResourceVersion); !slices.Equal(seen, want) {
		t.Errorf("the run went through %v, want %v", seen, want)
	}
	if got.Status.StartTime == nil || got.Status.CompletionTime == nil || got.Status.CompletionTime.Before(got.Status.StartTime) {
		t.Errorf("succeeded: start %v, completion %v", got.Status.StartTime, got.Status.CompletionTime)
	}
	if want := []string{"again:echo:Succeeded", "say:echo:Succeeded"}; !slices.Equal(stepPhases(got), want) {
		t.Errorf("steps %v, want %v", stepPhases(got), want)
	}
	for _, s := range got.Status.Steps {
		if s.CompletionTime == nil {
			t.Errorf("step %s has no completion time: %+v", s.Name, s)
		}
	}
	// Each step ran in a pod of its own on the simulated node.
	for _, task := range []string{"say", "again"} {
		pods := stepPods(t, ns, "r", task)
		if len(pods) != 1 || pods[0].Spec.NodeName != framework.SimulatedNode || pods[0].Status.Phase != corev1.PodSucceeded {
			t.Errorf("pods of step %s: %d, want one Succeeded on %s", task, len(pods), framework.SimulatedNode)
		}
	}
	out, _, err := env.Kubectl(t.Context(), framework.AdminUser, "get", "runs", "-n", ns, "r")
	if err != nil || !strings.Contains(out, "Succeeded") {
		t.Errorf("kubectl get runs: %v\n%s", err, out)
	}
}

// TestRunFails: a step whose container fails fails the run; the step says why.
func TestRunFails(t *testing.T) {
	setup(t)
	ns := newNamespace(t)
	c := clientFor(t, framework.AdminUser)
	fixture(t, c, ns, "p", twoSteps)
	if _, err := c.PipelinesV1beta1().Runs(ns).Create(t.Context(), newRun("r", "p", v1beta1.RunParameter{Name: "again-outcome", Value: "Failed"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got := waitRun(t, c, ns, "r", "Failed", inPhase(v1beta1.RunPhaseFailed))
	if got.Status.CompletionTime == nil {
		t.Errorf("failed run has no completion time")
	}
	if want := []string{"again:echo:Failed", "say:echo:Succeeded"}; !slices.Equal(stepPhases(got), want) {
		t.Errorf("steps %v, want %v", stepPhases(got), want)
	}
	for _, s := range got.Status.Steps {
		if s.Name == "again" && !strings.Contains(s.Message, "exit code 1") {
			t.Errorf("failed step's message %q, want Argo's message with the exit code", s.Message)
		}
	}
}

// runningRun creates run "r" of pipeline "p" (twoSteps) in a namespace of its own whose
// step task is held Running, and waits until the step's pod and the run are Running.
func runningRun(t *testing.T, task string) (versioned.Interface, string, corev1.Pod) {
	t.Helper()
	setup(t)
	ns := newNamespace(t)
	c := clientFor(t, framework.AdminUser)
	fixture(t, c, ns, "p", twoSteps)
	if _, err := c.PipelinesV1beta1().Runs(ns).Create(t.Context(), newRun("r", "p", v1beta1.RunParameter{Name: task + "-outcome", Value: "Running"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := waitStepPod(t, ns, "r", task, corev1.PodRunning, "")
	waitRun(t, c, ns, "r", "Running", inPhase(v1beta1.RunPhaseRunning))
	return c, ns, pod
}

// TestTerminate: terminate mid-run shuts the workflow down; the run goes Canceling, then
// Canceled once Argo stopped it, and the steps after the running one never start.
func TestTerminate(t *testing.T) {
	c, ns, _ := runningRun(t, "say")
	if err := action(t.Context(), c, ns, "runs", "r", "terminate"); err != nil {
		t.Fatal(err)
	}
	waitRun(t, c, ns, "r", "Canceling", func(r *v1beta1.Run) bool {
		return r.Status.Phase == v1beta1.RunPhaseCanceling || r.Status.Phase == v1beta1.RunPhaseCanceled
	})
	got := waitRun(t, c, ns, "r", "Canceled", inPhase(v1beta1.RunPhaseCanceled))
	if got.Status.CompletionTime == nil {
		t.Errorf("canceled run has no completion time")
	}
	wf, err := dyn.Resource(workflowsResource).Namespace(ns).Get(t.Context(), "r", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if shutdown, _, _ := unstructured.NestedString(wf.Object, "spec", "shutdown"); shutdown != "Terminate" {
		t.Errorf("workflow's spec.shutdown %q, want Terminate", shutdown)
	}
	if pods := stepPods(t, ns, "r", "again"); len(pods) != 0 {
		t.Errorf("step again started after the run was terminated")
	}
	// Nothing more to terminate.
	if err := action(t.Context(), c, ns, "runs", "r", "terminate"); !apierrors.IsConflict(err) {
		t.Errorf("terminate of a canceled run: %v, want 409", err)
	}
}

// TestRetry: retry of a failed run turns its workflow back into a running one in which
// only the failed step is left to run, as Kubeflow Pipelines does: the step that succeeded
// keeps its node and pod, the failed one loses both; Argo's controller then runs the failed
// step again, and the run succeeds on its second attempt.
func TestRetry(t *testing.T) {
	c, ns, again := runningRun(t, "again")
	say := stepPods(t, ns, "r", "say")
	if len(say) != 1 {
		t.Fatalf("%d pods for step say", len(say))
	}
	endPod(t, again, "Failed")
	first := waitRun(t, c, ns, "r", "Failed", inPhase(v1beta1.RunPhaseFailed))

	if err := action(t.Context(), c, ns, "runs", "r", "retry"); err != nil {
		t.Fatal(err)
	}
	got := waitRun(t, c, ns, "r", "the second attempt", func(r *v1beta1.Run) bool { return r.Status.Attempts == 2 })
	if got.Status.WorkflowName != "r" {
		t.Errorf("retried in workflow %q, want the same workflow", got.Status.WorkflowName)
	}
	// The failed step runs again in a new pod (its parameter keeps it Running); the step
	// that succeeded is not run again.
	second := waitStepPod(t, ns, "r", "again", corev1.PodRunning, again.UID)
	waitRun(t, c, ns, "r", "Running", inPhase(v1beta1.RunPhaseRunning))
	if now := stepPods(t, ns, "r", "say"); len(now) != 1 || now[0].UID != say[0].UID {
		t.Errorf("step say's pod was replaced or deleted")
	}
	// A running run is not retried.
	if err := action(t.Context(), c, ns, "runs", "r", "retry"); !apierrors.IsConflict(err) {
		t.Errorf("retry of a running run: %v, want 409", err)
	}

	endPod(t, second, "Succeeded")
	got = waitRun(t, c, ns, "r", "Succeeded", inPhase(v1beta1.RunPhaseSucceeded))
	if got.Status.Attempts != 2 || !got.Status.StartTime.Equal(first.Status.StartTime) {
		t.Errorf("after the retry: attempts %d, start %v (first attempt started %v)", got.Status.Attempts, got.Status.StartTime, first.Status.StartTime)
	}
	if want := []string{"again:echo:Succeeded", "say:echo:Succeeded"}; !slices.Equal(stepPhases(got), want) {
		t.Errorf("steps after the retry %v, want %v", stepPhases(got), want)
	}
	if now := stepPods(t, ns, "r", "say"); len(now) != 1 || now[0].UID != say[0].UID {
		t.Errorf("step say ran again")
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
	fixture(t, c, ns, "p", oneStep)
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
		waitRun(t, c, ns, name, "Succeeded", inPhase(v1beta1.RunPhaseSucceeded))
	}
	all, err := dyn.Resource(workflowsResource).Namespace(ns).List(t.Context(), metav1.ListOptions{})
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
