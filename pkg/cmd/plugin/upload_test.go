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

package plugin

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned/scheme"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/pipelinefile"
)

const helloYAML = `# Compiled by hand.
---
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: hello-}
spec:
  entrypoint: main
  arguments:
    parameters: [{name: message, value: hi}]
  templates:
  - name: main
    container: {image: alpine, command: [echo, "{{workflow.parameters.message}}"]}
`

// helloJSON is helloYAML as Read returns it: canonical JSON.
const helloJSON = `{"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow","metadata":{"generateName":"hello-"},` +
	`"spec":{"arguments":{"parameters":[{"name":"message","value":"hi"}]},"entrypoint":"main",` +
	`"templates":[{"container":{"command":["echo","{{workflow.parameters.message}}"],"image":"alpine"},"name":"main"}]}}`

// TestUpload uploads against a fake server: the pipeline is created once, the same
// file twice is one version, another file under a taken name is refused.
func TestUpload(t *testing.T) {
	var mu sync.Mutex
	objects := map[string][]byte{} // URL path of the object -> its JSON
	var creates []string
	srv := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		const prefix = "/apis/pipelines.kubeflow.org/v1beta1/namespaces/team-a/"
		resource, name, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, prefix), "/")
		gr := v1beta1.Resource(resource)
		switch r.Method {
		case http.MethodGet:
			obj, ok := objects[resource+"/"+name]
			if !ok {
				writeStatus(w, apierrors.NewNotFound(gr, name))
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(obj)
		case http.MethodPost:
			// The clientset sends protobuf; the fake keeps JSON.
			body, _ := io.ReadAll(r.Body)
			obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(body, nil, nil)
			if err != nil {
				t.Errorf("POST %s: %v", r.URL.Path, err)
			}
			if body, err = json.Marshal(obj); err != nil {
				t.Errorf("POST %s: %v", r.URL.Path, err)
			}
			var meta struct {
				metav1.ObjectMeta `json:"metadata"`
			}
			if err := json.Unmarshal(body, &meta); err != nil {
				t.Errorf("POST %s: %v", r.URL.Path, err)
			}
			if _, ok := objects[resource+"/"+meta.Name]; ok {
				writeStatus(w, apierrors.NewAlreadyExists(gr, meta.Name))
				return
			}
			objects[resource+"/"+meta.Name] = body
			creates = append(creates, resource+"/"+meta.Name)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write(body)
		}
	})
	file := filepath.Join(t.TempDir(), "hello.yaml")
	if err := os.WriteFile(file, []byte(helloYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	want := pipelinefile.VersionName("hello", wfDef(helloJSON)) + "\n"
	for range 2 {
		out, _, err := runCommand(t, srv, "upload", file, "--name", "hello", "--description", "says hi")
		if err != nil {
			t.Fatal(err)
		}
		if out != want {
			t.Errorf("output = %q, want %q", out, want)
		}
	}
	wantCreates := []string{"pipelines/hello", "pipelineversions/" + strings.TrimSpace(want)}
	if strings.Join(creates, " ") != strings.Join(wantCreates, " ") {
		t.Errorf("created %v, want %v", creates, wantCreates)
	}
	var pv v1beta1.PipelineVersion
	if err := json.Unmarshal(objects[wantCreates[1]], &pv); err != nil {
		t.Fatal(err)
	}
	if pv.Spec.PipelineName != "hello" || pv.Spec.Description != "says hi" || string(pv.Spec.Workflow.Raw) != helloJSON {
		t.Errorf("created version spec %+v, want pipeline hello, description \"says hi\" and the workflow as JSON", pv.Spec)
	}

	// The same name for another workflow is refused.
	other := filepath.Join(t.TempDir(), "other.yaml")
	if err := os.WriteFile(other, []byte(strings.Replace(helloYAML, "value: hi", "value: hello", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := runCommand(t, srv, "upload", other, "--name", "hello", "--version", strings.TrimSpace(want), "--description", "says hi")
	if !apierrors.IsAlreadyExists(err) || !strings.Contains(err.Error(), "holds another workflow") {
		t.Errorf("error = %v, want AlreadyExists saying the version holds another workflow", err)
	}
	// A new version of an existing pipeline, from standard input, named by --version.
	streams, out, _ := testStreams()
	streams.In = strings.NewReader(helloYAML)
	cmd := NewCommand(streams)
	cmd.SetArgs(append(srv.args, "upload", "-", "--name", "hello", "--version", "v2"))
	if err := cmd.ExecuteContext(t.Context()); err != nil {
		t.Fatal(err)
	}
	if out.String() != "v2\n" {
		t.Errorf("output = %q, want %q", out, "v2\n")
	}
}

func wfDef(j string) *v1beta1.PipelineVersionSpec {
	return &v1beta1.PipelineVersionSpec{Workflow: runtime.RawExtension{Raw: []byte(j)}}
}
