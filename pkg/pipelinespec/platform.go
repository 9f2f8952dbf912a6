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

package pipelinespec

// PlatformSpec is the second YAML document of a compiled pipeline: settings per
// platform. Only "kubernetes" is read.
type PlatformSpec struct {
	Platforms map[string]*SinglePlatformSpec `json:"platforms"`
}

// SinglePlatformSpec is one platform's settings.
type SinglePlatformSpec struct {
	DeploymentSpec struct {
		// Executors are keyed by the executor labels of the pipeline's deploymentSpec.
		Executors map[string]*KubernetesExecutorConfig `json:"executors,omitempty"`
	} `json:"deploymentSpec"`
	// PipelineConfig holds pipeline-wide settings (a workspace volume); parsed to be
	// refused where not supported.
	PipelineConfig map[string]any `json:"pipelineConfig,omitempty"`
}

// KubernetesExecutorConfig is what kfp-kubernetes adds to the pods of one executor.
type KubernetesExecutorConfig struct {
	SecretAsVolume         []SecretAsVolume     `json:"secretAsVolume,omitempty"`
	SecretAsEnv            []SecretAsEnv        `json:"secretAsEnv,omitempty"`
	PVCMount               []PVCMount           `json:"pvcMount,omitempty"`
	NodeSelector           *NodeSelector        `json:"nodeSelector,omitempty"`
	PodMetadata            *PodMetadata         `json:"podMetadata,omitempty"`
	ImagePullSecret        []ImagePullSecret    `json:"imagePullSecret,omitempty"`
	ImagePullPolicy        string               `json:"imagePullPolicy,omitempty"`
	ConfigMapAsVolume      []ConfigMapAsVolume  `json:"configMapAsVolume,omitempty"`
	ConfigMapAsEnv         []ConfigMapAsEnv     `json:"configMapAsEnv,omitempty"`
	ActiveDeadlineSeconds  Int64                `json:"activeDeadlineSeconds,omitempty"`
	FieldPathAsEnv         []FieldPathAsEnv     `json:"fieldPathAsEnv,omitempty"`
	Tolerations            []Toleration         `json:"tolerations,omitempty"`
	GenericEphemeralVolume []any                `json:"genericEphemeralVolume,omitempty"`
	NodeAffinity           []any                `json:"nodeAffinity,omitempty"`
	PodAffinity            []any                `json:"podAffinity,omitempty"`
	EnabledSharedMemory    *EnabledSharedMemory `json:"enabledSharedMemory,omitempty"`
	EmptyDirMounts         []EmptyDirMount      `json:"emptyDirMounts,omitempty"`
	SecurityContext        *PodSecurityContext  `json:"securityContext,omitempty"`
	InitContainers         []any                `json:"initContainers,omitempty"`
}

// SecretAsVolume mounts a secret. The name is SecretNameParameter (a constant, a
// pipeline input or a task output) or, in older files, SecretName.
type SecretAsVolume struct {
	SecretName          string              `json:"secretName,omitempty"`
	MountPath           string              `json:"mountPath"`
	Optional            *bool               `json:"optional,omitempty"`
	SecretNameParameter *InputParameterSpec `json:"secretNameParameter,omitempty"`
}

// SecretAsEnv sets environment variables from a secret's keys.
type SecretAsEnv struct {
	SecretName          string              `json:"secretName,omitempty"`
	KeyToEnv            []SecretKeyToEnv    `json:"keyToEnv,omitempty"`
	Optional            *bool               `json:"optional,omitempty"`
	SecretNameParameter *InputParameterSpec `json:"secretNameParameter,omitempty"`
}

// SecretKeyToEnv maps a secret's key to an environment variable.
type SecretKeyToEnv struct {
	SecretKey string `json:"secretKey"`
	EnvVar    string `json:"envVar"`
}

// PVCMount mounts a PersistentVolumeClaim; the claim's name is PVCNameParameter or,
// in older files, one of the deprecated three.
type PVCMount struct {
	TaskOutputParameter     *TaskOutputParameterSpec `json:"taskOutputParameter,omitempty"`
	Constant                string                   `json:"constant,omitempty"`
	ComponentInputParameter string                   `json:"componentInputParameter,omitempty"`
	MountPath               string                   `json:"mountPath"`
	PVCNameParameter        *InputParameterSpec      `json:"pvcNameParameter,omitempty"`
	SubPath                 string                   `json:"subPath,omitempty"`
}

// NameParameter returns where the claim's name comes from, whichever form is used.
func (m *PVCMount) NameParameter() *InputParameterSpec {
	switch {
	case m.PVCNameParameter != nil:
		return m.PVCNameParameter
	case m.TaskOutputParameter != nil:
		return &InputParameterSpec{TaskOutputParameter: m.TaskOutputParameter}
	case m.ComponentInputParameter != "":
		return &InputParameterSpec{ComponentInputParameter: m.ComponentInputParameter}
	default:
		return &InputParameterSpec{RuntimeValue: &ValueOrRuntimeParameter{Constant: m.Constant}}
	}
}

// NodeSelector constrains the nodes a pod runs on.
type NodeSelector struct {
	Labels           map[string]string   `json:"labels,omitempty"`
	NodeSelectorJSON *InputParameterSpec `json:"nodeSelectorJson,omitempty"`
}

// PodMetadata are labels and annotations for the pod.
type PodMetadata struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// ImagePullSecret names a secret to pull the image with.
type ImagePullSecret struct {
	SecretName          string              `json:"secretName,omitempty"`
	SecretNameParameter *InputParameterSpec `json:"secretNameParameter,omitempty"`
}

// ConfigMapAsVolume mounts a config map.
type ConfigMapAsVolume struct {
	ConfigMapName          string              `json:"configMapName,omitempty"`
	MountPath              string              `json:"mountPath"`
	Optional               *bool               `json:"optional,omitempty"`
	ConfigMapNameParameter *InputParameterSpec `json:"configMapNameParameter,omitempty"`
}

// ConfigMapAsEnv sets environment variables from a config map's keys.
type ConfigMapAsEnv struct {
	ConfigMapName          string              `json:"configMapName,omitempty"`
	KeyToEnv               []ConfigMapKeyToEnv `json:"keyToEnv,omitempty"`
	ConfigMapNameParameter *InputParameterSpec `json:"configMapNameParameter,omitempty"`
	Optional               *bool               `json:"optional,omitempty"`
}

// ConfigMapKeyToEnv maps a config map's key to an environment variable.
type ConfigMapKeyToEnv struct {
	ConfigMapKey string `json:"configMapKey"`
	EnvVar       string `json:"envVar"`
}

// FieldPathAsEnv sets an environment variable from a field of the pod (downward API).
type FieldPathAsEnv struct {
	Name      string `json:"name"`
	FieldPath string `json:"fieldPath"`
}

// Toleration lets the pod run on tainted nodes.
type Toleration struct {
	Key               string              `json:"key,omitempty"`
	Operator          string              `json:"operator,omitempty"`
	Value             string              `json:"value,omitempty"`
	Effect            string              `json:"effect,omitempty"`
	TolerationSeconds *Int64              `json:"tolerationSeconds,omitempty"`
	TolerationJSON    *InputParameterSpec `json:"tolerationJson,omitempty"`
}

// EnabledSharedMemory mounts a memory-backed /dev/shm.
type EnabledSharedMemory struct {
	VolumeName string `json:"volumeName,omitempty"`
	Size       string `json:"size,omitempty"`
}

// EmptyDirMount mounts an emptyDir volume.
type EmptyDirMount struct {
	VolumeName string  `json:"volumeName"`
	MountPath  string  `json:"mountPath"`
	Medium     *string `json:"medium,omitempty"`
	SizeLimit  *string `json:"sizeLimit,omitempty"`
}

// PodSecurityContext is the pod's user and group.
type PodSecurityContext struct {
	RunAsUser    *Int64 `json:"runAsUser,omitempty"`
	RunAsGroup   *Int64 `json:"runAsGroup,omitempty"`
	RunAsNonRoot *bool  `json:"runAsNonRoot,omitempty"`
}
