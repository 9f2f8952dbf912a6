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

package pipelines

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// StorageState says whether an experiment or a run is archived.
type StorageState string

const (
	// StorageStateAvailable is the state of everything not archived.
	StorageStateAvailable StorageState = "Available"
	// StorageStateArchived hides an experiment or run from default listings in UIs.
	StorageStateArchived StorageState = "Archived"
)

// The job condition that says whether the job's author may create its runs, and why not.
const (
	// JobConditionAuthorized is False when the scheduler will not create the job's runs in
	// its author's name until someone with access changes the job's spec.
	JobConditionAuthorized = "Authorized"
	// JobReasonAuthorForbidden: creating a run as the job's author was forbidden (access
	// revoked since the author last set the spec).
	JobReasonAuthorForbidden = "AuthorForbidden"
	// JobReasonAuthorMissing: the job was stored before jobs recorded their author.
	JobReasonAuthorMissing = "AuthorMissing"
	// JobReasonAuthorAllowed: the last run was created in the author's name.
	JobReasonAuthorAllowed = "AuthorAllowed"
)

// RunPhase is where a run is in its life.
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

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Pipeline is a named pipeline; its executable definitions are its PipelineVersions.
type Pipeline struct {
	metav1.TypeMeta
	// Standard object metadata.
	metav1.ObjectMeta

	// Spec is what the user says about the pipeline.
	Spec PipelineSpec
	// Status is maintained by the server.
	Status PipelineStatus
}

// PipelineSpec describes a pipeline.
type PipelineSpec struct {
	// DisplayName is a human-readable name; metadata.name identifies the pipeline.
	DisplayName string
	// Description says what the pipeline does.
	Description string
}

// PipelineStatus summarises a pipeline's versions.
type PipelineStatus struct {
	// LatestVersion is the name of the most recently created PipelineVersion of this pipeline.
	// A run whose pipelineRef names no version uses it.
	LatestVersion string
	// VersionCount is how many versions of this pipeline have been created.
	VersionCount int32
	// Conditions are the latest observations of the pipeline's state.
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// PipelineList is a list of Pipelines.
type PipelineList struct {
	metav1.TypeMeta
	// Standard list metadata.
	metav1.ListMeta
	// Items are the pipelines.
	Items []Pipeline
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// PipelineVersion is one executable definition of a Pipeline. Its spec cannot change
// after it is created: runs pin the version they were created from.
type PipelineVersion struct {
	metav1.TypeMeta
	// Standard object metadata.
	metav1.ObjectMeta

	// Spec is the version's definition. It is immutable.
	Spec PipelineVersionSpec
	// Status is maintained by the server.
	Status PipelineVersionStatus
}

// PipelineVersionSpec is the definition of a pipeline version.
type PipelineVersionSpec struct {
	// PipelineName is the Pipeline, in the same namespace, this version belongs to.
	PipelineName string
	// Description says what changed in this version.
	Description string
	// CodeSourceURL points at the source the workflow was compiled from.
	CodeSourceURL string
	// Workflow is a Kubeflow Pipelines v1 definition, an Argo Workflow manifest.
	// Exactly one of Workflow and PipelineSpec is set.
	Workflow runtime.RawExtension
	// PipelineSpec is a Kubeflow Pipelines 2.x definition, the pipeline IR.
	PipelineSpec runtime.RawExtension
	// PlatformSpec is the IR's optional Kubernetes platform spec.
	PlatformSpec runtime.RawExtension
}

// PipelineVersionStatus is what the server derived from the definition.
type PipelineVersionStatus struct {
	// Parameters are the pipeline's inputs: a workflow's spec.arguments.parameters,
	// or a pipeline IR's root.inputDefinitions.
	// +listType=map
	// +listMapKey=name
	Parameters []Parameter
	// Conditions are the latest observations of the version's state.
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition
}

// Parameter is an input a pipeline declares.
type Parameter struct {
	// Name of the parameter.
	Name string
	// Default is the value used when a run does not give one.
	Default *string
	// Type is a pipeline IR input's type; empty for a workflow's parameters.
	Type string
	// Optional says a run may leave the input out.
	Optional bool
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// PipelineVersionList is a list of PipelineVersions.
type PipelineVersionList struct {
	metav1.TypeMeta
	// Standard list metadata.
	metav1.ListMeta
	// Items are the pipeline versions.
	Items []PipelineVersion
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Experiment groups runs and recurring runs.
type Experiment struct {
	metav1.TypeMeta
	// Standard object metadata.
	metav1.ObjectMeta

	// Spec is what the user says about the experiment.
	Spec ExperimentSpec
	// Status is maintained by the server.
	Status ExperimentStatus
}

// ExperimentSpec describes an experiment.
type ExperimentSpec struct {
	// DisplayName is a human-readable name; metadata.name identifies the experiment.
	DisplayName string
	// Description says what the experiment is for.
	Description string
}

// ExperimentStatus is the experiment's state.
type ExperimentStatus struct {
	// StorageState is Available or Archived. Archiving an experiment archives its runs
	// and disables its jobs (experiments/archive).
	StorageState StorageState
	// LastRunCreatedAt is when the newest run of this experiment was created.
	LastRunCreatedAt *metav1.Time
	// Conditions are the latest observations of the experiment's state.
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// ExperimentList is a list of Experiments.
type ExperimentList struct {
	metav1.TypeMeta
	// Standard list metadata.
	metav1.ListMeta
	// Items are the experiments.
	Items []Experiment
}

// PipelineRef names the pipeline version a run executes.
type PipelineRef struct {
	// Namespace of the pipeline; empty means the run's own namespace. Another
	// namespace is allowed only if the caller may get pipelineversions there.
	Namespace string
	// PipelineName is the Pipeline's name.
	PipelineName string
	// VersionName is the PipelineVersion's name; empty means the pipeline's latest
	// version at the time the run is created.
	VersionName string
}

// RunParameter is a value for a pipeline parameter.
type RunParameter struct {
	// Name of the pipeline parameter.
	Name string
	// Value given to it.
	Value string
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Run is one execution of a pipeline version. Its spec cannot change after it is created.
type Run struct {
	metav1.TypeMeta
	// Standard object metadata.
	metav1.ObjectMeta

	// Spec is what to run. It is immutable.
	Spec RunSpec
	// Status is maintained by the server and the run executor.
	Status RunStatus
}

// RunSpec is what a run executes.
type RunSpec struct {
	// ExperimentName is the Experiment, in the same namespace, the run belongs to.
	ExperimentName string
	// PipelineRef names the pipeline version to run.
	PipelineRef PipelineRef
	// Parameters are values for the pipeline's parameters.
	// +listType=map
	// +listMapKey=name
	Parameters []RunParameter
	// ServiceAccountName is the service account, in the run's namespace, its pods run as.
	// Empty means the namespace's default pipeline runner.
	ServiceAccountName string
	// PipelineRoot is the s3:// (or minio://) URI under which a pipeline-IR run's
	// output artifacts are written, overriding the pipeline's defaultPipelineRoot.
	// Empty means the pipeline's, else the namespace's (docs/artifacts.md).
	PipelineRoot string
}

// RunStatus is where a run is.
type RunStatus struct {
	// Phase is Pending, Running, Succeeded, Failed, Error, Skipped, Canceling or Canceled.
	Phase RunPhase
	// StorageState is Available or Archived (runs/archive, runs/unarchive).
	StorageState StorageState
	// PipelineVersion is the version the run was created from, resolved and pinned at
	// creation: deleting or changing the pipeline later does not rewrite the run.
	PipelineVersion string
	// PipelineVersionUID is the UID of that version, pinned with its name: a version
	// deleted and re-created under the same name is not the one the run was authorized
	// for, and the executor does not run it. Immutable.
	PipelineVersionUID types.UID
	// WorkflowName is the Argo Workflow that executes the run.
	WorkflowName string
	// StartTime is when the run started executing.
	StartTime *metav1.Time
	// CompletionTime is when the run finished.
	CompletionTime *metav1.Time
	// Message explains the phase, for example why a run failed.
	Message string
	// Attempts is how many workflows the executor created for the run: 1 for the first,
	// one more for each retry.
	Attempts int32
	// Steps summarise the steps of the run's workflow, in the order they started.
	// +listType=atomic
	Steps []StepStatus
	// Conditions are the latest observations of the run's state.
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition
}

// StepStatus is where one step of a run's workflow is.
type StepStatus struct {
	// Name is the step's name in the pipeline.
	Name string
	// ID is the step's node in the workflow, unique within it.
	ID string
	// Template is the workflow template the step runs.
	Template string
	// Phase is the step's phase as Argo reports it: Pending, Running, Succeeded,
	// Skipped, Failed, Error or Omitted.
	Phase string
	// StartTime is when the step started.
	StartTime *metav1.Time
	// CompletionTime is when the step finished.
	CompletionTime *metav1.Time
	// Message explains the phase, for example why the step failed.
	Message string
	// Pod is the pod the step ran in.
	Pod string
	// Cache says whether a KFP 2.x task's result came from a cache.
	Cache StepCache
	// OutputParameters and OutputArtifacts are a KFP 2.x task's outputs.
	OutputParameters []StepOutputParameter
	OutputArtifacts  []StepOutputArtifact
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
	Name  string
	Value string
}

// StepOutputArtifact is one artifact a step wrote.
type StepOutputArtifact struct {
	Name    string
	URI     string
	Type    string
	Metrics []StepMetric
}

// StepMetric is one scalar metric a step logged.
type StepMetric struct {
	Name  string
	Value string
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// RunList is a list of Runs.
type RunList struct {
	metav1.TypeMeta
	// Standard list metadata.
	metav1.ListMeta
	// Items are the runs.
	Items []Run
}

// Schedule says when a job creates runs: by cron expression or by fixed interval.
type Schedule struct {
	// Cron is a cron expression: the 6-field form with seconds that Kubeflow Pipelines
	// uses, or the standard 5-field form. Exactly one of cron and intervalSeconds is set.
	Cron string
	// IntervalSeconds runs the pipeline every so many seconds.
	IntervalSeconds int64
	// StartTime is when scheduling begins; empty means at once.
	StartTime *metav1.Time
	// EndTime is when scheduling ends; empty means never.
	EndTime *metav1.Time
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Job is a recurring run: it creates runs of a pipeline version on a schedule.
type Job struct {
	metav1.TypeMeta
	// Standard object metadata.
	metav1.ObjectMeta

	// Spec is what to run and when.
	Spec JobSpec
	// Status is maintained by the scheduler.
	Status JobStatus
}

// JobSpec is what a recurring run creates and when.
type JobSpec struct {
	// ExperimentName is the Experiment, in the same namespace, the job and its runs belong to.
	ExperimentName string
	// PipelineRef names the pipeline version to run.
	PipelineRef PipelineRef
	// Parameters are values for the pipeline's parameters.
	// +listType=map
	// +listMapKey=name
	Parameters []RunParameter
	// ServiceAccountName is the service account the runs' pods run as.
	ServiceAccountName string
	// Schedule says when to create runs.
	Schedule Schedule
	// MaxConcurrency is the most runs of this job that may be active at once (1 to 10).
	// Defaults to 1.
	MaxConcurrency int32
	// NoCatchup, when true, skips the schedules missed while the job was paused or the
	// scheduler was down, instead of running them one after another.
	NoCatchup bool
	// Enabled says whether the job creates runs. Defaults to true (jobs/enable, jobs/disable).
	Enabled *bool
}

// JobStatus is what the scheduler did.
type JobStatus struct {
	// LastScheduleTime is the scheduled time of the newest run the job created.
	LastScheduleTime *metav1.Time
	// NextScheduleTime is when the job will next create a run.
	NextScheduleTime *metav1.Time
	// Active are the names of the job's runs that have not finished.
	// +listType=set
	Active []string
	// Conditions are the latest observations of the job's state.
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition
	// Author is who last set the job's spec (other than spec.enabled), as the server
	// authenticated them: the scheduler creates the job's runs in their name. Only the
	// jobs strategy sets it, from the request's user.
	Author *Author
}

// Author is an authenticated identity.
type Author struct {
	// Username is the user's name.
	Username string
	// UID identifies the user across time, when the authenticator gives one.
	UID string
	// Groups are the user's groups.
	// +listType=atomic
	Groups []string
	// Extra is further information the authenticator gave.
	Extra map[string]ExtraValue
}

// ExtraValue holds the values of one key of Author.Extra.
type ExtraValue []string

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// JobList is a list of Jobs.
type JobList struct {
	metav1.TypeMeta
	// Standard list metadata.
	metav1.ListMeta
	// Items are the jobs.
	Items []Job
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// RunLogOptions are the query parameters of runs/log.
type RunLogOptions struct {
	metav1.TypeMeta

	// Step is the workflow step whose log to read; empty means every step, in the order
	// they started.
	Step string
	// Follow streams the log until the step ends.
	Follow bool
	// TailLines is how many lines from the end of each step's log to show; empty means all.
	TailLines *int64
}
