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
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	_ "github.com/go-sql-driver/mysql" // the driver the engine uses
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	clientset "github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/framework"
)

const (
	// crudNamespace holds the objects of the create, get, update and delete workloads and
	// of the watch workload, apart from the loaded data sets.
	crudNamespace = "bench-crud"
	// crudExperiments are the experiments crudNamespace has.
	crudExperiments = 10
	// pipelineName and versionName are the pipeline every benchmark run references; its
	// one parameter is messageParam.
	pipelineName = "bench"
	versionName  = "bench-v1"
	messageParam = "message"
	// fieldManager names the benchmark's writes.
	fieldManager = "pipelines-bench"
)

// benchEnv is the running environment and the clients the workloads share.
type benchEnv struct {
	env     *framework.Environment
	admin   *rest.Config
	runs    clientset.Interface
	dyn     dynamic.Interface
	db      *sql.DB
	dataNS  []string
	selfPID int
	// crdFull says whether etcd holds every loaded run; crdStored is how many it holds,
	// crdDeferred why the CRD's runs were not loaded with a size, and crdStopped why
	// loading them stopped at the memory limit.
	crdFull     bool
	crdStored   int
	crdDeferred string
	crdStopped  string
	// experiments is how many experiments each namespace of loaded runs has, and
	// expUIDs their uids by "namespace/name".
	experiments int
	expUIDs     sync.Map
}

// startEnv starts MariaDB, etcd, kube-apiserver and this server in a temporary directory,
// so that every run starts from empty stores.
func startEnv(ctx context.Context, o options) (*benchEnv, error) {
	// etcd as production clusters run it: the CRD's figures are those of a durable store,
	// as MariaDB's are (innodb_flush_log_at_trx_commit=1).
	// kube-apiserver's profile is taken beside this server's (profile.go).
	env, err := framework.Start(ctx, framework.Config{ServerArgs: o.serverArgs, EtcdFsync: true,
		APIServerFlags: []string{"--profiling=true"}})
	if err != nil {
		return nil, err
	}
	b := &benchEnv{env: env, selfPID: os.Getpid(), crdFull: true, experiments: o.experiments}
	if err := b.connect(o); err != nil {
		_ = env.Stop()
		return nil, err
	}
	return b, nil
}

func (b *benchEnv) connect(o options) error {
	cfg := b.env.ControlPlane().AdminRESTConfig()
	// No client-side rate limit: the servers, not client-go, must be what is measured.
	// The admin is in system:masters, which priority and fairness exempts as well.
	cfg.QPS, cfg.Burst = -1, 0
	b.admin = cfg
	var err error
	if b.runs, err = clientset.NewForConfig(cfg); err != nil {
		return err
	}
	if b.dyn, err = dynamic.NewForConfig(cfg); err != nil {
		return err
	}
	dsn, err := b.env.DatabaseDSN()
	if err != nil {
		return err
	}
	if b.db, err = sql.Open("mysql", dsn); err != nil {
		return err
	}
	b.db.SetMaxOpenConns(2 * maxConcurrency(o.concurrency))
	b.db.SetMaxIdleConns(2 * maxConcurrency(o.concurrency))
	for i := range o.namespaces {
		b.dataNS = append(b.dataNS, fmt.Sprintf("bench-%03d", i))
	}
	return nil
}

func maxConcurrency(levels []int) int {
	m := 1
	for _, c := range levels {
		m = max(m, c)
	}
	return m
}

func (b *benchEnv) stop() error {
	if b.db != nil {
		_ = b.db.Close()
	}
	return b.env.Stop()
}

// prepare creates the namespaces, and in crudNamespace and the template namespace the
// pipeline, its version and the experiments that runs of this server must reference.
func (b *benchEnv) prepare(ctx context.Context) error {
	cp := b.env.ControlPlane()
	for _, ns := range append([]string{crudNamespace, templateNamespace}, b.dataNS...) {
		if err := cp.EnsureNamespace(ctx, ns); err != nil {
			return err
		}
	}
	for _, ns := range []string{crudNamespace, templateNamespace} {
		if err := b.createPipeline(ctx, ns); err != nil {
			return err
		}
	}
	if err := b.createExperiments(ctx, b.dataNS...); err != nil {
		return err
	}
	for i := range crudExperiments {
		if err := b.createExperiment(ctx, crudNamespace, crudExperiment(i)); err != nil {
			return err
		}
	}
	return b.createExperiment(ctx, templateNamespace, templateExperiment)
}

func crudExperiment(i int) string { return fmt.Sprintf("exp-%03d", i%crudExperiments) }

// loadedExperiment names the i-th experiment of a namespace of loaded runs.
func loadedExperiment(i int) string { return fmt.Sprintf("exp-%03d", i) }

// createExperiments creates the experiments the loaded runs of namespaces belong to, 16 at
// a time, and records their uids: each loaded run is owned by its experiment, as a run
// created through the API is (the leader's sweep deletes runs whose owner is gone).
func (b *benchEnv) createExperiments(ctx context.Context, namespaces ...string) error {
	type key struct{ ns, exp string }
	keys := make(chan key)
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for k := range keys {
				e := &v1beta1.Experiment{ObjectMeta: metav1.ObjectMeta{Name: k.exp}, Spec: v1beta1.ExperimentSpec{DisplayName: k.exp}}
				created, err := b.runs.PipelinesV1beta1().Experiments(k.ns).Create(ctx, e, metav1.CreateOptions{FieldManager: fieldManager})
				if err != nil {
					errs <- fmt.Errorf("creating experiment %s/%s: %w", k.ns, k.exp, err)
					return
				}
				b.expUIDs.Store(k.ns+"/"+k.exp, string(created.UID))
			}
		})
	}
	var err error
feed:
	for _, ns := range namespaces {
		for i := range b.experiments {
			select {
			case keys <- key{ns, loadedExperiment(i)}:
			case err = <-errs:
				break feed
			}
		}
	}
	close(keys)
	wg.Wait()
	close(errs)
	if err != nil {
		return err
	}
	return <-errs
}

// experimentUID is the uid of experiment exp of namespace ns, created by createExperiments.
func (b *benchEnv) experimentUID(ns, exp string) string {
	uid, ok := b.expUIDs.Load(ns + "/" + exp)
	if !ok {
		panic(fmt.Sprintf("experiment %s/%s was not created", ns, exp))
	}
	return uid.(string)
}

func (b *benchEnv) createExperiment(ctx context.Context, ns, name string) error {
	e := &v1beta1.Experiment{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1beta1.ExperimentSpec{DisplayName: name}}
	_, err := b.runs.PipelinesV1beta1().Experiments(ns).Create(ctx, e, metav1.CreateOptions{FieldManager: fieldManager})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating experiment %s/%s: %w", ns, name, err)
	}
	return nil
}

// benchWorkflow is the version's definition: one step that echoes messageParam.
const benchWorkflow = `{"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow","metadata":{"generateName":"bench-"},
"spec":{"entrypoint":"say","arguments":{"parameters":[{"name":"message","value":"hello"}]},
"templates":[{"name":"say","inputs":{"parameters":[{"name":"message"}]},
"container":{"image":"busybox","command":["echo","{{inputs.parameters.message}}"]}}]}}`

func (b *benchEnv) createPipeline(ctx context.Context, ns string) error {
	c := b.runs.PipelinesV1beta1()
	p := &v1beta1.Pipeline{ObjectMeta: metav1.ObjectMeta{Name: pipelineName}, Spec: v1beta1.PipelineSpec{DisplayName: "Benchmark"}}
	if _, err := c.Pipelines(ns).Create(ctx, p, metav1.CreateOptions{FieldManager: fieldManager}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating pipeline %s/%s: %w", ns, pipelineName, err)
	}
	v := &v1beta1.PipelineVersion{
		ObjectMeta: metav1.ObjectMeta{Name: versionName},
		Spec: v1beta1.PipelineVersionSpec{
			PipelineName: pipelineName,
			Workflow:     runtime.RawExtension{Raw: []byte(benchWorkflow)},
		},
	}
	if _, err := c.PipelineVersions(ns).Create(ctx, v, metav1.CreateOptions{FieldManager: fieldManager}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating pipeline version %s/%s: %w", ns, versionName, err)
	}
	return nil
}

// processes finds the resident memory of the environment's children. They are this
// process's own children (the framework starts them directly), named by their binary.
func (b *benchEnv) processes() (map[string]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	found := map[string]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The command name in parentheses may hold spaces; the parent's pid is the second
		// field after it.
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
		fields := strings.Fields(rest)
		if len(fields) < 2 || fields[1] != strconv.Itoa(b.selfPID) {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil {
			continue
		}
		// A binary replaced on disk while its process runs reads "<path> (deleted)".
		found[strings.TrimSuffix(filepath.Base(exe), " (deleted)")] = pid
	}
	return found, nil
}

// memoryProcesses are the processes whose memory the report shows, by binary name.
var memoryProcesses = []string{"pipelines-apiserver", "kube-apiserver", "etcd", "mariadbd"}

// rss returns the resident set size in bytes of each of memoryProcesses that runs.
func (b *benchEnv) rss() (map[string]int64, error) {
	procs, err := b.processes()
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for name, pid := range procs {
		// MariaDB's binary is mariadbd or mysqld depending on the package.
		if name == "mysqld" {
			name = "mariadbd"
		}
		v, err := vmRSS(pid)
		if err != nil {
			return nil, err
		}
		out[name] = v
	}
	return out, nil
}

func vmRSS(pid int) (int64, error) {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// serverConfig is a client configuration for this server's own address, bypassing
// kube-apiserver, with the admin's certificate (the server trusts the cluster's client
// CA), for /debug/pprof.
func (b *benchEnv) serverConfig() *rest.Config {
	cfg := rest.CopyConfig(b.admin)
	cfg.Host = b.env.ServerURL()
	cfg.CAData, cfg.CAFile = nil, b.env.ControlPlane().Certs().ServingCA
	cfg.ServerName = "localhost"
	return cfg
}
