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

package run

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/compiler"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/pipelinespec"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/workflow"
)

const (
	// RunLabel names the run on its workflows and their pods.
	RunLabel = "pipelines.kubeflow.org/run"
	// AttemptAnnotation is the attempt of the run a workflow carries out: 1 for the first,
	// one more for each retry.
	AttemptAnnotation = "pipelines.kubeflow.org/attempt"
)

// WorkflowName is the name of the workflow created for the given attempt of a run (a
// retry reuses the run's workflow while it exists).
// It is deterministic, so that an executor that restarts after creating a workflow, or
// a second one, finds the workflow instead of creating another: the run's own name for
// the first attempt and "<run>-retry<n>" for the n-th retry. Argo puts the workflow's
// name on its pods as a label value, so it is cut to 63 characters, keeping a hash of
// what was cut off.
func WorkflowName(run string, attempt int32) string {
	if attempt <= 1 {
		return run
	}
	suffix := "-retry" + strconv.Itoa(int(attempt-1))
	name := run + suffix
	if len(name) <= utilvalidation.DNS1123LabelMaxLength {
		return name
	}
	sum := sha256.Sum256([]byte(run))
	suffix = "-" + hex.EncodeToString(sum[:])[:8] + suffix
	return run[:utilvalidation.DNS1123LabelMaxLength-len(suffix)] + suffix
}

// BuildWorkflow makes the workflow for one attempt of run from the manifest of its
// pipeline version: the manifest as the KFP compiler wrote it, with
//   - the name WorkflowName(run, attempt) in the run's namespace, instead of the
//     manifest's generateName;
//   - the run's parameter values instead of the defaults in spec.arguments.parameters,
//     and the parameters the manifest does not declare appended;
//   - the run's service account, or defaultServiceAccount if it names none, as the
//     account of every pod: the workflow's spec.serviceAccountName is set to it, and
//     every other account setting (spec.executor, spec.automountServiceAccountToken,
//     and serviceAccountName, automountServiceAccountToken and executor of every
//     template, template default and inline template) is removed, so that no pod
//     runs as an account the run's creator was not authorized to use;
//   - the label RunLabel on the workflow and, through spec.podMetadata, on its pods;
//   - the run as its controlling owner, so that deleting the run deletes it.
//
// Whatever else the manifest says is passed on unchanged; kube-apiserver checks it
// against Argo's schema when the workflow is created.
func BuildWorkflow(run *v1beta1.Run, manifest []byte, attempt int32, defaultServiceAccount string) (*unstructured.Unstructured, error) {
	if _, errs := workflow.Parse(manifest, nil); len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	obj := map[string]interface{}{}
	if err := utiljson.Unmarshal(manifest, &obj); err != nil {
		return nil, fmt.Errorf("reading the pipeline version's workflow: %w", err)
	}
	wf := &unstructured.Unstructured{Object: obj}
	delete(wf.Object, "status")

	labels := wf.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[RunLabel] = run.Name
	annotations := wf.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[AttemptAnnotation] = strconv.Itoa(int(attempt))
	// Only what the manifest says about the workflow itself is kept: identity,
	// versioning and ownership are the server's.
	wf.Object["metadata"] = map[string]interface{}{}
	wf.SetName(WorkflowName(run.Name, attempt))
	wf.SetNamespace(run.Namespace)
	wf.SetLabels(labels)
	wf.SetAnnotations(annotations)
	wf.SetOwnerReferences([]metav1.OwnerReference{*metav1.NewControllerRef(run, v1beta1.SchemeGroupVersion.WithKind("Run"))})

	spec, ok := wf.Object["spec"].(map[string]interface{})
	if !ok {
		return nil, fmt.Errorf("the pipeline version's workflow has no spec")
	}
	delete(spec, "shutdown")
	account := run.Spec.ServiceAccountName
	if account == "" {
		account = defaultServiceAccount
	}
	workflow.SetServiceAccount(spec, account)
	dropZeroParallelism(spec)
	if err := setParameters(spec, run.Spec.Parameters); err != nil {
		return nil, err
	}
	if err := unstructured.SetNestedField(spec, run.Name, "podMetadata", "labels", RunLabel); err != nil {
		return nil, fmt.Errorf("spec.podMetadata: %w", err)
	}
	return wf, nil
}

// CompileIR makes the Argo Workflow manifest of a run of a pipeline IR version
// (KFP 2.x), for BuildWorkflow to finish as it finishes a v1 version's manifest.
func CompileIR(run *v1beta1.Run, version *v1beta1.PipelineVersion, opts compiler.Options) ([]byte, error) {
	ir, errs := pipelinespec.Parse(version.Spec.PipelineSpec.Raw, field.NewPath("spec", "pipelineSpec"))
	if len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	platform, errs := pipelinespec.ParsePlatform(version.Spec.PlatformSpec.Raw, field.NewPath("spec", "platformSpec"))
	if len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	params := make(map[string]string, len(run.Spec.Parameters))
	for _, p := range run.Spec.Parameters {
		params[p.Name] = p.Value
	}
	if run.Spec.PipelineRoot != "" {
		opts.PipelineRoot = run.Spec.PipelineRoot
	}
	return compiler.Compile(ir, platform, params, opts)
}

// dropZeroParallelism removes parallelism: 0 from the workflow and its templates. The
// KFP v1 SDK writes it for a ParallelFor without a limit; Argo's schema wants at least
// 1 there, and reads a missing parallelism as no limit, which is what the pipeline meant.
func dropZeroParallelism(spec map[string]interface{}) {
	isZero := func(m map[string]interface{}) bool {
		v, ok := m["parallelism"]
		if !ok {
			return false
		}
		switch n := v.(type) {
		case int64:
			return n == 0
		case float64:
			return n == 0
		}
		return false
	}
	if isZero(spec) {
		delete(spec, "parallelism")
	}
	templates, _ := spec["templates"].([]interface{})
	for _, t := range templates {
		if t, ok := t.(map[string]interface{}); ok && isZero(t) {
			delete(t, "parallelism")
		}
	}
}

// setParameters gives the workflow's parameters the run's values.
func setParameters(spec map[string]interface{}, values []v1beta1.RunParameter) error {
	if len(values) == 0 {
		return nil
	}
	params, _, err := unstructured.NestedSlice(spec, "arguments", "parameters")
	if err != nil {
		return fmt.Errorf("spec.arguments.parameters: %w", err)
	}
	given := make(map[string]string, len(values))
	for _, v := range values {
		given[v.Name] = v.Value
	}
	for _, p := range params {
		p, ok := p.(map[string]interface{})
		if !ok {
			return fmt.Errorf("spec.arguments.parameters: not an object: %v", p)
		}
		name, _ := p["name"].(string)
		if v, ok := given[name]; ok {
			p["value"] = v
			delete(given, name)
		}
	}
	// In the run's order, not the map's.
	for _, v := range values {
		if _, ok := given[v.Name]; ok {
			params = append(params, map[string]interface{}{"name": v.Name, "value": v.Value})
		}
	}
	return unstructured.SetNestedSlice(spec, params, "arguments", "parameters")
}
