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
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
)

// ConditionArchived is True while the run is archived; its lastTransitionTime is when
// it was archived (True) or unarchived (False). Retention counts from it.
const ConditionArchived = "Archived"

// FinishedPhases are the phases a run does not leave (but for a retry).
var FinishedPhases = sets.New(pipelines.RunPhaseSucceeded, pipelines.RunPhaseFailed, pipelines.RunPhaseError,
	pipelines.RunPhaseSkipped, pipelines.RunPhaseCanceled)

// Finished says whether the run has ended: a finished phase and a completion time.
func Finished(r *pipelines.Run) bool {
	return FinishedPhases.Has(r.Status.Phase) && r.Status.CompletionTime != nil
}

// The retention fields, each in an indexed column, hold "<namespace>/<time>" (RFC 3339,
// UTC, whole seconds: text that sorts as the times do) for a finished run, so that one
// range of the column's (value, key) index is a namespace's runs due before a time;
// empty for a run that has not finished, which retention therefore never reads.
const (
	// AvailableSinceField: of a finished run that is not archived, when it finished or,
	// if later, was last unarchived.
	AvailableSinceField = "retention.availableSince"
	// ArchivedSinceField: of a finished archived run, when it was archived or, if later,
	// finished (an archived run that was still running is archived from its end on).
	ArchivedSinceField = "retention.archivedSince"
)

// retentionColumnSize holds a namespace (63), a slash and a time (20).
const retentionColumnSize = 96

// RetentionKey is the value of a retention field: the namespace, then the time.
func RetentionKey(namespace string, t time.Time) string {
	return namespace + "/" + t.UTC().Format(time.RFC3339)
}

// RetentionFields returns the values of AvailableSinceField and ArchivedSinceField.
func RetentionFields(r *pipelines.Run) (availableSince, archivedSince string) {
	if !Finished(r) {
		return "", ""
	}
	since := r.Status.CompletionTime.Time
	if c := meta.FindStatusCondition(r.Status.Conditions, ConditionArchived); c != nil && c.LastTransitionTime.After(since) {
		since = c.LastTransitionTime.Time
	}
	if r.Status.StorageState == pipelines.StorageStateArchived {
		return "", RetentionKey(r.Namespace, since)
	}
	return RetentionKey(r.Namespace, since), ""
}

// Archive archives the run, recording when and why in ConditionArchived: the one rule
// of runs/archive, experiments/archive and retention. A run already archived keeps its
// time.
func Archive(r *pipelines.Run, now time.Time, reason, message string) {
	setArchived(r, metav1.ConditionTrue, now, reason, message)
	r.Status.StorageState = pipelines.StorageStateArchived
}

// unarchiveRun makes the run available again; retention counts its time from now.
func unarchiveRun(r *pipelines.Run, now time.Time, message string) {
	setArchived(r, metav1.ConditionFalse, now, "UnarchiveRequested", message)
	r.Status.StorageState = pipelines.StorageStateAvailable
}

func setArchived(r *pipelines.Run, status metav1.ConditionStatus, now time.Time, reason, message string) {
	if r.Status.StorageState == pipelines.StorageStateArchived && status == metav1.ConditionTrue {
		// Archived before ConditionArchived existed, or again: keep the time it has.
		if c := meta.FindStatusCondition(r.Status.Conditions, ConditionArchived); c == nil || c.Status == status {
			return
		}
	}
	meta.SetStatusCondition(&r.Status.Conditions, metav1.Condition{
		Type: ConditionArchived, Status: status, Reason: reason, Message: message,
		ObservedGeneration: r.Generation, LastTransitionTime: metav1.NewTime(now.Truncate(time.Second)),
	})
}
