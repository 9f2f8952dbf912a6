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
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/pipelinespec"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/shareddata"
)

// Stand-ins for the programs the test data's container components run from their
// images, which are not here: each does what its component's name and arguments say,
// reading and writing artifacts at the local paths KFP maps URIs to (s3://b/k at
// /s3/b/k), and sh is bash (the images' sh, busybox's, knows [[ ]]; Debian's dash
// does not).
var standIns = map[string]string{
	// my_program writes its first argument to the file after --output_path and to the
	// local path of every s3:// URI in its arguments.
	"my_program": `#!/bin/bash
set -e
first="$1"
while [ $# -gt 0 ]; do
  if [ "$1" = --output_path ]; then printf '%s' "$first" > "$2"; shift 2; continue; fi
  if [[ "$1" =~ (s3://[^[:space:]]*) ]]; then
    u="${BASH_REMATCH[1]}"; p="/s3/${u#s3://}"; mkdir -p "$(dirname "$p")"; printf '%s' "$first" > "$p"
  fi
  shift
done
`,
	// gsutil cat URI, gsutil cp - URI, gsutil cp SRC DST on local paths.
	"gsutil": `#!/bin/bash
set -e
local() { case "$1" in s3://*) echo "/s3/${1#s3://}";; *) echo "$1";; esac; }
case "$1" in
  cat) cat "$(local "$2")";;
  cp) dst="$(local "$3")"; mkdir -p "$(dirname "$dst")"; if [ "$2" = - ]; then cat > "$dst"; else cp "$(local "$2")" "$dst"; fi;;
  *) echo "gsutil stand-in: $1 not supported" >&2; exit 2;;
esac
`,
}

// runSh is the run.sh of container_with_artifact_output's image (stand-in): it
// "trains" for --epochs, writing the model at --model_path's local path with the
// metadata it was given, and its config to --model_config_path.
const runSh = `set -e
while [ $# -gt 0 ]; do
  case "$1" in
    --epochs) epochs="$2";;
    --model_path) model="/s3/${2#s3://}";;
    --model_metadata) metadata="$2";;
    --model_config_path) config="$2";;
  esac
  shift 2
done
mkdir -p "$(dirname "$model")"
echo "model after $epochs epochs; metadata $metadata" > "$model"
printf '{"epochs": %s}' "$epochs" > "$config"
`

// containerRun is what a container component pipeline of the test data does, by
// file (pipeline names repeat among these files).
type containerRun struct {
	params map[string]string
	// skip says why the pipeline is not run.
	skip string
	// fails is the message the launcher fails with.
	fails string
	check func(t *testing.T, e *env, r *runResult)
}

var containerRuns = map[string]containerRun{
	"arguments_parameters": {params: map[string]string{"param2": "world"}, check: func(t *testing.T, e *env, r *runResult) {
		wantLog(t, r, "echo", "hello-world")
	}},
	"container_with_artifact_output": {params: map[string]string{"num_epochs": "3"}, check: func(t *testing.T, e *env, r *runResult) {
		wantOutput(t, r, "container-with-artifact-output", "model_config_path", `{"epochs": 3}`)
		a := r.pod("container-with-artifact-output").artifacts(t, "model")[0]
		if got, want := e.content(t, a.URI), "model after 3 epochs; metadata {}\n"; got != want {
			t.Errorf("model = %q, want %q", got, want)
		}
	}},
	"container_with_concat_placeholder": {params: map[string]string{"text1": "hi-"}, check: func(t *testing.T, e *env, r *runResult) {
		a := r.pod("container-with-concat-placeholder").artifacts(t, "text2")[0]
		wantOutput(t, r, "container-with-concat-placeholder", "output_path", "prefix-hi-"+a.URI)
		if got := e.content(t, a.URI); got != "prefix-hi-"+a.URI {
			t.Errorf("text2 holds %q", got)
		}
	}},
	"container_with_placeholder_in_fstring": {check: func(t *testing.T, e *env, r *runResult) {
		// The component writes a directory: the file 0 under the artifact's URI.
		a := r.pod("container-with-placeholder-in-fstring").artifacts(t, "output_artifact")[0]
		dir := filepath.Join(t.TempDir(), "a")
		if err := e.store.Get(context.Background(), a.URI, dir); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "0")); err != nil || string(b) != "prefix-text!" {
			t.Errorf("%s/0 = %q, %v; want %q", a.URI, b, err, "prefix-text!")
		}
	}},
	"critical/producer_consumer_param_pipeline": {check: func(t *testing.T, e *env, r *runResult) {
		wantOutput(t, r, "producer", "output_value", "Hello world, this is an output parameter\n")
		wantLog(t, r, "consumer", "\nRead from an input parameter: \n", "\nHello world, this is an output parameter\n")
	}},
	"essential/pipeline_with_after": {check: func(t *testing.T, e *env, r *runResult) {
		wantLog(t, r, "print-text", "1st task")
		wantLog(t, r, "print-text-3", "3rd task")
	}},
	"essential/placeholder_with_if_placeholder_none_input_value": {check: func(t *testing.T, e *env, r *runResult) {
		// required_input is given, optional_input_1 is None (left out): no --arg1;
		// optional_input_2 is absent: the Else branch.
		wantLog(t, r, "component-with-optional-inputs", "--arg0 input0 --arg2 default value\n")
	}},
	"pipeline_with_concat_placeholder": {check: func(t *testing.T, e *env, r *runResult) {
		// The command itself checks the concatenation ([[ "$0" == 'one+two=three' ]]).
		if p := r.pod("component-with-concat-placeholder"); p == nil || p.Err != nil {
			t.Errorf("component-with-concat-placeholder did not succeed")
		}
	}},
	"two_step_pipeline": {params: map[string]string{"text": "Hello from the store"}, check: func(t *testing.T, e *env, r *runResult) {
		a := r.pod("write-to-gcs").artifacts(t, "output_gcs_path")[0]
		if got := e.content(t, a.URI); got != "Hello from the store\n" {
			t.Errorf("written artifact = %q", got)
		}
		wantLog(t, r, "read-from-gcs", "Hello from the store")
	}},
	"sequential_v2": {params: map[string]string{"url": "/tmp/work/url.txt"}, check: func(t *testing.T, e *env, r *runResult) {
		wantOutput(t, r, "download", "downloaded", "seed\n")
		wantLog(t, r, "echo", "seed")
	}},
	"pipeline_with_various_io_types": {fails: "the executor has no command"},
	"long-running":                   {skip: "its steps sleep five minutes each"},
}

// Every pipeline of the test data made of container components only (no Python)
// that the stand-in for Argo can run, runs through the launcher with the components'
// real placeholders; the programs of the images are stand-ins (standIns). The
// pipelines whose results the test knows are checked.
func TestContainerComponents(t *testing.T) {
	e := newEnv(t)
	bin := t.TempDir()
	for name, script := range standIns {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/bin/bash", filepath.Join(bin, "sh")); err != nil {
		t.Fatal(err)
	}
	e.cluster.Env = []string{"PATH=" + bin + ":/usr/local/bin:/usr/bin:/bin", "HOME=/tmp"}
	e.cluster.ReadOnly = []string{bin}
	e.cluster.Setup = func(t *testing.T, dir string) {
		for name, data := range map[string]string{"run.sh": runSh, "url.txt": "seed\n"} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	ran := map[string]bool{}
	for _, file := range shareddata.Files(t, "kfp-v2", "valid", ".yaml") {
		rel, _ := filepath.Rel(filepath.Join(shareddata.Dir(t, "kfp-v2"), "valid"), file)
		ir, _ := compile(t, file, nil)
		if why := containersOnly(ir); why != "" {
			continue
		}
		key := strings.TrimSuffix(rel, ".yaml")
		want := containerRuns[key]
		if want.skip != "" {
			t.Logf("%s: not run: %s", rel, want.skip)
			ran[key] = true
			continue
		}
		_, wf := compile(t, file, want.params)
		if err := wf.supported(); err != nil {
			t.Logf("%s: not run: %v", rel, err)
			continue
		}
		ran[key] = true
		t.Run(rel, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			run := "run-" + strings.ReplaceAll(strings.TrimSuffix(filepath.Base(rel), ".yaml"), "_", "-")
			r, err := e.cluster.run(t, ctx, wf, run)
			if want.fails != "" {
				if err == nil || !strings.Contains(err.Error(), want.fails) {
					t.Fatalf("want the launcher to fail with %q, got %v", want.fails, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range r.Pods {
				checkOutputs(t, e, r, p)
				var args []string
				for _, a := range p.Args[1:] {
					if !strings.HasPrefix(a, "--spec=") {
						args = append(args, a)
					}
				}
				t.Logf("task %s: %q", p.Task, args)
			}
			if want.check != nil {
				want.check(t, e, r)
			}
		})
	}
	for name := range containerRuns {
		if !ran[name] {
			t.Errorf("%s, whose results this test knows, was not found or not run", name)
		}
	}
}

// containersOnly says why not every executor of the pipeline is a container
// component other than a lightweight Python one, or "".
func containersOnly(ir *pipelinespec.PipelineSpec) string {
	for _, label := range sortedKeys(ir.DeploymentSpec.Executors) {
		e := ir.DeploymentSpec.Executors[label]
		if e.Container == nil {
			return label + " is not a container"
		}
		b, _ := json.Marshal(e.Container)
		if strings.Contains(string(b), "kfp.dsl.executor_main") {
			return label + " is a lightweight Python component"
		}
	}
	return ""
}
