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
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestJobPipelineRefUpdate is issue 13's attack 2: bob, with edit in team-b, creates a
// job on his own pipeline and then points it at alice's pipeline in team-a. The update
// must be checked as a create is (403), and leave the job as it was.
func TestJobPipelineRefUpdate(t *testing.T) {
	setup(t)
	ctx := t.Context()
	alice, bob := clientFor(t, "alice"), clientFor(t, "bob")
	suffix := fmt.Sprint(time.Now().UnixNano())
	alices, bobs := "alices-"+suffix, "bobs-"+suffix
	fixture(t, alice, "team-a", alices)
	fixture(t, bob, "team-b", bobs)

	created, err := bob.PipelinesV1beta1().Jobs("team-b").Create(ctx, newJob("bjob-"+suffix, bobs, bobs), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("bob creating a job on his pipeline: %v", err)
	}
	if a := created.Status.Author; a == nil || a.Username != "bob" || !slices.Contains(a.Groups, "system:authenticated") {
		t.Errorf("the job's author is %+v, want bob and his groups", a)
	}

	patch := fmt.Sprintf(`{"spec":{"pipelineRef":{"namespace":"team-a","pipelineName":%q}}}`, alices)
	_, err = bob.PipelinesV1beta1().Jobs("team-b").Patch(ctx, created.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("bob pointing his job at team-a's pipeline: %v, want Forbidden", err)
	}
	// kubectl, as the issue reports it, gets the same answer.
	if _, stderr, err := kubectlResult(t, "bob", "", "patch", "jobs.pipelines.kubeflow.org", created.Name, "-n", "team-b",
		"--type=merge", "-p", patch); err == nil {
		t.Errorf("kubectl patch by bob succeeded")
	} else if !strings.Contains(stderr, "Forbidden") || !strings.Contains(stderr, "team-a") {
		t.Errorf("kubectl patch by bob: %v: %s, want Forbidden naming team-a", err, stderr)
	}
	got, err := bob.PipelinesV1beta1().Jobs("team-b").Get(ctx, created.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.ResourceVersion != created.ResourceVersion || got.Spec.PipelineRef != created.Spec.PipelineRef {
		t.Errorf("the refused patch changed the job: pipelineRef %+v, resourceVersion %s -> %s",
			got.Spec.PipelineRef, created.ResourceVersion, got.ResourceVersion)
	}
}

// TestJobAuthorNotWritable: nobody writes a job's author, not even an admin through
// status, server-side apply or a create.
func TestJobAuthorNotWritable(t *testing.T) {
	setup(t)
	ctx := t.Context()
	ns := newNamespace(t)
	admin := clientFor(t, "admin")
	fixture(t, admin, ns, "au")
	job, err := admin.PipelinesV1beta1().Jobs(ns).Create(ctx, newJob("au", "au", "au"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if job.Status.Author == nil || job.Status.Author.Username != "admin" {
		t.Fatalf("author %+v, want admin", job.Status.Author)
	}
	forged := `{"status":{"author":{"username":"alice","groups":["system:masters"]}}}`
	for name, args := range map[string][]string{
		"merge patch of status":    {"patch", "jobs.pipelines.kubeflow.org", "au", "--subresource=status", "--type=merge", "-p", forged},
		"merge patch of the job":   {"patch", "jobs.pipelines.kubeflow.org", "au", "--type=merge", "-p", forged},
		"server-side apply status": {"apply", "--server-side", "--subresource=status", "--force-conflicts", "-f", "-"},
	} {
		stdin := ""
		if args[0] == "apply" {
			stdin = fmt.Sprintf(`{"apiVersion":"pipelines.kubeflow.org/v1beta1","kind":"Job","metadata":{"name":"au","namespace":%q},
"status":{"author":{"username":"alice","groups":["system:masters"]}}}`, ns)
		}
		_, stderr, err := kubectlResult(t, "", stdin, append(args, "-n", ns)...)
		got, gerr := admin.PipelinesV1beta1().Jobs(ns).Get(ctx, "au", metav1.GetOptions{})
		if gerr != nil {
			t.Fatal(gerr)
		}
		if a := got.Status.Author; a == nil || a.Username != "admin" || slices.Contains(a.Groups, "system:masters") != slices.Contains(job.Status.Author.Groups, "system:masters") {
			t.Errorf("%s (%v %s): author %+v, want admin's", name, err, stderr, a)
		}
	}
	// Created by server-side apply with a forged author: the caller is the author.
	bob := clientFor(t, "bob")
	name := "applied-" + fmt.Sprint(time.Now().UnixNano())
	fixture(t, bob, "team-b", name)
	kubectl(t, "bob", fmt.Sprintf(`{"apiVersion":"pipelines.kubeflow.org/v1beta1","kind":"Job","metadata":{"name":%[1]q,"namespace":"team-b"},
"spec":{"experimentName":%[1]q,"pipelineRef":{"pipelineName":%[1]q},"schedule":{"intervalSeconds":86400},"enabled":false},
"status":{"author":{"username":"alice"}}}`, name), "apply", "--server-side", "-f", "-")
	got, err := bob.PipelinesV1beta1().Jobs("team-b").Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a := got.Status.Author; a == nil || a.Username != "bob" {
		t.Errorf("a job created by bob's server-side apply: author %+v, want bob", a)
	}
}
