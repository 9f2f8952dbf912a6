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

// Reasons of the Kubernetes Events the controllers record on runs and jobs, as the
// server's own identity, in the object's namespace (`kubectl describe` shows them; the
// table in docs/execution.md says when each is recorded). Where a status condition
// records the same thing, its reason is the event's. ReasonInvalidSpec and
// ReasonInternalError are recorded too, as Warnings.
const (
	// EventWorkflowCreated (Normal): the executor created a run's Argo Workflow.
	EventWorkflowCreated = "WorkflowCreated"
	// EventRunning, EventSucceeded, EventCanceling, EventCanceled (Normal) and
	// EventFailed, EventError (Warning): the run's phase changed to the one named.
	EventRunning   = "Running"
	EventSucceeded = "Succeeded"
	EventFailed    = "Failed"
	EventError     = "Error"
	EventCanceling = "Canceling"
	EventCanceled  = "Canceled"
	// EventRetrying (Normal): the executor started another attempt of a failed run.
	EventRetrying = "Retrying"
	// EventRetryFailed (Warning): the attempt could not start; the run is in Error.
	EventRetryFailed = "RetryFailed"
	// EventTerminating (Normal): the executor asked Argo to stop the run's workflow.
	EventTerminating = "Terminating"

	// JobReasonRunCreated (Normal): the scheduler created a run for a scheduled time.
	JobReasonRunCreated = "RunCreated"
	// JobReasonRunCreateFailed (Warning): the run of a due time could not be created;
	// the scheduler tries again.
	JobReasonRunCreateFailed = "RunCreateFailed"
	// JobReasonInvalidSchedule (Warning): the stored schedule cannot be read; the job
	// creates no runs until it changes.
	JobReasonInvalidSchedule = "InvalidSchedule"
)
