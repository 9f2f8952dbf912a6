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
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
)

func version(workflow, ir string) *v1beta1.PipelineVersion {
	v := &v1beta1.PipelineVersion{}
	if workflow != "" {
		v.Spec.Workflow = runtime.RawExtension{Raw: []byte(workflow)}
	}
	if ir != "" {
		v.Spec.PipelineSpec = runtime.RawExtension{Raw: []byte(ir)}
	}
	return v
}

// shape prints a graph's nodes (id@column,row) and edges.
func shape(g *Graph) string {
	s := ""
	for _, n := range g.Nodes {
		s += fmt.Sprintf("%s@%d,%d ", n.ID, n.Column, n.Row)
	}
	for _, e := range g.Edges {
		s += e.From + "->" + e.To + " "
	}
	return s
}

func TestGraphOfWorkflow(t *testing.T) {
	for _, c := range []struct{ name, workflow, want string }{
		{"dag with dependencies and depends", `{"spec":{"entrypoint":"main","templates":[
			{"name":"main","dag":{"tasks":[
				{"name":"a","template":"echo"},
				{"name":"b","template":"echo","dependencies":["a"]},
				{"name":"c","template":"echo","depends":"a.Succeeded && !b.Failed"},
				{"name":"d","template":"echo"}]}},
			{"name":"echo","container":{"image":"busybox"}}]}}`,
			"a@0,0 b@1,0 c@2,0 d@0,1 a->b a->c b->c "},
		{"nested dag flattened", `{"spec":{"entrypoint":"main","templates":[
			{"name":"main","dag":{"tasks":[
				{"name":"first","template":"echo"},
				{"name":"inner","template":"sub","dependencies":["first"]},
				{"name":"last","template":"echo","dependencies":["inner"]}]}},
			{"name":"sub","dag":{"tasks":[{"name":"x","template":"echo"},{"name":"y","template":"echo","dependencies":["x"]}]}},
			{"name":"echo","container":{"image":"busybox"}}]}}`,
			"first@0,0 inner/x@1,0 inner/y@2,0 last@3,0 first->inner/x inner/x->inner/y inner/y->last "},
		{"steps", `{"spec":{"entrypoint":"main","templates":[
			{"name":"main","steps":[[{"name":"a","template":"echo"},{"name":"b","template":"echo"}],[{"name":"c","template":"echo"}]]},
			{"name":"echo","container":{"image":"busybox"}}]}}`,
			"a@0,0 b@0,1 c@1,0 a->c b->c "},
		{"one container", `{"spec":{"entrypoint":"echo","templates":[{"name":"echo","container":{"image":"busybox"}}]}}`,
			"echo@0,0 "},
	} {
		t.Run(c.name, func(t *testing.T) {
			g, err := GraphOf(version(c.workflow, ""))
			if err != nil {
				t.Fatal(err)
			}
			if got := shape(g); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
	if _, err := GraphOf(version(`{"spec":{"entrypoint":"nope","templates":[]}}`, "")); err == nil {
		t.Errorf("a missing entrypoint gave no error")
	}
}

const ir = `{"pipelineInfo":{"name":"p"},"schemaVersion":"2.1.0","sdkVersion":"kfp-2.7.0",
 "deploymentSpec":{"executors":{"exec-a":{"container":{"image":"python"}}}},
 "components":{
  "comp-a":{"executorLabel":"exec-a","outputDefinitions":{"parameters":{"Output":{"parameterType":"STRING"}}}},
  "comp-sub":{"dag":{"tasks":{"in1":{"taskInfo":{"name":"in1"},"componentRef":{"name":"comp-a"}}}}}},
 "root":{"dag":{"tasks":{
  "train":{"taskInfo":{"name":"train"},"componentRef":{"name":"comp-a"}},
  "eval":{"taskInfo":{"name":"eval"},"componentRef":{"name":"comp-a"},
    "inputs":{"parameters":{"x":{"taskOutputParameter":{"producerTask":"train","outputParameterKey":"Output"}}}}},
  "group":{"taskInfo":{"name":"group"},"componentRef":{"name":"comp-sub"},"dependentTasks":["eval"]}}}}}`

func TestGraphOfIR(t *testing.T) {
	g, err := GraphOf(version("", ir))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := shape(g), "eval@1,0 group/in1@2,0 train@0,0 eval->group/in1 train->eval "; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestColor(t *testing.T) {
	g, err := GraphOf(version("", ir))
	if err != nil {
		t.Fatal(err)
	}
	g.Color([]v1beta1.StepStatus{
		{Name: "train", Phase: "Succeeded"},
		{Name: "eval(0:a)", Phase: "Succeeded"}, {Name: "eval(1:b)", Phase: "Running"},
		{Name: "in1", Phase: "Failed"},
	})
	got := map[string]string{}
	for _, n := range g.Nodes {
		got[n.ID] = n.Phase
	}
	if want := map[string]string{"train": "Succeeded", "eval": "Running", "group/in1": "Failed"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("phases %v, want %v", got, want)
	}
}
