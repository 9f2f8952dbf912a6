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

package execution

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/retention"
	runregistry "github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/run"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/framework"
)

// retentionLog is what the leader logs after a batch that did something.
const retentionLog = "Applied the runs' retention policies"

// TestRetentionLeaderOnly: with two replicas, the leader applies a namespace's retention
// annotations: a run that finished two days ago is archived, a run archived two days
// ago is deleted with its Argo Workflow, through kube-apiserver; the other replica,
// campaigning all along, does none of it.
func TestRetentionLeaderOnly(t *testing.T) {
	setup(t)
	ctx := t.Context()
	ns := newNamespace(t)
	c := clientFor(t, framework.AdminUser)
	fixture(t, c, ns, "p", twoSteps)
	replica, err := env.StartReplica(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = replica.Stop(framework.Graceful) })
	leaderLog, otherLog := env.ServerLog(), replica.Log()
	if leader := holder(t); leader == identityIn(t, replica.Log()) {
		leaderLog, otherLog = otherLog, leaderLog
	} else if leader != identityIn(t, env.ServerLog()) {
		t.Fatalf("the lease is held by %q, neither replica", leader)
	}

	// Two runs that finished, their end (and one's archiving) moved two days back, as the
	// executor's own status updates write them.
	twoDaysAgo := metav1.NewTime(time.Now().Add(-48 * time.Hour).Truncate(time.Second))
	var wf string
	for _, name := range []string{"to-archive", "to-delete"} {
		if _, err := c.PipelinesV1beta1().Runs(ns).Create(ctx, newRun(name, "p"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		r := waitRun(t, c, ns, name, "Succeeded", func(r *v1beta1.Run) bool { return r.Status.Phase == v1beta1.RunPhaseSucceeded })
		r.Status.StartTime, r.Status.CompletionTime = &twoDaysAgo, &twoDaysAgo
		if name == "to-delete" {
			wf = r.Status.WorkflowName
			r.Status.StorageState = v1beta1.StorageStateArchived
			meta.SetStatusCondition(&r.Status.Conditions, metav1.Condition{Type: runregistry.ConditionArchived,
				Status: metav1.ConditionTrue, Reason: "ArchiveRequested", Message: "archived by the test", LastTransitionTime: twoDaysAgo})
		}
		if _, err := c.PipelinesV1beta1().Runs(ns).UpdateStatus(ctx, r, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if len(workflows(t, ns, "to-delete")) != 1 {
		t.Fatalf("run to-delete has no workflow")
	}

	// The cluster keeps everything (no flags); the namespace says otherwise.
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{
		retention.ArchiveAfterAnnotation: "24h", retention.DeleteAfterAnnotation: "36h"}}})
	if _, err := env.ControlPlane().Client().CoreV1().Namespaces().Patch(ctx, ns, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRun(t, c, ns, "to-archive", "archived by retention", func(r *v1beta1.Run) bool {
		c := meta.FindStatusCondition(r.Status.Conditions, runregistry.ConditionArchived)
		return r.Status.StorageState == v1beta1.StorageStateArchived && c != nil && c.Reason == "RetentionPolicy"
	})
	eventually(t, func() error {
		_, err := c.PipelinesV1beta1().Runs(ns).Get(ctx, "to-delete", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("run to-delete still there: %v", err)
	})
	if _, err := dyn.Resource(workflowsResource).Namespace(ns).Get(ctx, wf, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("workflow %s of the deleted run: %v, want NotFound", wf, err)
	}
	// Archived now, the first is due for deletion in 36h, not in this test.
	if _, err := c.PipelinesV1beta1().Runs(ns).Get(ctx, "to-archive", metav1.GetOptions{}); err != nil {
		t.Errorf("run to-archive: %v", err)
	}

	time.Sleep(3 * time.Second) // several --retention-interval
	for log, want := range map[string]bool{leaderLog: true, otherLog: false} {
		data, err := os.ReadFile(log)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(string(data), retentionLog); got != want {
			t.Errorf("%s logs %q: %v, want %v", log, retentionLog, got, want)
		}
	}
}
