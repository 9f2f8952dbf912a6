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

package launcher

import "github.com/pipelines-apiserver/pipelines-apiserver/pkg/launcherspec"

// The executor's documents, in the JSON form of KFP's ExecutorInput and
// ExecutorOutput messages (api/v2alpha1/pipeline_spec.proto): what {{$}} is, and
// what lightweight Python components (kfp.dsl.executor_main) write back.

// ExecutorInput is what the component is given.
type ExecutorInput struct {
	Inputs  ExecutorInputs  `json:"inputs"`
	Outputs ExecutorOutputs `json:"outputs"`
}

// ExecutorInputs are the input values: parameters as JSON values of their types,
// artifacts with their URIs.
type ExecutorInputs struct {
	ParameterValues map[string]any                        `json:"parameterValues,omitempty"`
	Artifacts       map[string]*launcherspec.ArtifactList `json:"artifacts,omitempty"`
}

// ExecutorOutputs say where outputs go: a file per output parameter, a URI per
// output artifact, and the file for the ExecutorOutput.
type ExecutorOutputs struct {
	Parameters map[string]*OutputParameter           `json:"parameters,omitempty"`
	Artifacts  map[string]*launcherspec.ArtifactList `json:"artifacts,omitempty"`
	OutputFile string                                `json:"outputFile"`
}

// OutputParameter is where an output parameter's value is to be written.
type OutputParameter struct {
	OutputFile string `json:"outputFile"`
}

// ExecutorOutput is what a component may write to ExecutorOutputs.OutputFile: its
// output parameters' values and its output artifacts (a changed URI, metadata).
type ExecutorOutput struct {
	ParameterValues map[string]any                        `json:"parameterValues,omitempty"`
	Artifacts       map[string]*launcherspec.ArtifactList `json:"artifacts,omitempty"`
}
