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

// Package argodriver stands in for Argo's workflow controller in tests. It is not
// Argo: no pod runs anything. Tests call it to move a Workflow through the phases
// Argo's controller would (Pending, Running, Succeeded, Failed), write node statuses
// the way Argo does (a DAG node for the workflow, a Pod node per DAG task of the
// entrypoint), create the step pods with Argo's labels and annotations, and honour
// spec.shutdown as Argo does: the workflow fails with Argo's message.
//
// Everything it writes goes through kube-apiserver, so Argo's CRD schema checks it.
package argodriver

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

// Argo's names, as its controller writes them.
const (
	WorkflowLabel      = "workflows.argoproj.io/workflow"
	CompletedLabel     = "workflows.argoproj.io/completed"
	NodeNameAnnotation = "workflows.argoproj.io/node-name"
	MainContainer      = "main"
	// ShutdownMessage is the message Argo gives a workflow it terminated.
	ShutdownMessage = "Stopped with strategy 'Terminate'"
)

// Workflows is Argo's Workflow resource.
var Workflows = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "workflows"}

// Driver moves workflows through their phases.
type Driver struct {
	Dynamic dynamic.Interface
	Kube    kubernetes.Interface
	// Node is the node step pods are bound to (see Kubelet); empty leaves them unbound.
	Node string
}

// Wait returns the workflow once it exists.
func (d *Driver) Wait(ctx context.Context, namespace, name string, timeout time.Duration) (*unstructured.Unstructured, error) {
	var wf *unstructured.Unstructured
	var last error
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		wf, last = d.Dynamic.Resource(Workflows).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
		return last == nil, nil
	})
	if err != nil {
		return nil, fmt.Errorf("workflow %s/%s did not appear: %v (last error: %v)", namespace, name, err, last)
	}
	return wf, nil
}

// Step is a step of a workflow: a DAG task of its entrypoint.
type Step struct {
	// Task is the task's name, Template the template it runs.
	Task, Template string
}

// Steps are the DAG tasks of the workflow's entrypoint, or the entrypoint itself when it
// is not a DAG.
func Steps(wf *unstructured.Unstructured) []Step {
	entry, _, _ := unstructured.NestedString(wf.Object, "spec", "entrypoint")
	templates, _, _ := unstructured.NestedSlice(wf.Object, "spec", "templates")
	for _, t := range templates {
		t, _ := t.(map[string]interface{})
		if name, _ := t["name"].(string); name != entry {
			continue
		}
		tasks, _, _ := unstructured.NestedSlice(t, "dag", "tasks")
		var steps []Step
		for _, task := range tasks {
			task, _ := task.(map[string]interface{})
			name, _ := task["name"].(string)
			template, _ := task["template"].(string)
			steps = append(steps, Step{Task: name, Template: template})
		}
		if len(steps) > 0 {
			return steps
		}
	}
	return []Step{{Task: entry, Template: entry}}
}

// NodeName is Argo's node name of a step: "<workflow>.<task>".
func NodeName(workflow string, s Step) string { return workflow + "." + s.Task }

// nodeID is Argo's node ID of a step: the workflow's name and a hash of the node name.
func nodeID(workflow string, s Step) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(NodeName(workflow, s)))
	return fmt.Sprintf("%s-%d", workflow, h.Sum32())
}

// Run moves a workflow to Running, its steps with it, and creates the steps' pods.
func (d *Driver) Run(ctx context.Context, namespace, name string) error {
	wf, err := d.setPhase(ctx, namespace, name, "Running", "")
	if err != nil {
		return err
	}
	if d.Kube == nil {
		return nil
	}
	for _, s := range Steps(wf) {
		if err := d.createPod(ctx, wf, s); err != nil {
			return err
		}
	}
	return nil
}

// Pending moves a workflow to Pending, as Argo does when it first sees it.
func (d *Driver) Pending(ctx context.Context, namespace, name string) error {
	_, err := d.setPhase(ctx, namespace, name, "Pending", "")
	return err
}

// Finish ends a workflow in phase (Succeeded, Failed or Error) with message.
func (d *Driver) Finish(ctx context.Context, namespace, name, phase, message string) error {
	_, err := d.setPhase(ctx, namespace, name, phase, message)
	return err
}

// FailStep ends a workflow as Argo does when one step fails: that step's node and the
// workflow Failed with message, the steps that ran before it Succeeded, the ones after
// it never started (Argo leaves them out of status.nodes).
func (d *Driver) FailStep(ctx context.Context, namespace, name, task, message string) error {
	_, err := d.update(ctx, namespace, name, "Failed", message, func(s Step, i, failed int) string {
		switch {
		case i < failed:
			return "Succeeded"
		case i == failed:
			return "Failed"
		}
		return ""
	}, task)
	return err
}

// HonourShutdown does what Argo does once spec.shutdown is Terminate: it fails the
// workflow and its running steps. It reports whether the workflow asked for it.
func (d *Driver) HonourShutdown(ctx context.Context, namespace, name string) (bool, error) {
	wf, err := d.Dynamic.Resource(Workflows).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false, err
	}
	if s, _, _ := unstructured.NestedString(wf.Object, "spec", "shutdown"); s != "Terminate" {
		return false, nil
	}
	_, err = d.setPhase(ctx, namespace, name, "Failed", ShutdownMessage)
	return true, err
}

// setPhase writes the workflow's status in phase, with a node per step in the same
// phase. Argo's CRD has no status subresource: Argo updates the whole object.
func (d *Driver) setPhase(ctx context.Context, namespace, name, phase, message string) (*unstructured.Unstructured, error) {
	return d.update(ctx, namespace, name, phase, message, func(Step, int, int) string { return phase }, "")
}

// update writes the workflow's status in phase with message, and a node per step in the
// phase stepPhase gives it (none if ""), told the index of the step and of failedTask.
func (d *Driver) update(ctx context.Context, namespace, name, phase, message string, stepPhase func(s Step, i, failed int) string, failedTask string) (*unstructured.Unstructured, error) {
	client := d.Dynamic.Resource(Workflows).Namespace(namespace)
	var updated *unstructured.Unstructured
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		wf, err := client.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		now := time.Now().UTC().Format(time.RFC3339)
		status, _, _ := unstructured.NestedMap(wf.Object, "status")
		if status == nil {
			status = map[string]interface{}{}
		}
		started, _ := status["startedAt"].(string)
		if started == "" {
			started = now
		}
		finished := ""
		if phase != "Pending" && phase != "Running" {
			finished = now
		}
		status["phase"] = phase
		status["startedAt"] = started
		setOrDelete(status, "finishedAt", finished)
		if message != "" {
			status["message"] = message
		} else {
			delete(status, "message")
		}
		nodes := map[string]interface{}{
			name: map[string]interface{}{
				"id": name, "name": name, "displayName": name, "type": "DAG", "phase": phase,
				"templateName": wf.Object["spec"].(map[string]interface{})["entrypoint"],
				"startedAt":    started,
			},
		}
		setOrDelete(nodes[name].(map[string]interface{}), "finishedAt", finished)
		steps := Steps(wf)
		failed := slices.IndexFunc(steps, func(s Step) bool { return s.Task == failedTask })
		for i, s := range steps {
			stepPhase := stepPhase(s, i, failed)
			if stepPhase == "" {
				continue
			}
			id := nodeID(name, s)
			n := map[string]interface{}{
				"id": id, "name": NodeName(name, s), "displayName": s.Task, "type": "Pod", "phase": stepPhase,
				"templateName": s.Template, "startedAt": started,
			}
			setOrDelete(n, "finishedAt", finished)
			if message != "" && stepPhase == phase {
				n["message"] = message
			}
			nodes[id] = n
		}
		status["nodes"] = nodes
		wf.Object["status"] = status
		// Argo labels the workflows it has finished.
		labels := wf.GetLabels()
		if finished != "" {
			if labels == nil {
				labels = map[string]string{}
			}
			labels[CompletedLabel] = "true"
		} else {
			delete(labels, CompletedLabel)
		}
		wf.SetLabels(labels)
		updated, err = client.Update(ctx, wf, metav1.UpdateOptions{FieldManager: "argodriver"})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("workflow %s/%s to %s: %w", namespace, name, phase, err)
	}
	return updated, nil
}

// setOrDelete sets m[key] to v, or removes it when v is empty: Argo omits times it has
// not got.
func setOrDelete(m map[string]interface{}, key, v string) {
	if v == "" {
		delete(m, key)
		return
	}
	m[key] = v
}

// createPod creates a step's pod as Argo would: labelled with the workflow, annotated
// with the node name, owned by the workflow, its step in container main.
func (d *Driver) createPod(ctx context.Context, wf *unstructured.Unstructured, s Step) error {
	name := nodeID(wf.GetName(), s)
	labels := map[string]string{WorkflowLabel: wf.GetName()}
	// spec.podMetadata.labels go onto every pod.
	podLabels, _, _ := unstructured.NestedStringMap(wf.Object, "spec", "podMetadata", "labels")
	for k, v := range podLabels {
		labels[k] = v
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: wf.GetNamespace(), Labels: labels,
			Annotations: map[string]string{NodeNameAnnotation: NodeName(wf.GetName(), s)},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "argoproj.io/v1alpha1", Kind: "Workflow", Name: wf.GetName(), UID: wf.GetUID(),
				Controller: ptr.To(true),
			}},
		},
		Spec: corev1.PodSpec{
			NodeName:                     d.Node,
			AutomountServiceAccountToken: ptr.To(false),
			Containers:                   []corev1.Container{{Name: MainContainer, Image: "argodriver.invalid/step:" + s.Template}},
		},
	}
	if err := d.ensureServiceAccount(ctx, wf); err != nil {
		return err
	}
	if sa, _, _ := unstructured.NestedString(wf.Object, "spec", "serviceAccountName"); sa != "" {
		pod.Spec.ServiceAccountName = sa
	}
	_, err := d.Kube.CoreV1().Pods(wf.GetNamespace()).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating pod of step %s: %w", s.Task, err)
	}
	return nil
}

// ensureServiceAccount creates the service account the pods run as: without a
// controller-manager, not even "default" exists, and admission requires it.
func (d *Driver) ensureServiceAccount(ctx context.Context, wf *unstructured.Unstructured) error {
	name, _, _ := unstructured.NestedString(wf.Object, "spec", "serviceAccountName")
	if name == "" {
		name = "default"
	}
	_, err := d.Kube.CoreV1().ServiceAccounts(wf.GetNamespace()).Create(ctx,
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating service account %s: %w", name, err)
	}
	return nil
}
