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

// Package kfpsdk is the real kfp SDK the tests use: the virtualenv hack/ensure-kfp-venv.sh
// installs (named by PIPELINES_KFP_VENV), compiling a pipeline with it, and pipelines the
// shared test data has no runnable one of.
package kfpsdk

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/pipelines-apiserver/pipelines-apiserver/test/shareddata"
)

// EnvVenv names the kfp virtualenv, or its bin directory.
const EnvVenv = "PIPELINES_KFP_VENV"

// VenvPath is the bin directory of the kfp virtualenv, which the process stand-in kubelet
// puts first on PATH; nil when PIPELINES_KFP_VENV is unset.
func VenvPath() []string {
	dir := os.Getenv(EnvVenv)
	if dir == "" {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, "bin", "python3")); err == nil {
		dir = filepath.Join(dir, "bin")
	}
	return []string{dir}
}

// Venv is the kfp virtualenv's directory, which each task process sees read-only.
func Venv() []string {
	bin := VenvPath()
	if len(bin) == 0 || filepath.Base(bin[0]) != "bin" {
		return nil
	}
	return []string{filepath.Dir(bin[0])}
}

// Require skips the test when PIPELINES_KFP_VENV is not set, or fails it when
// PIPELINES_REQUIRE_TESTDEPS=1.
func Require(t testing.TB) {
	t.Helper()
	if len(VenvPath()) > 0 {
		return
	}
	why := EnvVenv + " is not set (hack/ensure-kfp-venv.sh prints it)"
	if os.Getenv(shareddata.EnvRequireTestDeps) == "1" {
		t.Fatalf("%s; %s=1 requires it", why, shareddata.EnvRequireTestDeps)
	}
	t.Skipf("%s; set %s=1 to fail instead", why, shareddata.EnvRequireTestDeps)
}

// Compile runs the Python source src (which calls kfp's compiler) with the virtualenv's
// python3 in a temporary directory, and returns the one YAML file it wrote.
func Compile(t testing.TB, src string) string {
	t.Helper()
	bin := VenvPath()
	if len(bin) == 0 {
		t.Fatalf("%s is not set", EnvVenv)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pipeline.py"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), filepath.Join(bin[0], "python3"), "pipeline.py")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("compiling the pipeline: %v\n%s", err, out)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) != 1 {
		t.Fatalf("the pipeline compiled to %v", files)
	}
	return files[0]
}

// Metrics is a pipeline that logs metrics (no pipeline of the test data that does installs
// the virtualenv's kfp and nothing else): train writes rows numbers to a Dataset and logs
// accuracy 0.75 and rows as system.Metrics; evaluate reads both back.
const Metrics = `
from kfp import compiler, dsl
from kfp.dsl import Dataset, Input, Metrics, Output

@dsl.component
def train(rows: int, data: Output[Dataset], metrics: Output[Metrics]):
    with open(data.path, 'w') as f:
        f.write(','.join(str(i) for i in range(rows)))
    metrics.log_metric('accuracy', 0.75)
    metrics.log_metric('rows', rows)

@dsl.component
def evaluate(data: Input[Dataset], metrics: Input[Metrics]) -> str:
    with open(data.path) as f:
        return f.read() + ' at ' + str(metrics.metadata['accuracy'])

@dsl.pipeline(name='metrics')
def pipeline(rows: int = 3):
    t = train(rows=rows)
    evaluate(data=t.outputs['data'], metrics=t.outputs['metrics'])

compiler.Compiler().compile(pipeline, 'metrics.yaml')
`
