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

package validation

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
)

// problem is what a test expects of one field error: its type and where it is.
type problem struct {
	Type  field.ErrorType
	Field string
}

func problems(errs field.ErrorList) []problem {
	var out []problem
	for _, e := range errs {
		out = append(out, problem{Type: e.Type, Field: e.Field})
	}
	return out
}

// check fails the test unless errs are exactly want, in order.
func check(t *testing.T, want []problem, errs field.ErrorList) {
	t.Helper()
	if diff := cmp.Diff(want, problems(errs)); diff != "" {
		t.Errorf("errors (-want +got):\n%s\n%v", diff, errs)
	}
}

func required(f string) problem     { return problem{field.ErrorTypeRequired, f} }
func invalid(f string) problem      { return problem{field.ErrorTypeInvalid, f} }
func notSupported(f string) problem { return problem{field.ErrorTypeNotSupported, f} }
func duplicate(f string) problem    { return problem{field.ErrorTypeDuplicate, f} }
func tooLong(f string) problem      { return problem{field.ErrorTypeTooLong, f} }
func forbidden(f string) problem    { return problem{field.ErrorTypeForbidden, f} }
func notFound(f string) problem     { return problem{field.ErrorTypeNotFound, f} }

var (
	t0 = metav1.NewTime(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	t1 = metav1.NewTime(t0.Add(time.Hour))
)

func at(t metav1.Time) *metav1.Time { return &t }

func ptr[T any](v T) *T { return &v }

func meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "team-a", ResourceVersion: "7", Labels: map[string]string{"app": "demo"}}
}

func readyCondition() metav1.Condition {
	return metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Created", Message: "ok", LastTransitionTime: t0}
}

// workflowJSON is a valid Argo workflow with one parameter.
const workflowJSON = `{
  "apiVersion": "argoproj.io/v1alpha1",
  "kind": "Workflow",
  "metadata": {"generateName": "hello-"},
  "spec": {
    "entrypoint": "main",
    "arguments": {"parameters": [{"name": "message", "value": "hi"}]},
    "templates": [{"name": "main", "container": {"image": "alpine", "command": ["echo", "{{workflow.parameters.message}}"]}}]
  }
}`

func validPipeline() *pipelines.Pipeline {
	return &pipelines.Pipeline{
		ObjectMeta: meta("hello"),
		Spec:       pipelines.PipelineSpec{DisplayName: "Hello", Description: "Says hello."},
		Status: pipelines.PipelineStatus{
			LatestVersion: "hello-v2", VersionCount: 2,
			Conditions: []metav1.Condition{readyCondition()},
		},
	}
}

func validPipelineVersion() *pipelines.PipelineVersion {
	return &pipelines.PipelineVersion{
		ObjectMeta: meta("hello-v1"),
		Spec: pipelines.PipelineVersionSpec{
			PipelineName:  "hello",
			Description:   "First version.",
			CodeSourceURL: "https://github.com/kubeflow/pipelines/tree/1.8.22/samples/core/hello",
			Workflow:      runtime.RawExtension{Raw: []byte(workflowJSON)},
		},
		Status: pipelines.PipelineVersionStatus{
			Parameters: []pipelines.Parameter{{Name: "message", Default: ptr("hi")}},
			Conditions: []metav1.Condition{readyCondition()},
		},
	}
}

func validExperiment() *pipelines.Experiment {
	return &pipelines.Experiment{
		ObjectMeta: meta("tuning"),
		Spec:       pipelines.ExperimentSpec{DisplayName: "Tuning", Description: "Learning rates."},
		Status: pipelines.ExperimentStatus{
			StorageState:     pipelines.StorageStateAvailable,
			LastRunCreatedAt: at(t0),
			Conditions:       []metav1.Condition{readyCondition()},
		},
	}
}

func validRunSpec() pipelines.RunSpec {
	return pipelines.RunSpec{
		ExperimentName:     "tuning",
		PipelineRef:        pipelines.PipelineRef{Namespace: "shared", PipelineName: "hello", VersionName: "hello-v1"},
		Parameters:         []pipelines.RunParameter{{Name: "message", Value: "hello"}, {Name: "count", Value: ""}},
		ServiceAccountName: "pipeline-runner",
	}
}

func validRun() *pipelines.Run {
	return &pipelines.Run{
		ObjectMeta: meta("tuning-1"),
		Spec:       validRunSpec(),
		Status: pipelines.RunStatus{
			Phase:           pipelines.RunPhaseSucceeded,
			StorageState:    pipelines.StorageStateAvailable,
			PipelineVersion: "hello-v1",
			WorkflowName:    "tuning-1",
			StartTime:       at(t0),
			CompletionTime:  at(t1),
			Message:         "done",
			Conditions:      []metav1.Condition{readyCondition()},
		},
	}
}

func validJob() *pipelines.Job {
	rs := validRunSpec()
	return &pipelines.Job{
		ObjectMeta: meta("nightly"),
		Spec: pipelines.JobSpec{
			ExperimentName:     rs.ExperimentName,
			PipelineRef:        rs.PipelineRef,
			Parameters:         rs.Parameters,
			ServiceAccountName: rs.ServiceAccountName,
			Schedule:           pipelines.Schedule{Cron: "0 0 2 * * *", StartTime: at(t0), EndTime: at(t1)},
			MaxConcurrency:     1,
			Enabled:            ptr(true),
		},
		Status: pipelines.JobStatus{
			LastScheduleTime: at(t0),
			NextScheduleTime: at(t1),
			Active:           []string{"nightly-1772366400"},
			Conditions:       []metav1.Condition{readyCondition()},
		},
	}
}

// n returns a name of length l made of "a".
func n(l int) string { return strings.Repeat("a", l) }

// metaCases are the metadata mistakes every kind reports the same way.
func metaCases() []struct {
	name string
	edit func(*metav1.ObjectMeta)
	want []problem
} {
	return []struct {
		name string
		edit func(*metav1.ObjectMeta)
		want []problem
	}{
		{"no name", func(m *metav1.ObjectMeta) { m.Name = "" }, []problem{required("metadata.name")}},
		{"uppercase name", func(m *metav1.ObjectMeta) { m.Name = "Hello" }, []problem{invalid("metadata.name")}},
		{"underscore in name", func(m *metav1.ObjectMeta) { m.Name = "hello_world" }, []problem{invalid("metadata.name")}},
		{"slash in name", func(m *metav1.ObjectMeta) { m.Name = "a/b" }, []problem{invalid("metadata.name")}},
		{"no namespace", func(m *metav1.ObjectMeta) { m.Namespace = "" }, []problem{required("metadata.namespace")}},
		{"invalid namespace", func(m *metav1.ObjectMeta) { m.Namespace = "Team-A" }, []problem{invalid("metadata.namespace")}},
		{"invalid label", func(m *metav1.ObjectMeta) { m.Labels = map[string]string{"app": "not valid"} }, []problem{invalid("metadata.labels")}},
		{"generated name", func(m *metav1.ObjectMeta) { m.GenerateName = "hello-"; m.Name = "hello-x7k2p" }, nil},
		{"uppercase generateName", func(m *metav1.ObjectMeta) { m.GenerateName = "Hello-"; m.Name = "hello-x7k2p" },
			[]problem{invalid("metadata.generateName")}},
	}
}

func TestValidatePipeline(t *testing.T) {
	tests := []struct {
		name string
		edit func(*pipelines.Pipeline)
		want []problem
	}{
		{"valid", func(*pipelines.Pipeline) {}, nil},
		{"only a name", func(p *pipelines.Pipeline) { *p = pipelines.Pipeline{ObjectMeta: meta("hello")} }, nil},
		{"dotted name", func(p *pipelines.Pipeline) { p.Name = "team.hello" }, nil},
		{"name of 253", func(p *pipelines.Pipeline) { p.Name = n(253) }, nil},
		{"name of 254", func(p *pipelines.Pipeline) { p.Name = n(254) }, []problem{invalid("metadata.name")}},
		{"displayName of 256", func(p *pipelines.Pipeline) { p.Spec.DisplayName = n(256) }, nil},
		{"displayName of 257", func(p *pipelines.Pipeline) { p.Spec.DisplayName = n(257) }, []problem{tooLong("spec.displayName")}},
		{"description too long", func(p *pipelines.Pipeline) { p.Spec.Description = n(10001) }, []problem{tooLong("spec.description")}},
		{"invalid latestVersion", func(p *pipelines.Pipeline) { p.Status.LatestVersion = "V2" }, []problem{invalid("status.latestVersion")}},
		{"negative versionCount", func(p *pipelines.Pipeline) { p.Status.VersionCount = -1 }, []problem{invalid("status.versionCount")}},
		{"condition without reason", func(p *pipelines.Pipeline) { p.Status.Conditions[0].Reason = "" },
			[]problem{required("status.conditions[0].reason")}},
		{"condition with unknown status", func(p *pipelines.Pipeline) { p.Status.Conditions[0].Status = "Maybe" },
			[]problem{notSupported("status.conditions[0].status")}},
		{"duplicate condition", func(p *pipelines.Pipeline) { p.Status.Conditions = append(p.Status.Conditions, readyCondition()) },
			[]problem{duplicate("status.conditions[1]")}},
	}
	for _, mc := range metaCases() {
		tests = append(tests, struct {
			name string
			edit func(*pipelines.Pipeline)
			want []problem
		}{mc.name, func(p *pipelines.Pipeline) { mc.edit(&p.ObjectMeta) }, mc.want})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := validPipeline()
			tc.edit(p)
			check(t, tc.want, ValidatePipeline(p))
		})
	}
}

func TestValidatePipelineUpdate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*pipelines.Pipeline)
		want []problem
	}{
		{"unchanged", func(*pipelines.Pipeline) {}, nil},
		{"spec and status change", func(p *pipelines.Pipeline) {
			p.Spec = pipelines.PipelineSpec{DisplayName: "Hi", Description: "Says hi."}
			p.Status.LatestVersion, p.Status.VersionCount = "hello-v3", 3
		}, nil},
		{"labels change", func(p *pipelines.Pipeline) { p.Labels = map[string]string{"tier": "gold"} }, nil},
		{"name change", func(p *pipelines.Pipeline) { p.Name = "bye" }, []problem{invalid("metadata.name")}},
		{"namespace change", func(p *pipelines.Pipeline) { p.Namespace = "team-b" }, []problem{invalid("metadata.namespace")}},
		{"no resourceVersion", func(p *pipelines.Pipeline) { p.ResourceVersion = "" }, []problem{invalid("metadata.resourceVersion")}},
		// Reported once: metadata is checked by the update rules only.
		{"invalid label", func(p *pipelines.Pipeline) { p.Labels = map[string]string{"app": "not valid"} }, []problem{invalid("metadata.labels")}},
		{"displayName too long", func(p *pipelines.Pipeline) { p.Spec.DisplayName = n(257) }, []problem{tooLong("spec.displayName")}},
		{"negative versionCount", func(p *pipelines.Pipeline) { p.Status.VersionCount = -1 }, []problem{invalid("status.versionCount")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := validPipeline()
			tc.edit(p)
			check(t, tc.want, ValidatePipelineUpdate(p, validPipeline()))
		})
	}
}

func TestValidatePipelineVersion(t *testing.T) {
	tests := []struct {
		name string
		edit func(*pipelines.PipelineVersion)
		want []problem
	}{
		{"valid", func(*pipelines.PipelineVersion) {}, nil},
		{"no optional fields", func(v *pipelines.PipelineVersion) {
			v.Spec.Description, v.Spec.CodeSourceURL, v.Status = "", "", pipelines.PipelineVersionStatus{}
		}, nil},
		{"name too long", func(v *pipelines.PipelineVersion) { v.Name = n(254) }, []problem{invalid("metadata.name")}},
		{"no pipelineName", func(v *pipelines.PipelineVersion) { v.Spec.PipelineName = "" }, []problem{required("spec.pipelineName")}},
		{"uppercase pipelineName", func(v *pipelines.PipelineVersion) { v.Spec.PipelineName = "Hello" }, []problem{invalid("spec.pipelineName")}},
		{"pipelineName with a slash", func(v *pipelines.PipelineVersion) { v.Spec.PipelineName = "team/hello" }, []problem{invalid("spec.pipelineName")}},
		{"pipelineName dot-dot", func(v *pipelines.PipelineVersion) { v.Spec.PipelineName = ".." }, []problem{invalid("spec.pipelineName")}},
		{"description too long", func(v *pipelines.PipelineVersion) { v.Spec.Description = n(10001) }, []problem{tooLong("spec.description")}},
		{"relative codeSourceURL", func(v *pipelines.PipelineVersion) { v.Spec.CodeSourceURL = "github.com/kubeflow/pipelines" },
			[]problem{invalid("spec.codeSourceURL")}},
		{"unparsable codeSourceURL", func(v *pipelines.PipelineVersion) { v.Spec.CodeSourceURL = "https://[::1" },
			[]problem{invalid("spec.codeSourceURL")}},
		{"no workflow", func(v *pipelines.PipelineVersion) { v.Spec.Workflow = runtime.RawExtension{} }, []problem{required("spec.workflow")}},
		{"workflow not an object", func(v *pipelines.PipelineVersion) { v.Spec.Workflow.Raw = []byte(`["a"]`) }, []problem{invalid("spec.workflow")}},
		{"workflow null", func(v *pipelines.PipelineVersion) { v.Spec.Workflow.Raw = []byte(`null`) }, []problem{invalid("spec.workflow")}},
		{"workflow of another kind", func(v *pipelines.PipelineVersion) {
			v.Spec.Workflow.Raw = []byte(strings.Replace(workflowJSON, `"kind": "Workflow"`, `"kind": "CronWorkflow"`, 1))
		}, []problem{notSupported("spec.workflow.kind")}},
		{"workflow entrypoint unknown", func(v *pipelines.PipelineVersion) {
			v.Spec.Workflow.Raw = []byte(strings.Replace(workflowJSON, `"entrypoint": "main"`, `"entrypoint": "start"`, 1))
		}, []problem{notFound("spec.workflow.spec.entrypoint")}},
		{"condition without time", func(v *pipelines.PipelineVersion) { v.Status.Conditions[0].LastTransitionTime = metav1.Time{} },
			[]problem{required("status.conditions[0].lastTransitionTime")}},
		{"pipeline IR", asIR(irJSON, ""), nil},
		{"pipeline IR with a platform spec", asIR(irJSON, platformJSON), nil},
		{"workflow and pipeline IR", func(v *pipelines.PipelineVersion) { v.Spec.PipelineSpec.Raw = []byte(irJSON) }, []problem{invalid("spec")}},
		{"platform spec alone", func(v *pipelines.PipelineVersion) {
			v.Spec.Workflow, v.Spec.PlatformSpec.Raw = runtime.RawExtension{}, []byte(platformJSON)
		}, []problem{forbidden("spec.platformSpec")}},
		{"pipeline IR of another schema version", asIR(strings.Replace(irJSON, "2.1.0", "2.0.0", 1), ""),
			[]problem{notSupported("spec.pipelineSpec.schemaVersion")}},
		{"pipeline IR task of a missing component", asIR(strings.Replace(irJSON, `"name": "comp-echo"`, `"name": "comp-x"`, 1), ""),
			[]problem{notFound("spec.pipelineSpec.root.dag.tasks[echo].componentRef.name")}},
		{"pipeline IR not an object", asIR(`"x"`, ""), []problem{invalid("spec.pipelineSpec")}},
		{"platform spec of a missing executor", asIR(irJSON, strings.Replace(platformJSON, "exec-echo", "exec-x", 1)),
			[]problem{notFound("spec.platformSpec.platforms[kubernetes].deploymentSpec.executors[exec-x]")}},
	}
	for _, mc := range metaCases() {
		tests = append(tests, struct {
			name string
			edit func(*pipelines.PipelineVersion)
			want []problem
		}{mc.name, func(v *pipelines.PipelineVersion) { mc.edit(&v.ObjectMeta) }, mc.want})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := validPipelineVersion()
			tc.edit(v)
			check(t, tc.want, ValidatePipelineVersion(v))
		})
	}
}

func TestValidatePipelineVersionUpdate(t *testing.T) {
	// The same workflow as workflowJSON: other key order, other whitespace.
	const reformatted = `{"kind":"Workflow","spec":{"templates":[{"container":{"command":["echo","{{workflow.parameters.message}}"],` +
		`"image":"alpine"},"name":"main"}],"arguments":{"parameters":[{"value":"hi","name":"message"}]},"entrypoint":"main"},` +
		`"metadata":{"generateName":"hello-"},"apiVersion":"argoproj.io/v1alpha1"}`
	// withDeadline puts an integer above 2^53 into the workflow.
	withDeadline := func(seconds string) []byte {
		return []byte(strings.Replace(workflowJSON, `"entrypoint": "main",`, `"entrypoint": "main", "activeDeadlineSeconds": `+seconds+`,`, 1))
	}
	tests := []struct {
		name string
		old  func(*pipelines.PipelineVersion)
		edit func(*pipelines.PipelineVersion)
		want []problem
	}{
		{name: "unchanged", edit: func(*pipelines.PipelineVersion) {}},
		{name: "labels and status change", edit: func(v *pipelines.PipelineVersion) {
			v.Labels = map[string]string{"release": "1"}
			v.Status.Parameters = nil
		}},
		{name: "workflow reformatted", edit: func(v *pipelines.PipelineVersion) { v.Spec.Workflow.Raw = []byte(reformatted) }},
		{name: "workflow as YAML would give it, indented", edit: func(v *pipelines.PipelineVersion) {
			v.Spec.Workflow.Raw = []byte(strings.ReplaceAll(workflowJSON, "\n", "\n\t\t"))
		}},
		{name: "name change", edit: func(v *pipelines.PipelineVersion) { v.Name = "hello-v2" }, want: []problem{invalid("metadata.name")}},
		{name: "pipelineName change", edit: func(v *pipelines.PipelineVersion) { v.Spec.PipelineName = "bye" },
			want: []problem{invalid("spec.pipelineName")}},
		{name: "description change", edit: func(v *pipelines.PipelineVersion) { v.Spec.Description = "Second thoughts." },
			want: []problem{invalid("spec.description")}},
		{name: "codeSourceURL change", edit: func(v *pipelines.PipelineVersion) { v.Spec.CodeSourceURL = "https://example.com/hello" },
			want: []problem{invalid("spec.codeSourceURL")}},
		{name: "workflow change", edit: func(v *pipelines.PipelineVersion) {
			v.Spec.Workflow.Raw = []byte(strings.Replace(workflowJSON, `"value": "hi"`, `"value": "bye"`, 1))
		}, want: []problem{invalid("spec.workflow")}},
		{name: "workflow removed", edit: func(v *pipelines.PipelineVersion) { v.Spec.Workflow = runtime.RawExtension{} },
			want: []problem{invalid("spec.workflow")}},
		{name: "workflow replaced by garbage", edit: func(v *pipelines.PipelineVersion) { v.Spec.Workflow.Raw = []byte(`{"kind":`) },
			want: []problem{invalid("spec.workflow")}},
		{
			name: "workflow integer beyond float precision changed",
			old:  func(v *pipelines.PipelineVersion) { v.Spec.Workflow.Raw = withDeadline("9007199254740993") },
			edit: func(v *pipelines.PipelineVersion) { v.Spec.Workflow.Raw = withDeadline("9007199254740992") },
			want: []problem{invalid("spec.workflow")},
		},
		{
			name: "whole spec changed",
			edit: func(v *pipelines.PipelineVersion) {
				v.Spec = pipelines.PipelineVersionSpec{PipelineName: "bye", Workflow: runtime.RawExtension{Raw: []byte(`{}`)}}
			},
			want: []problem{invalid("spec.pipelineName"), invalid("spec.description"), invalid("spec.codeSourceURL"), invalid("spec.workflow")},
		},
		{name: "invalid label", edit: func(v *pipelines.PipelineVersion) { v.Labels = map[string]string{"-": "x"} },
			want: []problem{invalid("metadata.labels")}},
		{name: "condition with a bad type", edit: func(v *pipelines.PipelineVersion) { v.Status.Conditions[0].Type = "not valid" },
			want: []problem{invalid("status.conditions[0].type")}},
		{name: "workflow replaced by a pipeline IR", edit: asIR(irJSON, ""),
			want: []problem{invalid("spec.workflow"), invalid("spec.pipelineSpec")}},
		{name: "pipeline IR unchanged", old: asIR(irJSON, platformJSON), edit: func(*pipelines.PipelineVersion) {}},
		{name: "pipeline IR changed", old: asIR(irJSON, platformJSON),
			edit: func(v *pipelines.PipelineVersion) {
				v.Spec.PipelineSpec.Raw = []byte(strings.Replace(irJSON, `"hi"`, `"ho"`, 1))
			},
			want: []problem{invalid("spec.pipelineSpec")}},
		{name: "platform spec removed", old: asIR(irJSON, platformJSON),
			edit: func(v *pipelines.PipelineVersion) { v.Spec.PlatformSpec = runtime.RawExtension{} },
			want: []problem{invalid("spec.platformSpec")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := validPipelineVersion()
			if tc.old != nil {
				tc.old(old)
			}
			v := old.DeepCopy()
			tc.edit(v)
			check(t, tc.want, ValidatePipelineVersionUpdate(v, old))
		})
	}
}

func TestValidateExperiment(t *testing.T) {
	tests := []struct {
		name string
		edit func(*pipelines.Experiment)
		want []problem
	}{
		{"valid", func(*pipelines.Experiment) {}, nil},
		{"archived", func(e *pipelines.Experiment) { e.Status.StorageState = pipelines.StorageStateArchived }, nil},
		{"no storage state yet", func(e *pipelines.Experiment) { e.Status = pipelines.ExperimentStatus{} }, nil},
		{"unknown storage state", func(e *pipelines.Experiment) { e.Status.StorageState = "Deleted" },
			[]problem{notSupported("status.storageState")}},
		{"storage state in lower case", func(e *pipelines.Experiment) { e.Status.StorageState = "archived" },
			[]problem{notSupported("status.storageState")}},
		{"displayName too long", func(e *pipelines.Experiment) { e.Spec.DisplayName = n(257) }, []problem{tooLong("spec.displayName")}},
		{"description too long", func(e *pipelines.Experiment) { e.Spec.Description = n(10001) }, []problem{tooLong("spec.description")}},
		{"condition with negative observedGeneration", func(e *pipelines.Experiment) { e.Status.Conditions[0].ObservedGeneration = -1 },
			[]problem{invalid("status.conditions[0].observedGeneration")}},
	}
	for _, mc := range metaCases() {
		tests = append(tests, struct {
			name string
			edit func(*pipelines.Experiment)
			want []problem
		}{mc.name, func(e *pipelines.Experiment) { mc.edit(&e.ObjectMeta) }, mc.want})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := validExperiment()
			tc.edit(e)
			check(t, tc.want, ValidateExperiment(e))
		})
	}
}

func TestValidateExperimentUpdate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*pipelines.Experiment)
		want []problem
	}{
		{"unchanged", func(*pipelines.Experiment) {}, nil},
		{"archive", func(e *pipelines.Experiment) { e.Status.StorageState = pipelines.StorageStateArchived }, nil},
		{"spec change", func(e *pipelines.Experiment) { e.Spec.Description = "Momentum too." }, nil},
		{"name change", func(e *pipelines.Experiment) { e.Name = "tuning-2" }, []problem{invalid("metadata.name")}},
		{"invalid label", func(e *pipelines.Experiment) { e.Labels = map[string]string{"app": "not valid"} }, []problem{invalid("metadata.labels")}},
		{"unknown storage state", func(e *pipelines.Experiment) { e.Status.StorageState = "Deleted" },
			[]problem{notSupported("status.storageState")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := validExperiment()
			tc.edit(e)
			check(t, tc.want, ValidateExperimentUpdate(e, validExperiment()))
		})
	}
}

// refAndParamCases are the spec mistakes runs and jobs report the same way.
func refAndParamCases() []struct {
	name string
	edit func(*pipelines.RunSpec)
	want []problem
} {
	return []struct {
		name string
		edit func(*pipelines.RunSpec)
		want []problem
	}{
		{"no experimentName", func(s *pipelines.RunSpec) { s.ExperimentName = "" }, []problem{required("spec.experimentName")}},
		{"invalid experimentName", func(s *pipelines.RunSpec) { s.ExperimentName = "Tuning" }, []problem{invalid("spec.experimentName")}},
		{"pipelineRef with name only", func(s *pipelines.RunSpec) { s.PipelineRef = pipelines.PipelineRef{PipelineName: "hello"} }, nil},
		{"no pipelineName", func(s *pipelines.RunSpec) { s.PipelineRef.PipelineName = "" }, []problem{required("spec.pipelineRef.pipelineName")}},
		{"invalid pipelineName", func(s *pipelines.RunSpec) { s.PipelineRef.PipelineName = "Hello" },
			[]problem{invalid("spec.pipelineRef.pipelineName")}},
		{"uppercase pipelineRef namespace", func(s *pipelines.RunSpec) { s.PipelineRef.Namespace = "Shared" },
			[]problem{invalid("spec.pipelineRef.namespace")}},
		{"dotted pipelineRef namespace", func(s *pipelines.RunSpec) { s.PipelineRef.Namespace = "shared.pipelines" },
			[]problem{invalid("spec.pipelineRef.namespace")}},
		{"pipelineRef namespace too long", func(s *pipelines.RunSpec) { s.PipelineRef.Namespace = n(64) },
			[]problem{invalid("spec.pipelineRef.namespace")}},
		{"invalid versionName", func(s *pipelines.RunSpec) { s.PipelineRef.VersionName = "V1" },
			[]problem{invalid("spec.pipelineRef.versionName")}},
		{"versionName with a slash", func(s *pipelines.RunSpec) { s.PipelineRef.VersionName = "hello/v1" },
			[]problem{invalid("spec.pipelineRef.versionName")}},
		{"no parameters", func(s *pipelines.RunSpec) { s.Parameters = nil }, nil},
		{"duplicate parameter names", func(s *pipelines.RunSpec) {
			s.Parameters = append(s.Parameters, pipelines.RunParameter{Name: "message", Value: "again"})
		}, []problem{duplicate("spec.parameters[2].name")}},
		{"parameter without a name", func(s *pipelines.RunSpec) { s.Parameters[1].Name = "" }, []problem{required("spec.parameters[1].name")}},
		{"no serviceAccountName", func(s *pipelines.RunSpec) { s.ServiceAccountName = "" }, nil},
		{"invalid serviceAccountName", func(s *pipelines.RunSpec) { s.ServiceAccountName = "pipeline_runner" },
			[]problem{invalid("spec.serviceAccountName")}},
		{"serviceAccountName too long", func(s *pipelines.RunSpec) { s.ServiceAccountName = n(254) },
			[]problem{invalid("spec.serviceAccountName")}},
	}
}

func TestValidateRun(t *testing.T) {
	tests := []struct {
		name string
		edit func(*pipelines.Run)
		want []problem
	}{
		{"valid", func(*pipelines.Run) {}, nil},
		{"no status yet", func(r *pipelines.Run) { r.Status = pipelines.RunStatus{} }, nil},
		{"name of 63", func(r *pipelines.Run) { r.Name = n(63) }, nil},
		{"name of 64", func(r *pipelines.Run) { r.Name = n(64) }, []problem{invalid("metadata.name")}},
		{"name of 300", func(r *pipelines.Run) { r.Name = n(300) }, []problem{invalid("metadata.name")}},
		{"dotted name", func(r *pipelines.Run) { r.Name = "tuning.1" }, []problem{invalid("metadata.name")}},
		{"generateName of 58", func(r *pipelines.Run) { r.GenerateName, r.Name = n(58), n(63) }, nil},
		{"generateName of 59", func(r *pipelines.Run) { r.GenerateName, r.Name = n(59), n(63) }, []problem{invalid("metadata.generateName")}},
		{"unknown phase", func(r *pipelines.Run) { r.Status.Phase = "Done" }, []problem{notSupported("status.phase")}},
		{"phase in lower case", func(r *pipelines.Run) { r.Status.Phase = "running" }, []problem{notSupported("status.phase")}},
		{"unknown storage state", func(r *pipelines.Run) { r.Status.StorageState = "Gone" }, []problem{notSupported("status.storageState")}},
		{"invalid pipelineVersion", func(r *pipelines.Run) { r.Status.PipelineVersion = "Hello-V1" }, []problem{invalid("status.pipelineVersion")}},
		{"completionTime before startTime", func(r *pipelines.Run) { r.Status.StartTime, r.Status.CompletionTime = at(t1), at(t0) },
			[]problem{invalid("status.completionTime")}},
		{"completionTime at startTime", func(r *pipelines.Run) { r.Status.CompletionTime = at(t0) }, nil},
		{"completionTime without startTime", func(r *pipelines.Run) { r.Status.StartTime = nil }, nil},
		{"message too long", func(r *pipelines.Run) { r.Status.Message = n(32769) }, []problem{tooLong("status.message")}},
		{"s3 pipelineRoot", func(r *pipelines.Run) { r.Spec.PipelineRoot = "s3://team-artifacts/pipelines/v2" }, nil},
		{"minio pipelineRoot, bucket only", func(r *pipelines.Run) { r.Spec.PipelineRoot = "minio://mlpipeline" }, nil},
		{"gs pipelineRoot", func(r *pipelines.Run) { r.Spec.PipelineRoot = "gs://bucket/root" }, []problem{invalid("spec.pipelineRoot")}},
		{"path as pipelineRoot", func(r *pipelines.Run) { r.Spec.PipelineRoot = "/tmp/artifacts" }, []problem{invalid("spec.pipelineRoot")}},
		{"pipelineRoot without bucket", func(r *pipelines.Run) { r.Spec.PipelineRoot = "s3:///prefix" }, []problem{invalid("spec.pipelineRoot")}},
		{"pipelineRoot with credentials", func(r *pipelines.Run) { r.Spec.PipelineRoot = "s3://key:secret@bucket/p" }, []problem{invalid("spec.pipelineRoot")}},
		{"pipelineRoot with port", func(r *pipelines.Run) { r.Spec.PipelineRoot = "s3://bucket:9000/p" }, []problem{invalid("spec.pipelineRoot")}},
		{"pipelineRoot with query", func(r *pipelines.Run) { r.Spec.PipelineRoot = "s3://bucket/p?endpoint=x" }, []problem{invalid("spec.pipelineRoot")}},
		{"pipelineRoot with upper-case bucket", func(r *pipelines.Run) { r.Spec.PipelineRoot = "s3://Bucket/p" }, []problem{invalid("spec.pipelineRoot")}},
		{"pipelineRoot too long", func(r *pipelines.Run) { r.Spec.PipelineRoot = "s3://bucket/" + n(1100) }, []problem{tooLong("spec.pipelineRoot")}},
		{"several mistakes", func(r *pipelines.Run) {
			r.Name = "Tuning"
			r.Spec.ExperimentName = ""
			r.Spec.PipelineRef.Namespace = "Shared"
			r.Status.Phase = "Done"
		}, []problem{invalid("metadata.name"), required("spec.experimentName"), invalid("spec.pipelineRef.namespace"), notSupported("status.phase")}},
	}
	for _, phase := range []pipelines.RunPhase{
		pipelines.RunPhasePending, pipelines.RunPhaseRunning, pipelines.RunPhaseSucceeded, pipelines.RunPhaseFailed,
		pipelines.RunPhaseError, pipelines.RunPhaseSkipped, pipelines.RunPhaseCanceling, pipelines.RunPhaseCanceled,
	} {
		tests = append(tests, struct {
			name string
			edit func(*pipelines.Run)
			want []problem
		}{"phase " + string(phase), func(r *pipelines.Run) { r.Status.Phase = phase }, nil})
	}
	for _, mc := range metaCases() {
		tests = append(tests, struct {
			name string
			edit func(*pipelines.Run)
			want []problem
		}{mc.name, func(r *pipelines.Run) { mc.edit(&r.ObjectMeta) }, mc.want})
	}
	for _, sc := range refAndParamCases() {
		tests = append(tests, struct {
			name string
			edit func(*pipelines.Run)
			want []problem
		}{sc.name, func(r *pipelines.Run) { sc.edit(&r.Spec) }, sc.want})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := validRun()
			tc.edit(r)
			check(t, tc.want, ValidateRun(r))
		})
	}
}

func TestValidateRunUpdate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*pipelines.Run)
		want []problem
	}{
		{"unchanged", func(*pipelines.Run) {}, nil},
		{"status and labels change", func(r *pipelines.Run) {
			r.Labels = map[string]string{"reviewed": "yes"}
			r.Status.Phase = pipelines.RunPhaseFailed
			r.Status.StorageState = pipelines.StorageStateArchived
			r.Status.Message = "step train failed"
		}, nil},
		{"experimentName change", func(r *pipelines.Run) { r.Spec.ExperimentName = "other" }, []problem{invalid("spec.experimentName")}},
		{"pipelineRef versionName change", func(r *pipelines.Run) { r.Spec.PipelineRef.VersionName = "hello-v2" },
			[]problem{invalid("spec.pipelineRef")}},
		{"pipelineRef namespace change", func(r *pipelines.Run) { r.Spec.PipelineRef.Namespace = "" },
			[]problem{invalid("spec.pipelineRef")}},
		{"parameter value change", func(r *pipelines.Run) { r.Spec.Parameters[0].Value = "bye" }, []problem{invalid("spec.parameters")}},
		{"parameter added", func(r *pipelines.Run) {
			r.Spec.Parameters = append(r.Spec.Parameters, pipelines.RunParameter{Name: "extra", Value: "1"})
		}, []problem{invalid("spec.parameters")}},
		{"parameters reordered", func(r *pipelines.Run) {
			r.Spec.Parameters[0], r.Spec.Parameters[1] = r.Spec.Parameters[1], r.Spec.Parameters[0]
		}, []problem{invalid("spec.parameters")}},
		{"serviceAccountName change", func(r *pipelines.Run) { r.Spec.ServiceAccountName = "default" },
			[]problem{invalid("spec.serviceAccountName")}},
		{"pipelineRoot set", func(r *pipelines.Run) { r.Spec.PipelineRoot = "s3://other/root" },
			[]problem{invalid("spec.pipelineRoot")}},
		{"whole spec change", func(r *pipelines.Run) {
			r.Spec = pipelines.RunSpec{ExperimentName: "x", PipelineRef: pipelines.PipelineRef{PipelineName: "y"}}
		}, []problem{invalid("spec.experimentName"), invalid("spec.pipelineRef"), invalid("spec.parameters"), invalid("spec.serviceAccountName")}},
		{"name change", func(r *pipelines.Run) { r.Name = "tuning-2" }, []problem{invalid("metadata.name")}},
		{"invalid label", func(r *pipelines.Run) { r.Labels = map[string]string{"app": "not valid"} }, []problem{invalid("metadata.labels")}},
		{"unknown phase", func(r *pipelines.Run) { r.Status.Phase = "Done" }, []problem{notSupported("status.phase")}},
		{"completionTime before startTime", func(r *pipelines.Run) { r.Status.CompletionTime = at(metav1.NewTime(t0.Add(-time.Second))) },
			[]problem{invalid("status.completionTime")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := validRun()
			tc.edit(r)
			check(t, tc.want, ValidateRunUpdate(r, validRun()))
		})
	}
	t.Run("parameters empty instead of absent", func(t *testing.T) {
		old := validRun()
		old.Spec.Parameters = nil
		r := old.DeepCopy()
		r.Spec.Parameters = []pipelines.RunParameter{}
		check(t, nil, ValidateRunUpdate(r, old))
	})
}

func TestValidateJob(t *testing.T) {
	tests := []struct {
		name string
		edit func(*pipelines.Job)
		want []problem
	}{
		{"valid", func(*pipelines.Job) {}, nil},
		{"name of 52", func(j *pipelines.Job) { j.Name = n(52) }, nil},
		{"name of 53", func(j *pipelines.Job) { j.Name = n(53) }, []problem{invalid("metadata.name")}},
		{"name of 64", func(j *pipelines.Job) { j.Name = n(64) }, []problem{invalid("metadata.name")}},
		{"dotted name", func(j *pipelines.Job) { j.Name = "nightly.train" }, []problem{invalid("metadata.name")}},
		{"generateName of 47", func(j *pipelines.Job) { j.GenerateName, j.Name = n(47), n(52) }, nil},
		{"generateName of 48", func(j *pipelines.Job) { j.GenerateName, j.Name = n(48), n(52) }, []problem{invalid("metadata.generateName")}},
		{"5-field cron", func(j *pipelines.Job) { j.Spec.Schedule.Cron = "0 2 * * 1-5" }, nil},
		{"cron with 4 fields", func(j *pipelines.Job) { j.Spec.Schedule.Cron = "0 2 * *" }, []problem{invalid("spec.schedule.cron")}},
		{"cron with 7 fields", func(j *pipelines.Job) { j.Spec.Schedule.Cron = "0 0 2 * * * 2026" }, []problem{invalid("spec.schedule.cron")}},
		{"interval", func(j *pipelines.Job) { j.Spec.Schedule.Cron, j.Spec.Schedule.IntervalSeconds = "", 3600 }, nil},
		{"neither cron nor interval", func(j *pipelines.Job) { j.Spec.Schedule.Cron = "" }, []problem{required("spec.schedule")}},
		{"both cron and interval", func(j *pipelines.Job) { j.Spec.Schedule.IntervalSeconds = 3600 },
			[]problem{forbidden("spec.schedule.intervalSeconds")}},
		{"negative interval", func(j *pipelines.Job) { j.Spec.Schedule.Cron, j.Spec.Schedule.IntervalSeconds = "", -60 },
			[]problem{invalid("spec.schedule.intervalSeconds")}},
		{"cron with tabs (issue 13)", func(j *pipelines.Job) { j.Spec.Schedule.Cron = "CRON_TZ=UTC\t0\t*\t*\t*\t*" },
			[]problem{invalid("spec.schedule.cron")}},
		{"cron with an unknown zone", func(j *pipelines.Job) { j.Spec.Schedule.Cron = "CRON_TZ=Mars/Olympus 0 * * * *" },
			[]problem{invalid("spec.schedule.cron")}},
		{"cron with a zone", func(j *pipelines.Job) { j.Spec.Schedule.Cron = "CRON_TZ=Europe/Berlin 0 0 12 * * *" }, nil},
		{"cron descriptor", func(j *pipelines.Job) { j.Spec.Schedule.Cron = "@hourly" }, nil},
		{"cron @every", func(j *pipelines.Job) { j.Spec.Schedule.Cron = "@every 2h30m" }, nil},
		{"cron that never fires", func(j *pipelines.Job) { j.Spec.Schedule.Cron = "0 0 30 2 *" }, []problem{invalid("spec.schedule.cron")}},
		{"interval of a hundred years and a second", func(j *pipelines.Job) {
			j.Spec.Schedule.Cron, j.Spec.Schedule.IntervalSeconds = "", 100*365*24*3600+1
		}, []problem{invalid("spec.schedule.intervalSeconds")}},
		{"no start or end", func(j *pipelines.Job) { j.Spec.Schedule.StartTime, j.Spec.Schedule.EndTime = nil, nil }, nil},
		{"end without start", func(j *pipelines.Job) { j.Spec.Schedule.StartTime = nil }, nil},
		{"endTime before startTime", func(j *pipelines.Job) { j.Spec.Schedule.StartTime, j.Spec.Schedule.EndTime = at(t1), at(t0) },
			[]problem{invalid("spec.schedule.endTime")}},
		{"endTime at startTime", func(j *pipelines.Job) { j.Spec.Schedule.EndTime = at(t0) }, []problem{invalid("spec.schedule.endTime")}},
		{"maxConcurrency 10", func(j *pipelines.Job) { j.Spec.MaxConcurrency = 10 }, nil},
		{"maxConcurrency 0", func(j *pipelines.Job) { j.Spec.MaxConcurrency = 0 }, []problem{invalid("spec.maxConcurrency")}},
		{"maxConcurrency 11", func(j *pipelines.Job) { j.Spec.MaxConcurrency = 11 }, []problem{invalid("spec.maxConcurrency")}},
		{"maxConcurrency -1", func(j *pipelines.Job) { j.Spec.MaxConcurrency = -1 }, []problem{invalid("spec.maxConcurrency")}},
		{"disabled", func(j *pipelines.Job) { j.Spec.Enabled = ptr(false) }, nil},
		{"enabled nil", func(j *pipelines.Job) { j.Spec.Enabled = nil }, []problem{required("spec.enabled")}},
		{"invalid active run", func(j *pipelines.Job) { j.Status.Active = append(j.Status.Active, "Nightly_2") },
			[]problem{invalid("status.active[1]")}},
		{"condition without type", func(j *pipelines.Job) { j.Status.Conditions[0].Type = "" }, []problem{required("status.conditions[0].type")}},
	}
	for _, mc := range metaCases() {
		tests = append(tests, struct {
			name string
			edit func(*pipelines.Job)
			want []problem
		}{mc.name, func(j *pipelines.Job) { mc.edit(&j.ObjectMeta) }, mc.want})
	}
	for _, sc := range refAndParamCases() {
		tests = append(tests, struct {
			name string
			edit func(*pipelines.Job)
			want []problem
		}{sc.name, func(j *pipelines.Job) {
			rs := pipelines.RunSpec{ExperimentName: j.Spec.ExperimentName, PipelineRef: j.Spec.PipelineRef,
				Parameters: j.Spec.Parameters, ServiceAccountName: j.Spec.ServiceAccountName}
			sc.edit(&rs)
			j.Spec.ExperimentName, j.Spec.PipelineRef = rs.ExperimentName, rs.PipelineRef
			j.Spec.Parameters, j.Spec.ServiceAccountName = rs.Parameters, rs.ServiceAccountName
		}, sc.want})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := validJob()
			tc.edit(j)
			check(t, tc.want, ValidateJob(j))
		})
	}
}

func TestValidateJobUpdate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*pipelines.Job)
		want []problem
	}{
		{"unchanged", func(*pipelines.Job) {}, nil},
		{"experimentName change", func(j *pipelines.Job) { j.Spec.ExperimentName = "other" }, []problem{invalid("spec.experimentName")}},
		{"experimentName removed", func(j *pipelines.Job) { j.Spec.ExperimentName = "" },
			[]problem{invalid("spec.experimentName"), required("spec.experimentName")}},
		{"pipelineRef change", func(j *pipelines.Job) { j.Spec.PipelineRef = pipelines.PipelineRef{PipelineName: "bye"} }, nil},
		{"parameters change", func(j *pipelines.Job) { j.Spec.Parameters = []pipelines.RunParameter{{Name: "message", Value: "bye"}} }, nil},
		{"serviceAccountName change", func(j *pipelines.Job) { j.Spec.ServiceAccountName = "default" }, nil},
		{"schedule change", func(j *pipelines.Job) { j.Spec.Schedule = pipelines.Schedule{IntervalSeconds: 600} }, nil},
		{"maxConcurrency change", func(j *pipelines.Job) { j.Spec.MaxConcurrency = 3 }, nil},
		{"noCatchup change", func(j *pipelines.Job) { j.Spec.NoCatchup = true }, nil},
		{"disable", func(j *pipelines.Job) { j.Spec.Enabled = ptr(false) }, nil},
		{"status change", func(j *pipelines.Job) { j.Status.Active = nil; j.Status.LastScheduleTime = at(t1) }, nil},
		{"invalid new schedule", func(j *pipelines.Job) { j.Spec.Schedule.IntervalSeconds = 60 }, []problem{forbidden("spec.schedule.intervalSeconds")}},
		{"invalid new maxConcurrency", func(j *pipelines.Job) { j.Spec.MaxConcurrency = 11 }, []problem{invalid("spec.maxConcurrency")}},
		{"enabled nil", func(j *pipelines.Job) { j.Spec.Enabled = nil }, []problem{required("spec.enabled")}},
		{"name change", func(j *pipelines.Job) { j.Name = "weekly" }, []problem{invalid("metadata.name")}},
		{"invalid label", func(j *pipelines.Job) { j.Labels = map[string]string{"app": "not valid"} }, []problem{invalid("metadata.labels")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := validJob()
			tc.edit(j)
			check(t, tc.want, ValidateJobUpdate(j, validJob()))
		})
	}
}

// irJSON is a valid pipeline IR: one task echoing a pipeline input.
const irJSON = `{
  "pipelineInfo": {"name": "echo"}, "schemaVersion": "2.1.0",
  "deploymentSpec": {"executors": {"exec-echo": {"container": {"image": "alpine", "command": ["echo"]}}}},
  "components": {"comp-echo": {"executorLabel": "exec-echo", "inputDefinitions": {"parameters": {"msg": {"parameterType": "STRING"}}}}},
  "root": {"inputDefinitions": {"parameters": {"msg": {"parameterType": "STRING", "defaultValue": "hi"}}},
    "dag": {"tasks": {"echo": {"taskInfo": {"name": "echo"}, "componentRef": {"name": "comp-echo"},
      "inputs": {"parameters": {"msg": {"componentInputParameter": "msg"}}}}}}}
}`

// platformJSON mounts a secret into irJSON's executor.
const platformJSON = `{"platforms": {"kubernetes": {"deploymentSpec": {"executors": {"exec-echo": {
  "secretAsEnv": [{"secretNameParameter": {"runtimeValue": {"constant": "s"}}, "keyToEnv": [{"secretKey": "k", "envVar": "K"}]}]}}}}}}`

// asIR makes a version hold the pipeline IR ir and the platform spec platform instead
// of its workflow.
func asIR(ir, platform string) func(*pipelines.PipelineVersion) {
	return func(v *pipelines.PipelineVersion) {
		v.Spec.Workflow = runtime.RawExtension{}
		v.Spec.PipelineSpec.Raw = []byte(ir)
		if platform != "" {
			v.Spec.PlatformSpec.Raw = []byte(platform)
		}
	}
}

// TestValidateJobUpdateRatchetsSchedule: a schedule stored before validation parsed it
// (or written straight into the database) does not block updates that leave it alone,
// such as the scheduler's status update saying why it cannot run; changing it to
// another invalid one is refused.
func TestValidateJobUpdateRatchetsSchedule(t *testing.T) {
	old := validJob()
	old.Spec.Schedule.Cron = "CRON_TZ=UTC\t0\t*\t*\t*\t*"
	j := old.DeepCopy()
	j.Status.Active = nil
	check(t, nil, ValidateJobUpdate(j, old))
	j.Spec.Schedule.Cron = "TZ=UTC\t0 * * * *"
	check(t, []problem{invalid("spec.schedule.cron")}, ValidateJobUpdate(j, old))
}
