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

// Package validation checks pipelines.kubeflow.org objects with the apimachinery
// validation helpers, so every rejected field is named in the 422 Status.
package validation

import (
	"bytes"
	"net/url"
	"regexp"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kjson "sigs.k8s.io/json"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/pipelinespec"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/schedule"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/workflow"
)

const (
	maxDisplayName = 256
	maxDescription = 10000
	// MaxMessageLength bounds a run's status.message; the executor cuts a workflow's
	// message to it.
	MaxMessageLength = 32768
	// MaxRunNameLength keeps a run's name usable as a label value (63), which the
	// executor puts on the run's workflow and pods.
	MaxRunNameLength = utilvalidation.DNS1123LabelMaxLength
	// MaxJobNameLength leaves room in a run name for "-" and the ten-digit Unix time
	// of the schedule, the names of the runs a job creates.
	MaxJobNameLength = MaxRunNameLength - 11
	maxConcurrency   = 10
	// maxPipelineRoot is S3's longest key (1024) plus room for the scheme and bucket.
	maxPipelineRoot = 1100
)

var (
	storageStates = sets.New(pipelines.StorageStateAvailable, pipelines.StorageStateArchived)
	runPhases     = sets.New(pipelines.RunPhasePending, pipelines.RunPhaseRunning, pipelines.RunPhaseSucceeded,
		pipelines.RunPhaseFailed, pipelines.RunPhaseError, pipelines.RunPhaseSkipped,
		pipelines.RunPhaseCanceling, pipelines.RunPhaseCanceled)
)

// ValidatePipeline checks a pipeline on create.
func ValidatePipeline(p *pipelines.Pipeline) field.ErrorList {
	errs := validateMeta(&p.ObjectMeta, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, validatePipelineSpecAndStatus(p)...)
}

// ValidatePipelineUpdate checks a pipeline on update.
func ValidatePipelineUpdate(p, old *pipelines.Pipeline) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMetaUpdate(&p.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	return append(errs, validatePipelineSpecAndStatus(p)...)
}

func validatePipelineSpecAndStatus(p *pipelines.Pipeline) field.ErrorList {
	spec := field.NewPath("spec")
	errs := validateText(p.Spec.DisplayName, maxDisplayName, spec.Child("displayName"))
	errs = append(errs, validateText(p.Spec.Description, maxDescription, spec.Child("description"))...)
	return append(errs, validatePipelineStatus(&p.Status)...)
}

func validatePipelineStatus(s *pipelines.PipelineStatus) field.ErrorList {
	status := field.NewPath("status")
	var errs field.ErrorList
	if s.LatestVersion != "" {
		errs = append(errs, validateName(s.LatestVersion, status.Child("latestVersion"))...)
	}
	errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(s.VersionCount), status.Child("versionCount"))...)
	return append(errs, metav1validation.ValidateConditions(s.Conditions, status.Child("conditions"))...)
}

// ValidatePipelineVersion checks a pipeline version on create.
func ValidatePipelineVersion(v *pipelines.PipelineVersion) field.ErrorList {
	errs := validateMeta(&v.ObjectMeta, apimachineryvalidation.NameIsDNSSubdomain)
	spec := field.NewPath("spec")
	errs = append(errs, validateRequiredName(v.Spec.PipelineName, spec.Child("pipelineName"))...)
	errs = append(errs, validateText(v.Spec.Description, maxDescription, spec.Child("description"))...)
	if v.Spec.CodeSourceURL != "" {
		if u, err := url.Parse(v.Spec.CodeSourceURL); err != nil || u.Scheme == "" || u.Host == "" {
			errs = append(errs, field.Invalid(spec.Child("codeSourceURL"), v.Spec.CodeSourceURL, "must be an absolute URL"))
		}
	}
	errs = append(errs, validateDefinition(&v.Spec, spec)...)
	status := field.NewPath("status")
	errs = append(errs, metav1validation.ValidateConditions(v.Status.Conditions, status.Child("conditions"))...)
	return errs
}

// validateDefinition checks a version's definition: exactly one of a KFP v1 Argo
// Workflow and a KFP 2.x pipeline IR (with its optional platform spec), each parsed
// with the code that compiles or runs it.
func validateDefinition(s *pipelines.PipelineVersionSpec, spec *field.Path) field.ErrorList {
	hasWorkflow, hasIR := len(s.Workflow.Raw) > 0, len(s.PipelineSpec.Raw) > 0
	switch {
	case hasWorkflow && hasIR:
		return field.ErrorList{field.Invalid(spec, field.OmitValueType{}, "must hold exactly one of workflow (KFP v1) and pipelineSpec (KFP 2.x)")}
	case hasIR:
		ir, errs := pipelinespec.Parse(s.PipelineSpec.Raw, spec.Child("pipelineSpec"))
		platform, perrs := pipelinespec.ParsePlatform(s.PlatformSpec.Raw, spec.Child("platformSpec"))
		errs = append(errs, perrs...)
		if len(errs) > 0 {
			return errs
		}
		return ir.Validate(platform, spec.Child("pipelineSpec"), spec.Child("platformSpec"))
	case len(s.PlatformSpec.Raw) > 0:
		return field.ErrorList{field.Forbidden(spec.Child("platformSpec"), "only with pipelineSpec")}
	}
	wf, errs := workflow.Parse(s.Workflow.Raw, spec.Child("workflow"))
	if wf != nil {
		errs = append(errs, wf.Validate(spec.Child("workflow"))...)
	}
	return errs
}

// ValidatePipelineVersionUpdate checks a pipeline version on update: its spec is immutable.
func ValidatePipelineVersionUpdate(v, old *pipelines.PipelineVersion) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMetaUpdate(&v.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	spec := field.NewPath("spec")
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(v.Spec.PipelineName, old.Spec.PipelineName, spec.Child("pipelineName"))...)
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(v.Spec.Description, old.Spec.Description, spec.Child("description"))...)
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(v.Spec.CodeSourceURL, old.Spec.CodeSourceURL, spec.Child("codeSourceURL"))...)
	for _, f := range []struct {
		name     string
		new, old []byte
	}{
		{"workflow", v.Spec.Workflow.Raw, old.Spec.Workflow.Raw},
		{"pipelineSpec", v.Spec.PipelineSpec.Raw, old.Spec.PipelineSpec.Raw},
		{"platformSpec", v.Spec.PlatformSpec.Raw, old.Spec.PlatformSpec.Raw},
	} {
		if (len(f.new) == 0) != (len(f.old) == 0) || (len(f.new) > 0 && !sameJSON(f.new, f.old)) {
			errs = append(errs, field.Invalid(spec.Child(f.name), field.OmitValueType{}, apimachineryvalidation.FieldImmutableErrorMsg))
		}
	}
	status := field.NewPath("status")
	return append(errs, metav1validation.ValidateConditions(v.Status.Conditions, status.Child("conditions"))...)
}

// ValidateExperiment checks an experiment on create.
func ValidateExperiment(e *pipelines.Experiment) field.ErrorList {
	errs := validateMeta(&e.ObjectMeta, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, validateExperimentSpecAndStatus(e)...)
}

// ValidateExperimentUpdate checks an experiment on update.
func ValidateExperimentUpdate(e, old *pipelines.Experiment) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMetaUpdate(&e.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	return append(errs, validateExperimentSpecAndStatus(e)...)
}

func validateExperimentSpecAndStatus(e *pipelines.Experiment) field.ErrorList {
	spec := field.NewPath("spec")
	errs := validateText(e.Spec.DisplayName, maxDisplayName, spec.Child("displayName"))
	errs = append(errs, validateText(e.Spec.Description, maxDescription, spec.Child("description"))...)
	status := field.NewPath("status")
	errs = append(errs, validateStorageState(e.Status.StorageState, status.Child("storageState"))...)
	return append(errs, metav1validation.ValidateConditions(e.Status.Conditions, status.Child("conditions"))...)
}

// ValidateRun checks a run on create.
func ValidateRun(r *pipelines.Run) field.ErrorList {
	errs := validateMeta(&r.ObjectMeta, runName)
	spec := field.NewPath("spec")
	errs = append(errs, validateRequiredName(r.Spec.ExperimentName, spec.Child("experimentName"))...)
	errs = append(errs, validatePipelineRef(&r.Spec.PipelineRef, spec.Child("pipelineRef"))...)
	errs = append(errs, validateRunParameters(r.Spec.Parameters, spec.Child("parameters"))...)
	errs = append(errs, validateServiceAccount(r.Spec.ServiceAccountName, spec.Child("serviceAccountName"))...)
	errs = append(errs, validatePipelineRoot(r.Spec.PipelineRoot, spec.Child("pipelineRoot"))...)
	return append(errs, validateRunStatus(&r.Status, nil)...)
}

// ValidateRunUpdate checks a run on update: its spec is immutable.
func ValidateRunUpdate(r, old *pipelines.Run) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMetaUpdate(&r.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	spec := field.NewPath("spec")
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(r.Spec.ExperimentName, old.Spec.ExperimentName, spec.Child("experimentName"))...)
	errs = append(errs, immutable(r.Spec.PipelineRef, old.Spec.PipelineRef, spec.Child("pipelineRef"))...)
	errs = append(errs, immutable(r.Spec.Parameters, old.Spec.Parameters, spec.Child("parameters"))...)
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(r.Spec.ServiceAccountName, old.Spec.ServiceAccountName, spec.Child("serviceAccountName"))...)
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(r.Spec.PipelineRoot, old.Spec.PipelineRoot, spec.Child("pipelineRoot"))...)
	// The version was resolved and authorized at create; the executor runs what these
	// name, so no status update may point them elsewhere.
	status := field.NewPath("status")
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(r.Status.PipelineVersion, old.Status.PipelineVersion, status.Child("pipelineVersion"))...)
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(r.Status.PipelineVersionUID, old.Status.PipelineVersionUID, status.Child("pipelineVersionUID"))...)
	return append(errs, validateRunStatus(&r.Status, &old.Status)...)
}

// validateRunStatus checks a run's status; old is the stored one on update. A phase or
// storage state unchanged since it was stored is not checked again (see
// validateJobSpecAndStatus), so that the executor can say why it skips such a run.
func validateRunStatus(s, old *pipelines.RunStatus) field.ErrorList {
	status := field.NewPath("status")
	var errs field.ErrorList
	if s.Phase != "" && !runPhases.Has(s.Phase) && (old == nil || s.Phase != old.Phase) {
		errs = append(errs, field.NotSupported(status.Child("phase"), s.Phase, sets.List(runPhases)))
	}
	if old == nil || s.StorageState != old.StorageState {
		errs = append(errs, validateStorageState(s.StorageState, status.Child("storageState"))...)
	}
	if s.PipelineVersion != "" {
		errs = append(errs, validateName(s.PipelineVersion, status.Child("pipelineVersion"))...)
	}
	if s.StartTime != nil && s.CompletionTime != nil && s.CompletionTime.Before(s.StartTime) {
		errs = append(errs, field.Invalid(status.Child("completionTime"), s.CompletionTime, "must not be before startTime"))
	}
	errs = append(errs, validateText(s.Message, MaxMessageLength, status.Child("message"))...)
	return append(errs, metav1validation.ValidateConditions(s.Conditions, status.Child("conditions"))...)
}

// ValidateJob checks a job on create.
func ValidateJob(j *pipelines.Job) field.ErrorList {
	errs := validateMeta(&j.ObjectMeta, jobName)
	return append(errs, validateJobSpecAndStatus(j, nil)...)
}

// ValidateJobUpdate checks a job on update. A job's spec may change, the next runs use
// it, except its experiment, which owns the job.
func ValidateJobUpdate(j, old *pipelines.Job) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMetaUpdate(&j.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(j.Spec.ExperimentName, old.Spec.ExperimentName,
		field.NewPath("spec", "experimentName"))...)
	return append(errs, validateJobSpecAndStatus(j, old)...)
}

// validateJobSpecAndStatus checks a job; old is the stored one on update. A spec
// unchanged since it was stored is not checked again, as Kubernetes ratchets
// validation: one stored under older rules, or straight into the database, must not
// block the scheduler's status update that says why it cannot run.
func validateJobSpecAndStatus(j, old *pipelines.Job) field.ErrorList {
	var errs field.ErrorList
	if old == nil || !apiequality.Semantic.DeepEqual(j.Spec, old.Spec) {
		errs = validateJobSpec(&j.Spec)
	}
	status := field.NewPath("status")
	for i, name := range j.Status.Active {
		errs = append(errs, validateName(name, status.Child("active").Index(i))...)
	}
	return append(errs, metav1validation.ValidateConditions(j.Status.Conditions, status.Child("conditions"))...)
}

func validateJobSpec(j *pipelines.JobSpec) field.ErrorList {
	spec := field.NewPath("spec")
	errs := validateRequiredName(j.ExperimentName, spec.Child("experimentName"))
	errs = append(errs, validatePipelineRef(&j.PipelineRef, spec.Child("pipelineRef"))...)
	errs = append(errs, validateRunParameters(j.Parameters, spec.Child("parameters"))...)
	errs = append(errs, validateServiceAccount(j.ServiceAccountName, spec.Child("serviceAccountName"))...)
	errs = append(errs, validateSchedule(&j.Schedule, spec.Child("schedule"))...)
	if j.MaxConcurrency < 1 || j.MaxConcurrency > maxConcurrency {
		errs = append(errs, field.Invalid(spec.Child("maxConcurrency"), j.MaxConcurrency, "must be between 1 and 10"))
	}
	if j.Enabled == nil {
		errs = append(errs, field.Required(spec.Child("enabled"), ""))
	}
	return errs
}

// immutable is ValidateImmutableField for a structured value, which it leaves out of
// the message: a Go struct printed there helps no one.
func immutable(newVal, oldVal interface{}, p *field.Path) field.ErrorList {
	if apiequality.Semantic.DeepEqual(newVal, oldVal) {
		return nil
	}
	return field.ErrorList{field.Invalid(p, field.OmitValueType{}, apimachineryvalidation.FieldImmutableErrorMsg)}
}

// sameJSON compares two JSON documents by value: a client that sends the same
// workflow back (apply, edit) may format or order it differently.
func sameJSON(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	// Integers are kept as int64: as float64, two that differ beyond 2^53 compare equal.
	var va, vb interface{}
	if kjson.UnmarshalCaseSensitivePreserveInts(a, &va) != nil || kjson.UnmarshalCaseSensitivePreserveInts(b, &vb) != nil {
		return false
	}
	return apiequality.Semantic.DeepEqual(va, vb)
}

// validateSchedule checks a schedule with the parsers the scheduler runs it with.
func validateSchedule(s *pipelines.Schedule, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case s.Cron == "" && s.IntervalSeconds == 0:
		errs = append(errs, field.Required(p, "one of cron and intervalSeconds"))
	case s.Cron != "" && s.IntervalSeconds != 0:
		errs = append(errs, field.Forbidden(p.Child("intervalSeconds"), "cron and intervalSeconds are mutually exclusive"))
	case s.Cron != "":
		if _, err := schedule.ParseCron(s.Cron); err != nil {
			errs = append(errs, field.Invalid(p.Child("cron"), s.Cron, err.Error()))
		}
	default:
		if _, err := schedule.ParseInterval(s.IntervalSeconds); err != nil {
			errs = append(errs, field.Invalid(p.Child("intervalSeconds"), s.IntervalSeconds, err.Error()))
		}
	}
	if err := schedule.CheckWindow(s.StartTime, s.EndTime); err != nil {
		errs = append(errs, field.Invalid(p.Child("endTime"), s.EndTime, err.Error()))
	}
	return errs
}

func validatePipelineRef(r *pipelines.PipelineRef, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if r.Namespace != "" {
		for _, msg := range apimachineryvalidation.ValidateNamespaceName(r.Namespace, false) {
			errs = append(errs, field.Invalid(p.Child("namespace"), r.Namespace, msg))
		}
	}
	errs = append(errs, validateRequiredName(r.PipelineName, p.Child("pipelineName"))...)
	if r.VersionName != "" {
		errs = append(errs, validateName(r.VersionName, p.Child("versionName"))...)
	}
	return errs
}

func validateRunParameters(params []pipelines.RunParameter, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, param := range params {
		np := p.Index(i).Child("name")
		switch {
		case param.Name == "":
			errs = append(errs, field.Required(np, ""))
		case seen.Has(param.Name):
			errs = append(errs, field.Duplicate(np, param.Name))
		}
		seen.Insert(param.Name)
	}
	return errs
}

func validateServiceAccount(name string, p *field.Path) field.ErrorList {
	if name == "" {
		return nil
	}
	var errs field.ErrorList
	for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(name, false) {
		errs = append(errs, field.Invalid(p, name, msg))
	}
	return errs
}

// pipelineRootSchemes are the URI schemes of the object stores the launcher writes to:
// S3, and minio, the alias KFP writes for it.
var pipelineRootSchemes = sets.New("s3", "minio")

// bucketName is S3's rule for a bucket's name (lower-case letters, digits, dots and
// hyphens, 3 to 63, starting and ending with a letter or digit).
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// validatePipelineRoot checks a run's pipeline root: an s3:// or minio:// URI naming a
// bucket and optionally a key prefix, nothing else, so that the launcher cannot be
// pointed at a store other than its namespace's configured endpoint.
func validatePipelineRoot(root string, p *field.Path) field.ErrorList {
	if root == "" {
		return nil
	}
	if len(root) > maxPipelineRoot {
		return field.ErrorList{field.TooLong(p, "", maxPipelineRoot)}
	}
	u, err := url.Parse(root)
	switch {
	case err != nil:
		return field.ErrorList{field.Invalid(p, root, "must be a URI: "+err.Error())}
	case !pipelineRootSchemes.Has(u.Scheme):
		return field.ErrorList{field.Invalid(p, root, "must be an s3:// or minio:// URI, e.g. s3://bucket/prefix")}
	case u.User != nil || u.Port() != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return field.ErrorList{field.Invalid(p, root, "must be scheme://bucket/prefix, without credentials, port, query or fragment")}
	case u.Host == "":
		return field.ErrorList{field.Invalid(p, root, "must name a bucket, e.g. s3://bucket/prefix")}
	case !bucketName.MatchString(u.Host):
		return field.ErrorList{field.Invalid(p, root, "bucket must be 3 to 63 lower-case letters, digits, dots or hyphens, starting and ending with a letter or digit")}
	}
	return nil
}

func validateStorageState(s pipelines.StorageState, p *field.Path) field.ErrorList {
	if s != "" && !storageStates.Has(s) {
		return field.ErrorList{field.NotSupported(p, s, sets.List(storageStates))}
	}
	return nil
}

func validateMeta(meta *metav1.ObjectMeta, nameFn apimachineryvalidation.ValidateNameFunc) field.ErrorList {
	return apimachineryvalidation.ValidateObjectMeta(meta, true, nameFn, field.NewPath("metadata"))
}

// validateRequiredName checks a reference to an object in the same namespace.
func validateRequiredName(name string, p *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	return validateName(name, p)
}

// validateName checks the name of an object this one refers to. A DNS subdomain is
// also a valid path segment (no "/", "%", "." or ".."), so that one check suffices.
func validateName(name string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(name, false) {
		errs = append(errs, field.Invalid(p, name, msg))
	}
	return errs
}

func validateText(s string, maxLen int, p *field.Path) field.ErrorList {
	if len(s) > maxLen {
		return field.ErrorList{field.TooLong(p, "", maxLen)}
	}
	return nil
}

func runName(name string, prefix bool) []string {
	return dnsLabelOfAtMost(name, prefix, MaxRunNameLength)
}

func jobName(name string, prefix bool) []string {
	return dnsLabelOfAtMost(name, prefix, MaxJobNameLength)
}

func dnsLabelOfAtMost(name string, prefix bool, maxLen int) []string {
	if prefix {
		// generateName: the server appends five characters.
		name += "xxxxx"
	}
	var errs []string
	if len(name) > maxLen {
		errs = append(errs, utilvalidation.MaxLenError(maxLen))
	}
	// IsDNS1123Label checks the length too, against 63: the limit is said once, ours.
	labelLen := utilvalidation.MaxLenError(utilvalidation.DNS1123LabelMaxLength)
	for _, msg := range utilvalidation.IsDNS1123Label(name) {
		if msg != labelLen {
			errs = append(errs, msg)
		}
	}
	return errs
}
