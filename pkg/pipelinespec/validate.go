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

package pipelinespec

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Validate reports what would keep the pipeline from running: an unknown schema
// version, a component or executor that does not exist, an input wired to a task or
// output that does not exist, a dependency cycle, a default of the wrong type, and
// what this server cannot run (resolvers, custom jobs). platform may be nil; its
// errors are reported on platformPath.
func (s *PipelineSpec) Validate(platform *PlatformSpec, fldPath, platformPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.SchemaVersion != SchemaVersion {
		errs = append(errs, field.NotSupported(fldPath.Child("schemaVersion"), s.SchemaVersion, []string{SchemaVersion}))
	}
	if s.PipelineInfo.Name == "" {
		errs = append(errs, field.Required(fldPath.Child("pipelineInfo", "name"), "the pipeline's name"))
	}
	execPath := fldPath.Child("deploymentSpec", "executors")
	for _, name := range sortedKeys(s.DeploymentSpec.Executors) {
		errs = append(errs, validateExecutor(s.DeploymentSpec.Executors[name], execPath.Key(name))...)
	}
	compPath := fldPath.Child("components")
	for _, name := range sortedKeys(s.Components) {
		errs = append(errs, s.validateComponent(s.Components[name], compPath.Key(name))...)
	}
	switch {
	case s.Root == nil:
		errs = append(errs, field.Required(fldPath.Child("root"), "the pipeline's root component"))
	case s.Root.DAG == nil:
		errs = append(errs, field.Required(fldPath.Child("root", "dag"), "the root component is a DAG"))
	default:
		errs = append(errs, s.validateComponent(s.Root, fldPath.Child("root"))...)
	}
	if platform != nil {
		errs = append(errs, s.validatePlatform(platform, platformPath)...)
	}
	return errs
}

func validateExecutor(e *ExecutorSpec, p *field.Path) field.ErrorList {
	if e == nil {
		return field.ErrorList{field.Required(p, "an executor")}
	}
	n := 0
	for _, set := range []bool{e.Container != nil, e.Importer != nil, e.Resolver != nil, e.CustomJob != nil} {
		if set {
			n++
		}
	}
	switch {
	case n != 1:
		return field.ErrorList{field.Invalid(p, field.OmitValueType{}, "must hold exactly one of container, importer, resolver")}
	case e.Resolver != nil:
		return field.ErrorList{field.Forbidden(p.Child("resolver"), "resolvers query ML Metadata, which this server does not keep")}
	case e.CustomJob != nil:
		return field.ErrorList{field.Forbidden(p.Child("customJob"), "Vertex AI custom jobs do not run on Kubernetes")}
	case e.Container != nil && e.Container.Image == "":
		return field.ErrorList{field.Required(p.Child("container", "image"), "")}
	case e.Importer != nil && e.Importer.ArtifactURI.Constant == nil && e.Importer.ArtifactURI.RuntimeParameter == "":
		return field.ErrorList{field.Required(p.Child("importer", "artifactUri"), "a constant or a runtimeParameter")}
	}
	return nil
}

func (s *PipelineSpec) validateComponent(c *ComponentSpec, p *field.Path) field.ErrorList {
	if c == nil {
		return field.ErrorList{field.Required(p, "a component")}
	}
	var errs field.ErrorList
	if in := c.InputDefinitions; in != nil {
		for _, name := range sortedKeys(in.Parameters) {
			pp := p.Child("inputDefinitions", "parameters").Key(name)
			errs = append(errs, validateParameterSpec(in.Parameters[name], pp)...)
		}
	}
	if out := c.OutputDefinitions; out != nil {
		for _, name := range sortedKeys(out.Parameters) {
			pp := p.Child("outputDefinitions", "parameters").Key(name)
			errs = append(errs, validateParameterSpec(out.Parameters[name], pp)...)
		}
	}
	switch {
	case (c.DAG == nil) == (c.ExecutorLabel == ""):
		errs = append(errs, field.Invalid(p, field.OmitValueType{}, "must hold exactly one of dag, executorLabel"))
	case c.ExecutorLabel != "":
		if s.DeploymentSpec.Executors[c.ExecutorLabel] == nil {
			errs = append(errs, field.NotFound(p.Child("executorLabel"), c.ExecutorLabel))
		}
	default:
		errs = append(errs, s.validateDAG(c, p.Child("dag"))...)
	}
	return errs
}

func validateParameterSpec(ps *ParameterSpec, p *field.Path) field.ErrorList {
	if ps == nil {
		return field.ErrorList{field.Required(p, "a parameter")}
	}
	if !isParameterType(ps.ParameterType) {
		return field.ErrorList{field.NotSupported(p.Child("parameterType"), ps.ParameterType, ParameterTypes)}
	}
	if ps.DefaultValue != nil {
		if err := CheckValue(ps.ParameterType, ps.DefaultValue); err != nil {
			return field.ErrorList{field.Invalid(p.Child("defaultValue"), ps.DefaultValue, err.Error())}
		}
	}
	return nil
}

func isParameterType(t ParameterType) bool {
	for _, k := range ParameterTypes {
		if t == k {
			return true
		}
	}
	return false
}

// component returns the component a task runs, or nil.
func (s *PipelineSpec) component(t *TaskSpec) *ComponentSpec {
	return s.Components[t.ComponentRef.Name]
}

func (s *PipelineSpec) validateDAG(c *ComponentSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	tasks := c.DAG.Tasks
	tp := p.Child("tasks")
	for _, name := range sortedKeys(tasks) {
		t := tasks[name]
		if t == nil {
			errs = append(errs, field.Required(tp.Key(name), "a task"))
			continue
		}
		errs = append(errs, s.validateTask(c, t, tp.Key(name))...)
	}
	if cycle := findCycle(tasks); cycle != nil {
		errs = append(errs, field.Invalid(tp, fmt.Sprint(cycle), "the tasks' dependencies form a cycle"))
	}
	if c.DAG.Outputs != nil {
		op := p.Child("outputs")
		for _, name := range sortedKeys(c.DAG.Outputs.Parameters) {
			o := c.DAG.Outputs.Parameters[name]
			pp := op.Child("parameters").Key(name)
			var sels []OutputSelector
			switch {
			case o == nil:
			case o.ValueFromParameter != nil:
				sels = []OutputSelector{*o.ValueFromParameter}
				pp = pp.Child("valueFromParameter")
			case o.ValueFromOneof != nil:
				sels = o.ValueFromOneof.ParameterSelectors
				pp = pp.Child("valueFromOneof", "parameterSelectors")
			}
			for i, sel := range sels {
				sp := pp
				if o.ValueFromOneof != nil {
					sp = pp.Index(i)
				}
				errs = append(errs, s.checkOutput(tasks, sel.ProducerSubtask, sel.OutputParameterKey, false,
					sp.Child("producerSubtask"), sp.Child("outputParameterKey"))...)
			}
		}
		for _, name := range sortedKeys(c.DAG.Outputs.Artifacts) {
			ap := op.Child("artifacts").Key(name).Child("artifactSelectors")
			if o := c.DAG.Outputs.Artifacts[name]; o != nil {
				for i, sel := range o.ArtifactSelectors {
					errs = append(errs, s.checkOutput(tasks, sel.ProducerSubtask, sel.OutputArtifactKey, true,
						ap.Index(i).Child("producerSubtask"), ap.Index(i).Child("outputArtifactKey"))...)
				}
			}
		}
	}
	return errs
}

// validateTask checks one task of the DAG of component parent.
func (s *PipelineSpec) validateTask(parent *ComponentSpec, t *TaskSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	tasks := parent.DAG.Tasks
	comp := s.component(t)
	if comp == nil {
		errs = append(errs, field.NotFound(p.Child("componentRef", "name"), t.ComponentRef.Name))
	}
	for i, d := range t.DependentTasks {
		if tasks[d] == nil {
			errs = append(errs, field.NotFound(p.Child("dependentTasks").Index(i), d))
		}
	}
	if tp := t.TriggerPolicy; tp != nil && tp.Strategy != "" && tp.Strategy != AllUpstreamSucceeded && tp.Strategy != AllUpstreamCompleted {
		errs = append(errs, field.NotSupported(p.Child("triggerPolicy", "strategy"), tp.Strategy,
			[]TriggerStrategy{AllUpstreamSucceeded, AllUpstreamCompleted}))
	}
	if t.ParameterIterator != nil && t.ArtifactIterator != nil {
		errs = append(errs, field.Invalid(p, field.OmitValueType{}, "must not hold both parameterIterator and artifactIterator"))
	}
	var inParams map[string]*InputParameterSpec
	var inArts map[string]*InputArtifactSpec
	if t.Inputs != nil {
		inParams, inArts = t.Inputs.Parameters, t.Inputs.Artifacts
	}
	if it := t.ParameterIterator; it != nil {
		ip := p.Child("parameterIterator")
		switch {
		case (it.Items.Raw == "") == (it.Items.InputParameter == ""):
			errs = append(errs, field.Invalid(ip.Child("items"), field.OmitValueType{}, "must hold exactly one of raw, inputParameter"))
		case it.Items.Raw != "":
			if v, err := ParseValue(TypeList, it.Items.Raw); err != nil || v == nil {
				errs = append(errs, field.Invalid(ip.Child("items", "raw"), it.Items.Raw, "must be a JSON list"))
			}
		case inParams[it.Items.InputParameter] == nil:
			errs = append(errs, field.NotFound(ip.Child("items", "inputParameter"), it.Items.InputParameter))
		}
	}
	if it := t.ArtifactIterator; it != nil && inArts[it.Items.InputArtifact] == nil {
		errs = append(errs, field.NotFound(p.Child("artifactIterator", "items", "inputArtifact"), it.Items.InputArtifact))
	}
	ip := p.Child("inputs", "parameters")
	for _, name := range sortedKeys(inParams) {
		errs = append(errs, s.validateInputParameter(parent, tasks, inParams[name], ip.Key(name))...)
	}
	ap := p.Child("inputs", "artifacts")
	for _, name := range sortedKeys(inArts) {
		a := inArts[name]
		pp := ap.Key(name)
		switch {
		case a == nil || (a.TaskOutputArtifact == nil) == (a.ComponentInputArtifact == ""):
			errs = append(errs, field.Invalid(pp, field.OmitValueType{}, "must hold exactly one of taskOutputArtifact, componentInputArtifact"))
		case a.TaskOutputArtifact != nil:
			errs = append(errs, s.checkOutput(tasks, a.TaskOutputArtifact.ProducerTask, a.TaskOutputArtifact.OutputArtifactKey, true,
				pp.Child("taskOutputArtifact", "producerTask"), pp.Child("taskOutputArtifact", "outputArtifactKey"))...)
		default:
			if parent.InputDefinitions == nil || parent.InputDefinitions.Artifacts[a.ComponentInputArtifact] == nil {
				errs = append(errs, field.NotFound(pp.Child("componentInputArtifact"), a.ComponentInputArtifact))
			}
		}
	}
	return errs
}

func (s *PipelineSpec) validateInputParameter(parent *ComponentSpec, tasks map[string]*TaskSpec, in *InputParameterSpec, p *field.Path) field.ErrorList {
	if in == nil {
		return field.ErrorList{field.Required(p, "an input")}
	}
	n := 0
	for _, set := range []bool{in.TaskOutputParameter != nil, in.RuntimeValue != nil, in.ComponentInputParameter != "", in.TaskFinalStatus != nil} {
		if set {
			n++
		}
	}
	switch {
	case n != 1:
		return field.ErrorList{field.Invalid(p, field.OmitValueType{},
			"must hold exactly one of taskOutputParameter, runtimeValue, componentInputParameter, taskFinalStatus")}
	case in.TaskOutputParameter != nil:
		return s.checkOutput(tasks, in.TaskOutputParameter.ProducerTask, in.TaskOutputParameter.OutputParameterKey, false,
			p.Child("taskOutputParameter", "producerTask"), p.Child("taskOutputParameter", "outputParameterKey"))
	case in.ComponentInputParameter != "":
		if parent.InputDefinitions == nil || parent.InputDefinitions.Parameters[in.ComponentInputParameter] == nil {
			return field.ErrorList{field.NotFound(p.Child("componentInputParameter"), in.ComponentInputParameter)}
		}
	case in.TaskFinalStatus != nil:
		if tasks[in.TaskFinalStatus.ProducerTask] == nil {
			return field.ErrorList{field.NotFound(p.Child("taskFinalStatus", "producerTask"), in.TaskFinalStatus.ProducerTask)}
		}
	}
	return nil
}

// checkOutput reports a reference to a task that is not in tasks or to an output its
// component does not declare.
func (s *PipelineSpec) checkOutput(tasks map[string]*TaskSpec, task, key string, artifact bool, taskPath, keyPath *field.Path) field.ErrorList {
	t := tasks[task]
	if t == nil {
		return field.ErrorList{field.NotFound(taskPath, task)}
	}
	c := s.component(t)
	if c == nil {
		return nil // reported on the producer
	}
	found := false
	if out := c.OutputDefinitions; out != nil {
		if artifact {
			found = out.Artifacts[key] != nil
		} else {
			found = out.Parameters[key] != nil
		}
	}
	if !found {
		return field.ErrorList{field.NotFound(keyPath, key)}
	}
	return nil
}

// Upstream returns the tasks t depends on: those it names in dependentTasks and
// those whose outputs or final status it takes.
func Upstream(t *TaskSpec) sets.Set[string] {
	up := sets.New(t.DependentTasks...)
	if t.Inputs != nil {
		for _, in := range t.Inputs.Parameters {
			switch {
			case in == nil:
			case in.TaskOutputParameter != nil:
				up.Insert(in.TaskOutputParameter.ProducerTask)
			case in.TaskFinalStatus != nil:
				up.Insert(in.TaskFinalStatus.ProducerTask)
			}
		}
		for _, in := range t.Inputs.Artifacts {
			if in != nil && in.TaskOutputArtifact != nil {
				up.Insert(in.TaskOutputArtifact.ProducerTask)
			}
		}
	}
	return up
}

// findCycle returns the tasks of a dependency cycle, or nil.
func findCycle(tasks map[string]*TaskSpec) []string {
	const (
		unseen = iota
		onPath
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(string) []string
	visit = func(n string) []string {
		switch state[n] {
		case onPath:
			for i, m := range path {
				if m == n {
					return append(append([]string{}, path[i:]...), n)
				}
			}
		case done:
			return nil
		}
		state[n] = onPath
		path = append(path, n)
		if t := tasks[n]; t != nil {
			for _, up := range sets.List(Upstream(t)) {
				if tasks[up] == nil {
					continue
				}
				if c := visit(up); c != nil {
					return c
				}
			}
		}
		path = path[:len(path)-1]
		state[n] = done
		return nil
	}
	for _, n := range sortedKeys(tasks) {
		if c := visit(n); c != nil {
			return c
		}
	}
	return nil
}

func (s *PipelineSpec) validatePlatform(pl *PlatformSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	k := pl.Platforms["kubernetes"]
	if k == nil {
		return nil
	}
	ep := p.Child("platforms").Key("kubernetes").Child("deploymentSpec", "executors")
	for _, name := range sortedKeys(k.DeploymentSpec.Executors) {
		if s.DeploymentSpec.Executors[name] == nil {
			errs = append(errs, field.NotFound(ep.Key(name), name))
		}
	}
	return errs
}
