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

// Package workflow reads the Argo Workflow manifests that pipeline versions hold: the
// few fields this server checks and derives (entrypoint, templates and the
// references between them, parameters). It does not depend on Argo's Go module; the
// manifest is stored exactly as given and kube-apiserver checks the full schema
// when a workflow is created from it.
package workflow

import (
	"bytes"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kjson "sigs.k8s.io/json"
)

const (
	// APIVersion and Kind are what a pipeline version's workflow must declare.
	APIVersion = "argoproj.io/v1alpha1"
	Kind       = "Workflow"
)

// Resource is Argo's Workflow resource.
var Resource = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "workflows"}

// The marks Argo's controller puts on workflows and their pods.
const (
	// PodWorkflowLabel names the workflow on each of its pods.
	PodWorkflowLabel = "workflows.argoproj.io/workflow"
	// NodeNameAnnotation names the workflow node (the step) a pod runs.
	NodeNameAnnotation = "workflows.argoproj.io/node-name"
	// CompletedLabel is "true" on a workflow Argo has finished.
	CompletedLabel = "workflows.argoproj.io/completed"
	// ArchivingStatusLabel says whether Argo has archived a finished workflow.
	ArchivingStatusLabel = "workflows.argoproj.io/workflow-archiving-status"
	// MainContainer runs a step's own command; Argo's wait and init containers are its
	// plumbing.
	MainContainer = "main"
)

// Workflow is the part of an Argo Workflow manifest this server reads.
type Workflow struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Spec       Spec   `json:"spec"`
}

// Spec is the part of a workflow's spec this server reads.
type Spec struct {
	Entrypoint string     `json:"entrypoint"`
	Arguments  Arguments  `json:"arguments"`
	Templates  []Template `json:"templates"`
	// OnExit is the exit handler: the template run when the workflow ends.
	OnExit string `json:"onExit"`
}

// Arguments are a workflow's inputs.
type Arguments struct {
	Parameters []Parameter `json:"parameters"`
}

// Parameter is a workflow parameter; Value is its default.
type Parameter struct {
	Name  string  `json:"name"`
	Value *string `json:"value"`
}

// Template is one template; only its references to other templates are read.
type Template struct {
	Name  string   `json:"name"`
	DAG   *DAG     `json:"dag"`
	Steps [][]Step `json:"steps"`
}

// DAG is a template made of tasks.
type DAG struct {
	Tasks []Step `json:"tasks"`
}

// Step is a DAG task or a step; both name the template they run, and may name one
// to run when they end.
type Step struct {
	Name     string `json:"name"`
	Template string `json:"template"`
	OnExit   string `json:"onExit"`
}

// Parse reads a manifest. Its JSON shape errors are reported on fldPath.
//
// Keys are matched case-sensitively, as kube-apiserver and Argo read them: a
// "Templates" key is not the workflow's templates.
func Parse(raw []byte, fldPath *field.Path) (*Workflow, field.ErrorList) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return nil, field.ErrorList{field.Required(fldPath, "an Argo Workflow manifest")}
	}
	// JSON null, arrays and scalars decode without error into nothing or fail with
	// a message about Go types; a manifest is an object.
	if trimmed[0] != '{' {
		return nil, field.ErrorList{field.Invalid(fldPath, field.OmitValueType{}, "must be a JSON object: an Argo Workflow manifest")}
	}
	var w Workflow
	if err := kjson.UnmarshalCaseSensitivePreserveInts(trimmed, &w); err != nil {
		return nil, field.ErrorList{field.Invalid(fldPath, field.OmitValueType{}, fmt.Sprintf("not an Argo Workflow manifest: %v", err))}
	}
	return &w, nil
}

// Validate reports the structural mistakes that would make the workflow fail to start.
func (w *Workflow) Validate(fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if w.APIVersion != APIVersion {
		errs = append(errs, field.NotSupported(fldPath.Child("apiVersion"), w.APIVersion, []string{APIVersion}))
	}
	if w.Kind != Kind {
		errs = append(errs, field.NotSupported(fldPath.Child("kind"), w.Kind, []string{Kind}))
	}
	spec := fldPath.Child("spec")
	names := sets.New[string]()
	for i, t := range w.Spec.Templates {
		p := spec.Child("templates").Index(i).Child("name")
		switch {
		case t.Name == "":
			errs = append(errs, field.Required(p, ""))
		case names.Has(t.Name):
			errs = append(errs, field.Duplicate(p, t.Name))
		}
		names.Insert(t.Name)
	}
	if len(w.Spec.Templates) == 0 {
		errs = append(errs, field.Required(spec.Child("templates"), "a workflow needs at least one template"))
	}
	switch {
	case w.Spec.Entrypoint == "":
		errs = append(errs, field.Required(spec.Child("entrypoint"), ""))
	case !names.Has(w.Spec.Entrypoint):
		errs = append(errs, field.NotFound(spec.Child("entrypoint"), w.Spec.Entrypoint))
	}
	if w.Spec.OnExit != "" && !names.Has(w.Spec.OnExit) {
		errs = append(errs, field.NotFound(spec.Child("onExit"), w.Spec.OnExit))
	}
	for i, t := range w.Spec.Templates {
		tp := spec.Child("templates").Index(i)
		if t.DAG != nil {
			for j, task := range t.DAG.Tasks {
				errs = append(errs, checkRef(task, names, tp.Child("dag", "tasks").Index(j))...)
			}
		}
		for j, group := range t.Steps {
			for k, step := range group {
				errs = append(errs, checkRef(step, names, tp.Child("steps").Index(j).Index(k))...)
			}
		}
	}
	params := sets.New[string]()
	for i, p := range w.Spec.Arguments.Parameters {
		pp := spec.Child("arguments", "parameters").Index(i).Child("name")
		switch {
		case p.Name == "":
			errs = append(errs, field.Required(pp, ""))
		case params.Has(p.Name):
			errs = append(errs, field.Duplicate(pp, p.Name))
		}
		params.Insert(p.Name)
	}
	return errs
}

// checkRef reports a task or step naming a template the workflow does not define.
// Steps using templateRef (another WorkflowTemplate) or an inline template name no
// local template.
func checkRef(s Step, templates sets.Set[string], p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.Template != "" && !templates.Has(s.Template) {
		errs = append(errs, field.NotFound(p.Child("template"), s.Template))
	}
	if s.OnExit != "" && !templates.Has(s.OnExit) {
		errs = append(errs, field.NotFound(p.Child("onExit"), s.OnExit))
	}
	return errs
}

// VisitTemplates calls fn with every template of a workflow's spec and its path below
// specPath: spec.templateDefaults, which Argo merges into each template, each of
// spec.templates, and the templates written inline in their steps and tasks, at any
// depth. It reads the generic JSON object, so that what it visits is what Argo reads.
func VisitTemplates(spec map[string]interface{}, specPath *field.Path, fn func(t map[string]interface{}, path *field.Path)) {
	if d, ok := spec["templateDefaults"].(map[string]interface{}); ok {
		visitTemplate(d, specPath.Child("templateDefaults"), fn)
	}
	templates, _ := spec["templates"].([]interface{})
	for i, t := range templates {
		if t, ok := t.(map[string]interface{}); ok {
			visitTemplate(t, specPath.Child("templates").Index(i), fn)
		}
	}
}

func visitTemplate(t map[string]interface{}, path *field.Path, fn func(map[string]interface{}, *field.Path)) {
	fn(t, path)
	VisitSteps(t, path, func(s map[string]interface{}, sp *field.Path) {
		if inline, ok := s["inline"].(map[string]interface{}); ok {
			visitTemplate(inline, sp.Child("inline"), fn)
		}
	})
}

// VisitSteps calls fn with every step (steps[i][j]) and DAG task (dag.tasks[i]) of a
// template, and its path below the template's.
func VisitSteps(t map[string]interface{}, path *field.Path, fn func(s map[string]interface{}, path *field.Path)) {
	groups, _ := t["steps"].([]interface{})
	for i, g := range groups {
		steps, _ := g.([]interface{})
		for j, s := range steps {
			if s, ok := s.(map[string]interface{}); ok {
				fn(s, path.Child("steps").Index(i).Index(j))
			}
		}
	}
	if dag, ok := t["dag"].(map[string]interface{}); ok {
		tasks, _ := dag["tasks"].([]interface{})
		for i, task := range tasks {
			if task, ok := task.(map[string]interface{}); ok {
				fn(task, path.Child("dag", "tasks").Index(i))
			}
		}
	}
}

// SetServiceAccount makes account the only service account a workflow's spec names,
// so that every pod of the workflow runs as it: spec.serviceAccountName is set to it
// (removed when account is empty: the namespace's default), and every other account
// setting is removed: spec.executor, spec.automountServiceAccountToken, and
// serviceAccountName, automountServiceAccountToken and executor of every template
// VisitTemplates visits. Argo lets a template or the executor run as another account,
// and with automountServiceAccountToken false requires one.
func SetServiceAccount(spec map[string]interface{}, account string) {
	delete(spec, "serviceAccountName")
	if account != "" {
		spec["serviceAccountName"] = account
	}
	delete(spec, "automountServiceAccountToken")
	delete(spec, "executor")
	VisitTemplates(spec, nil, func(t map[string]interface{}, _ *field.Path) {
		delete(t, "serviceAccountName")
		delete(t, "automountServiceAccountToken")
		delete(t, "executor")
	})
}
