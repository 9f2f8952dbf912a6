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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupName is the API group.
const GroupName = "pipelines.kubeflow.org"

// SchemeGroupVersion is the group and version of this package's types.
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1beta1"}

var (
	// SchemeBuilder registers the types, defaults and conversions.
	SchemeBuilder      runtime.SchemeBuilder
	localSchemeBuilder = &SchemeBuilder
	// AddToScheme adds this version to a scheme.
	AddToScheme = localSchemeBuilder.AddToScheme
)

func init() {
	// Generated defaulters and conversions register themselves on localSchemeBuilder too.
	localSchemeBuilder.Register(addKnownTypes, addDefaultingFuncs, addFieldLabelConversionFuncs)
}

// RecentRunKind is the kind of the recentruns resource (see addKnownTypes).
const RecentRunKind = "RecentRun"

// Resource takes an unqualified resource and returns a group-qualified one.
func Resource(resource string) schema.GroupResource {
	return SchemeGroupVersion.WithResource(resource).GroupResource()
}

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(SchemeGroupVersion,
		&Pipeline{}, &PipelineList{},
		&PipelineVersion{}, &PipelineVersionList{},
		&Experiment{}, &ExperimentList{},
		&Run{}, &RunList{},
		&Job{}, &JobList{},
		&RunLogOptions{},
	)
	// The kind of recentruns, the read-only list of a namespace's runs newest first: a kind
	// of its own, so that kubectl, which maps resources through kinds, finds recentruns and
	// still maps Run to runs. Its lists are RunLists of Runs; nothing has this kind itself.
	scheme.AddKnownTypeWithName(SchemeGroupVersion.WithKind(RecentRunKind), &Run{})
	metav1.AddToGroupVersion(scheme, SchemeGroupVersion)
	return nil
}
