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
	"bytes"
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/klog/v2"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apiserver"
	runregistry "github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/run"
	mysqlstorage "github.com/pipelines-apiserver/pipelines-apiserver/pkg/storage/mysql"
)

// The template run is created through the API on each side; its stored bytes, with these
// names swapped, are what the loaders write, so a loaded run is byte for byte what the
// server or kube-apiserver would have stored for it.
const (
	templateNamespace  = "bench-tmpl-ns"
	templateName       = "bench-tmpl-name"
	templateExperiment = "bench-tmpl-exp"
)

const (
	mysqlChunk  = 5000 // objects per BulkLoad transaction
	etcdTxnOps  = 100  // puts per etcd transaction (etcd allows 128)
	etcdWorkers = 8
	// etcdGuardStep is how many runs are written to etcd between two looks at
	// kube-apiserver's memory.
	etcdGuardStep = 20_000
	// loadDeadline bounds one size's load: 9M runs into MySQL took 16 minutes here.
	loadDeadline = 3 * time.Hour
)

// template is a stored object cut at the places that differ between runs.
type template struct {
	parts []part
	size  int
}

type part struct {
	literal string
	slot    int // -1: literal; else an index into the values render takes
}

const (
	slotNamespace = iota
	slotName
	slotExperiment
	slotUID
	slotCreated
	slotOwnerUID
)

// newTemplate cuts stored at the quoted template names, uid, creation time and owner
// (its experiment's uid), each of which must occur. (Times equal to the creation time,
// such as a start time in the same second, are cut too and so take the loaded run's
// creation time.)
func newTemplate(stored []byte, uid string, created metav1.Time, ownerUID string) (*template, error) {
	tokens := map[string]int{
		`"` + templateNamespace + `"`:                  slotNamespace,
		`"` + templateName + `"`:                       slotName,
		`"` + templateExperiment + `"`:                 slotExperiment,
		`"` + uid + `"`:                                slotUID,
		`"` + created.UTC().Format(time.RFC3339) + `"`: slotCreated,
		`"` + ownerUID + `"`:                           slotOwnerUID,
	}
	seen := map[int]bool{}
	t := &template{size: len(stored)}
	s := string(stored)
	for len(s) > 0 {
		next, which, tok := len(s), -1, ""
		for tk, slot := range tokens {
			if i := strings.Index(s, tk); i >= 0 && i < next {
				next, which, tok = i, slot, tk
			}
		}
		if which < 0 {
			t.parts = append(t.parts, part{literal: s, slot: -1})
			break
		}
		t.parts = append(t.parts, part{literal: s[:next] + `"`, slot: -1}, part{slot: which}, part{literal: `"`, slot: -1})
		seen[which] = true
		s = s[next+len(tok):]
	}
	if len(seen) != len(tokens) {
		return nil, fmt.Errorf("the stored template lacks some of its names (found %d of %d): %s", len(seen), len(tokens), stored)
	}
	return t, nil
}

func (t *template) render(ns, name, experiment, uid string, created time.Time, ownerUID string) []byte {
	vals := [...]string{slotNamespace: ns, slotName: name, slotExperiment: experiment, slotUID: uid,
		slotCreated: created.UTC().Format(time.RFC3339), slotOwnerUID: ownerUID}
	var b bytes.Buffer
	b.Grow(t.size + 32)
	for _, p := range t.parts {
		if p.slot < 0 {
			b.WriteString(p.literal)
		} else {
			b.WriteString(vals[p.slot])
		}
	}
	return b.Bytes()
}

// loadedRun names the i-th loaded run: spread round-robin over the namespaces, and within
// a namespace round-robin over the experiments, so every namespace and experiment grows
// alike and a namespace's first page is the same at every size.
func (b *benchEnv) loadedRun(o options, i int) (ns, name, experiment, uid string) {
	j := i / o.namespaces
	return b.dataNS[i%o.namespaces], fmt.Sprintf("run-%07d", j), loadedExperiment(j % o.experiments),
		fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
}

// loadEpoch is when the first loaded run was created; the i-th was created i seconds
// later, so that newest first is not key order (nor the reverse of it across namespaces).
var loadEpoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func loadedCreated(i int) time.Time { return loadEpoch.Add(time.Duration(i) * time.Second) }

// storedTemplate renders a run as this server stores it. Its stored form is protobuf,
// whose strings and times cannot be swapped as text: the template is cut in the JSON form
// of the stored run, and a rendered run is decoded from that and encoded again by the
// server's own storage codec.
type storedTemplate struct {
	json  *template
	codec runtime.Codec
	size  int // the template run's stored bytes
}

func (t *storedTemplate) render(ns, name, experiment, uid string, created time.Time, ownerUID string) ([]byte, error) {
	obj, _, err := t.codec.Decode(t.json.render(ns, name, experiment, uid, created, ownerUID), nil, &pipelines.Run{})
	if err != nil {
		return nil, fmt.Errorf("decoding a rendered run: %w", err)
	}
	var buf bytes.Buffer
	buf.Grow(t.size + 32)
	if err := t.codec.Encode(obj, &buf); err != nil {
		return nil, fmt.Errorf("encoding a rendered run: %w", err)
	}
	return buf.Bytes(), nil
}

// templates are the stored forms of one run on each side.
type templates struct {
	server *storedTemplate
	crd    *template
	// columns are the server's indexed column values other than the experiment and the
	// retention fields.
	columns map[string]string
	// completed is when the loaded runs finished.
	completed time.Time
	// ownerUID is the template run's experiment's uid.
	ownerUID string
}

// makeTemplates creates the template run on both sides through the API and reads back
// what each store holds for it.
func (b *benchEnv) makeTemplates(ctx context.Context) (*templates, error) {
	obj, err := serverTarget{b.runs}.create(ctx, templateNamespace, templateName, templateExperiment)
	if err != nil {
		return nil, fmt.Errorf("creating the template run: %w", err)
	}
	// Stored runs are mostly history: the loaded ones have ended, as most runs in a
	// long-lived installation have. (Unfinished ones would also be the controllers' work.)
	r := obj.(*v1beta1.Run).DeepCopy()
	now := metav1.Now()
	r.Status.Phase = v1beta1.RunPhaseSucceeded
	r.Status.StartTime, r.Status.CompletionTime = &now, &now
	if r, err = b.runs.PipelinesV1beta1().Runs(templateNamespace).UpdateStatus(ctx, r, metav1.UpdateOptions{FieldManager: fieldManager}); err != nil {
		return nil, fmt.Errorf("ending the template run: %w", err)
	}
	var stored []byte
	err = b.db.QueryRowContext(ctx, "SELECT l.value FROM runs r JOIN changelog l ON l.id = r.revision WHERE r.k = ?",
		[]byte(serverKey(templateNamespace, templateName))).Scan(&stored)
	if err != nil {
		return nil, fmt.Errorf("reading the stored template run: %w", err)
	}
	t := &templates{columns: map[string]string{}, completed: r.Status.CompletionTime.Time}
	if len(r.OwnerReferences) != 1 {
		return nil, fmt.Errorf("the template run has owners %v, want its experiment", r.OwnerReferences)
	}
	t.ownerUID = string(r.OwnerReferences[0].UID)
	if t.server, err = newStoredTemplate(stored, r, t.ownerUID); err != nil {
		return nil, err
	}
	// The columns are the registry's own fields of the run (the loader replaces those that
	// differ between runs).
	internal := &pipelines.Run{}
	if err := apiserver.Scheme.Convert(r, internal, nil); err != nil {
		return nil, err
	}
	_, fields, err := runregistry.GetAttrs(internal)
	if err != nil {
		return nil, err
	}
	for _, c := range runregistry.Table.Columns {
		t.columns[c.Field] = fields[c.Field]
	}

	// The CRD's twin has the same owner and status, which a CRD create drops and its
	// status subresource sets.
	u, err := toUnstructured(newRun(templateName, templateExperiment))
	if err != nil {
		return nil, err
	}
	u.SetOwnerReferences(r.OwnerReferences)
	created, err := b.dyn.Resource(crdGVR).Namespace(templateNamespace).Create(ctx, u, metav1.CreateOptions{FieldManager: fieldManager})
	if err != nil {
		return nil, fmt.Errorf("creating the template CRD run: %w", err)
	}
	status, err := runtimeToMap(r)
	if err != nil {
		return nil, err
	}
	created.Object["status"] = status["status"]
	if created, err = b.dyn.Resource(crdGVR).Namespace(templateNamespace).UpdateStatus(ctx, created, metav1.UpdateOptions{FieldManager: fieldManager}); err != nil {
		return nil, fmt.Errorf("setting the template CRD run's status: %w", err)
	}
	cli, err := b.etcd()
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	resp, err := cli.Get(ctx, crdKey(templateNamespace, templateName))
	if err != nil || len(resp.Kvs) != 1 {
		return nil, fmt.Errorf("reading the template CRD run from etcd: %v, %d keys", err, len(resp.Kvs))
	}
	if t.crd, err = newTemplate(resp.Kvs[0].Value, string(created.GetUID()), created.GetCreationTimestamp(), t.ownerUID); err != nil {
		return nil, err
	}
	klog.InfoS("Templates", "serverBytes", t.server.size, "crdBytes", t.crd.size)
	return t, nil
}

// newStoredTemplate makes the template of what this server stored for r, checking that
// it renders r as stored, byte for byte.
func newStoredTemplate(stored []byte, r *v1beta1.Run, ownerUID string) (*storedTemplate, error) {
	codec, err := apiserver.StorageCodec(pipelines.Resource("runs"))
	if err != nil {
		return nil, err
	}
	obj, _, err := codec.Decode(stored, nil, &pipelines.Run{})
	if err != nil {
		return nil, fmt.Errorf("decoding the stored template run: %w", err)
	}
	var asJSON bytes.Buffer
	if err := apiserver.Codecs.LegacyCodec(v1beta1.SchemeGroupVersion).Encode(obj, &asJSON); err != nil {
		return nil, err
	}
	tmpl, err := newTemplate(asJSON.Bytes(), string(r.UID), r.CreationTimestamp, ownerUID)
	if err != nil {
		return nil, err
	}
	t := &storedTemplate{json: tmpl, codec: codec, size: len(stored)}
	again, err := t.render(templateNamespace, templateName, templateExperiment, string(r.UID), r.CreationTimestamp.Time, ownerUID)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(again, stored) {
		return nil, fmt.Errorf("the template renders the template run as %q, stored as %q", again, stored)
	}
	return t, nil
}

func runtimeToMap(obj runtime.Object) (map[string]any, error) {
	return runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
}

func (b *benchEnv) etcd() (*clientv3.Client, error) {
	return etcdClient(b.env.ControlPlane().EtcdURL())
}

func etcdClient(url string) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{
		Endpoints:          []string{url},
		DialTimeout:        10 * time.Second,
		MaxCallSendMsgSize: 32 << 20,
		Logger:             nil,
	})
}

// load writes runs [from, to) into MySQL (BulkLoad) and etcd (puts under
// kube-apiserver's keys) at the same time, then waits until both APIs list them.
//
// The CRD's side is skipped, for good, when kube-apiserver's memory, extrapolated from the
// sizes before, would pass o.maxAPIServerRSS: its huge heap and garbage collection would
// then slow every request to this server, which passes through kube-apiserver, and push
// MariaDB's files out of the page cache. Deleting those runs again takes kube-apiserver
// longer than the rest of the benchmark. The caller loads them after its measurements
// instead. If the extrapolation falls short, loading stops at the limit all the same.
func (b *benchEnv) load(ctx context.Context, o options, t *templates, from, to int, mem []memory) error {
	if b.crdFull {
		if projected, ok := projectRSS(mem, to); ok && projected > o.maxAPIServerRSS {
			b.crdFull = false
			b.crdDeferred = fmt.Sprintf("the CRD's runs were not loaded: kube-apiserver's resident memory, extrapolated from the sizes before, "+
				"would reach %s, past the limit of %s (-max-kube-apiserver-rss)", mib(projected), mib(o.maxAPIServerRSS))
			klog.InfoS("Not loading the CRD's runs", "stored", to, "projectedRSS", mib(projected), "limit", mib(o.maxAPIServerRSS))
		}
	}
	ctx, cancel := context.WithTimeout(ctx, loadDeadline)
	defer cancel()
	begin := time.Now()
	var wg sync.WaitGroup
	var mysqlErr, etcdErr error
	wg.Go(func() { mysqlErr = b.loadMySQL(ctx, o, t, from, to) })
	if b.crdFull {
		wg.Go(func() { etcdErr = b.loadEtcd(ctx, o, t, from, to) })
	}
	wg.Wait()
	if err := errors.Join(mysqlErr, etcdErr); err != nil {
		return err
	}
	klog.InfoS("Loaded runs into both stores", "from", from, "to", to, "elapsed", time.Since(begin).Round(time.Millisecond))
	// Every namespace holds to/namespaces runs: check the first and the last through each
	// API, which also waits for this server's tail and kube-apiserver's watch cache.
	targets := []apiTarget{serverTarget{b.runs}}
	if b.crdFull {
		targets = append(targets, crdTarget{c: b.dyn})
	}
	for _, target := range targets {
		for _, ns := range []string{b.dataNS[0], b.dataNS[len(b.dataNS)-1]} {
			if err := waitCount(ctx, target, ns, to/o.namespaces); err != nil {
				return err
			}
		}
	}
	klog.InfoS("Both APIs list the loaded runs", "stored", to, "elapsed", time.Since(begin).Round(time.Millisecond))
	return nil
}

// loadMySQL loads runs [from, to) namespace by namespace: the same runs, with the same
// creation times, but written in the order of their keys, so that each index of the run
// table grows at a few places at a time, which stay in MariaDB's 128 MB buffer pool.
// Written round-robin over the namespaces, as they were created, the indexes grow at
// 10,000 places (a namespace's experiments) and loading 10M runs spent most of its time
// reading index pages back from disk: 2,000 runs a second at 1M, and falling.
func (b *benchEnv) loadMySQL(ctx context.Context, o options, t *templates, from, to int) error {
	perNS := (to - from) / o.namespaces
	byKey := func(k int) int { return (from/o.namespaces+k%perNS)*o.namespaces + k/perNS }
	return b.loadMySQLRuns(ctx, t, from, to, byKey, func(i int) (string, string, string, string) { return b.loadedRun(o, i) })
}

// loadMySQLRuns loads runs [from, to), named by run, into MySQL with BulkLoad: the k-th
// written is run at(k - from).
func (b *benchEnv) loadMySQLRuns(ctx context.Context, t *templates, from, to int, at func(k int) int, run func(i int) (ns, name, experiment, uid string)) error {
	begin := time.Now()
	objs := make([]mysqlstorage.BulkObject, mysqlChunk)
	for start := from; start < to; start += mysqlChunk {
		chunk := objs[:min(mysqlChunk, to-start)]
		// Encoding a run takes about as long as MariaDB takes to store it: on every core.
		workers := goruntime.GOMAXPROCS(0)
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for j := w; j < len(chunk); j += workers {
					if chunk[j], errs[w] = b.loadedObject(t, at(start+j-from), run); errs[w] != nil {
						return
					}
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		if _, err := mysqlstorage.BulkLoad(ctx, b.db, runregistry.Table, chunk); err != nil {
			return fmt.Errorf("loading runs into MySQL: %w", err)
		}
	}
	klog.InfoS("Loaded MySQL", "runs", to-from, "elapsed", time.Since(begin).Round(time.Millisecond))
	return nil
}

// loadedObject is the row of a loaded run: its stored value and indexed columns.
func (b *benchEnv) loadedObject(t *templates, i int, run func(i int) (ns, name, experiment, uid string)) (mysqlstorage.BulkObject, error) {
	ns, name, exp, uid := run(i)
	created := loadedCreated(i)
	inNamespace, inExperiment := runregistry.NewestFirst(ns, exp, created)
	cols := make([][]byte, len(runregistry.Table.Columns))
	for c, col := range runregistry.Table.Columns {
		v := t.columns[col.Field]
		switch col.Field {
		case runregistry.ExperimentNameField:
			v = exp
		case runregistry.NewestInNamespaceField:
			v = inNamespace
		case runregistry.NewestInExperimentField:
			v = inExperiment
		case runregistry.AvailableSinceField:
			v = runregistry.RetentionKey(ns, t.completed)
		case runregistry.ExperimentUIDField:
			v = b.experimentUID(ns, exp)
		}
		cols[c] = []byte(v)
	}
	value, err := t.server.render(ns, name, exp, uid, created, b.experimentUID(ns, exp))
	return mysqlstorage.BulkObject{Key: serverKey(ns, name), Value: value, Columns: cols}, err
}

func (b *benchEnv) loadEtcd(ctx context.Context, o options, t *templates, from, to int) error {
	begin := time.Now()
	cli, err := b.etcd()
	if err != nil {
		return err
	}
	defer cli.Close()
	starts := make(chan int)
	errs := make(chan error, etcdWorkers)
	var wg sync.WaitGroup
	stopped := false
	for range etcdWorkers {
		wg.Go(func() {
			for start := range starts {
				ops := make([]clientv3.Op, 0, etcdTxnOps)
				for i := start; i < min(start+etcdTxnOps, to); i++ {
					ns, name, exp, uid := b.loadedRun(o, i)
					ops = append(ops, clientv3.OpPut(crdKey(ns, name), string(t.crd.render(ns, name, exp, uid, loadedCreated(i), b.experimentUID(ns, exp)))))
				}
				if _, err := cli.Txn(ctx).Then(ops...).Commit(); err != nil {
					errs <- fmt.Errorf("loading runs into etcd: %w", err)
					return
				}
			}
		})
	}
	var sendErr error
feed:
	for start := from; start < to; start += etcdTxnOps {
		if start > from && (start-from)%etcdGuardStep == 0 {
			// A consistent list from the watch cache returns once the cache has caught up
			// with etcd, so the memory read next includes what was written so far.
			if _, _, _, err := (crdTarget{c: b.dyn}).list(ctx, b.dataNS[0], "", 1, ""); err != nil {
				sendErr = err
				break feed
			}
			rss, err := b.rss()
			if err != nil {
				sendErr = err
				break feed
			}
			if kas := rss["kube-apiserver"]; kas > o.maxAPIServerRSS {
				klog.InfoS("kube-apiserver's memory passed the limit: no more CRD runs are loaded",
					"loaded", start, "rss", mib(kas), "limit", mib(o.maxAPIServerRSS))
				b.crdFull, b.crdStopped = false, fmt.Sprintf("loading the CRD's runs stopped at %d runs (of %d), when kube-apiserver's resident memory reached %s, past the limit of %s (-max-kube-apiserver-rss)",
					start, to, mib(kas), mib(o.maxAPIServerRSS))
				stopped = true
				break feed
			}
		}
		select {
		case starts <- start:
			b.crdStored = min(start+etcdTxnOps, to)
		case sendErr = <-errs:
			break feed
		}
	}
	close(starts)
	wg.Wait()
	close(errs)
	if sendErr != nil {
		return sendErr
	}
	if err := <-errs; err != nil {
		return err
	}
	klog.InfoS("Loaded etcd", "runs", b.crdStored-from, "stopped", stopped, "elapsed", time.Since(begin).Round(time.Millisecond))
	return nil
}

// loadEtcdRuns writes runs [0, n), named by run, into the etcd at etcdURL under
// kube-apiserver's keys, etcdTxnOps puts per transaction, one transaction at a time.
func (b *benchEnv) loadEtcdRuns(ctx context.Context, etcdURL string, t *templates, n int, run func(i int) (ns, name, experiment, uid string)) error {
	cli, err := etcdClient(etcdURL)
	if err != nil {
		return err
	}
	defer cli.Close()
	for start := 0; start < n; start += etcdTxnOps {
		ops := make([]clientv3.Op, 0, etcdTxnOps)
		for i := start; i < min(start+etcdTxnOps, n); i++ {
			ns, name, exp, uid := run(i)
			ops = append(ops, clientv3.OpPut(crdKey(ns, name), string(t.crd.render(ns, name, exp, uid, loadedCreated(i), b.experimentUID(ns, exp)))))
		}
		if _, err := cli.Txn(ctx).Then(ops...).Commit(); err != nil {
			return fmt.Errorf("loading runs into etcd: %w", err)
		}
	}
	return nil
}

// waitCount pages through ns until the API lists want runs there.
func waitCount(ctx context.Context, t apiTarget, ns string, want int) error {
	var last int
	var lastErr error
	err := wait.PollUntilContextCancel(ctx, 2*time.Second, true, func(ctx context.Context) (bool, error) {
		n, cont := 0, ""
		for {
			got, next, _, err := t.list(ctx, ns, "", 1000, cont)
			if err != nil {
				lastErr = err
				return false, nil
			}
			n += got
			if cont = next; cont == "" {
				break
			}
		}
		last = n
		return n == want, nil
	})
	if err != nil {
		return fmt.Errorf("%s lists %d runs in %s, want %d (last error: %v): %w", t.name(), last, ns, want, lastErr, err)
	}
	return nil
}

// projectRSS extrapolates kube-apiserver's resident memory to stored CRD runs, linearly from
// the last two sizes measured with the CRD.
func projectRSS(mem []memory, stored int) (int64, bool) {
	var pts []memory
	for _, m := range mem {
		if m.CRDStored > 0 && m.Note == "" {
			pts = append(pts, m)
		}
	}
	if len(pts) < 2 {
		return 0, false
	}
	a, b := pts[len(pts)-2], pts[len(pts)-1]
	if b.CRDStored <= a.CRDStored {
		return 0, false
	}
	slope := float64(b.RSS["kube-apiserver"]-a.RSS["kube-apiserver"]) / float64(b.CRDStored-a.CRDStored)
	return b.RSS["kube-apiserver"] + int64(slope*float64(stored-b.CRDStored)), true
}
