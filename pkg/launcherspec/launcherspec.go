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

// Package launcherspec is the contract between the compiler, which turns a run of a
// pipeline IR into an Argo Workflow, and cmd/pipelines-launcher, which runs inside
// each task's pod as the main container's entrypoint. docs/execution.md describes it.
//
// The compiled main container runs
//
//	/kfp/bin/pipelines-launcher --spec=JSON [--parameter=NAME=VALUE]... [--artifact=NAME=VALUE]... [--k8s=NAME=VALUE]...
//
// with the user's image. --spec is a Spec, static for the task. Each --parameter is
// one input parameter's value and each --artifact one input artifact's, put there by
// Argo from {{inputs.parameters.NAME}}: inputs a run or an upstream task left out are
// absent (the component's default applies, or the input is unset). The launcher writes
// each output parameter's value to OutputDir/parameters/NAME and each output
// artifact's list to OutputDir/artifacts/NAME, which Argo reads as the task's output
// parameters.
package launcherspec

import (
	"bytes"
	"encoding/json"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/pipelinespec"
)

const (
	// BinDir is where the init container copies the launcher, an emptyDir volume
	// shared with the main container.
	BinDir = "/kfp/bin"
	// Binary is the launcher's path in the task's pod.
	Binary = BinDir + "/pipelines-launcher"
	// OutputDir is where the launcher writes outputs for Argo to read.
	OutputDir = "/kfp/outputs"
	// CopyCommand is the argument that makes the launcher copy itself to the path that
	// follows and exit: the init container's command.
	CopyCommand = "copy"
	// RunEnv, TaskEnv and NamespaceEnv name the run, the task and the namespace in the
	// main container's environment (for PipelineTaskFinalStatus and artifact URIs).
	RunEnv       = "KFP_RUN_NAME"
	TaskEnv      = "KFP_TASK_NAME"
	NamespaceEnv = "KFP_NAMESPACE"
)

// StoreConfig names the ConfigMap and the Secret in a run's namespace that configure
// the namespace's artifact store (docs/artifacts.md). The compiler gives each task's
// main container their keys as the environment variables below, through optional
// references, so that only the namespace's pods read them, never the server.
const StoreConfig = "pipelines-artifacts"

// The artifact store's settings in the main container's environment.
const (
	// PipelineRootEnv is the namespace's pipeline root, e.g. s3://bucket/prefix; a
	// Spec's PipelineRoot, when set, takes precedence.
	PipelineRootEnv = "PIPELINES_PIPELINE_ROOT"
	// EndpointEnv is the store's host:port or URL.
	EndpointEnv = "PIPELINES_S3_ENDPOINT"
	RegionEnv   = "PIPELINES_S3_REGION"
	// InsecureEnv is "true" for plain HTTP.
	InsecureEnv  = "PIPELINES_S3_INSECURE"
	AccessKeyEnv = "PIPELINES_S3_ACCESS_KEY"
	SecretKeyEnv = "PIPELINES_S3_SECRET_KEY"
)

// StoreVar is one artifact-store setting: the environment variable and the key of
// the StoreConfig ConfigMap, or of the Secret, it comes from.
type StoreVar struct {
	Env, Key string
	Secret   bool
}

// StoreEnv are the artifact-store settings, in the order the compiler sets them.
var StoreEnv = []StoreVar{
	{Env: PipelineRootEnv, Key: "pipelineRoot"},
	{Env: EndpointEnv, Key: "endpoint"},
	{Env: RegionEnv, Key: "region"},
	{Env: InsecureEnv, Key: "insecure"},
	{Env: AccessKeyEnv, Key: "accessKey", Secret: true},
	{Env: SecretKeyEnv, Key: "secretKey", Secret: true},
}

// Spec is what the launcher needs to know about the task, fixed at compile time.
type Spec struct {
	// PipelineName is the pipeline's pipelineInfo.name.
	PipelineName string `json:"pipelineName"`
	// Task is the task's path from the root DAG, e.g. "for-loop-2/print-op"; its
	// output artifacts' URIs are made from it (with the run and the iteration).
	Task string `json:"task"`
	// PipelineRoot is the root URI under which output artifacts are written: the
	// run's spec.pipelineRoot, else the IR's defaultPipelineRoot; empty means the
	// namespace's (PipelineRootEnv).
	PipelineRoot string `json:"pipelineRoot,omitempty"`
	// Inputs and Outputs are the component's input and output definitions.
	Inputs  *pipelinespec.InputsSpec  `json:"inputs,omitempty"`
	Outputs *pipelinespec.OutputsSpec `json:"outputs,omitempty"`
	// Container is the executor's container: its command and args hold KFP's
	// placeholders unresolved; the launcher resolves them.
	Container pipelinespec.ContainerSpec `json:"container"`
	// Parameters says, for the inputs that need more than their value, how to read it.
	Parameters map[string]ParameterInput `json:"parameters,omitempty"`
	// Artifacts says, for the input artifacts that need more than their value, what
	// they are.
	Artifacts map[string]ArtifactInput `json:"artifacts,omitempty"`
}

// ParameterInput is how to read one input parameter's --parameter value, which is in
// the run-parameter encoding (a STRING as itself, other types as JSON).
type ParameterInput struct {
	// Selectors are parameterExpressionSelector expressions (e.g.
	// `parseJson(string_value)["a"]`) to apply in order: the value arrives as the
	// whole loop item or output it was selected from.
	Selectors []string `json:"selectors,omitempty"`
	// FinalStatusOf names the task whose PipelineTaskFinalStatus the input is; its
	// value is Argo's phase of that task (Succeeded, Failed, Error, Omitted, Skipped).
	FinalStatusOf string `json:"finalStatusOf,omitempty"`
}

// ArtifactInput is what one input artifact's --artifact value is. Without Imported,
// the value is an ArtifactList's JSON as an upstream launcher wrote it, one artifact's
// JSON (an item of an artifact loop) or a bare URI (a pipeline input).
type ArtifactInput struct {
	// Imported is set when the artifact comes from an importer (which runs no pod):
	// the value is the artifact's URI, and this its type and metadata.
	Imported *pipelinespec.ImporterSpec `json:"imported,omitempty"`
}

// Artifact is one artifact as launchers hand it on: the RuntimeArtifact of KFP's
// executor input.
type Artifact struct {
	Name     string                    `json:"name,omitempty"`
	Type     pipelinespec.ArtifactType `json:"type"`
	URI      string                    `json:"uri"`
	Metadata map[string]any            `json:"metadata,omitempty"`
}

// ArtifactList is what the launcher writes to OutputDir/artifacts/NAME.
type ArtifactList struct {
	Artifacts []Artifact `json:"artifacts"`
}

// Encode writes s as JSON in which "{{" never occurs, so that Argo, which substitutes
// {{...}} everywhere in a template, leaves KFP's placeholders alone ("{" is written
// \u007b inside strings, the only place a "{{" can be).
func Encode(s *Spec) (string, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	return string(bytes.ReplaceAll(b, []byte("{{"), []byte(`\u007b\u007b`))), nil
}

// Decode reads what Encode wrote.
func Decode(s string) (*Spec, error) {
	var spec Spec
	if err := json.Unmarshal([]byte(s), &spec); err != nil {
		return nil, err
	}
	return &spec, nil
}
