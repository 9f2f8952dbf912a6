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

package job

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apiserver/pkg/authentication/user"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/utils/ptr"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
)

func as(name string) context.Context {
	return genericapirequest.WithUser(context.Background(), &user.DefaultInfo{
		Name: name, UID: name + "-uid", Groups: []string{"team", "system:authenticated"},
		Extra: map[string][]string{"scopes": {"a", "b"}},
	})
}

func authored(name string) *pipelines.Author {
	return &pipelines.Author{Username: name, UID: name + "-uid", Groups: []string{"team", "system:authenticated"},
		Extra: map[string]pipelines.ExtraValue{"scopes": {"a", "b"}}}
}

func stored() *pipelines.Job {
	return &pipelines.Job{Spec: pipelines.JobSpec{
		ExperimentName: "e", PipelineRef: pipelines.PipelineRef{PipelineName: "p"}, Enabled: ptr.To(true),
	}, Status: pipelines.JobStatus{Author: authored("bob")}}
}

func TestCreateRecordsTheCaller(t *testing.T) {
	j := stored()
	j.Status.Author = &pipelines.Author{Username: "forged"}
	newStrategy(nil).PrepareForCreate(as("alice"), j)
	if diff := cmp.Diff(authored("alice"), j.Status.Author); diff != "" {
		t.Errorf("author (-want +got):\n%s", diff)
	}
}

func TestUpdateAuthor(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*pipelines.Job)
		status bool
		want   string
	}{
		{name: "pipelineRef", change: func(j *pipelines.Job) { j.Spec.PipelineRef.Namespace = "team-a" }, want: "alice"},
		{name: "parameters", change: func(j *pipelines.Job) { j.Spec.Parameters = []pipelines.RunParameter{{Name: "x"}} }, want: "alice"},
		{name: "schedule", change: func(j *pipelines.Job) { j.Spec.Schedule.IntervalSeconds = 60 }, want: "alice"},
		{name: "enabled only", change: func(j *pipelines.Job) { j.Spec.Enabled = ptr.To(false) }, want: "bob"},
		{name: "labels only", change: func(j *pipelines.Job) { j.Labels = map[string]string{"a": "b"} }, want: "bob"},
		{name: "author written", change: func(j *pipelines.Job) { j.Status.Author = authored("alice") }, want: "bob"},
		{name: "author and spec written through status", status: true, want: "bob", change: func(j *pipelines.Job) {
			j.Status.Author = authored("alice")
			j.Spec.PipelineRef.Namespace = "team-a"
		}},
		{name: "author removed through status", status: true, want: "bob", change: func(j *pipelines.Job) { j.Status.Author = nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old, j := stored(), stored()
			tc.change(j)
			if tc.status {
				statusStrategy{newStrategy(nil)}.PrepareForUpdate(as("alice"), j, old)
			} else {
				newStrategy(nil).PrepareForUpdate(as("alice"), j, old)
			}
			if diff := cmp.Diff(authored(tc.want), j.Status.Author); diff != "" {
				t.Errorf("author (-want +got):\n%s", diff)
			}
			if tc.status && j.Spec.PipelineRef.Namespace != "" {
				t.Errorf("the status update changed the spec: %+v", j.Spec)
			}
		})
	}
}
