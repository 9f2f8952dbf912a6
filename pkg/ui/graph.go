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

package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/pipelinespec"
)

// Graph is a pipeline's tasks and their dependencies, laid out left to right: a task's
// column is the length of the longest path of dependencies leading to it.
type Graph struct {
	Nodes []*Node `json:"nodes"`
	Edges []Edge  `json:"edges"`
	// Columns and Rows are the size of the layout, in cells.
	Columns int `json:"columns"`
	Rows    int `json:"rows"`
}

// Node is one task that runs (nested DAGs are flattened into their tasks).
type Node struct {
	// ID is the task's path: its name, prefixed by the DAG tasks it sits in ("outer/inner").
	ID string `json:"id"`
	// Name is the task's name, which is also its step's name in the run (runs/log?step=).
	Name string `json:"name"`
	// Phase is the phase of the task's steps in the run ("" until one starts).
	Phase string `json:"phase,omitempty"`
	// Steps are the run's steps of this task (more than one in a loop).
	Steps []v1beta1.StepStatus `json:"steps,omitempty"`
	// Column and Row place the node.
	Column int `json:"column"`
	Row    int `json:"row"`
}

// Edge says To depends on From.
type Edge struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// maxNodes bounds the graph: a pipeline is stored as given, and a UI does not need to draw
// more than this.
const maxNodes = 2000

// GraphOf returns the graph of a version: its Argo workflow's (v1) or its IR's (v2).
func GraphOf(v *v1beta1.PipelineVersion) (*Graph, error) {
	b := &builder{deps: map[string]sets.Set[string]{}}
	var err error
	switch {
	case len(v.Spec.PipelineSpec.Raw) > 0:
		err = b.ir(v.Spec.PipelineSpec.Raw)
	case len(v.Spec.Workflow.Raw) > 0:
		err = b.workflow(v.Spec.Workflow.Raw)
	default:
		err = errors.New("the version has neither a workflow nor a pipeline spec")
	}
	if err != nil {
		return nil, err
	}
	return b.layout(), nil
}

// builder collects nodes and dependencies. A group (a DAG task, a steps template) is
// flattened: a task depending on a group depends on the group's last tasks, and a group's
// first tasks depend on what the group depends on.
type builder struct {
	nodes []*Node
	deps  map[string]sets.Set[string]
}

// group is what a flattened group exposes to its siblings.
type group struct{ first, last []string }

func (b *builder) add(id, name string) error {
	if len(b.nodes) >= maxNodes {
		return fmt.Errorf("more than %d tasks", maxNodes)
	}
	b.nodes = append(b.nodes, &Node{ID: id, Name: name})
	b.deps[id] = sets.New[string]()
	return nil
}

// ir reads a v2 pipeline IR.
func (b *builder) ir(raw []byte) error {
	spec, errs := pipelinespec.Parse(raw, nil)
	if len(errs) > 0 {
		return errs.ToAggregate()
	}
	if spec.Root == nil || spec.Root.DAG == nil {
		return errors.New("the pipeline spec has no root DAG")
	}
	_, err := b.irDAG(spec, spec.Root.DAG, "", 0)
	return err
}

func (b *builder) irDAG(spec *pipelinespec.PipelineSpec, dag *pipelinespec.DAGSpec, prefix string, depth int) (group, error) {
	if depth > 20 {
		return group{}, errors.New("DAGs nested too deep")
	}
	tasks := map[string]group{}
	names := sortedKeys(dag.Tasks)
	for _, name := range names {
		t := dag.Tasks[name]
		comp := spec.Components[t.ComponentRef.Name]
		if comp != nil && comp.DAG != nil {
			g, err := b.irDAG(spec, comp.DAG, prefix+name+"/", depth+1)
			if err != nil {
				return group{}, err
			}
			tasks[name] = g
			continue
		}
		if err := b.add(prefix+name, name); err != nil {
			return group{}, err
		}
		tasks[name] = group{first: []string{prefix + name}, last: []string{prefix + name}}
	}
	upstream := map[string][]string{}
	for _, name := range names {
		upstream[name] = sets.List(pipelinespec.Upstream(dag.Tasks[name]).Intersection(sets.KeySet(tasks)))
	}
	return b.wire(names, tasks, upstream), nil
}

// wire adds the dependencies among sibling tasks and returns the group they make.
func (b *builder) wire(names []string, tasks map[string]group, upstream map[string][]string) group {
	downstream := sets.New[string]()
	var g group
	for _, name := range names {
		for _, up := range upstream[name] {
			downstream.Insert(up)
			for _, to := range tasks[name].first {
				b.deps[to].Insert(tasks[up].last...)
			}
		}
		if len(upstream[name]) == 0 {
			g.first = append(g.first, tasks[name].first...)
		}
	}
	for _, name := range names {
		if !downstream.Has(name) {
			g.last = append(g.last, tasks[name].last...)
		}
	}
	return g
}

// argoWorkflow is the part of an Argo workflow the graph needs.
type argoWorkflow struct {
	Spec struct {
		Entrypoint string         `json:"entrypoint"`
		Templates  []argoTemplate `json:"templates"`
	} `json:"spec"`
}

type argoTemplate struct {
	Name string `json:"name"`
	DAG  *struct {
		Tasks []argoTask `json:"tasks"`
	} `json:"dag"`
	Steps [][]argoTask `json:"steps"`
}

type argoTask struct {
	Name         string   `json:"name"`
	Template     string   `json:"template"`
	Dependencies []string `json:"dependencies"`
	Depends      string   `json:"depends"`
}

// dependsName is a task name in a depends expression ("a.Succeeded && !b.Failed").
var dependsName = regexp.MustCompile(`[A-Za-z0-9_][A-Za-z0-9_-]*`)

var dependsWords = sets.New("Succeeded", "Failed", "Errored", "Skipped", "Omitted", "Daemoned", "AnySucceeded", "AllFailed")

// workflow reads a v1 pipeline: an Argo workflow.
func (b *builder) workflow(raw []byte) error {
	var wf argoWorkflow
	if err := json.Unmarshal(raw, &wf); err != nil {
		return err
	}
	templates := map[string]*argoTemplate{}
	for i := range wf.Spec.Templates {
		templates[wf.Spec.Templates[i].Name] = &wf.Spec.Templates[i]
	}
	if templates[wf.Spec.Entrypoint] == nil {
		return fmt.Errorf("entrypoint %q is not a template", wf.Spec.Entrypoint)
	}
	_, err := b.argo(templates, argoTask{Name: wf.Spec.Entrypoint, Template: wf.Spec.Entrypoint}, "", 0, true)
	return err
}

// argo adds a task running template t: one node, or the group its DAG or steps make.
func (b *builder) argo(templates map[string]*argoTemplate, task argoTask, prefix string, depth int, root bool) (group, error) {
	if depth > 20 {
		return group{}, errors.New("templates nested too deep")
	}
	t := templates[task.Template]
	id := prefix + task.Name
	switch {
	case t != nil && t.DAG != nil:
		if !root {
			prefix = id + "/"
		}
		tasks := map[string]group{}
		upstream := map[string][]string{}
		var names []string
		for _, at := range t.DAG.Tasks {
			g, err := b.argo(templates, at, prefix, depth+1, false)
			if err != nil {
				return group{}, err
			}
			tasks[at.Name] = g
			names = append(names, at.Name)
		}
		for _, at := range t.DAG.Tasks {
			up := sets.New(at.Dependencies...)
			for _, w := range dependsName.FindAllString(at.Depends, -1) {
				if !dependsWords.Has(w) {
					up.Insert(w)
				}
			}
			upstream[at.Name] = sets.List(up.Intersection(sets.KeySet(tasks)))
		}
		return b.wire(names, tasks, upstream), nil
	case t != nil && len(t.Steps) > 0:
		if !root {
			prefix = id + "/"
		}
		// Each group of parallel steps follows the one before it.
		var g group
		var before []string
		for i, parallel := range t.Steps {
			var now []string
			for _, s := range parallel {
				sg, err := b.argo(templates, s, prefix, depth+1, false)
				if err != nil {
					return group{}, err
				}
				for _, f := range sg.first {
					b.deps[f].Insert(before...)
				}
				if i == 0 {
					g.first = append(g.first, sg.first...)
				}
				now = append(now, sg.last...)
			}
			if len(now) > 0 {
				before = now
			}
		}
		g.last = before
		return g, nil
	default:
		if err := b.add(id, task.Name); err != nil {
			return group{}, err
		}
		return group{first: []string{id}, last: []string{id}}, nil
	}
}

// layout places each node in the column of its longest path of dependencies, and orders
// each column by the rows of what it depends on, then by name.
func (b *builder) layout() *Graph {
	g := &Graph{Nodes: b.nodes}
	byID := map[string]*Node{}
	for _, n := range b.nodes {
		byID[n.ID] = n
	}
	col := map[string]int{}
	var depth func(id string, seen sets.Set[string]) int
	depth = func(id string, seen sets.Set[string]) int {
		if c, ok := col[id]; ok {
			return c
		}
		if seen.Has(id) { // a cycle: the API refuses them, but a stored manifest is as given
			return 0
		}
		seen.Insert(id)
		c := 0
		for up := range b.deps[id] {
			c = max(c, depth(up, seen)+1)
		}
		col[id] = c
		return c
	}
	columns := map[int][]*Node{}
	for _, n := range b.nodes {
		n.Column = depth(n.ID, sets.New[string]())
		columns[n.Column] = append(columns[n.Column], n)
		g.Columns = max(g.Columns, n.Column+1)
		for _, up := range sets.List(b.deps[n.ID]) {
			g.Edges = append(g.Edges, Edge{From: up, To: n.ID})
		}
	}
	for c := 0; c < g.Columns; c++ {
		nodes := columns[c]
		key := func(n *Node) float64 {
			if len(b.deps[n.ID]) == 0 {
				return 0
			}
			sum := 0
			for up := range b.deps[n.ID] {
				sum += byID[up].Row
			}
			return float64(sum) / float64(len(b.deps[n.ID]))
		}
		sort.SliceStable(nodes, func(i, j int) bool {
			ki, kj := key(nodes[i]), key(nodes[j])
			if ki != kj {
				return ki < kj
			}
			return nodes[i].ID < nodes[j].ID
		})
		for i, n := range nodes {
			n.Row = i
		}
		g.Rows = max(g.Rows, len(nodes))
	}
	slices.SortFunc(g.Edges, func(a, b Edge) int { return strings.Compare(a.From+"\x00"+a.To, b.From+"\x00"+b.To) })
	return g
}

// Color sets each node's phase from the run's steps. A step belongs to the task of its
// name; a loop's steps are named "task(0:item)". A task with several steps is Failed if
// one failed, else Running if one is running or pending, else the phase they share.
func (g *Graph) Color(steps []v1beta1.StepStatus) {
	byName := map[string][]v1beta1.StepStatus{}
	for _, s := range steps {
		name := s.Name
		if i := strings.IndexByte(name, '('); i > 0 {
			name = name[:i]
		}
		byName[name] = append(byName[name], s)
	}
	for _, n := range g.Nodes {
		n.Steps = byName[n.Name]
		n.Phase = phaseOf(n.Steps)
	}
}

var phaseOrder = []string{"Failed", "Error", "Running", "Pending", "Succeeded", "Skipped", "Omitted"}

func phaseOf(steps []v1beta1.StepStatus) string {
	seen := sets.New[string]()
	for _, s := range steps {
		seen.Insert(s.Phase)
	}
	if seen.Has("Running") && seen.Has("Pending") {
		return "Running"
	}
	for _, p := range phaseOrder {
		if seen.Has(p) {
			return p
		}
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
