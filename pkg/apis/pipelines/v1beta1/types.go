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

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// StorageState says whether an experiment or a run is archived.
// +enum
type StorageState string

const (
	// StorageStateAvailable is the state of everything not archived.
	StorageStateAvailable StorageState = "Available"
	// StorageStateArchived hides an experiment or run from default listings in UIs.
	StorageStateArchived StorageState = "Archived"
)

// RunPhase is where a run is in its life.
// +enum
type RunPhase string

const (
	// RunPhasePending: accepted, its workflow not yet running.
	RunPhasePending RunPhase = "Pending"
	// RunPhaseRunning: its workflow is running.
	RunPhaseRunning RunPhase = "Running"
	// RunPhaseSucceeded: every step succeeded.
	RunPhaseSucceeded RunPhase = "Succeeded"
	// RunPhaseFailed: a step failed.
	RunPhaseFailed RunPhase = "Failed"
	// RunPhaseError: the run could not be carried out (for example an invalid workflow).
	RunPhaseError RunPhase = "Error"
	// RunPhaseSkipped: the run was not executed.
	RunPhaseSkipped RunPhase = "Skipped"
	// RunPhaseCanceling: termination was requested and is in progress.
	RunPhaseCanceling RunPhase = "Canceling"
	// RunPhaseCanceled: the run was terminated.
	RunPhaseCanceled RunPhase = "Canceled"
)

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Pipeline is a named pipeline; its executable definitions are its PipelineVersions.
type Pipeline struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`

	// Spec is what the user says about the pipeline.
	// +optional
	Spec PipelineSpec `json:"spec,omitempty" protobuf:"bytes,2,opt,name=spec"`
	// Status is maintained by the server.
	// +optional
	Status PipelineStatus `json:"status,omitempty" protobuf:"bytes,3,opt,name=status"`
}

// PipelineSpec describes a pipeline.
type PipelineSpec struct {
	// DisplayName is a human-readable name; metadata.name identifies the pipeline.
	// +optional
	DisplayName string `json:"displayName,omitempty" protobuf:"bytes,1,opt,name=displayName"`
	// Description says what the pipeline does.
	// +optional
	Description string `json:"description,omitempty" protobuf:"bytes,2,opt,name=description"`
}

// PipelineStatus summarises a pipeline's versions.
type PipelineStatus struct {
	// LatestVersion is the name of the most recently created PipelineVersion of this pipeline.
	// A run whose pipelineRef names no version uses it.
	// +optional
	LatestVersion string `json:"latestVersion,omitempty" protobuf:"bytes,1,opt,name=latestVersion"`
	// VersionCount is how many versions of this pipeline have been created.
	// +optional
	VersionCount int32 `json:"versionCount,omitempty" protobuf:"varint,2,opt,name=versionCount"`
	// Conditions are the latest observations of the pipeline's state.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty" protobuf:"bytes,3,rep,name=conditions"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// PipelineList is a list of Pipelines.
type PipelineList struct {
	metav1.TypeMeta `json:",inline"`
	// Standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`
	// Items are the pipelines.
	Items []Pipeline `json:"items" protobuf:"bytes,2,rep,name=items"`
}

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// PipelineVersion is one executable definition of a Pipeline. Its spec cannot change
// after it is created: runs pin the version they were created from.
type PipelineVersion struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`

	// Spec is the version's definition. It is immutable.
	Spec PipelineVersionSpec `json:"spec" protobuf:"bytes,2,opt,name=spec"`
	// Status is maintained by the server.
	// +optional
	Status PipelineVersionStatus `json:"status,omitempty" protobuf:"bytes,3,opt,name=status"`
}

// PipelineVersionSpec is the definition of a pipeline version.
type PipelineVersionSpec struct {
	// PipelineName is the Pipeline, in the same namespace, this version belongs to.
	PipelineName string `json:"pipelineName" protobuf:"bytes,1,opt,name=pipelineName"`
	// Description says what changed in this version.
	// +optional
	Description string `json:"description,omitempty" protobuf:"bytes,2,opt,name=description"`
	// CodeSourceURL points at the source the workflow was compiled from.
	// +optional
	CodeSourceURL string `json:"codeSourceURL,omitempty" protobuf:"bytes,3,opt,name=codeSourceURL"`
	// Workflow is a Kubeflow Pipelines v1 definition: a whole Argo Workflow manifest
	// (argoproj.io/v1alpha1, kind Workflow), exactly as the KFP v1 SDK compiles it.
	// It is stored as given. Exactly one of workflow and pipelineSpec is set.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:EmbeddedResource
	Workflow runtime.RawExtension `json:"workflow,omitempty,omitzero" protobuf:"bytes,4,opt,name=workflow"`
	// PipelineSpec is a Kubeflow Pipelines 2.x definition: the pipeline IR
	// (PipelineSpec, schemaVersion 2.1.0) as the KFP 2.x SDK compiles it, the first
	// YAML document of the compiled file, as a JSON object. It is stored as given.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	PipelineSpec runtime.RawExtension `json:"pipelineSpec,omitempty,omitzero" protobuf:"bytes,5,opt,name=pipelineSpec"`
	// PlatformSpec is the compiled file's optional second YAML document, the
	// Kubernetes platform spec (platforms.kubernetes), as a JSON object; only with
	// pipelineSpec. It is stored as given.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	PlatformSpec runtime.RawExtension `json:"platformSpec,omitempty,omitzero" protobuf:"bytes,6,opt,name=platformSpec"`
}

// PipelineVersionStatus is what the server derived from the definition.
type PipelineVersionStatus struct {
	// Parameters are the pipeline's inputs: a workflow's spec.arguments.parameters,
	// or a pipeline IR's root.inputDefinitions (parameters, then artifacts).
	// +optional
	// +listType=map
	// +listMapKey=name
	Parameters []Parameter `json:"parameters,omitempty" protobuf:"bytes,1,rep,name=parameters"`
	// Conditions are the latest observations of the version's state.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty" protobuf:"bytes,2,rep,name=conditions"`
}

// Parameter is an input a pipeline declares.
type Parameter struct {
	// Name of the parameter.
	Name string `json:"name" protobuf:"bytes,1,opt,name=name"`
	// Default is the value used when a run does not give one, in the encoding of run
	// parameters (see RunParameter).
	// +optional
	Default *string `json:"default,omitempty" protobuf:"bytes,2,opt,name=default"`
	// Type is a pipeline IR input's type: STRING, NUMBER_INTEGER, NUMBER_DOUBLE,
	// BOOLEAN, LIST, STRUCT, or ARTIFACT for an input artifact. Empty for a workflow's
	// parameters, which are strings.
	// +optional
	Type string `json:"type,omitempty" protobuf:"bytes,3,opt,name=type"`
	// Optional says a run may leave the input out: it has a default, or the pipeline
	// declares it optional.
	// +optional
	Optional bool `json:"optional,omitempty" protobuf:"varint,4,opt,name=optional"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// PipelineVersionList is a list of PipelineVersions.
type PipelineVersionList struct {
	metav1.TypeMeta `json:",inline"`
	// Standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`
	// Items are the pipeline versions.
	Items []PipelineVersion `json:"items" protobuf:"bytes,2,rep,name=items"`
}

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Experiment groups runs and recurring runs.
type Experiment struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`

	// Spec is what the user says about the experiment.
	// +optional
	Spec ExperimentSpec `json:"spec,omitempty" protobuf:"bytes,2,opt,name=spec"`
	// Status is maintained by the server.
	// +optional
	Status ExperimentStatus `json:"status,omitempty" protobuf:"bytes,3,opt,name=status"`
}

// ExperimentSpec describes an experiment.
type ExperimentSpec struct {
	// DisplayName is a human-readable name; metadata.name identifies the experiment.
	// +optional
	DisplayName string `json:"displayName,omitempty" protobuf:"bytes,1,opt,name=displayName"`
	// Description says what the experiment is for.
	// +optional
	Description string `json:"description,omitempty" protobuf:"bytes,2,opt,name=description"`
}

// ExperimentStatus is the experiment's state.
type ExperimentStatus struct {
	// StorageState is Available or Archived. Archiving an experiment archives its runs
	// and disables its jobs (experiments/archive).
	// +optional
	StorageState StorageState `json:"storageState,omitempty" protobuf:"bytes,1,opt,name=storageState,casttype=StorageState"`
	// LastRunCreatedAt is when the newest run of this experiment was created.
	// +optional
	LastRunCreatedAt *metav1.Time `json:"lastRunCreatedAt,omitempty" protobuf:"bytes,2,opt,name=lastRunCreatedAt"`
	// Conditions are the latest observations of the experiment's state.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty" protobuf:"bytes,3,rep,name=conditions"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// ExperimentList is a list of Experiments.
type ExperimentList struct {
	metav1.TypeMeta `json:",inline"`
	// Standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`
	// Items are the experiments.
	Items []Experiment `json:"items" protobuf:"bytes,2,rep,name=items"`
}

// PipelineRef names the pipeline version a run executes.
type PipelineRef struct {
	// Namespace of the pipeline; empty means the run's own namespace. Another
	// namespace is allowed only if the caller may get pipelineversions there.
	// +optional
	Namespace string `json:"namespace,omitempty" protobuf:"bytes,1,opt,name=namespace"`
	// PipelineName is the Pipeline's name.
	PipelineName string `json:"pipelineName" protobuf:"bytes,2,opt,name=pipelineName"`
	// VersionName is the PipelineVersion's name; empty means the pipeline's latest
	// version at the time the run is created.
	// +optional
	VersionName string `json:"versionName,omitempty" protobuf:"bytes,3,opt,name=versionName"`
}

// RunParameter is a value for a pipeline parameter.
type RunParameter struct {
	// Name of the pipeline parameter.
	Name string `json:"name" protobuf:"bytes,1,opt,name=name"`
	// Value given to it. For a pipeline IR input it is the string itself for a
	// STRING input, an ARTIFACT input's URI, and the JSON encoding of the value for
	// every other type (7, 0.5, true, ["a","b"], {"k":1}).
	Value string `json:"value" protobuf:"bytes,2,opt,name=value"`
}

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Run is one execution of a pipeline version. Its spec cannot change after it is created.
type Run struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`

	// Spec is what to run. It is immutable.
	Spec RunSpec `json:"spec" protobuf:"bytes,2,opt,name=spec"`
	// Status is maintained by the server and the run executor.
	// +optional
	Status RunStatus `json:"status,omitempty" protobuf:"bytes,3,opt,name=status"`
}

// RunSpec is what a run executes.
type RunSpec struct {
	// ExperimentName is the Experiment, in the same namespace, the run belongs to.
	ExperimentName string `json:"experimentName" protobuf:"bytes,1,opt,name=experimentName"`
	// PipelineRef names the pipeline version to run.
	PipelineRef PipelineRef `json:"pipelineRef" protobuf:"bytes,2,opt,name=pipelineRef"`
	// Parameters are values for the pipeline's parameters.
	// +optional
	// +listType=map
	// +listMapKey=name
	Parameters []RunParameter `json:"parameters,omitempty" protobuf:"bytes,3,rep,name=parameters"`
	// ServiceAccountName is the service account, in the run's namespace, its pods run as.
	// Empty means the namespace's default pipeline runner.
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty" protobuf:"bytes,4,opt,name=serviceAccountName"`
	// PipelineRoot is the s3:// (or minio://) URI under which a pipeline-IR run's
	// output artifacts are written, overriding the pipeline's defaultPipelineRoot.
	// Empty means the pipeline's, else the namespace's (docs/artifacts.md).
	// +optional
	PipelineRoot string `json:"pipelineRoot,omitempty" protobuf:"bytes,5,opt,name=pipelineRoot"`
}

// RunStatus is where a run is.
type RunStatus struct {
	// Phase is Pending, Running, Succeeded, Failed, Error, Skipped, Canceling or Canceled.
	// +optional
	Phase RunPhase `json:"phase,omitempty" protobuf:"bytes,1,opt,name=phase,casttype=RunPhase"`
	// StorageState is Available or Archived (runs/archive, runs/unarchive).
	// +optional
	StorageState StorageState `json:"storageState,omitempty" protobuf:"bytes,2,opt,name=storageState,casttype=StorageState"`
	// PipelineVersion is the version the run was created from, resolved and pinned at
	// creation: deleting or changing the pipeline later does not rewrite the run.
	// +optional
	PipelineVersion string `json:"pipelineVersion,omitempty" protobuf:"bytes,3,opt,name=pipelineVersion"`
	// PipelineVersionUID is the UID of that version, pinned with its name: a version
	// deleted and re-created under the same name is not the one the run was authorized
	// for, and the executor does not run it. Immutable.
	// +optional
	PipelineVersionUID types.UID `json:"pipelineVersionUID,omitempty" protobuf:"bytes,4,opt,name=pipelineVersionUID,casttype=k8s.io/apimachinery/pkg/types.UID"`
	// WorkflowName is the Argo Workflow that executes the run.
	// +optional
	WorkflowName string `json:"workflowName,omitempty" protobuf:"bytes,5,opt,name=workflowName"`
	// StartTime is when the run started executing.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty" protobuf:"bytes,6,opt,name=startTime"`
	// CompletionTime is when the run finished.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty" protobuf:"bytes,7,opt,name=completionTime"`
	// Message explains the phase, for example why a run failed.
	// +optional
	Message string `json:"message,omitempty" protobuf:"bytes,8,opt,name=message"`
	// Attempts is how many workflows the executor created for the run: 1 for the first,
	// one more for each retry.
	// +optional
	Attempts int32 `json:"attempts,omitempty" protobuf:"varint,9,opt,name=attempts"`
	// Steps summarise the steps of the run's workflow, in the order they started: the
	// steps that run a pod or were skipped, at most 200.
	// +optional
	// +listType=atomic
	Steps []StepStatus `json:"steps,omitempty" protobuf:"bytes,10,rep,name=steps"`
	// Conditions are the latest observations of the run's state.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty" protobuf:"bytes,11,rep,name=conditions"`
}

// StepStatus is where one step of a run's workflow is.
type StepStatus struct {
	// Name is the step's name in the pipeline.
	Name string `json:"name" protobuf:"bytes,1,opt,name=name"`
	// ID is the step's node in the workflow, unique within it.
	// +optional
	ID string `json:"id,omitempty" protobuf:"bytes,2,opt,name=id"`
	// Template is the workflow template the step runs.
	// +optional
	Template string `json:"template,omitempty" protobuf:"bytes,3,opt,name=template"`
	// Phase is the step's phase as Argo reports it: Pending, Running, Succeeded,
	// Skipped, Failed, Error or Omitted.
	// +optional
	Phase string `json:"phase,omitempty" protobuf:"bytes,4,opt,name=phase"`
	// StartTime is when the step started.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty" protobuf:"bytes,5,opt,name=startTime"`
	// CompletionTime is when the step finished.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty" protobuf:"bytes,6,opt,name=completionTime"`
	// Message explains the phase, for example why the step failed.
	// +optional
	Message string `json:"message,omitempty" protobuf:"bytes,7,opt,name=message"`
	// Pod is the pod the step ran in.
	// +optional
	Pod string `json:"pod,omitempty" protobuf:"bytes,8,opt,name=pod"`
	// Cache says, for a task of a KFP 2.x pipeline, whether its result came from a cache:
	// NotCached (it ran; caching was asked for but this server caches nothing) or Disabled
	// (caching was turned off for the task).
	// +optional
	Cache StepCache `json:"cache,omitempty" protobuf:"bytes,9,opt,name=cache,casttype=StepCache"`
	// OutputParameters are the output parameter values of a KFP 2.x task, each cut to 512
	// bytes, at most 32.
	// +optional
	// +listType=atomic
	OutputParameters []StepOutputParameter `json:"outputParameters,omitempty" protobuf:"bytes,10,rep,name=outputParameters"`
	// OutputArtifacts are the output artifacts of a KFP 2.x task, at most 32.
	// +optional
	// +listType=atomic
	OutputArtifacts []StepOutputArtifact `json:"outputArtifacts,omitempty" protobuf:"bytes,11,rep,name=outputArtifacts"`
}

// StepCache says whether a step's result came from a cache.
type StepCache string

const (
	// StepCacheNotCached is a task with caching enabled that ran: nothing is cached here.
	StepCacheNotCached StepCache = "NotCached"
	// StepCacheDisabled is a task whose caching was turned off.
	StepCacheDisabled StepCache = "Disabled"
)

// StepOutputParameter is one output parameter of a step.
type StepOutputParameter struct {
	// Name is the output's name in the component.
	Name string `json:"name" protobuf:"bytes,1,opt,name=name"`
	// Value is the value in the run-parameter encoding (a string as itself, other types as
	// JSON), cut to 512 bytes.
	Value string `json:"value" protobuf:"bytes,2,opt,name=value"`
}

// StepOutputArtifact is one artifact a step wrote.
type StepOutputArtifact struct {
	// Name is the output's name in the component.
	Name string `json:"name" protobuf:"bytes,1,opt,name=name"`
	// URI is where the artifact is stored.
	// +optional
	URI string `json:"uri,omitempty" protobuf:"bytes,2,opt,name=uri"`
	// Type is the artifact's schema title, e.g. system.Dataset or system.Metrics.
	// +optional
	Type string `json:"type,omitempty" protobuf:"bytes,3,opt,name=type"`
	// Metrics are the values of a system.Metrics artifact, at most 32.
	// +optional
	// +listType=atomic
	Metrics []StepMetric `json:"metrics,omitempty" protobuf:"bytes,4,rep,name=metrics"`
}

// StepMetric is one scalar metric a step logged.
type StepMetric struct {
	Name string `json:"name" protobuf:"bytes,1,opt,name=name"`
	// Value is the number as JSON.
	Value string `json:"value" protobuf:"bytes,2,opt,name=value"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// RunList is a list of Runs.
type RunList struct {
	metav1.TypeMeta `json:",inline"`
	// Standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`
	// Items are the runs.
	Items []Run `json:"items" protobuf:"bytes,2,rep,name=items"`
}

// Schedule says when a job creates runs: by cron expression or by fixed interval.
type Schedule struct {
	// Cron is a cron expression: the 6-field form with seconds that Kubeflow Pipelines
	// uses, or the standard 5-field form. Exactly one of cron and intervalSeconds is set.
	// +optional
	Cron string `json:"cron,omitempty" protobuf:"bytes,1,opt,name=cron"`
	// IntervalSeconds runs the pipeline every so many seconds.
	// +optional
	IntervalSeconds int64 `json:"intervalSeconds,omitempty" protobuf:"varint,2,opt,name=intervalSeconds"`
	// StartTime is when scheduling begins; empty means at once.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty" protobuf:"bytes,3,opt,name=startTime"`
	// EndTime is when scheduling ends; empty means never.
	// +optional
	EndTime *metav1.Time `json:"endTime,omitempty" protobuf:"bytes,4,opt,name=endTime"`
}

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Job is a recurring run: it creates runs of a pipeline version on a schedule.
type Job struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`

	// Spec is what to run and when.
	Spec JobSpec `json:"spec" protobuf:"bytes,2,opt,name=spec"`
	// Status is maintained by the scheduler.
	// +optional
	Status JobStatus `json:"status,omitempty" protobuf:"bytes,3,opt,name=status"`
}

// JobSpec is what a recurring run creates and when.
type JobSpec struct {
	// ExperimentName is the Experiment, in the same namespace, the job and its runs belong to.
	ExperimentName string `json:"experimentName" protobuf:"bytes,1,opt,name=experimentName"`
	// PipelineRef names the pipeline version to run.
	PipelineRef PipelineRef `json:"pipelineRef" protobuf:"bytes,2,opt,name=pipelineRef"`
	// Parameters are values for the pipeline's parameters.
	// +optional
	// +listType=map
	// +listMapKey=name
	Parameters []RunParameter `json:"parameters,omitempty" protobuf:"bytes,3,rep,name=parameters"`
	// ServiceAccountName is the service account the runs' pods run as.
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty" protobuf:"bytes,4,opt,name=serviceAccountName"`
	// Schedule says when to create runs.
	Schedule Schedule `json:"schedule" protobuf:"bytes,5,opt,name=schedule"`
	// MaxConcurrency is the most runs of this job that may be active at once (1 to 10).
	// Defaults to 1.
	// +optional
	MaxConcurrency int32 `json:"maxConcurrency,omitempty" protobuf:"varint,6,opt,name=maxConcurrency"`
	// NoCatchup, when true, skips the schedules missed while the job was paused or the
	// scheduler was down, instead of running them one after another.
	// +optional
	NoCatchup bool `json:"noCatchup,omitempty" protobuf:"varint,7,opt,name=noCatchup"`
	// Enabled says whether the job creates runs. Defaults to true (jobs/enable, jobs/disable).
	// +optional
	Enabled *bool `json:"enabled,omitempty" protobuf:"varint,8,opt,name=enabled"`
}

// JobStatus is what the scheduler did.
type JobStatus struct {
	// LastScheduleTime is the scheduled time of the newest run the job created.
	// +optional
	LastScheduleTime *metav1.Time `json:"lastScheduleTime,omitempty" protobuf:"bytes,1,opt,name=lastScheduleTime"`
	// NextScheduleTime is when the job will next create a run.
	// +optional
	NextScheduleTime *metav1.Time `json:"nextScheduleTime,omitempty" protobuf:"bytes,2,opt,name=nextScheduleTime"`
	// Active are the names of the job's runs that have not finished.
	// +optional
	// +listType=set
	Active []string `json:"active,omitempty" protobuf:"bytes,3,rep,name=active"`
	// Conditions are the latest observations of the job's state.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty" protobuf:"bytes,4,rep,name=conditions"`
	// Author is who last set the job's spec, as the server authenticated them: the
	// scheduler creates the job's runs in their name. Set by the server on create and on
	// each change of the spec other than spec.enabled; nobody can write it.
	// +optional
	Author *Author `json:"author,omitempty" protobuf:"bytes,5,opt,name=author"`
}

// Author is an authenticated identity, recorded as a CertificateSigningRequest records
// its requester.
type Author struct {
	// Username is the user's name.
	Username string `json:"username" protobuf:"bytes,1,opt,name=username"`
	// UID identifies the user across time, when the authenticator gives one.
	// +optional
	UID string `json:"uid,omitempty" protobuf:"bytes,2,opt,name=uid"`
	// Groups are the user's groups.
	// +optional
	// +listType=atomic
	Groups []string `json:"groups,omitempty" protobuf:"bytes,3,rep,name=groups"`
	// Extra is further information the authenticator gave.
	// +optional
	Extra map[string]ExtraValue `json:"extra,omitempty" protobuf:"bytes,4,rep,name=extra"`
}

// ExtraValue holds the values of one key of Author.Extra. It is a named type so that
// protobuf can encode a map of lists.
// +protobuf.nullable=true
// +protobuf.options.(gogoproto.goproto_stringer)=false
type ExtraValue []string

func (t ExtraValue) String() string {
	return fmt.Sprintf("%v", []string(t))
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// JobList is a list of Jobs.
type JobList struct {
	metav1.TypeMeta `json:",inline"`
	// Standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`
	// Items are the jobs.
	Items []Job `json:"items" protobuf:"bytes,2,rep,name=items"`
}

// +k8s:conversion-gen:explicit-from=net/url.Values
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// RunLogOptions are the query parameters of runs/log.
type RunLogOptions struct {
	metav1.TypeMeta `json:",inline"`

	// Step is the workflow step whose log to read; empty means every step, in the order
	// they started.
	// +optional
	Step string `json:"step,omitempty" protobuf:"bytes,1,opt,name=step"`
	// Follow streams the log until the step ends.
	// +optional
	Follow bool `json:"follow,omitempty" protobuf:"varint,2,opt,name=follow"`
	// TailLines is how many lines from the end of each step's log to show; empty means all.
	// +optional
	TailLines *int64 `json:"tailLines,omitempty" protobuf:"varint,3,opt,name=tailLines"`
}
