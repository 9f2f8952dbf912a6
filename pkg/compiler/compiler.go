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

// Package compiler turns a run of a pipeline IR (KFP 2.x) into one Argo Workflow
// manifest: a DAG template per DAG component instance, and a container template per
// container task, whose pod is the task's only pod. The pod's main container runs the
// user's image with the launcher (pkg/launcherspec) as its entrypoint; an init
// container copies the launcher into it from the server's image. Importers run no pod:
// their artifact's URI is handed straight to the tasks that use it. There is no
// driver pod and no metadata service: what KFP's driver resolves at run time (inputs,
// conditions, loops) is Argo's, from the compiled templates.
//
// The manifest goes through the same path as a KFP v1 workflow (the executor's
// BuildWorkflow): name, labels, owner and service account are set there.
package compiler

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/launcherspec"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/pipelinespec"
)

// Options are the server's settings for compiled workflows.
type Options struct {
	// LauncherImage is the image holding the launcher binary (the server's image).
	LauncherImage string
	// LauncherPath is the launcher's path in LauncherImage.
	LauncherPath string
	// PipelineRoot overrides the pipeline's defaultPipelineRoot when set.
	PipelineRoot string
}

// Compile makes the Argo Workflow manifest (JSON) for a run of ir with the run's
// parameter values params (by input name, in the run-parameter encoding; inputs left
// out take their default or stay unset). platform may be nil.
func Compile(ir *pipelinespec.PipelineSpec, platform *pipelinespec.PlatformSpec, params map[string]string, opts Options) ([]byte, error) {
	c := &compiler{ir: ir, platform: platform, opts: opts, used: map[string]bool{}}
	if opts.PipelineRoot != "" {
		c.root = opts.PipelineRoot
	} else {
		c.root = ir.DefaultPipelineRoot
	}
	var args []map[string]any
	present := map[string]value{}
	for _, in := range ir.Inputs() {
		v, ok := params[in.Name]
		if !ok && in.Default != nil {
			v, ok = *in.Default, true
		}
		if !ok {
			continue
		}
		args = append(args, map[string]any{"name": in.Name, "value": v})
		present[in.Name] = value{expr: "{{inputs.parameters." + in.Name + "}}", known: &v}
	}
	entry, err := c.dag("root", ir.Root, present, "")
	if err != nil {
		return nil, err
	}
	wf := map[string]any{
		"apiVersion": "argoproj.io/v1alpha1",
		"kind":       "Workflow",
		"metadata":   map[string]any{"generateName": c.name(ir.PipelineInfo.Name) + "-"},
		"spec": map[string]any{
			"entrypoint": entry,
			"arguments":  map[string]any{"parameters": args},
			"templates":  c.templates,
		},
	}
	if len(c.pullSecrets) > 0 {
		var secrets []map[string]any
		for _, s := range sets.List(c.pullSecrets) {
			secrets = append(secrets, map[string]any{"name": s})
		}
		wf["spec"].(map[string]any)["imagePullSecrets"] = secrets
	}
	return json.Marshal(wf)
}

type compiler struct {
	ir          *pipelinespec.PipelineSpec
	platform    *pipelinespec.PlatformSpec
	opts        Options
	root        string
	templates   []any
	used        map[string]bool
	pullSecrets sets.Set[string]
}

// value is how an input's value is had inside a template: an Argo expression, and
// the parameterExpressionSelectors still to apply to it.
type value struct {
	expr      string
	selectors []string
	// known is the value when the compiler knows it: a run's parameter or a constant
	// passed down unchanged. Kubernetes fields validated when the workflow is created
	// (resource quantities) can take only such values.
	known *string
	// imported is the importer an artifact's URI comes from.
	imported *pipelinespec.ImporterSpec
}

var nonName = regexp.MustCompile(`[^a-z0-9-]+`)

// name makes s a valid, unused Argo template name: lower case, [a-z0-9-], at most 60
// characters (a hash of the rest stands in for what is cut).
func (c *compiler) name(s string) string {
	n := strings.Trim(nonName.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if n == "" {
		n = "t"
	}
	if len(n) > 60 {
		sum := sha256.Sum256([]byte(s))
		n = n[:51] + "-" + hex.EncodeToString(sum[:4])
	}
	base := n
	for i := 2; c.used[n]; i++ {
		n = base + "-" + strconv.Itoa(i)
	}
	return n
}

// dag compiles a DAG component instance at path, whose inputs have the values in
// present (absent inputs were not given), and returns its template's name.
func (c *compiler) dag(component string, comp *pipelinespec.ComponentSpec, present map[string]value, path string) (string, error) {
	tmplName := c.name(strings.TrimPrefix(component, "comp-") + "-" + strings.ReplaceAll(path, "/", "-"))
	c.used[tmplName] = true
	tasks := comp.DAG.Tasks
	// Importers run no pod: tasks that use their artifact get its URI and depend on
	// what the importer depended on.
	importers := map[string]*pipelinespec.TaskSpec{}
	for name, t := range tasks {
		if e := c.executor(t); e != nil && e.Importer != nil {
			importers[name] = t
		}
	}
	var argoTasks []any
	failFast := true
	for _, name := range sortedKeys(tasks) {
		if importers[name] != nil {
			continue
		}
		t := tasks[name]
		taskPath := strings.TrimPrefix(path+"/"+name, "/")
		at, err := c.task(name, t, tasks, importers, present, taskPath)
		if err != nil {
			return "", fmt.Errorf("task %s: %w", taskPath, err)
		}
		if t.TriggerPolicy != nil && t.TriggerPolicy.Strategy == pipelinespec.AllUpstreamCompleted {
			failFast = false
		}
		argoTasks = append(argoTasks, at)
	}
	inputs := []any{}
	for _, n := range sortedKeys(present) {
		inputs = append(inputs, map[string]any{"name": n})
	}
	tmpl := map[string]any{
		"name":   tmplName,
		"inputs": map[string]any{"parameters": inputs},
		"dag":    map[string]any{"tasks": argoTasks},
	}
	if !failFast {
		// A task that runs when its upstream failed (an exit handler) must still be
		// scheduled after the failure.
		tmpl["dag"].(map[string]any)["failFast"] = false
	}
	if outs := c.dagOutputs(comp, tasks); len(outs) > 0 {
		tmpl["outputs"] = map[string]any{"parameters": outs}
	}
	c.templates = append(c.templates, tmpl)
	return tmplName, nil
}

// dagOutputs are a DAG template's output parameters, taken from its tasks' outputs.
func (c *compiler) dagOutputs(comp *pipelinespec.ComponentSpec, tasks map[string]*pipelinespec.TaskSpec) []any {
	if comp.DAG.Outputs == nil {
		return nil
	}
	var outs []any
	from := func(sel pipelinespec.OutputSelector, key string) string {
		return "tasks['" + argoTaskName(sel.ProducerSubtask) + "'].outputs.parameters['" + outputName(key) + "']"
	}
	for _, name := range sortedKeys(comp.DAG.Outputs.Parameters) {
		o := comp.DAG.Outputs.Parameters[name]
		switch {
		case o.ValueFromParameter != nil:
			// A producer that did not run (a condition false) leaves NotProduced, where
			// Argo would fail the whole DAG; loops drop it from what they collect.
			outs = append(outs, map[string]any{"name": name, "valueFrom": map[string]any{
				"parameter": "{{tasks." + argoTaskName(o.ValueFromParameter.ProducerSubtask) + ".outputs.parameters." + outputName(o.ValueFromParameter.OutputParameterKey) + "}}",
				"default":   NotProduced}})
		case o.ValueFromOneof != nil:
			// The branch that ran (if/elif/else, dsl.OneOf): the first selector whose
			// task succeeded.
			expr := "''"
			sels := o.ValueFromOneof.ParameterSelectors
			for i := len(sels) - 1; i >= 0; i-- {
				expr = "tasks['" + argoTaskName(sels[i].ProducerSubtask) + "'].status == 'Succeeded' ? " + from(sels[i], sels[i].OutputParameterKey) + " : (" + expr + ")"
			}
			outs = append(outs, map[string]any{"name": name, "valueFrom": map[string]any{"expression": expr}})
		}
	}
	for _, name := range sortedKeys(comp.DAG.Outputs.Artifacts) {
		sels := comp.DAG.Outputs.Artifacts[name].ArtifactSelectors
		if len(sels) == 1 {
			outs = append(outs, map[string]any{"name": name, "valueFrom": map[string]any{
				"parameter": "{{tasks." + argoTaskName(sels[0].ProducerSubtask) + ".outputs.parameters." + outputName(sels[0].OutputArtifactKey) + "}}",
				"default":   NotProduced}})
			continue
		}
		expr := "''"
		for i := len(sels) - 1; i >= 0; i-- {
			expr = "tasks['" + argoTaskName(sels[i].ProducerSubtask) + "'].status == 'Succeeded' ? " + from(sels[i], sels[i].OutputArtifactKey) + " : (" + expr + ")"
		}
		outs = append(outs, map[string]any{"name": name, "valueFrom": map[string]any{"expression": expr}})
	}
	return outs
}

// producedType is the type of comp's output parameter name in one run of comp: for a
// DAG, that of the task output it is taken from (a OneOf's first), followed down to a
// container's output definition; "" if unknown.
func (c *compiler) producedType(comp *pipelinespec.ComponentSpec, name string) pipelinespec.ParameterType {
	for depth := 0; comp != nil && depth < 100; depth++ {
		if comp.DAG == nil {
			if comp.OutputDefinitions != nil && comp.OutputDefinitions.Parameters[name] != nil {
				return comp.OutputDefinitions.Parameters[name].ParameterType
			}
			return ""
		}
		if comp.DAG.Outputs == nil || comp.DAG.Outputs.Parameters[name] == nil {
			return ""
		}
		o := comp.DAG.Outputs.Parameters[name]
		var sel pipelinespec.OutputSelector
		switch {
		case o.ValueFromParameter != nil:
			sel = *o.ValueFromParameter
		case o.ValueFromOneof != nil && len(o.ValueFromOneof.ParameterSelectors) > 0:
			sel = o.ValueFromOneof.ParameterSelectors[0]
		default:
			return ""
		}
		t := comp.DAG.Tasks[sel.ProducerSubtask]
		if t == nil {
			return ""
		}
		if t.ParameterIterator != nil || t.ArtifactIterator != nil {
			return pipelinespec.TypeList // an inner loop's collected values
		}
		comp, name = c.ir.Components[t.ComponentRef.Name], sel.OutputParameterKey
	}
	return ""
}

// NotProduced is a DAG's output whose producing task did not run, such as a task under
// a condition that was false: JSON null, so that Argo, which gathers a loop's outputs as
// JSON only when every value is JSON, keeps the others' types.
const NotProduced = "null"

// argoTaskName is a task's name in its Argo DAG; KFP's task names are DNS labels.
func argoTaskName(s string) string { return s }

// outputName is an output's name among an Argo template's output parameters.
func outputName(s string) string { return s }

func (c *compiler) executor(t *pipelinespec.TaskSpec) *pipelinespec.ExecutorSpec {
	comp := c.ir.Components[t.ComponentRef.Name]
	if comp == nil || comp.ExecutorLabel == "" {
		return nil
	}
	return c.ir.DeploymentSpec.Executors[comp.ExecutorLabel]
}

// task compiles one task of a DAG into an Argo DAG task.
func (c *compiler) task(name string, t *pipelinespec.TaskSpec, siblings, importers map[string]*pipelinespec.TaskSpec,
	present map[string]value, path string) (map[string]any, error) {
	comp := c.ir.Components[t.ComponentRef.Name]
	if comp == nil {
		return nil, fmt.Errorf("component %q not found", t.ComponentRef.Name)
	}
	// The task's inputs, as values inside the template the task runs.
	args := map[string]value{}
	spec := launcherspec.Spec{Parameters: map[string]launcherspec.ParameterInput{}, Artifacts: map[string]launcherspec.ArtifactInput{}}
	deps := sets.New[string]()
	var in pipelinespec.TaskInputsSpec
	if t.Inputs != nil {
		in = *t.Inputs
	}
	for _, n := range sortedKeys(in.Parameters) {
		v, ok, err := c.paramSource(in.Parameters[n], present)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", n, err)
		}
		if !ok {
			continue
		}
		args[n] = v
		if fs := in.Parameters[n].TaskFinalStatus; fs != nil {
			spec.Parameters[n] = launcherspec.ParameterInput{FinalStatusOf: fs.ProducerTask}
		}
	}
	// A constant may name the task's other inputs ({{$.inputs.parameters['x']}}, as
	// the SDK writes for values computed from pipeline inputs): it is given theirs.
	for _, n := range sortedKeys(in.Parameters) {
		if p := in.Parameters[n]; p.RuntimeValue != nil && p.RuntimeValue.RuntimeParameter == "" {
			if v, ok := substituteInputs(args[n], args); ok {
				args[n] = v
			}
		}
	}
	for _, n := range sortedKeys(in.Artifacts) {
		a := in.Artifacts[n]
		switch {
		case a.TaskOutputArtifact != nil && importers[a.TaskOutputArtifact.ProducerTask] != nil:
			imp := importers[a.TaskOutputArtifact.ProducerTask]
			is := c.executor(imp).Importer
			uri, ok, err := c.importerURI(imp, is, present)
			if err != nil {
				return nil, fmt.Errorf("input artifact %s: %w", n, err)
			}
			if !ok {
				continue
			}
			uri.imported = is
			args[n] = uri
			deps = deps.Union(pipelinespec.Upstream(imp))
		case a.TaskOutputArtifact != nil:
			args[n] = value{expr: "{{tasks." + argoTaskName(a.TaskOutputArtifact.ProducerTask) + ".outputs.parameters." + outputName(a.TaskOutputArtifact.OutputArtifactKey) + "}}"}
		default:
			v, ok := present[a.ComponentInputArtifact]
			if !ok {
				continue
			}
			args[n] = v
		}
	}
	// The platform spec's names (secrets, config maps, claims) may come from inputs of
	// the DAG or from task outputs: they are passed to the task's template as
	// platformPrefix inputs, for Argo to put into the pod.
	if k8s := c.k8s(comp); k8s != nil {
		for i, ref := range platformRefs(k8s) {
			v, ok, err := c.paramSource(ref, present)
			if err != nil || !ok {
				return nil, fmt.Errorf("platform spec: a name from an input that has no value")
			}
			args[platformPrefix+strconv.Itoa(i)] = v
			if ref.TaskOutputParameter != nil {
				deps.Insert(ref.TaskOutputParameter.ProducerTask)
			}
		}
	}
	for up := range pipelinespec.Upstream(t) {
		if importers[up] == nil {
			deps.Insert(up)
		}
	}
	for d := range deps {
		if siblings[d] == nil || importers[d] != nil {
			deps.Delete(d)
		}
	}

	// What the task runs: a sub-DAG or a container, with its inputs; a loop runs it
	// from a wrapper DAG holding the iteration.
	run := func(inside map[string]value, taskPath string) (string, error) {
		if comp.DAG != nil {
			return c.dag(t.ComponentRef.Name, comp, inside, taskPath)
		}
		e := c.ir.DeploymentSpec.Executors[comp.ExecutorLabel]
		switch {
		case e == nil:
			return "", fmt.Errorf("executor %q not found", comp.ExecutorLabel)
		case e.Container == nil:
			return "", fmt.Errorf("executor %q is not a container", comp.ExecutorLabel)
		}
		s := spec
		s.PipelineName, s.Task, s.PipelineRoot = c.ir.PipelineInfo.Name, taskPath, c.root
		s.Inputs, s.Outputs, s.Container = comp.InputDefinitions, comp.OutputDefinitions, *e.Container
		return c.container(comp, comp.ExecutorLabel, t, &s, inside, taskPath)
	}

	at := map[string]any{"name": argoTaskName(name)}
	if t.ParameterIterator != nil || t.ArtifactIterator != nil {
		tmpl, err := c.loop(t, comp, args, run, path)
		if err != nil {
			return nil, err
		}
		at["template"] = tmpl
	} else {
		tmpl, err := run(view(args), path)
		if err != nil {
			return nil, err
		}
		at["template"] = tmpl
	}
	if ps := argoArgs(args); len(ps) > 0 {
		at["arguments"] = map[string]any{"parameters": ps}
	}
	completed := t.TriggerPolicy != nil && t.TriggerPolicy.Strategy == pipelinespec.AllUpstreamCompleted
	var depends []string
	for _, d := range sets.List(deps) {
		if completed {
			depends = append(depends, "("+d+".Succeeded || "+d+".Failed || "+d+".Errored)")
		} else {
			depends = append(depends, d)
		}
	}
	if len(depends) > 0 {
		at["depends"] = strings.Join(depends, " && ")
	}
	if t.TriggerPolicy != nil && t.TriggerPolicy.Condition != "" {
		when, err := condition(t.TriggerPolicy.Condition, args, comp)
		if err != nil {
			return nil, err
		}
		at["when"] = when
	}
	return at, nil
}

// view is how the template a task runs sees the values args passes it: as its
// input parameters of the same names.
func view(args map[string]value) map[string]value {
	inside := map[string]value{}
	for n, v := range args {
		inside[n] = value{expr: "{{inputs.parameters." + n + "}}", selectors: v.selectors, known: v.known, imported: v.imported}
	}
	return inside
}

var placeholder = regexp.MustCompile(`\{\{\$\.inputs\.parameters\['([^']*)'\]\}\}`)

// substituteInputs replaces in a constant the placeholders of other inputs in args
// with their values; ok is false when v holds none.
func substituteInputs(v value, args map[string]value) (value, bool) {
	if v.known == nil || !placeholder.MatchString(*v.known) {
		return v, false
	}
	allKnown := true
	expr := placeholder.ReplaceAllStringFunc(*v.known, func(m string) string {
		other, ok := args[placeholder.FindStringSubmatch(m)[1]]
		if !ok || len(other.selectors) > 0 {
			allKnown = false
			return literal(m)
		}
		if other.known == nil {
			allKnown = false
		}
		return other.expr
	})
	known := placeholder.ReplaceAllStringFunc(*v.known, func(m string) string {
		if other, ok := args[placeholder.FindStringSubmatch(m)[1]]; ok && other.known != nil {
			return *other.known
		}
		return m
	})
	out := value{expr: expr}
	if allKnown {
		out.known = &known
	}
	return out, true
}

// argoArgs are an Argo task's argument parameters for args.
func argoArgs(args map[string]value) []any {
	var ps []any
	for _, n := range sortedKeys(args) {
		ps = append(ps, map[string]any{"name": n, "value": args[n].expr})
	}
	return ps
}

// paramSource is where an input parameter's value comes from, in the template of the
// task's DAG; ok is false when it has none (an optional pipeline input left out).
func (c *compiler) paramSource(p *pipelinespec.InputParameterSpec, present map[string]value) (value, bool, error) {
	var v value
	switch {
	case p.TaskOutputParameter != nil:
		v = value{expr: "{{tasks." + argoTaskName(p.TaskOutputParameter.ProducerTask) + ".outputs.parameters." + outputName(p.TaskOutputParameter.OutputParameterKey) + "}}"}
	case p.TaskFinalStatus != nil:
		v = value{expr: "{{tasks." + argoTaskName(p.TaskFinalStatus.ProducerTask) + ".status}}"}
	case p.ComponentInputParameter != "":
		pv, ok := present[p.ComponentInputParameter]
		if !ok {
			return value{}, false, nil
		}
		v = value{expr: pv.expr, selectors: slices.Clone(pv.selectors), known: pv.known}
	case p.RuntimeValue != nil && p.RuntimeValue.RuntimeParameter != "":
		pv, ok := present[p.RuntimeValue.RuntimeParameter]
		if !ok {
			return value{}, false, nil
		}
		v = pv
	case p.RuntimeValue != nil:
		k := pipelinespec.FormatValue(p.RuntimeValue.Constant)
		v = value{expr: literal(k), known: &k}
	default:
		return value{}, false, fmt.Errorf("no source")
	}
	if p.ParameterExpressionSelector != "" {
		v.selectors = append(v.selectors, p.ParameterExpressionSelector)
		v.known = nil
	}
	return v, true, nil
}

// literal keeps a constant from being read as an Argo expression: "{{" inside it is
// broken up with Argo's own expression syntax.
func literal(s string) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	return strings.ReplaceAll(s, "{{", "{{='{{'}}")
}

// importerURI is where an importer's artifact is, as a value in the DAG's template.
func (c *compiler) importerURI(t *pipelinespec.TaskSpec, is *pipelinespec.ImporterSpec, present map[string]value) (value, bool, error) {
	if is.ArtifactURI.RuntimeParameter == "" {
		return value{expr: literal(pipelinespec.FormatValue(is.ArtifactURI.Constant))}, true, nil
	}
	if t.Inputs == nil || t.Inputs.Parameters[is.ArtifactURI.RuntimeParameter] == nil {
		return value{}, false, fmt.Errorf("importer input %q not given", is.ArtifactURI.RuntimeParameter)
	}
	return c.paramSource(t.Inputs.Parameters[is.ArtifactURI.RuntimeParameter], present)
}

// loop compiles an iterated task: a wrapper DAG template that runs the task's
// template once per item (withItems for a literal list, withParam for a list input),
// at most parallelismLimit at once. The wrapper's outputs are the iterations'
// outputs, which Argo gathers into JSON lists (dsl.Collected).
func (c *compiler) loop(t *pipelinespec.TaskSpec, comp *pipelinespec.ComponentSpec, args map[string]value,
	run func(map[string]value, string) (string, error), path string) (string, error) {
	wrapper := c.name(t.TaskInfo.Name + "-" + strings.ReplaceAll(path, "/", "-") + "-loop")
	c.used[wrapper] = true
	inside := map[string]value{}
	var itemInput string
	iter := map[string]any{"name": "iteration"}
	switch {
	case t.ParameterIterator != nil:
		itemInput = t.ParameterIterator.ItemInput
		if raw := t.ParameterIterator.Items.Raw; raw != "" {
			items, err := pipelinespec.ParseValue(pipelinespec.TypeList, raw)
			if err != nil {
				return "", fmt.Errorf("parameterIterator.items.raw: %w", err)
			}
			iter["withItems"] = items
		} else {
			in := t.ParameterIterator.Items.InputParameter
			param, err := selected(in, args[in].selectors)
			if err != nil {
				return "", fmt.Errorf("parameterIterator.items.inputParameter %q: %w", in, err)
			}
			iter["withParam"] = param
		}
	default:
		itemInput = t.ArtifactIterator.ItemInput
		// An artifact list as a launcher wrote it: {"artifacts": [...]}; Argo iterates
		// over a JSON list, so the launcher writes lists of artifacts as such too.
		iter["withParam"] = "{{inputs.parameters." + t.ArtifactIterator.Items.InputArtifact + "}}"
	}
	for n, v := range args {
		inside[n] = value{expr: "{{inputs.parameters." + n + "}}", selectors: v.selectors, known: v.known, imported: v.imported}
	}
	inside[itemInput] = value{expr: "{{item}}"}
	tmpl, err := run(view(inside), path)
	if err != nil {
		return "", err
	}
	iter["template"] = tmpl
	var ps []any
	for _, n := range sortedKeys(inside) {
		ps = append(ps, map[string]any{"name": n, "value": inside[n].expr})
	}
	iter["arguments"] = map[string]any{"parameters": ps}
	var inputs []any
	for _, n := range sortedKeys(args) {
		inputs = append(inputs, map[string]any{"name": n})
	}
	w := map[string]any{
		"name": wrapper,
		"dag":  map[string]any{"tasks": []any{iter}},
	}
	if len(inputs) > 0 {
		w["inputs"] = map[string]any{"parameters": inputs}
	}
	if p := t.IteratorPolicy; p != nil && p.ParallelismLimit > 0 {
		w["parallelism"] = p.ParallelismLimit
	}
	var outs []any
	if comp.OutputDefinitions != nil {
		for _, n := range append(sortedKeys(comp.OutputDefinitions.Parameters), sortedKeys(comp.OutputDefinitions.Artifacts)...) {
			// Argo gathers the iterations' outputs into a JSON list, of JSON values when
			// all are lists or objects and of strings otherwise; those of iterations whose
			// producer did not run (NotProduced: null, or "null") are left out, as KFP
			// collects only what ran, and numbers and booleans are made JSON again.
			list := "filter(fromJSON(tasks['iteration'].outputs.parameters['" + outputName(n) + "']), {# != nil && # != '" + NotProduced + "'})"
			switch c.producedType(comp, n) {
			case pipelinespec.TypeInteger, pipelinespec.TypeDouble, pipelinespec.TypeBoolean:
				list = "map(" + list + ", {fromJSON(#)})"
			}
			outs = append(outs, map[string]any{"name": outputName(n), "valueFrom": map[string]any{"expression": "toJson(" + list + ")"}})
		}
	}
	if len(outs) > 0 {
		w["outputs"] = map[string]any{"parameters": outs}
	}
	c.templates = append(c.templates, w)
	return wrapper, nil
}

// selected is an Argo template for what the parameterExpressionSelectors select from
// the template's input parameter name: a loop iterates over what they select (a field of
// an outer loop's item, loop_parameter-loop-item-subvar-p_a), which Argo must see, not
// only the launcher.
func selected(name string, selectors []string) (string, error) {
	expr := "inputs.parameters['" + name + "']"
	for _, sel := range selectors {
		steps, err := pipelinespec.ParseSelector(sel)
		if err != nil {
			return "", err
		}
		if steps == nil {
			continue
		}
		expr = "fromJSON(" + expr + ")"
		for _, s := range steps {
			switch {
			case s.Index != "":
				expr += "[" + s.Index + "]"
			case strings.ContainsAny(s.Key, `'\`):
				return "", fmt.Errorf("parameterExpressionSelector %q: a key holding ' or \\ is not supported", sel)
			default:
				expr += "['" + s.Key + "']"
			}
		}
		expr = "toJson(" + expr + ")"
	}
	if !strings.HasPrefix(expr, "toJson(") {
		return "{{inputs.parameters." + name + "}}", nil
	}
	return "{{=" + expr + "}}", nil
}

var (
	celInput    = regexp.MustCompile(`inputs\.parameter_values\['([^']*)'\]`)
	celIntInput = regexp.MustCompile(`int\(inputs\.parameter_values\['([^']*)'\]\)`)
	celAllowed  = regexp.MustCompile(`^(\s|[!=<>&|()]|'[^']*'|-?[0-9]+(\.[0-9]+)?|true|false|\{\{[^}]*\}\})*$`)
)

// condition compiles a triggerPolicy condition, the CEL subset the KFP SDK writes
// (comparisons of inputs.parameter_values['x'], int(...) of one, string, number and
// boolean literals, !, &&, ||), to an Argo `when` expression over the task's inputs.
func condition(cel string, args map[string]value, comp *pipelinespec.ComponentSpec) (string, error) {
	var missing []string
	lookup := func(name string) (value, bool) {
		v, ok := args[name]
		if !ok {
			missing = append(missing, name)
		}
		return v, ok
	}
	out := celIntInput.ReplaceAllStringFunc(cel, func(m string) string {
		v, _ := lookup(celIntInput.FindStringSubmatch(m)[1])
		return v.expr
	})
	out = celInput.ReplaceAllStringFunc(out, func(m string) string {
		name := celInput.FindStringSubmatch(m)[1]
		v, _ := lookup(name)
		t := pipelinespec.TypeString
		if comp.InputDefinitions != nil && comp.InputDefinitions.Parameters[name] != nil {
			t = comp.InputDefinitions.Parameters[name].ParameterType
		}
		if t == pipelinespec.TypeString {
			return "'" + v.expr + "'"
		}
		return v.expr
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("condition %q names inputs the task does not have: %s", cel, strings.Join(missing, ", "))
	}
	for _, v := range args {
		if len(v.selectors) > 0 && strings.Contains(out, v.expr) {
			return "", fmt.Errorf("condition %q uses a selected value, which is not supported", cel)
		}
	}
	if !celAllowed.MatchString(out) {
		return "", fmt.Errorf("condition %q is not in the supported subset of CEL", cel)
	}
	return out, nil
}

// retryStrategy is Argo's form of a retry policy.
func retryStrategy(p *pipelinespec.RetryPolicy) (map[string]any, error) {
	rs := map[string]any{"limit": p.MaxRetryCount, "retryPolicy": "Always"}
	backoff := map[string]any{}
	if p.BackoffDuration != "" {
		d, err := time.ParseDuration(p.BackoffDuration)
		if err != nil {
			return nil, fmt.Errorf("retryPolicy.backoffDuration: %w", err)
		}
		if d > 0 {
			backoff["duration"] = d.String()
		}
	}
	if p.BackoffFactor > 0 {
		backoff["factor"] = intOrString(p.BackoffFactor)
	}
	if p.BackoffMaxDuration != "" {
		d, err := time.ParseDuration(p.BackoffMaxDuration)
		if err != nil {
			return nil, fmt.Errorf("retryPolicy.backoffMaxDuration: %w", err)
		}
		if d > 0 {
			backoff["maxDuration"] = d.String()
		}
	}
	if _, ok := backoff["duration"]; ok {
		rs["backoff"] = backoff
	}
	return rs, nil
}

// intOrString writes a factor as Argo's IntOrString wants it: an integer, or a string.
func intOrString(f float64) any {
	if f == float64(int64(f)) {
		return int64(f)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
