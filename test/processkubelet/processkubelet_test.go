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

package processkubelet

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestCommandUnwrapsArgosEmissary(t *testing.T) {
	for _, tc := range []struct {
		ctr  corev1.Container
		want []string
	}{
		{corev1.Container{Command: []string{"/var/run/argo/argoexec", "emissary", "--loglevel", "info", "--", "sh", "-c"}, Args: []string{"echo hi"}},
			[]string{"sh", "-c", "echo hi"}},
		{corev1.Container{Command: []string{"/kfp/bin/pipelines-launcher"}, Args: []string{"--spec={}"}},
			[]string{"/kfp/bin/pipelines-launcher", "--spec={}"}},
		{corev1.Container{Command: []string{"/var/run/argo/argoexec", "emissary"}}, nil},
	} {
		if got := command(tc.ctr); !slices.Equal(got, tc.want) {
			t.Errorf("command(%v) = %q, want %q", tc.ctr.Command, got, tc.want)
		}
	}
}

func TestFieldValue(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u",
			Labels: map[string]string{"pipelines.kubeflow.org/run": "r1"}, Annotations: map[string]string{"a": "b"}},
		Spec: corev1.PodSpec{NodeName: "n", ServiceAccountName: "sa"},
	}
	for path, want := range map[string]string{
		"metadata.name": "p", "metadata.namespace": "ns", "metadata.uid": "u", "spec.nodeName": "n",
		"spec.serviceAccountName": "sa", "metadata.labels['pipelines.kubeflow.org/run']": "r1", "metadata.annotations['a']": "b",
	} {
		if got, err := fieldValue(pod, path); err != nil || got != want {
			t.Errorf("fieldValue(%s) = %q, %v; want %q", path, got, err, want)
		}
	}
	if _, err := fieldValue(pod, "status.nope"); err == nil {
		t.Error("an unknown field path gave no error")
	}
}

// TestOwns: KFP 2.x tasks (the launcher's init container) and pods annotated Process run as
// processes; other pods are kwok's.
func TestOwns(t *testing.T) {
	kfp := &corev1.Pod{Spec: corev1.PodSpec{InitContainers: []corev1.Container{{Name: "init"}, {Name: LauncherInitContainer}}}}
	annotated := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{OutcomeAnnotation: OutcomeProcess}}}
	other := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{OutcomeAnnotation: "Running"}},
		Spec: corev1.PodSpec{InitContainers: []corev1.Container{{Name: "init"}}}}
	if !Owns(kfp) || !Owns(annotated) || Owns(other) {
		t.Errorf("Owns: KFP task %v, annotated %v, other %v", Owns(kfp), Owns(annotated), Owns(other))
	}
}

// TestHostPath: an output file's path inside the pod is found in the pod's directory, under
// the deepest mount that holds it.
func TestHostPath(t *testing.T) {
	k := &Kubelet{}
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", VolumeMounts: []corev1.VolumeMount{
		{Name: "kfp-outputs", MountPath: "/kfp/outputs"}, {Name: "data", MountPath: "/data", SubPath: "x"},
	}}}}}
	for in, want := range map[string]string{
		"/kfp/outputs/parameters/Output": "/d/volumes/kfp-outputs/parameters/Output",
		"/kfp/other":                     "/d/private/kfp/other",
		"/tmp/out":                       "/d/private/tmp/out",
		"/data/f":                        "/d/volumes/data/x/f",
		"/etc/hosts":                     "/etc/hosts",
	} {
		if got := k.hostPath(pod, "/d", in); got != want {
			t.Errorf("hostPath(%s) = %s, want %s", in, got, want)
		}
	}
}
