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

package validation_test

import (
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/conversion"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kjson "sigs.k8s.io/json"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/validation"
	runexecutor "github.com/pipelines-apiserver/pipelines-apiserver/pkg/controller/run"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/schedule"
)

// The fuzz targets build objects from bytes as the server does from a request body
// (JSON into the v1beta1 type, defaults, conversion) and validate them on create and
// on update: nothing may panic, and what validation accepts the controllers must be
// able to use. Plain go test runs the seeds; make fuzz runs each target for a while.

const manifest = `{"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow","metadata":{"generateName":"echo-"},
 "spec":{"entrypoint":"echo","arguments":{"parameters":[{"name":"message","value":"hello"}]},
 "templates":[{"name":"echo","dag":{"tasks":[{"name":"a","template":"leaf"}]}},{"name":"leaf","container":{"image":"busybox"}}]}}`

// hostile are strings a tenant may put in any field.
var hostile = []string{
	"CRON_TZ=UTC\t0\t*\t*\t*\t*", "TZ=UTC", "\x00", "a\x00b", "\u00a0", "\u2003", "\u3000", "\ufeff", "\xff\xfe",
	"99999999999999999999999999", "-1", "..", "../etc", "%2e%2e", strings.Repeat("a", 70000),
}

func seeds(f *testing.F, valid ...string) {
	for _, s := range valid {
		f.Add([]byte(s))
		// The valid object with each hostile string in each string value.
		for _, h := range hostile[:len(hostile)-1] {
			q, _ := json.Marshal(h)
			f.Add([]byte(strings.Replace(s, `"name":"x"`, `"name":`+string(q), 1)))
			f.Add([]byte(strings.Replace(s, `"cron":"0 * * * * *"`, `"cron":`+string(q), 1)))
			f.Add([]byte(strings.Replace(s, `"value":"v"`, `"value":`+string(q), 1)))
		}
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"metadata":{"name":"x","namespace":"ns"},"spec":null,"status":{"conditions":[{}]}}`))
}

// fuzz decodes data into E, defaults and converts it to I and validates it on create and
// on update (against itself and against an empty object), then runs check on what
// passed.
func fuzz[E, I any](t *testing.T, data []byte, defaults func(*E), convert func(*E, *I, conversion.Scope) error,
	create func(*I) field.ErrorList, update func(*I, *I) field.ErrorList, check func(*E, *I)) {
	var ext E
	if kjson.UnmarshalCaseSensitivePreserveInts(data, &ext) != nil {
		return
	}
	defaults(&ext)
	var in, empty I
	if convert(&ext, &in, nil) != nil {
		return
	}
	update(&in, &in)
	update(&in, &empty)
	update(&empty, &in)
	if len(create(&in)) == 0 && check != nil {
		check(&ext, &in)
	}
}

func none[T any](*T) {}

func FuzzValidatePipeline(f *testing.F) {
	seeds(f, `{"metadata":{"name":"x","namespace":"ns"},"spec":{"displayName":"v","description":"d"},"status":{"latestVersion":"x-v1","versionCount":1}}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzz(t, data, none[v1beta1.Pipeline], v1beta1.Convert_v1beta1_Pipeline_To_pipelines_Pipeline,
			validation.ValidatePipeline, validation.ValidatePipelineUpdate, nil)
	})
}

func FuzzValidateExperiment(f *testing.F) {
	seeds(f, `{"metadata":{"name":"x","namespace":"ns"},"spec":{"displayName":"v"},"status":{"storageState":"Archived"}}`,
		`{"metadata":{"name":"x","namespace":"ns"},"status":{"storageState":"Bogus"}}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzz(t, data, none[v1beta1.Experiment], v1beta1.Convert_v1beta1_Experiment_To_pipelines_Experiment,
			validation.ValidateExperiment, validation.ValidateExperimentUpdate, nil)
	})
}

// FuzzValidatePipelineVersion: a version that validates is one the run executor can build
// a workflow from.
func FuzzValidatePipelineVersion(f *testing.F) {
	seeds(f, `{"metadata":{"name":"x","namespace":"ns"},"spec":{"pipelineName":"p","workflow":`+manifest+`}}`,
		`{"metadata":{"name":"x","namespace":"ns"},"spec":{"pipelineName":"p","workflow":{"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow","spec":{"entrypoint":"e","templates":[{"name":"e","steps":[[{"name":"s","template":"e","onExit":"e"}]]}],"arguments":{"parameters":[{"name":"x"}]}}}}}`,
		`{"metadata":{"name":"x","namespace":"ns"},"spec":{"pipelineName":"p","workflow":{"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow","spec":{"entrypoint":"e","templates":[{"name":"e"}],"arguments":{"parameters":[1]}}}}}`,
		`{"metadata":{"name":"x","namespace":"ns"},"spec":{"pipelineName":"p","workflow":{"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow","spec":{"entrypoint":"e","templates":[{"name":"e"}],"parallelism":0}}}}`,
		`{"metadata":{"name":"x","namespace":"ns"},"spec":{"pipelineName":"p","workflow":[]}}`,
		`{"metadata":{"name":"x","namespace":"ns"},"spec":{"pipelineName":"p","workflow":"x"}}`)
	run := &v1beta1.Run{Spec: v1beta1.RunSpec{Parameters: []v1beta1.RunParameter{{Name: "message", Value: "v"}, {Name: "other", Value: "w"}}}}
	run.Name, run.Namespace = "r", "ns"
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzz(t, data, none[v1beta1.PipelineVersion], v1beta1.Convert_v1beta1_PipelineVersion_To_pipelines_PipelineVersion,
			validation.ValidatePipelineVersion, validation.ValidatePipelineVersionUpdate,
			func(_ *v1beta1.PipelineVersion, v *pipelines.PipelineVersion) {
				if len(v.Spec.Workflow.Raw) == 0 {
					return // a KFP 2 pipeline IR, compiled by pkg/compiler
				}
				if _, err := runexecutor.BuildWorkflow(run, v.Spec.Workflow.Raw, 1, "default-runner"); err != nil {
					t.Fatalf("valid version, but the executor cannot build its workflow: %v\n%s", err, v.Spec.Workflow.Raw)
				}
			})
	})
}

func FuzzValidateRun(f *testing.F) {
	seeds(f, `{"metadata":{"name":"x","namespace":"ns"},"spec":{"experimentName":"e","pipelineRef":{"pipelineName":"p"},"parameters":[{"name":"a","value":"v"}]},"status":{"phase":"Running"}}`,
		`{"metadata":{"name":"x","namespace":"ns"},"spec":{"experimentName":"e","pipelineRef":{"namespace":"other","pipelineName":"p","versionName":"v"},"serviceAccountName":"sa"},"status":{"phase":"Bogus","storageState":"Nope"}}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzz(t, data, none[v1beta1.Run], v1beta1.Convert_v1beta1_Run_To_pipelines_Run,
			validation.ValidateRun, validation.ValidateRunUpdate, func(r *v1beta1.Run, _ *pipelines.Run) {
				if errs := validation.ValidateStoredRun(r); len(errs) > 0 {
					t.Fatalf("valid run, but not as stored: %v", errs)
				}
			})
	})
}

// FuzzValidateJob: a job that validates is one the scheduler can read the schedule of.
func FuzzValidateJob(f *testing.F) {
	seeds(f, `{"metadata":{"name":"x","namespace":"ns"},"spec":{"experimentName":"e","pipelineRef":{"pipelineName":"p"},"parameters":[{"name":"a","value":"v"}],"schedule":{"cron":"0 * * * * *"},"maxConcurrency":2}}`,
		`{"metadata":{"name":"x","namespace":"ns"},"spec":{"experimentName":"e","pipelineRef":{"pipelineName":"p"},"schedule":{"intervalSeconds":9223372036854775807,"startTime":"2026-01-01T00:00:00Z","endTime":"2025-01-01T00:00:00Z"}}}`,
		`{"metadata":{"name":"x","namespace":"ns"},"spec":{"experimentName":"e","pipelineRef":{"pipelineName":"p"},"schedule":{"cron":"@every 1h","intervalSeconds":-1}}}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzz(t, data, v1beta1.SetObjectDefaults_Job, v1beta1.Convert_v1beta1_Job_To_pipelines_Job,
			validation.ValidateJob, validation.ValidateJobUpdate, func(j *v1beta1.Job, _ *pipelines.Job) {
				s := j.Spec.Schedule
				if _, err := schedule.New(schedule.Spec{Cron: s.Cron, IntervalSeconds: s.IntervalSeconds, StartTime: s.StartTime, EndTime: s.EndTime},
					j.CreationTimestamp.Time); err != nil {
					t.Fatalf("valid job, but the scheduler cannot read its schedule: %v", err)
				}
				if errs := validation.ValidateStoredJob(j); len(errs) > 0 {
					t.Fatalf("valid job, but not as stored: %v", errs)
				}
			})
	})
}
