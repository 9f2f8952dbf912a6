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
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // the driver the engine uses
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned"
	jobregistry "github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/job"
	runregistry "github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/run"
	mysqlstorage "github.com/pipelines-apiserver/pipelines-apiserver/pkg/storage/mysql"
)

// serverAlive fails the test if the server process has exited.
func serverAlive(t *testing.T) {
	t.Helper()
	exited, why := env.ServerExited()
	select {
	case <-exited:
		t.Fatalf("the server exited: %v", why())
	default:
	}
}

// TestHostileCronRefused is issue 13's first attack: a job whose cron holds tabs passed
// validation (which counted fields) and panicked robfig/cron in the scheduler, killing
// the server for good. Such crons, and the other forms the scheduler cannot run, are now
// refused with 422 naming spec.schedule.cron, and the server and its scheduler go on.
func TestHostileCronRefused(t *testing.T) {
	c, ns := jobFixture(t)
	for _, cron := range []string{
		"CRON_TZ=UTC\t0\t*\t*\t*\t*", "TZ=UTC", "CRON_TZ=Europe/Berlin", "0\t*\t*\t*\t*", "0  * * * *",
		"CRON_TZ=No/Such 0 * * * *", "0 * * * *\x00", "0\u00a0*\u00a0*\u00a0*\u00a0*", "0 0 30 2 *", "@every 1ns",
	} {
		j := newJob("hostile", "p", 0, 1, false)
		j.Spec.Schedule = v1beta1.Schedule{Cron: cron}
		_, err := c.PipelinesV1beta1().Jobs(ns).Create(t.Context(), j, metav1.CreateOptions{})
		expectInvalid(t, err, "spec.schedule.cron")
		if _, err := c.PipelinesV1beta1().Jobs(ns).Get(t.Context(), "hostile", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("cron %q: the job exists after a refused create: %v", cron, err)
		}
	}
	// The scheduler still works: a job every second creates runs.
	if _, err := c.PipelinesV1beta1().Jobs(ns).Create(t.Context(), newJob("every-second", "p", 1, 2, false), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitForRuns(t, c, ns, "every-second", 2)
	serverAlive(t)
}

// expectInvalid checks that err is a 422 Invalid naming field.
func expectInvalid(t *testing.T, err error, field string) {
	t.Helper()
	var status apierrors.APIStatus
	if !errors.As(err, &status) || status.Status().Code != 422 {
		t.Fatalf("got %v, want 422 naming %s", err, field)
	}
	if d := status.Status().Details; d != nil {
		for _, c := range d.Causes {
			if c.Field == field {
				return
			}
		}
	}
	t.Fatalf("422 does not name %s: %v", field, err)
}

// poisonRow is an object written straight into MySQL, bypassing validation.
func poisonRow(t *testing.T, resource, ns string, obj any) mysqlstorage.BulkObject {
	t.Helper()
	value, ok := obj.([]byte)
	if !ok {
		var err error
		if value, err = json.Marshal(obj); err != nil {
			t.Fatal(err)
		}
	}
	// The indexed columns by field; those not set here (owner UIDs) are empty.
	var name string
	fields := map[string]string{}
	table := runregistry.Table
	switch o := obj.(type) {
	case *v1beta1.Job:
		name, table = o.Name, jobregistry.Table
		fields[jobregistry.ExperimentNameField] = o.Spec.ExperimentName
		fields[jobregistry.PipelineNameField] = o.Spec.PipelineRef.PipelineName
	case *v1beta1.Run:
		name = o.Name
		fields[runregistry.ExperimentNameField] = o.Spec.ExperimentName
		fields[runregistry.PipelineNameField] = o.Spec.PipelineRef.PipelineName
		fields[runregistry.PhaseField] = string(o.Status.Phase)
		fields[runregistry.StorageStateField] = string(o.Status.StorageState)
	default: // undecodable bytes: a run named "garbage"
		name = "garbage"
	}
	cols := make([][]byte, len(table.Columns))
	for i, c := range table.Columns {
		cols[i] = []byte(fields[c.Field]) // never nil: the columns are NOT NULL
	}
	return mysqlstorage.BulkObject{Key: "/registry/" + v1beta1.SchemeGroupVersion.Group + "/" + resource + "/" + ns + "/" + name,
		Value: value, Columns: cols}
}

func storedMeta(name, ns string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID("poison-" + ns + "-" + name),
		CreationTimestamp: metav1.Now(), Generation: 1}
}

// TestPoisonObjects is issue 13's poison-object test: invalid rows written straight into
// MySQL (a cron that panicked the scheduler, bad intervals, unknown enum values, and a
// row that is not even JSON) next to good objects, with the server and its controllers
// running. The server keeps serving; each invalid job and run gets Synced=False,
// InvalidSpec, naming the field; the undecodable row is left out of lists and watches
// and is a 500 StoreReadError by name; a good job keeps creating runs and good runs keep
// running to the end.
func TestPoisonObjects(t *testing.T) {
	c, ns := jobFixture(t)
	ctx := t.Context()
	p := c.PipelinesV1beta1()
	if _, err := p.Runs(ns).Create(ctx, newRun("good-before", "p"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRun(t, c, ns, "good-before", "Succeeded", inPhase(v1beta1.RunPhaseSucceeded))

	job := func(name string, s v1beta1.Schedule) *v1beta1.Job {
		j := newJob(name, "p", 0, 1, false)
		j.TypeMeta = metav1.TypeMeta{APIVersion: v1beta1.SchemeGroupVersion.String(), Kind: "Job"}
		j.ObjectMeta = storedMeta(name, ns)
		j.Spec.Schedule = s
		return j
	}
	run := func(name string, phase v1beta1.RunPhase, state v1beta1.StorageState) *v1beta1.Run {
		r := newRun(name, "p")
		r.TypeMeta = metav1.TypeMeta{APIVersion: v1beta1.SchemeGroupVersion.String(), Kind: "Run"}
		r.ObjectMeta = storedMeta(name, ns)
		r.Status = v1beta1.RunStatus{Phase: phase, StorageState: state, PipelineVersion: "p"}
		return r
	}
	badJobs := map[string]string{ // name: the field its condition names
		"tabs-cron":     "spec.schedule.cron",
		"zone-only":     "spec.schedule.cron",
		"neg-interval":  "spec.schedule.intervalSeconds",
		"huge-interval": "spec.schedule.intervalSeconds",
	}
	badRuns := map[string]string{"bad-phase": "status.phase", "bad-state": "status.storageState"}
	rows := []mysqlstorage.BulkObject{
		poisonRow(t, "jobs", ns, job("tabs-cron", v1beta1.Schedule{Cron: "CRON_TZ=UTC\t0\t*\t*\t*\t*"})),
		poisonRow(t, "jobs", ns, job("zone-only", v1beta1.Schedule{Cron: "CRON_TZ=UTC"})),
		poisonRow(t, "jobs", ns, job("neg-interval", v1beta1.Schedule{IntervalSeconds: -5})),
		poisonRow(t, "jobs", ns, job("huge-interval", v1beta1.Schedule{IntervalSeconds: 1 << 62})),
	}
	runRows := []mysqlstorage.BulkObject{
		poisonRow(t, "runs", ns, run("bad-phase", "Exploded", v1beta1.StorageStateAvailable)),
		poisonRow(t, "runs", ns, run("bad-state", v1beta1.RunPhasePending, "Limbo")),
		poisonRow(t, "runs", ns, []byte(`{"apiVersion":"pipelines.kubeflow.org/v1beta1","kind":"Run","metadata":{"name":"garbage",`)),
	}
	dsn, err := env.DatabaseDSN()
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := mysqlstorage.BulkLoad(ctx, db, jobregistry.Table, rows); err != nil {
		t.Fatalf("writing the poison jobs: %v", err)
	}
	if _, err := mysqlstorage.BulkLoad(ctx, db, runregistry.Table, runRows); err != nil {
		t.Fatalf("writing the poison runs: %v", err)
	}
	t.Cleanup(func() { deleteGarbage(t, c, ns) })

	// Each invalid object gets the condition, naming the field.
	for name, field := range badJobs {
		eventually(t, func() error {
			j, err := p.Jobs(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			return notSynced(j.Status.Conditions, field)
		})
	}
	for name, field := range badRuns {
		eventually(t, func() error {
			r, err := p.Runs(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			return notSynced(r.Status.Conditions, field)
		})
	}
	// The undecodable row: a 500 StoreReadError by name, left out of lists.
	_, err = p.Runs(ns).Get(ctx, "garbage", metav1.GetOptions{})
	if !apierrors.IsInternalError(err) && apierrors.ReasonForError(err) != metav1.StatusReasonStoreReadError {
		t.Errorf("get of the undecodable run: %v, want a 500 StoreReadError", err)
	}
	list, err := p.Runs(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("listing runs next to an undecodable one: %v", err)
	}
	var names []string
	for _, r := range list.Items {
		names = append(names, r.Name)
	}
	for _, want := range []string{"good-before", "bad-phase", "bad-state"} {
		if !strings.Contains(" "+strings.Join(names, " ")+" ", " "+want+" ") {
			t.Errorf("list of runs %v lacks %s", names, want)
		}
	}

	// Good objects keep flowing: a new job creates runs, a new run runs to the end.
	if _, err := p.Jobs(ns).Create(ctx, newJob("good-job", "p", 1, 2, false), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Runs(ns).Create(ctx, newRun("good-after", "p"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitForRuns(t, c, ns, "good-job", 3)
	waitRun(t, c, ns, "good-after", "Succeeded", inPhase(v1beta1.RunPhaseSucceeded))
	if _, err := p.Runs(ns).Get(ctx, "good-before", metav1.GetOptions{}); err != nil {
		t.Errorf("get of a good run: %v", err)
	}
	// None of the poison jobs created a run.
	for name := range badJobs {
		if times := scheduledTimes(t, c, ns, name); len(times) > 0 {
			t.Errorf("invalid job %s created runs at %v", name, times)
		}
	}
	serverAlive(t)
}

// notSynced checks for Synced=False, InvalidSpec, naming field.
func notSynced(conds []metav1.Condition, field string) error {
	c := meta.FindStatusCondition(conds, pipelines.ConditionSynced)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != pipelines.ReasonInvalidSpec || !strings.Contains(c.Message, field) {
		return errors.New("no Synced=False InvalidSpec condition naming " + field + yet(c))
	}
	return nil
}

func yet(c *metav1.Condition) string {
	if c == nil {
		return " yet"
	}
	return ": " + c.Reason + ": " + c.Message
}

// deleteGarbage removes the undecodable row the way an admin would, if the server allows
// unsafe deletion of corrupt objects; otherwise the row stays, left out of every list.
func deleteGarbage(t *testing.T, c versioned.Interface, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := c.PipelinesV1beta1().Runs(ns).Delete(ctx, "garbage", metav1.DeleteOptions{
		IgnoreStoreReadErrorWithClusterBreakingPotential: ptr.To(true)})
	if err != nil {
		t.Logf("the undecodable run stays in MySQL, left out of lists: %v", err)
	}
}
