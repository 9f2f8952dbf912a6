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
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
)

// The controllers read v1beta1 objects from their informers. These check such an object
// with the rules a create applies, so that one stored by an older version or written
// straight into the database is recognised before a controller acts on it.

// ValidateStoredRun checks a run as the run executor reads it.
func ValidateStoredRun(r *v1beta1.Run) field.ErrorList {
	var in pipelines.Run
	if err := v1beta1.Convert_v1beta1_Run_To_pipelines_Run(r, &in, nil); err != nil {
		return field.ErrorList{field.InternalError(nil, err)}
	}
	return ValidateRun(&in)
}

// ValidateStoredJob checks a job as the job scheduler reads it.
func ValidateStoredJob(j *v1beta1.Job) field.ErrorList {
	var in pipelines.Job
	if err := v1beta1.Convert_v1beta1_Job_To_pipelines_Job(j, &in, nil); err != nil {
		return field.ErrorList{field.InternalError(nil, err)}
	}
	return ValidateJob(&in)
}
