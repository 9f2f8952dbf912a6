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

// Package pipelinespec holds the pipeline IR that the Kubeflow Pipelines 2.x SDK
// compiles a pipeline to (PipelineSpec, schemaVersion 2.1.0) and its optional
// Kubernetes platform spec, written from the format KFP publishes
// (api/v2alpha1/pipeline_spec.proto, kubernetes_platform/proto/
// kubernetes_executor_config.proto) in their protobuf JSON form: lowerCamelCase
// names, google.protobuf.Value and Struct fields as plain JSON values (any).
//
// A pipeline version stores the documents exactly as uploaded; this package parses
// them to validate them, to list the pipeline's inputs and to compile runs. Fields
// this server does not act on are still declared where the test data uses them, so
// that the compiler can refuse or report them instead of dropping them unseen.
package pipelinespec

// SchemaVersion is the only IR schema version accepted.
const SchemaVersion = "2.1.0"

// PipelineSpec is the IR of one pipeline.
type PipelineSpec struct {
	PipelineInfo        PipelineInfo              `json:"pipelineInfo"`
	DeploymentSpec      DeploymentSpec            `json:"deploymentSpec"`
	SDKVersion          string                    `json:"sdkVersion,omitempty"`
	SchemaVersion       string                    `json:"schemaVersion"`
	Components          map[string]*ComponentSpec `json:"components,omitempty"`
	Root                *ComponentSpec            `json:"root"`
	DefaultPipelineRoot string                    `json:"defaultPipelineRoot,omitempty"`
}

// PipelineInfo names the pipeline.
type PipelineInfo struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
	Description string `json:"description,omitempty"`
}

// ComponentSpec is a component: either a DAG of tasks or an executor.
type ComponentSpec struct {
	InputDefinitions  *InputsSpec  `json:"inputDefinitions,omitempty"`
	OutputDefinitions *OutputsSpec `json:"outputDefinitions,omitempty"`
	DAG               *DAGSpec     `json:"dag,omitempty"`
	ExecutorLabel     string       `json:"executorLabel,omitempty"`
}

// DAGSpec is a graph of tasks and how its outputs are taken from them.
type DAGSpec struct {
	Tasks   map[string]*TaskSpec `json:"tasks,omitempty"`
	Outputs *DAGOutputsSpec      `json:"outputs,omitempty"`
}

// DAGOutputsSpec picks a DAG's outputs from its tasks' outputs.
type DAGOutputsSpec struct {
	Artifacts  map[string]*DAGOutputArtifactSpec  `json:"artifacts,omitempty"`
	Parameters map[string]*DAGOutputParameterSpec `json:"parameters,omitempty"`
}

// DAGOutputArtifactSpec takes an output artifact from one of several subtasks.
type DAGOutputArtifactSpec struct {
	ArtifactSelectors []OutputSelector `json:"artifactSelectors,omitempty"`
}

// OutputSelector names an output of a subtask of the DAG.
type OutputSelector struct {
	ProducerSubtask    string `json:"producerSubtask"`
	OutputArtifactKey  string `json:"outputArtifactKey,omitempty"`
	OutputParameterKey string `json:"outputParameterKey,omitempty"`
}

// DAGOutputParameterSpec takes an output parameter from one subtask, or from the
// one of several (the branches of if/elif/else, dsl.OneOf) that ran.
type DAGOutputParameterSpec struct {
	ValueFromParameter *OutputSelector `json:"valueFromParameter,omitempty"`
	ValueFromOneof     *struct {
		ParameterSelectors []OutputSelector `json:"parameterSelectors,omitempty"`
	} `json:"valueFromOneof,omitempty"`
}

// ParameterType is the type of a parameter.
type ParameterType string

// The parameter types.
const (
	TypeString          ParameterType = "STRING"
	TypeInteger         ParameterType = "NUMBER_INTEGER"
	TypeDouble          ParameterType = "NUMBER_DOUBLE"
	TypeBoolean         ParameterType = "BOOLEAN"
	TypeList            ParameterType = "LIST"
	TypeStruct          ParameterType = "STRUCT"
	TypeTaskFinalStatus ParameterType = "TASK_FINAL_STATUS"
)

// ParameterTypes are the types a parameter may declare.
var ParameterTypes = []ParameterType{TypeString, TypeInteger, TypeDouble, TypeBoolean, TypeList, TypeStruct, TypeTaskFinalStatus}

// InputsSpec declares a component's inputs.
type InputsSpec struct {
	Artifacts  map[string]*ArtifactSpec  `json:"artifacts,omitempty"`
	Parameters map[string]*ParameterSpec `json:"parameters,omitempty"`
}

// OutputsSpec declares a component's outputs.
type OutputsSpec struct {
	Artifacts  map[string]*ArtifactSpec  `json:"artifacts,omitempty"`
	Parameters map[string]*ParameterSpec `json:"parameters,omitempty"`
}

// ArtifactSpec declares an input or output artifact.
type ArtifactSpec struct {
	ArtifactType   ArtifactType   `json:"artifactType"`
	IsArtifactList bool           `json:"isArtifactList,omitempty"`
	IsOptional     bool           `json:"isOptional,omitempty"`
	Description    string         `json:"description,omitempty"`
	Metadata       map[string]any `json:"metadata,omitempty"`
}

// ArtifactType is an artifact's type, e.g. system.Dataset 0.0.1.
type ArtifactType struct {
	SchemaTitle    string `json:"schemaTitle,omitempty"`
	InstanceSchema string `json:"instanceSchema,omitempty"`
	SchemaVersion  string `json:"schemaVersion,omitempty"`
}

// ParameterSpec declares an input or output parameter. DefaultValue is any JSON
// value (google.protobuf.Value); nil when there is none.
type ParameterSpec struct {
	ParameterType ParameterType `json:"parameterType"`
	DefaultValue  any           `json:"defaultValue,omitempty"`
	IsOptional    bool          `json:"isOptional,omitempty"`
	Description   string        `json:"description,omitempty"`
}

// TaskSpec is one task of a DAG.
type TaskSpec struct {
	TaskInfo          TaskInfo              `json:"taskInfo"`
	Inputs            *TaskInputsSpec       `json:"inputs,omitempty"`
	DependentTasks    []string              `json:"dependentTasks,omitempty"`
	CachingOptions    *CachingOptions       `json:"cachingOptions,omitempty"`
	ComponentRef      ComponentRef          `json:"componentRef"`
	TriggerPolicy     *TriggerPolicy        `json:"triggerPolicy,omitempty"`
	ArtifactIterator  *ArtifactIteratorSpec `json:"artifactIterator,omitempty"`
	ParameterIterator *ParamIteratorSpec    `json:"parameterIterator,omitempty"`
	RetryPolicy       *RetryPolicy          `json:"retryPolicy,omitempty"`
	IteratorPolicy    *IteratorPolicy       `json:"iteratorPolicy,omitempty"`
}

// TaskInfo is a task's display name.
type TaskInfo struct {
	Name string `json:"name"`
}

// ComponentRef names the component a task runs.
type ComponentRef struct {
	Name string `json:"name"`
}

// CachingOptions say whether a task's results may come from the cache.
type CachingOptions struct {
	EnableCache bool   `json:"enableCache,omitempty"`
	CacheKey    string `json:"cacheKey,omitempty"`
}

// TriggerStrategy says which upstream outcomes let a task run.
type TriggerStrategy string

// The trigger strategies.
const (
	AllUpstreamSucceeded TriggerStrategy = "ALL_UPSTREAM_TASKS_SUCCEEDED"
	AllUpstreamCompleted TriggerStrategy = "ALL_UPSTREAM_TASKS_COMPLETED"
)

// TriggerPolicy is a task's condition (a CEL expression over its inputs) and
// strategy.
type TriggerPolicy struct {
	Condition string          `json:"condition,omitempty"`
	Strategy  TriggerStrategy `json:"strategy,omitempty"`
}

// ParamIteratorSpec runs a task once per item of a list parameter (ParallelFor).
type ParamIteratorSpec struct {
	Items struct {
		// Raw is a JSON list, given literally in the pipeline.
		Raw string `json:"raw,omitempty"`
		// InputParameter names an input parameter of the task holding the list.
		InputParameter string `json:"inputParameter,omitempty"`
	} `json:"items"`
	// ItemInput is the input parameter of the iterated component that gets each item.
	ItemInput string `json:"itemInput"`
}

// ArtifactIteratorSpec runs a task once per artifact of a list of artifacts.
type ArtifactIteratorSpec struct {
	Items struct {
		InputArtifact string `json:"inputArtifact,omitempty"`
	} `json:"items"`
	ItemInput string `json:"itemInput"`
}

// RetryPolicy retries a failed task. Durations are protobuf Duration strings ("30s").
type RetryPolicy struct {
	MaxRetryCount      int32   `json:"maxRetryCount,omitempty"`
	BackoffDuration    string  `json:"backoffDuration,omitempty"`
	BackoffFactor      float64 `json:"backoffFactor,omitempty"`
	BackoffMaxDuration string  `json:"backoffMaxDuration,omitempty"`
}

// IteratorPolicy bounds how many iterations run at once.
type IteratorPolicy struct {
	ParallelismLimit int32 `json:"parallelismLimit,omitempty"`
}

// TaskInputsSpec wires a task's inputs.
type TaskInputsSpec struct {
	Parameters map[string]*InputParameterSpec `json:"parameters,omitempty"`
	Artifacts  map[string]*InputArtifactSpec  `json:"artifacts,omitempty"`
}

// InputParameterSpec is where a task's input parameter comes from: exactly one of
// the first four, optionally narrowed by ParameterExpressionSelector.
type InputParameterSpec struct {
	TaskOutputParameter         *TaskOutputParameterSpec `json:"taskOutputParameter,omitempty"`
	RuntimeValue                *ValueOrRuntimeParameter `json:"runtimeValue,omitempty"`
	ComponentInputParameter     string                   `json:"componentInputParameter,omitempty"`
	TaskFinalStatus             *TaskFinalStatusSpec     `json:"taskFinalStatus,omitempty"`
	ParameterExpressionSelector string                   `json:"parameterExpressionSelector,omitempty"`
}

// TaskOutputParameterSpec names an output parameter of a sibling task.
type TaskOutputParameterSpec struct {
	ProducerTask       string `json:"producerTask"`
	OutputParameterKey string `json:"outputParameterKey"`
}

// TaskFinalStatusSpec names the task whose final status (an exit handler's) is the
// input.
type TaskFinalStatusSpec struct {
	ProducerTask string `json:"producerTask"`
}

// ValueOrRuntimeParameter is a constant (any JSON value) or a pipeline parameter.
type ValueOrRuntimeParameter struct {
	Constant         any    `json:"constant,omitempty"`
	RuntimeParameter string `json:"runtimeParameter,omitempty"`
}

// InputArtifactSpec is where a task's input artifact comes from.
type InputArtifactSpec struct {
	TaskOutputArtifact     *TaskOutputArtifactSpec `json:"taskOutputArtifact,omitempty"`
	ComponentInputArtifact string                  `json:"componentInputArtifact,omitempty"`
}

// TaskOutputArtifactSpec names an output artifact of a sibling task.
type TaskOutputArtifactSpec struct {
	ProducerTask      string `json:"producerTask"`
	OutputArtifactKey string `json:"outputArtifactKey"`
}

// DeploymentSpec holds the executors components name by executorLabel.
type DeploymentSpec struct {
	Executors map[string]*ExecutorSpec `json:"executors,omitempty"`
}

// ExecutorSpec is how a component runs: exactly one of a container, an importer or
// a resolver.
type ExecutorSpec struct {
	Container *ContainerSpec `json:"container,omitempty"`
	Importer  *ImporterSpec  `json:"importer,omitempty"`
	Resolver  *ResolverSpec  `json:"resolver,omitempty"`
	// CustomJob is Vertex AI's and deprecated; it is parsed only to be refused.
	CustomJob any `json:"customJob,omitempty"`
}

// ContainerSpec runs an image; Command and Args hold KFP's placeholders
// ("{{$}}", "{{$.inputs.parameters['x']}}", ...) unresolved.
type ContainerSpec struct {
	Image     string        `json:"image"`
	Command   []string      `json:"command,omitempty"`
	Args      []string      `json:"args,omitempty"`
	Resources *ResourceSpec `json:"resources,omitempty"`
	Env       []EnvVar      `json:"env,omitempty"`
	Lifecycle any           `json:"lifecycle,omitempty"`
}

// EnvVar is an environment variable of an executor's container.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
}

// ResourceSpec is a container's resources. The numeric fields are the deprecated
// forms the SDK still writes beside the string (Kubernetes quantity) ones.
type ResourceSpec struct {
	CPULimit              float64            `json:"cpuLimit,omitempty"`
	MemoryLimit           float64            `json:"memoryLimit,omitempty"`
	CPURequest            float64            `json:"cpuRequest,omitempty"`
	MemoryRequest         float64            `json:"memoryRequest,omitempty"`
	ResourceCPULimit      string             `json:"resourceCpuLimit,omitempty"`
	ResourceMemoryLimit   string             `json:"resourceMemoryLimit,omitempty"`
	ResourceCPURequest    string             `json:"resourceCpuRequest,omitempty"`
	ResourceMemoryRequest string             `json:"resourceMemoryRequest,omitempty"`
	Accelerator           *AcceleratorConfig `json:"accelerator,omitempty"`
}

// AcceleratorConfig asks for accelerators (GPUs): ResourceType is the extended
// resource name (e.g. nvidia.com/gpu), ResourceCount its quantity.
type AcceleratorConfig struct {
	Type          string `json:"type,omitempty"`
	Count         Int64  `json:"count,omitempty"`
	ResourceType  string `json:"resourceType,omitempty"`
	ResourceCount string `json:"resourceCount,omitempty"`
}

// ImporterSpec imports an existing artifact by URI: no container runs.
type ImporterSpec struct {
	ArtifactURI         ValueOrRuntimeParameter `json:"artifactUri"`
	TypeSchema          ArtifactType            `json:"typeSchema"`
	Reimport            bool                    `json:"reimport,omitempty"`
	Metadata            map[string]any          `json:"metadata,omitempty"`
	DownloadToWorkspace bool                    `json:"downloadToWorkspace,omitempty"`
}

// ResolverSpec queries ML Metadata for artifacts; there is no metadata service
// here, so it is parsed only to be refused.
type ResolverSpec struct {
	OutputArtifactQueries map[string]any `json:"outputArtifactQueries,omitempty"`
}
