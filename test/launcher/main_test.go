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

// Package launcher tests cmd/pipelines-launcher as a process, as a task's pod runs it,
// against a real S3 server (SeaweedFS, test/s3server): lightweight Python components
// of the test data run for real with the kfp SDK (hack/ensure-kfp-venv.sh), container
// components with their real placeholders. The workflows come from the real compiler
// (pkg/compiler) and a stand-in for Argo runs them (argo_test.go).
package launcher

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/compiler"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/launcherspec"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/objectstore"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/pipelinespec"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/podprocess"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/s3server"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/shareddata"
)

// EnvKFPVenv names the bin directory of the virtualenv holding the kfp SDK
// (hack/ensure-kfp-venv.sh prints it; hack/test.sh exports it).
const EnvKFPVenv = "PIPELINES_KFP_VENV"

const (
	namespace = "team-a"
	bucket    = "artifacts"
	root      = "s3://" + bucket + "/pipelines"
)

var launcherDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pipelines-launcher-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "pipelines-launcher"),
		"github.com/pipelines-apiserver/pipelines-apiserver/cmd/pipelines-launcher").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building the launcher: %v\n%s", err, out)
		os.Exit(1)
	}
	launcherDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// require skips (or, with PIPELINES_REQUIRE_TESTDEPS=1, fails) tb with the reason.
func require(tb testing.TB, msg string) {
	tb.Helper()
	if os.Getenv(shareddata.EnvRequireTestDeps) == "1" {
		tb.Fatalf("%s; %s=1 requires it", msg, shareddata.EnvRequireTestDeps)
	}
	tb.Skipf("%s; set %s=1 to fail instead", msg, shareddata.EnvRequireTestDeps)
}

// venv returns the kfp virtualenv's bin directory and the kfp version in it.
func venv(t *testing.T) (string, string) {
	t.Helper()
	bin := os.Getenv(EnvKFPVenv)
	if bin == "" {
		require(t, EnvKFPVenv+" is not set (hack/test.sh sets it from hack/ensure-kfp-venv.sh)")
	}
	out, err := exec.Command(filepath.Join(bin, "python3"), "-c", "import kfp; print(kfp.__version__)").Output()
	if err != nil {
		t.Fatalf("%s=%s: kfp does not import: %v", EnvKFPVenv, bin, err)
	}
	return bin, strings.TrimSpace(string(out))
}

// env is a test's world: an S3 server with the bucket, the namespace's store
// settings, and the pods' cluster.
type env struct {
	store   *objectstore.Store
	cluster *cluster
}

func newEnv(t *testing.T) *env {
	t.Helper()
	podprocess.Require(t)
	srv := s3server.Start(t)
	srv.Bucket(t, bucket)
	cfg := objectstore.Config{Endpoint: srv.Endpoint, Region: srv.Region, Insecure: true, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey}
	st, err := objectstore.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{store: st, cluster: &cluster{
		Namespace: namespace,
		// The documented ConfigMap and Secret of the namespace.
		ConfigMaps: map[string]map[string]string{"pipelines-artifacts": {
			"pipelineRoot": root, "endpoint": srv.Endpoint, "region": srv.Region, "insecure": "true",
		}},
		Secrets: map[string]map[string]string{"pipelines-artifacts": {
			"accessKey": srv.AccessKey, "secretKey": srv.SecretKey,
		}},
		LauncherDir: launcherDir,
		Env:         []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp"},
	}}
}

// compile parses the pipeline in file and compiles a run of it with params (and a
// value for every other required input).
func compile(t *testing.T, file string, params map[string]string) (*pipelinespec.PipelineSpec, *workflow) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := pipelinespec.Documents(data)
	if err != nil {
		t.Fatal(err)
	}
	ir, errs := pipelinespec.Parse(docs[0], field.NewPath("pipelineSpec"))
	if len(errs) > 0 {
		t.Fatal(errs.ToAggregate())
	}
	var platform *pipelinespec.PlatformSpec
	if len(docs) > 1 {
		if platform, errs = pipelinespec.ParsePlatform(docs[1], field.NewPath("platformSpec")); len(errs) > 0 {
			t.Fatal(errs.ToAggregate())
		}
	}
	all := map[string]string{}
	for _, in := range ir.Inputs() {
		if !in.Optional && in.Default == nil {
			all[in.Name] = shareddata.RequiredValue(string(in.Type))
		}
	}
	for k, v := range params {
		all[k] = v
	}
	// The run's root is the namespace's (the test data's defaultPipelineRoot, where
	// there is one, names a store that is not here).
	ir.DefaultPipelineRoot = ""
	raw, err := compiler.Compile(ir, platform, all, compiler.Options{LauncherImage: "pipelines-apiserver", LauncherPath: "/pipelines-launcher"})
	if err != nil {
		t.Fatalf("compile %s: %v", file, err)
	}
	var wf workflow
	if err := json.Unmarshal(raw, &wf); err != nil {
		t.Fatal(err)
	}
	return ir, &wf
}

// artifacts reads the ArtifactList a pod wrote for its output name.
func (p *podResult) artifacts(t *testing.T, name string) []launcherspec.Artifact {
	t.Helper()
	raw, ok := p.Outputs[name]
	if !ok {
		t.Fatalf("task %s has no output %s", p.Task, name)
	}
	var l launcherspec.ArtifactList
	if err := json.Unmarshal([]byte(raw), &l); err != nil {
		t.Fatalf("task %s output %s: %v: %s", p.Task, name, err, raw)
	}
	if len(l.Artifacts) == 0 {
		t.Fatalf("task %s output %s: no artifact", p.Task, name)
	}
	return l.Artifacts
}

// content reads an artifact (a file) back from the store.
func (e *env) content(t *testing.T, uri string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "a")
	if err := e.store.Get(context.Background(), uri, dst); err != nil {
		t.Fatalf("reading %s back: %v", uri, err)
	}
	b, err := os.ReadFile(dst)
	if err != nil {
		t.Fatalf("reading %s back: %v (a directory?)", uri, err)
	}
	return string(b)
}
