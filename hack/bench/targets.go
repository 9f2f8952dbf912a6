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

package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	clientset "github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned/scheme"
	runregistry "github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/run"
)

// apiTarget is a kind of run served through kube-apiserver: this server's (through the
// aggregator) or the CRD's. Both take the same requests.
type apiTarget interface {
	name() string
	// create returns the created object, for updateStatus.
	create(ctx context.Context, ns, name, experiment string) (any, error)
	get(ctx context.Context, ns, name string) error
	updateStatus(ctx context.Context, obj any) error
	delete(ctx context.Context, ns, name string) error
	// list reads one page of ns, of the runs of experiment if it is not empty, and
	// returns the number of items and the list's resourceVersion.
	list(ctx context.Context, ns, experiment string, limit int64, cont string) (n int, next, rv string, err error)
	watch(ctx context.Context, ns, resourceVersion string) (watch.Interface, error)
}

// newRun is the run both targets create: the same spec, label and size.
func newRun(name, experiment string) *v1beta1.Run {
	return &v1beta1.Run{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{experimentLabel: experiment}},
		Spec: v1beta1.RunSpec{
			ExperimentName: experiment,
			PipelineRef:    v1beta1.PipelineRef{PipelineName: pipelineName},
			Parameters:     []v1beta1.RunParameter{{Name: messageParam, Value: "hello from the benchmark"}},
		},
	}
}

// serverTarget is this server's runs, through kube-apiserver, with the generated clientset.
type serverTarget struct{ c clientset.Interface }

func (serverTarget) name() string { return targetServer }

func (t serverTarget) create(ctx context.Context, ns, name, experiment string) (any, error) {
	return t.c.PipelinesV1beta1().Runs(ns).Create(ctx, newRun(name, experiment), metav1.CreateOptions{FieldManager: fieldManager})
}

func (t serverTarget) get(ctx context.Context, ns, name string) error {
	_, err := t.c.PipelinesV1beta1().Runs(ns).Get(ctx, name, metav1.GetOptions{})
	return err
}

func (t serverTarget) updateStatus(ctx context.Context, obj any) error {
	r := obj.(*v1beta1.Run).DeepCopy()
	r.Status.Phase = v1beta1.RunPhaseRunning
	r.Status.Message = "started by the benchmark"
	_, err := t.c.PipelinesV1beta1().Runs(r.Namespace).UpdateStatus(ctx, r, metav1.UpdateOptions{FieldManager: fieldManager})
	return err
}

func (t serverTarget) delete(ctx context.Context, ns, name string) error {
	return t.c.PipelinesV1beta1().Runs(ns).Delete(ctx, name, metav1.DeleteOptions{})
}

func (t serverTarget) list(ctx context.Context, ns, experiment string, limit int64, cont string) (int, string, string, error) {
	opts := metav1.ListOptions{Limit: limit, Continue: cont}
	if experiment != "" {
		opts.FieldSelector = fields.OneTermEqualSelector(runregistry.ExperimentNameField, experiment).String()
	}
	l, err := t.c.PipelinesV1beta1().Runs(ns).List(ctx, opts)
	if err != nil {
		return 0, "", "", err
	}
	return len(l.Items), l.Continue, l.ResourceVersion, nil
}

// listNewest reads one page of recentruns: ns's runs, or experiment's, newest first.
func (t serverTarget) listNewest(ctx context.Context, ns, experiment string, limit int64, cont string) (int, string, error) {
	opts := metav1.ListOptions{Limit: limit, Continue: cont}
	if experiment != "" {
		opts.FieldSelector = fields.OneTermEqualSelector(runregistry.ExperimentNameField, experiment).String()
	}
	l := &v1beta1.RunList{}
	err := t.c.PipelinesV1beta1().RESTClient().Get().Namespace(ns).Resource("recentruns").
		VersionedParams(&opts, scheme.ParameterCodec).Do(ctx).Into(l)
	if err != nil {
		return 0, "", err
	}
	return len(l.Items), l.Continue, nil
}

func (t serverTarget) watch(ctx context.Context, ns, rv string) (watch.Interface, error) {
	return t.c.PipelinesV1beta1().Runs(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: rv})
}

// crdTarget is the CRD's runs, through kube-apiserver, with the dynamic client; label
// is its name in the report (targetCRD when empty).
type crdTarget struct {
	c     dynamic.Interface
	label string
}

func (t crdTarget) name() string {
	if t.label != "" {
		return t.label
	}
	return targetCRD
}

func (t crdTarget) create(ctx context.Context, ns, name, experiment string) (any, error) {
	obj, err := toUnstructured(newRun(name, experiment))
	if err != nil {
		return nil, err
	}
	return t.c.Resource(crdGVR).Namespace(ns).Create(ctx, obj, metav1.CreateOptions{FieldManager: fieldManager})
}

// toUnstructured converts a Run into the CRD's kind.
func toUnstructured(r *v1beta1.Run) (*unstructured.Unstructured, error) {
	m, err := runtimeToMap(r)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetAPIVersion(crdGroup + "/" + crdVersion)
	u.SetKind(crdKind)
	return u, nil
}

func (t crdTarget) get(ctx context.Context, ns, name string) error {
	_, err := t.c.Resource(crdGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	return err
}

func (t crdTarget) updateStatus(ctx context.Context, obj any) error {
	u := obj.(*unstructured.Unstructured).DeepCopy()
	if err := unstructured.SetNestedField(u.Object, string(v1beta1.RunPhaseRunning), "status", "phase"); err != nil {
		return err
	}
	if err := unstructured.SetNestedField(u.Object, "started by the benchmark", "status", "message"); err != nil {
		return err
	}
	_, err := t.c.Resource(crdGVR).Namespace(u.GetNamespace()).UpdateStatus(ctx, u, metav1.UpdateOptions{FieldManager: fieldManager})
	return err
}

func (t crdTarget) delete(ctx context.Context, ns, name string) error {
	return t.c.Resource(crdGVR).Namespace(ns).Delete(ctx, name, metav1.DeleteOptions{})
}

func (t crdTarget) list(ctx context.Context, ns, experiment string, limit int64, cont string) (int, string, string, error) {
	opts := metav1.ListOptions{Limit: limit, Continue: cont}
	if experiment != "" {
		opts.LabelSelector = labels.SelectorFromSet(labels.Set{experimentLabel: experiment}).String()
	}
	l, err := t.c.Resource(crdGVR).Namespace(ns).List(ctx, opts)
	if err != nil {
		return 0, "", "", err
	}
	return len(l.Items), l.GetContinue(), l.GetResourceVersion(), nil
}

func (t crdTarget) watch(ctx context.Context, ns, rv string) (watch.Interface, error) {
	return t.c.Resource(crdGVR).Namespace(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: rv})
}

// rawTable is the floor's table: one row per run, the same key and value bytes, an index
// on the experiment, one INSERT per create.
const rawTable = "bench_raw_runs"

// The page queries the floor runs are the engine's own (pkg/storage/mysql, dialect.go:
// listPrefix and listStatement) on the engine's tables and the same loaded rows, without
// the revision bound, so they read exactly the rows the engine reads.
const (
	rawPageQuery = "SELECT r.k, l.value FROM runs r JOIN changelog l ON l.id = r.revision" +
		" WHERE r.k >= ? AND r.k < ? ORDER BY r.k LIMIT ?"
	rawFilteredQuery = "SELECT r.k, l.value FROM runs r JOIN changelog l ON l.id = r.revision" +
		" WHERE r.k >= ? AND r.k < ? AND r.experiment = ? ORDER BY r.k LIMIT ?"
	// The first page of recentruns, in a namespace (newest_ns) or an experiment (newest_exp).
	rawNewestQuery = "SELECT r.k, l.value FROM runs r JOIN changelog l ON l.id = r.revision" +
		" WHERE r.newest_ns >= ? AND r.newest_ns < ? ORDER BY r.newest_ns, r.k LIMIT ?"
	rawGetQuery              = "SELECT l.value FROM runs r JOIN changelog l ON l.id = r.revision WHERE r.k = ?"
	rawNewestExperimentQuery = "SELECT r.k, l.value FROM runs r JOIN changelog l ON l.id = r.revision" +
		" WHERE r.newest_exp >= ? AND r.newest_exp < ? ORDER BY r.newest_exp, r.k LIMIT ?"
)

// rawTarget is bare SQL with the engine's driver on the engine's database.
type rawTarget struct {
	db       *sql.DB
	template *storedTemplate
}

func (rawTarget) name() string { return targetRaw }

func (t rawTarget) setup(ctx context.Context) error {
	_, err := t.db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+rawTable+` (
		k VARBINARY(1024) NOT NULL,
		experiment VARBINARY(253) NOT NULL,
		value LONGBLOB NOT NULL,
		PRIMARY KEY (k),
		KEY `+rawTable+`_experiment (experiment, k)
	) ENGINE=InnoDB`)
	return err
}

func (t rawTarget) create(ctx context.Context, ns, name, experiment string) error {
	value, err := t.template.render(ns, name, experiment, string(uuid.NewUUID()), time.Now(), string(uuid.NewUUID()))
	if err != nil {
		return err
	}
	_, err = t.db.ExecContext(ctx, "INSERT INTO "+rawTable+" (k, experiment, value) VALUES (?, ?, ?)",
		[]byte(serverKey(ns, name)), []byte(experiment), value)
	return err
}

// list reads limit+1 rows, as the engine does to know whether there are more: of ns, or
// of every namespace when ns is empty.
func (t rawTarget) list(ctx context.Context, ns, experiment string, limit int64) (int, error) {
	lo := serverKey(ns, "")
	hi := lo[:len(lo)-1] + "0" // the end of the prefix "…/<ns>/"
	if ns == "" {
		lo = strings.TrimSuffix(lo, "/")
		hi = lo[:len(lo)-1] + "0"
	}
	if experiment == "" {
		return t.read(ctx, rawPageQuery, []byte(lo), []byte(hi), limit+1)
	}
	return t.read(ctx, rawFilteredQuery, []byte(lo), []byte(hi), []byte(experiment), limit+1)
}

// listNewest reads what the first page of recentruns reads: limit+1 rows of ns's or
// experiment's newest-first index.
func (t rawTarget) listNewest(ctx context.Context, ns, experiment string, limit int64) (int, error) {
	if experiment == "" {
		return t.read(ctx, rawNewestQuery, []byte(ns+"/"), []byte(ns+"0"), limit+1)
	}
	return t.read(ctx, rawNewestExperimentQuery, []byte(ns+"/"+experiment+"/"), []byte(ns+"/"+experiment+"0"), limit+1)
}

// get reads one run's stored bytes by key, as a get does.
func (t rawTarget) get(ctx context.Context, ns, name string) error {
	var v []byte
	return t.db.QueryRowContext(ctx, rawGetQuery, []byte(serverKey(ns, name))).Scan(&v)
}

// read runs a page query and counts its rows, at most limit+1 of which it was asked for.
func (t rawTarget) read(ctx context.Context, query string, args ...any) (int, error) {
	rows, err := t.db.QueryContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var k, v []byte
		if err := rows.Scan(&k, &v); err != nil {
			return 0, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	return min(n, int(args[len(args)-1].(int64))-1), nil
}

// serverKey is this server's storage key of a run (name empty: the namespace's prefix).
func serverKey(ns, name string) string {
	return fmt.Sprintf("/registry/%s/runs/%s/%s", v1beta1.SchemeGroupVersion.Group, ns, name)
}

// crdKey is kube-apiserver's etcd key of a CRD run.
func crdKey(ns, name string) string {
	return fmt.Sprintf("/registry/%s/%s/%s/%s", crdGroup, crdResource, ns, name)
}
