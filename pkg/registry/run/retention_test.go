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

package run

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
)

// TestRetentionFields: a run's retention fields through its life: none while it runs,
// available from its end, archived from its archiving, available again from its
// unarchiving, and none once retried.
func TestRetentionFields(t *testing.T) {
	t0 := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	r := &pipelines.Run{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "r"},
		Status: pipelines.RunStatus{Phase: pipelines.RunPhaseRunning, StorageState: pipelines.StorageStateAvailable}}
	check := func(step, available, archived string) {
		t.Helper()
		a, b := RetentionFields(r)
		if a != available || b != archived {
			t.Errorf("%s: availableSince %q, archivedSince %q; want %q, %q", step, a, b, available, archived)
		}
	}
	check("running", "", "")
	Archive(r, t0, "ArchiveRequested", "archived by alice")
	check("archived while running", "", "")
	r.Status.Phase, r.Status.CompletionTime = pipelines.RunPhaseFailed, &metav1.Time{Time: t0.Add(time.Hour)}
	check("finished after it was archived", "", "team-a/2026-06-01T13:00:00Z")
	Archive(r, t0.Add(5*time.Hour), "RetentionPolicy", "again")
	check("archived again", "", "team-a/2026-06-01T13:00:00Z")
	unarchiveRun(r, t0.Add(48*time.Hour+1500*time.Millisecond), "unarchived by alice")
	check("unarchived", "team-a/2026-06-03T12:00:01Z", "")
	if r.Status.StorageState != pipelines.StorageStateAvailable {
		t.Errorf("unarchived run is %s", r.Status.StorageState)
	}
	Archive(r, t0.Add(72*time.Hour), "RetentionPolicy", "archived by the retention policy")
	check("archived by retention", "", "team-a/2026-06-04T12:00:00Z")
	r.Status.Phase, r.Status.CompletionTime = pipelines.RunPhasePending, nil
	check("retried", "", "")

	legacy := &pipelines.Run{ObjectMeta: metav1.ObjectMeta{Namespace: "team-b"}, Status: pipelines.RunStatus{
		Phase: pipelines.RunPhaseSucceeded, StorageState: pipelines.StorageStateArchived, CompletionTime: &metav1.Time{Time: t0}}}
	if _, b := RetentionFields(legacy); b != "team-b/2026-06-01T12:00:00Z" {
		t.Errorf("archived before the condition existed: archivedSince %q, want its completion time", b)
	}
}
