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

package v1beta1

import (
	"k8s.io/apimachinery/pkg/runtime"
)

func addDefaultingFuncs(scheme *runtime.Scheme) error {
	return RegisterDefaults(scheme)
}

// SetDefaults_JobSpec enables a job and lets it run one run at a time unless told otherwise.
func SetDefaults_JobSpec(obj *JobSpec) { //nolint:revive // the name is what defaulter-gen looks for
	if obj.Enabled == nil {
		enabled := true
		obj.Enabled = &enabled
	}
	if obj.MaxConcurrency == 0 {
		obj.MaxConcurrency = 1
	}
}
