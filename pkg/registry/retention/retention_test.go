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

package retention_test

import (
	"database/sql"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	serverstorage "k8s.io/apiserver/pkg/server/storage"
	"k8s.io/client-go/dynamic"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/klog/v2/ktesting"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/install"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/retention"
	runregistry "github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/run"
	mysqlstorage "github.com/pipelines-apiserver/pipelines-apiserver/pkg/storage/mysql"
	mysqltesting "github.com/pipelines-apiserver/pipelines-apiserver/pkg/storage/mysql/testing"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/workflow"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/controlplane"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/shareddata"
)

func TestMain(m *testing.M) {
	code := m.Run()
	mysqltesting.StopSharedServer()
	os.Exit(code)
}

// The cluster's policy in the test, and its batch size.
var clusterPolicy = retention.Policy{ArchiveAfter: 24 * time.Hour, DeleteAfter: 7 * 24 * time.Hour}

const batchSize = 250

// now is the fake clock's start.
var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// The namespaces and what their annotations say.
var namespaces = map[string]map[string]string{
	"ns-cluster": nil, // the cluster's policy
	"ns-long": { // archives after 1000h, never deletes
		retention.ArchiveAfterAnnotation: "1000h", retention.DeleteAfterAnnotation: "0"},
	"ns-off": {retention.ArchiveAfterAnnotation: "0"},    // never archives, deletes as the cluster does
	"ns-bad": {retention.ArchiveAfterAnnotation: "soon"}, // ignored: the cluster's policy
}

// kind is what a loaded run is, by its index in a namespace.
type kind int

const (
	oldAvailable    kind = iota // finished 48h+ ago, available: due for archiving by the cluster
	oldArchived                 // finished and archived 10 days ago: due for deletion by the cluster
	recentAvailable             // finished an hour ago: due for nothing
	running                     // not finished: never touched
	runningArchived             // archived while running, long ago: never touched
	legacyArchived              // archived long ago, before the Archived condition: due for deletion
	kinds
)

// runsPerNamespace makes 4 namespaces hold 4,800 runs.
const runsPerNamespace = 1200

func kindOf(i int) kind {
	switch {
	case i < 500:
		return oldAvailable
	case i < 800:
		return oldArchived
	case i < 900:
		return recentAvailable
	case i < 1000:
		return running
	case i < 1100:
		return runningArchived
	}
	return legacyArchived
}

func uidOf(ns string, i int) types.UID {
	return types.UID(fmt.Sprintf("%08x-0000-4000-8000-%012d", len(ns), i))
}

// newRun is the i-th loaded run of ns.
func newRun(ns string, i int) *pipelines.Run {
	k := kindOf(i)
	r := &pipelines.Run{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("run-%04d", i), UID: uidOf(ns, i),
			CreationTimestamp: metav1.NewTime(now.Add(-30 * 24 * time.Hour)), Generation: 1},
		Spec: pipelines.RunSpec{ExperimentName: "exp", PipelineRef: pipelines.PipelineRef{PipelineName: "p"}},
		Status: pipelines.RunStatus{Phase: pipelines.RunPhaseSucceeded, StorageState: pipelines.StorageStateAvailable,
			PipelineVersion: "v1", PipelineVersionUID: "00000000-0000-4000-8000-000000000001"},
	}
	finished := func(ago time.Duration) {
		t := metav1.NewTime(now.Add(-ago - time.Duration(i)*time.Second))
		r.Status.StartTime, r.Status.CompletionTime = &t, &t
	}
	archived := func(ago time.Duration) {
		r.Status.StorageState = pipelines.StorageStateArchived
		meta.SetStatusCondition(&r.Status.Conditions, metav1.Condition{Type: runregistry.ConditionArchived,
			Status: metav1.ConditionTrue, Reason: "ArchiveRequested", Message: "archived by alice",
			LastTransitionTime: metav1.NewTime(now.Add(-ago))})
	}
	switch k {
	case oldAvailable:
		finished(48 * time.Hour)
	case oldArchived:
		finished(11 * 24 * time.Hour)
		archived(10 * 24 * time.Hour)
	case recentAvailable:
		finished(time.Hour)
	case running:
		r.Status.Phase = pipelines.RunPhaseRunning
	case runningArchived:
		r.Status.Phase = pipelines.RunPhaseRunning
		archived(20 * 24 * time.Hour)
	case legacyArchived:
		finished(12 * 24 * time.Hour)
		r.Status.StorageState = pipelines.StorageStateArchived
	}
	if i%100 == 7 {
		r.Status.WorkflowName = "wf-" + r.Name
	}
	return r
}

type env struct {
	storage  map[string]rest.Storage
	cfg      retention.Config
	clock    *clocktesting.FakeClock
	db       *sql.DB
	kube     dynamic.Interface
	cp       *controlplane.ControlPlane
	codec    runtime.Codec
	loadedAt map[string]string // resourceVersion of each loaded run, by namespace/name
}

func newEnv(t *testing.T) *env {
	t.Helper()
	crd := filepath.Join(shareddata.Dir(t, "argo"), "workflows-crd-minimal.yaml")
	ctx := t.Context()
	scheme := runtime.NewScheme()
	install.Install(scheme)
	codecs := serializer.NewCodecFactory(scheme)
	dsn := mysqltesting.SharedServer(t).NewDatabase(t)
	backend, err := mysqlstorage.NewBackend(ctx, mysqlstorage.Config{DSN: dsn, Tables: registry.Tables()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = backend.Close() })
	codec, _, err := serverstorage.NewStorageCodec(serverstorage.StorageCodecConfig{
		StorageMediaType: runtime.ContentTypeJSON, StorageSerializer: codecs,
		StorageVersion: v1beta1.SchemeGroupVersion,
		MemoryVersion:  schema.GroupVersion{Group: pipelines.GroupName, Version: runtime.APIVersionInternal},
	})
	if err != nil {
		t.Fatal(err)
	}
	getter := &mysqlstorage.RESTOptionsGetter{
		Backend: backend, Prefix: "/registry", EnableGarbageCollection: true, DeleteCollectionWorkers: 1,
		Codec: func(schema.GroupResource) (runtime.Codec, error) { return codec, nil },
	}
	storage, _, err := registry.NewStorage(scheme, getter, authorizerfactory.NewAlwaysAllowAuthorizer(), nil, registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })

	cp, err := controlplane.Start(ctx, controlplane.Config{Logger: ktesting.NewLogger(t, ktesting.NewConfig())})
	if err != nil {
		t.Fatalf("starting kube-apiserver: %v", err)
	}
	t.Cleanup(func() { _ = cp.Stop() })
	if _, stderr, err := cp.Kubectl(ctx, "", "create", "-f", crd); err != nil {
		t.Fatalf("creating Argo's Workflow CRD: %v: %s", err, stderr)
	}
	if _, stderr, err := cp.Kubectl(ctx, "", "wait", "--for=condition=Established", "--timeout=60s", "crd/workflows.argoproj.io"); err != nil {
		t.Fatalf("Argo's Workflow CRD: %v: %s", err, stderr)
	}
	kube, err := dynamic.NewForConfig(cp.AdminRESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	e := &env{storage: storage, db: db, kube: kube, cp: cp, codec: codec, clock: clocktesting.NewFakeClock(now),
		loadedAt: map[string]string{}}
	e.cfg = retention.Config{Default: clusterPolicy, BatchSize: batchSize, Namespaces: cp.Client().CoreV1().Namespaces(),
		Kube: kube, Clock: e.clock}
	if err := registry.RunRetention(storage, &e.cfg); err != nil {
		t.Fatal(err)
	}
	return e
}

// load bulk-loads the runs of every namespace, creates the namespaces and the
// workflows (and a pod) of the runs that name one.
func (e *env) load(t *testing.T) {
	ctx := t.Context()
	var objs []mysqlstorage.BulkObject
	for ns, annotations := range namespaces {
		_, err := e.cp.Client().CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
			ObjectMeta: metav1.ObjectMeta{Name: ns, Annotations: annotations}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// No controller-manager makes the account pods need.
		_, err = e.cp.Client().CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{
			ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range runsPerNamespace {
			r := newRun(ns, i)
			value, err := runtime.Encode(e.codec, r)
			if err != nil {
				t.Fatal(err)
			}
			_, fields, err := runregistry.GetAttrs(r)
			if err != nil {
				t.Fatal(err)
			}
			var cols [][]byte
			for _, c := range runregistry.Table.Columns {
				cols = append(cols, []byte(fields[c.Field]))
			}
			objs = append(objs, mysqlstorage.BulkObject{
				Key: "/registry/pipelines.kubeflow.org/runs/" + ns + "/" + r.Name, Value: value, Columns: cols})
			if r.Status.WorkflowName != "" {
				e.createWorkflow(t, r)
			}
		}
	}
	if _, err := mysqlstorage.BulkLoad(ctx, e.db, runregistry.Table, objs); err != nil {
		t.Fatal(err)
	}
	for _, r := range e.list(t) {
		e.loadedAt[r.Namespace+"/"+r.Name] = r.ResourceVersion
	}
	if len(e.loadedAt) != len(namespaces)*runsPerNamespace {
		t.Fatalf("loaded %d runs, want %d", len(e.loadedAt), len(namespaces)*runsPerNamespace)
	}
}

// createWorkflow creates r's workflow, owned by r, and a pod of it owned by the
// workflow; for run-0507 of each namespace, a workflow of the same name that another
// run owns, which retention must leave.
func (e *env) createWorkflow(t *testing.T, r *pipelines.Run) {
	ctx := t.Context()
	owner := r.UID
	if r.Name == "run-0507" {
		owner = "00000000-0000-4000-8000-0000000000ff"
	}
	wf := &unstructured.Unstructured{}
	wf.SetAPIVersion("argoproj.io/v1alpha1")
	wf.SetKind("Workflow")
	wf.SetName(r.Status.WorkflowName)
	wf.SetLabels(map[string]string{"pipelines.kubeflow.org/run": r.Name})
	wf.Object["spec"] = map[string]any{"entrypoint": "main"}
	wf.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "pipelines.kubeflow.org/v1beta1", Kind: "Run",
		Name: r.Name, UID: owner, Controller: ptrTo(true)}})
	created, err := e.kube.Resource(workflow.Resource).Namespace(r.Namespace).Create(ctx, wf, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: r.Status.WorkflowName + "-step", Namespace: r.Namespace,
		Labels: map[string]string{workflow.PodWorkflowLabel: created.GetName()},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "argoproj.io/v1alpha1", Kind: "Workflow",
			Name: created.GetName(), UID: created.GetUID(), Controller: ptrTo(true)}}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "busybox"}}}}
	if _, err := e.cp.Client().CoreV1().Pods(r.Namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func ptrTo[T any](v T) *T { return &v }

// list reads every run through the storage.
func (e *env) list(t *testing.T) map[string]*pipelines.Run {
	t.Helper()
	ctx := genericapirequest.WithNamespace(t.Context(), metav1.NamespaceAll)
	out := map[string]*pipelines.Run{}
	opts := &metainternalversion.ListOptions{Limit: 1000}
	for {
		obj, err := e.storage["runs"].(rest.Lister).List(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		list := obj.(*pipelines.RunList)
		for i := range list.Items {
			r := &list.Items[i]
			out[r.Namespace+"/"+r.Name] = r
		}
		if list.Continue == "" {
			return out
		}
		opts.Continue = list.Continue
	}
}

// drain runs batches until one does nothing, checking the bound on each.
func (e *env) drain(t *testing.T, r *retention.Retainer) (total retention.Result, batches int) {
	t.Helper()
	for {
		res, err := r.Run(t.Context())
		if err != nil {
			t.Fatalf("batch %d: %v", batches+1, err)
		}
		if n := res.Archived + res.Deleted + res.Failed; n > batchSize {
			t.Fatalf("batch %d acted on %d runs, more than the batch size %d", batches+1, n, batchSize)
		}
		if res == (retention.Result{}) {
			return total, batches
		}
		batches++
		total.Archived += res.Archived
		total.Deleted += res.Deleted
		total.Workflows += res.Workflows
		total.Failed += res.Failed
	}
}

// TestRetention loads 4,800 runs over four namespaces into MariaDB, the namespaces and
// some runs' workflows into kube-apiserver, and applies the policies with a fake clock.
func TestRetention(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB, etcd and kube-apiserver")
	}
	e := newEnv(t)
	e.load(t)
	r, err := retention.New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("plans-read-an-index-range", func(t *testing.T) {
		for _, f := range []string{runregistry.AvailableSinceField, runregistry.ArchivedSinceField} {
			q, err := mysqlstorage.IndexedRangeQuery(runregistry.Table, f)
			if err != nil {
				t.Fatal(err)
			}
			prefix := "/registry/pipelines.kubeflow.org/runs/"
			plan := mysqltesting.Explain(t.Context(), t, e.db, q, "ns-cluster/", runregistry.RetentionKey("ns-cluster", now),
				prefix, prefix[:len(prefix)-1]+"0", batchSize)
			t.Logf("EXPLAIN %s\n%v", q, plan)
			col := map[string]string{runregistry.AvailableSinceField: "available_since", runregistry.ArchivedSinceField: "archived_since"}[f]
			if len(plan) != 1 || plan[0]["key"] != "runs_"+col || plan[0]["type"] != "range" ||
				strings.Contains(plan[0]["Extra"], "filesort") {
				t.Errorf("%s: not one range of its index: %v", f, plan)
			}
		}
	})

	archivedBefore := counter(t, "pipelines_retention_runs_archived_total")
	deletedBefore := counter(t, "pipelines_retention_runs_deleted_total")

	// changed counts, by namespace, the runs whose revision changed or that are gone.
	changed := func(t *testing.T) map[string]int {
		after := e.list(t)
		out := map[string]int{}
		for key, rv := range e.loadedAt {
			if r, ok := after[key]; !ok || r.ResourceVersion != rv {
				ns, _, _ := strings.Cut(key, "/")
				out[ns]++
			}
		}
		return out
	}
	t.Run("batches-are-bounded-and-take-turns", func(t *testing.T) {
		// ns-bad comes first and has 900 runs due: the first batch spends itself there,
		// the second starts with the next namespace.
		for batch, want := range []map[string]int{{"ns-bad": batchSize}, {"ns-bad": batchSize, "ns-cluster": batchSize}} {
			res, err := r.Run(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if n := res.Archived + res.Deleted; n != batchSize {
				t.Errorf("batch %d: %+v, want %d runs in all (more are due)", batch+1, res, batchSize)
			}
			if got := changed(t); !maps.Equal(got, want) {
				t.Errorf("after batch %d, runs changed by namespace: %v, want %v", batch+1, got, want)
			}
		}
	})

	t.Run("policies-applied", func(t *testing.T) {
		total, batches := e.drain(t, r)
		t.Logf("then %d more batches: %+v", batches, total)
		after := e.list(t)
		counts := map[string]map[string]int{}
		for key, rv := range e.loadedAt {
			ns, name, _ := strings.Cut(key, "/")
			var i int
			if _, err := fmt.Sscanf(name, "run-%04d", &i); err != nil {
				t.Fatal(err)
			}
			k := kindOf(i)
			got, exists := after[key]
			state := "gone"
			if exists {
				state = string(got.Status.StorageState)
				if got.ResourceVersion == rv {
					state += ",untouched"
				}
			}
			if counts[ns] == nil {
				counts[ns] = map[string]int{}
			}
			counts[ns][fmt.Sprintf("%d:%s", k, state)]++
			want := expected(ns, k)
			if state != want {
				t.Errorf("%s (kind %d): %s, want %s", key, k, state, want)
				continue
			}
			if state == "Archived" {
				c := meta.FindStatusCondition(got.Status.Conditions, runregistry.ConditionArchived)
				if c == nil || c.Status != metav1.ConditionTrue || c.Reason != "RetentionPolicy" || !c.LastTransitionTime.Time.Equal(now) {
					t.Errorf("%s archived by retention with condition %+v", key, c)
				}
			}
		}
		t.Logf("runs by namespace, kind and state: %v", counts)
	})

	t.Run("workflows-deleted-with-their-runs", func(t *testing.T) {
		for ns := range namespaces {
			for i := 7; i < runsPerNamespace; i += 100 {
				name := fmt.Sprintf("wf-run-%04d", i)
				_, err := e.kube.Resource(workflow.Resource).Namespace(ns).Get(t.Context(), name, metav1.GetOptions{})
				_, podErr := e.cp.Client().CoreV1().Pods(ns).Get(t.Context(), name+"-step", metav1.GetOptions{})
				runGone := expected(ns, kindOf(i)) == "gone"
				wantGone := runGone && i != 507 // run-0507's workflow is another run's
				if gone := apierrors.IsNotFound(err); gone != wantGone {
					t.Errorf("workflow %s/%s gone: %v (%v), want %v", ns, name, gone, err, wantGone)
				}
				if gone := apierrors.IsNotFound(podErr); gone != wantGone {
					t.Errorf("pod %s/%s-step gone: %v (%v), want %v", ns, name, gone, podErr, wantGone)
				}
			}
		}
	})

	t.Run("metrics", func(t *testing.T) {
		var archived, deleted float64
		for ns := range namespaces {
			for i := range runsPerNamespace {
				switch expected(ns, kindOf(i)) {
				case "Archived":
					archived++
				case "gone":
					deleted++
				}
			}
		}
		if got := counter(t, "pipelines_retention_runs_archived_total") - archivedBefore; got != archived {
			t.Errorf("runs_archived_total grew by %v, want %v", got, archived)
		}
		if got := counter(t, "pipelines_retention_runs_deleted_total") - deletedBefore; got != deleted {
			t.Errorf("runs_deleted_total grew by %v, want %v", got, deleted)
		}
	})

	t.Run("archived-by-retention-deleted-a-week-later", func(t *testing.T) {
		e.clock.Step(7*24*time.Hour + time.Minute)
		e.drain(t, r)
		after := e.list(t)
		for key := range e.loadedAt {
			ns, name, _ := strings.Cut(key, "/")
			var i int
			_, _ = fmt.Sscanf(name, "run-%04d", &i)
			k := kindOf(i)
			_, exists := after[key]
			// A week later the recent ones are due too; running ones never.
			wantGone := false
			switch {
			case k == running || k == runningArchived:
			case ns == "ns-long":
			case ns == "ns-off":
				wantGone = k == oldArchived || k == legacyArchived
			default:
				// archived at now, deleted at now+7d; the recent ones archived at
				// this second drain and due only a week after that.
				wantGone = k != recentAvailable
			}
			if exists == wantGone {
				t.Errorf("%s (kind %d): exists %v, want gone %v", key, k, exists, wantGone)
			}
		}
	})
}

// expected is a loaded run's state after the policies ran to completion at now:
// "gone", its storage state, and ",untouched" when its revision did not change.
func expected(ns string, k kind) string {
	p, _ := retention.PolicyFor(clusterPolicy, namespaces[ns])
	switch k {
	case running:
		return "Available,untouched"
	case runningArchived:
		return "Archived,untouched"
	case recentAvailable:
		return "Available,untouched"
	case oldAvailable:
		if p.ArchiveAfter > 0 && p.ArchiveAfter <= 48*time.Hour {
			return "Archived"
		}
		return "Available,untouched"
	}
	// oldArchived (10 days), legacyArchived (finished 12 days ago)
	if p.DeleteAfter > 0 && p.DeleteAfter <= 10*24*time.Hour {
		return "gone"
	}
	return "Archived,untouched"
}

// counter reads a counter of the legacy registry, where the server serves it.
func counter(t *testing.T, name string) float64 {
	t.Helper()
	families, err := legacyregistry.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no counter %s", name)
	return 0
}
