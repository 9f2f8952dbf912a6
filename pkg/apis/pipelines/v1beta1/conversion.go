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
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
)

// Field selectors each kind supports beyond metadata.name and metadata.namespace. The
// storage engine keeps them in indexed columns, so filtering on them is an indexed read.
var selectableFields = map[string][]string{
	"Pipeline":        nil,
	"PipelineVersion": {"spec.pipelineName"},
	"Experiment":      {"status.storageState"},
	"Run":             {"spec.experimentName", "spec.pipelineRef.pipelineName", "status.phase", "status.storageState", "status.finished"},
	RecentRunKind:     {"spec.experimentName", "spec.pipelineRef.pipelineName", "status.phase", "status.storageState", "status.finished"},
	"Job":             {"spec.experimentName", "spec.pipelineRef.pipelineName"},
}

func addFieldLabelConversionFuncs(scheme *runtime.Scheme) error {
	for kind, fields := range selectableFields {
		allowed := map[string]bool{"metadata.name": true, "metadata.namespace": true}
		for _, f := range fields {
			allowed[f] = true
		}
		if err := scheme.AddFieldLabelConversionFunc(SchemeGroupVersion.WithKind(kind),
			func(label, value string) (string, string, error) {
				if allowed[label] {
					return label, value, nil
				}
				return "", "", fmt.Errorf("field label not supported for %s: %s", kind, label)
			}); err != nil {
			return err
		}
	}
	return nil
}
