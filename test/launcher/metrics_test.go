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

package launcher

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// metricsPipeline is compiled in the test with the kfp SDK: no pipeline of the test
// data that logs metrics installs the virtualenv's kfp version and nothing else.
const metricsPipeline = `
import sys
from typing import NamedTuple
from kfp import compiler, dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output


@dsl.component
def train(rows: int, data: Output[Dataset], metrics: Output[Metrics]) -> NamedTuple('outputs', accuracy=float, note=str):
    with open(data.path, 'w') as f:
        f.write('\n'.join(str(i) for i in range(rows)))
    metrics.log_metric('accuracy', 0.75)
    metrics.log_metric('rows', rows)
    outputs = NamedTuple('outputs', accuracy=float, note=str)
    return outputs(0.75, 'trained')


@dsl.component
def evaluate(data: Input[Dataset], metrics: Input[Metrics], model: Output[Model]) -> bool:
    with open(data.path) as f:
        n = len(f.read().split())
    with open(model.path, 'w') as f:
        f.write(f'{n} rows, accuracy {metrics.metadata["accuracy"]}')
    model.metadata['rows'] = n
    return metrics.metadata['rows'] == n


@dsl.pipeline(name='metrics')
def pipeline(rows: int = 4):
    t = train(rows=rows)
    evaluate(data=t.outputs['data'], metrics=t.outputs['metrics'])


compiler.Compiler().compile(pipeline, sys.argv[1])
`

// A metrics artifact's values are its metadata: the launcher hands them on to the
// next task and to Argo (/kfp/outputs/artifacts/NAME), with NamedTuple outputs and a
// boolean return beside them.
func TestMetrics(t *testing.T) {
	bin, _ := venv(t)
	e := newEnv(t)
	e.cluster.Env = []string{"PATH=" + bin + ":/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "PIP_NO_INDEX=1"}
	e.cluster.ReadOnly = []string{filepath.Dir(bin)}
	dir := t.TempDir()
	src, file := filepath.Join(dir, "metrics.py"), filepath.Join(dir, "metrics.yaml")
	if err := os.WriteFile(src, []byte(metricsPipeline), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(filepath.Join(bin, "python3"), src, file).CombinedOutput(); err != nil {
		t.Fatalf("compiling with the kfp SDK: %v\n%s", err, out)
	}
	_, wf := compile(t, file, map[string]string{"rows": "5"})
	if err := wf.supported(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := e.cluster.run(t, ctx, wf, "run-metrics")
	if err != nil {
		t.Fatal(err)
	}
	m := r.pod("train").artifacts(t, "metrics")[0]
	if m.Type.SchemaTitle != "system.Metrics" || m.Metadata["accuracy"] != 0.75 || m.Metadata["rows"] != float64(5) {
		t.Errorf("metrics artifact %+v, want system.Metrics with accuracy 0.75 and rows 5", m)
	}
	wantOutput(t, r, "train", "accuracy", "0.75")
	wantOutput(t, r, "train", "note", "trained")
	wantArtifact(t, e, r, "train", "data", "0\n1\n2\n3\n4")
	wantOutput(t, r, "evaluate", "Output", "true")
	model := wantArtifact(t, e, r, "evaluate", "model", "5 rows, accuracy 0.75")
	if model.Metadata["rows"] != float64(5) {
		t.Errorf("model metadata %v, want rows 5", model.Metadata)
	}
	for _, p := range r.Pods {
		checkOutputs(t, e, r, p)
	}
}
