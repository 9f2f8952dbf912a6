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

package e2e

import (
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pipelines-apiserver/pipelines-apiserver/test/framework"
)

// TestStatusIsStatus is issue 13's attack 3 through kube-apiserver with kubectl: a
// patch or a server-side apply of runs/status changes status and nothing else, and
// cannot point the run at another pipeline version.
func TestStatusIsStatus(t *testing.T) {
	setup(t)
	ns := newNamespace(t)
	admin := clientFor(t, framework.AdminUser)
	fixture(t, admin, ns, "st")
	if _, err := admin.PipelinesV1beta1().PipelineVersions(ns).Create(t.Context(), newPipelineVersion("st-v2", "st"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	run := newRun("st-1", "st", "st")
	run.Spec.PipelineRef.VersionName = "st-v1"
	if _, err := admin.PipelinesV1beta1().Runs(ns).Create(t.Context(), run, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	kubectl(t, "", "", "patch", "runs.pipelines.kubeflow.org", "st-1", "-n", ns, "--subresource=status", "--type=merge",
		"-p", `{"metadata":{"labels":{"stolen":"yes"},"annotations":{"stolen":"yes"},"finalizers":["x/y"]},`+
			`"spec":{"serviceAccountName":"cluster-admin"},"status":{"message":"patched"}}`)
	kubectl(t, "", `apiVersion: pipelines.kubeflow.org/v1beta1
kind: Run
metadata:
  name: st-1
  labels: {applied: "yes"}
  finalizers: ["x/z"]
status:
  phase: Running
`, "apply", "--server-side", "--subresource=status", "--field-manager=attacker", "-n", ns, "-f", "-")

	got, err := admin.PipelinesV1beta1().Runs(ns).Get(t.Context(), "st-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.Message != "patched" || got.Status.Phase != "Running" {
		t.Errorf("status not written: message %q, phase %q", got.Status.Message, got.Status.Phase)
	}
	if len(got.Labels) != 0 || len(got.Annotations) != 0 || len(got.Finalizers) != 0 || got.Spec.ServiceAccountName != "" {
		t.Errorf("metadata or spec changed through status: labels %v, annotations %v, finalizers %v, serviceAccountName %q",
			got.Labels, got.Annotations, got.Finalizers, got.Spec.ServiceAccountName)
	}

	for _, patch := range []string{
		`{"status":{"pipelineVersion":"st-v2"}}`,
		`{"status":{"pipelineVersionUID":"00000000-0000-0000-0000-000000000000"}}`,
	} {
		_, stderr, err := kubectlResult(t, "", "", "patch", "runs.pipelines.kubeflow.org", "st-1", "-n", ns,
			"--subresource=status", "--type=merge", "-p", patch)
		if err == nil || !strings.Contains(stderr, "is invalid") || !strings.Contains(stderr, "field is immutable") {
			t.Errorf("patch %s: %v, want 422 field is immutable:\n%s", patch, err, stderr)
		}
	}
	after, err := admin.PipelinesV1beta1().Runs(ns).Get(t.Context(), "st-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.Status.PipelineVersion != "st-v1" || after.Status.PipelineVersionUID != got.Status.PipelineVersionUID || got.Status.PipelineVersionUID == "" {
		t.Errorf("pinned version %s (UID %q), want st-v1 (UID %q)", after.Status.PipelineVersion, after.Status.PipelineVersionUID, got.Status.PipelineVersionUID)
	}
	if slices.Contains(after.Finalizers, "x/z") {
		t.Errorf("server-side apply through status set a finalizer")
	}
}
