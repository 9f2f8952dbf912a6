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

package pipelinefile

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/shareddata"
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

func TestReadPipeline(t *testing.T) {
	pretty := `{
  "spec": {"templates": [{"name": "main", "container": {"image": "alpine", "command": ["echo", "{{workflow.parameters.message}}"]}}],
           "entrypoint": "main", "arguments": {"parameters": [{"name": "message", "value": "hi"}]}},
  "kind": "Workflow", "apiVersion": "argoproj.io/v1alpha1", "metadata": {"generateName": "hello-"}
}`
	tests := map[string][]byte{
		"yaml":                     []byte(helloYAML),
		"json in another layout":   []byte(pretty),
		"yaml with a trailing doc": []byte(helloYAML + "---\n# nothing more\n"),
		"tar.gz":                   tarGz(t, map[string]string{"pipeline.yaml": helloYAML}),
		"tar.gz with a directory":  tarGz(t, map[string]string{"out/": "", "out/pipeline.yaml": helloYAML}),
		"zip":                      zipFile(t, map[string]string{"pipeline.yaml": helloYAML}),
		"zip with a directory":     zipFile(t, map[string]string{"out/": "", "out/pipeline.json": pretty}),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Read(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if string(got.Workflow.Raw) != helloJSON || len(got.PipelineSpec.Raw) > 0 {
				t.Errorf("got\n%s\nwant\n%s", got, helloJSON)
			}
		})
	}
}

func TestReadPipelineErrors(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		wantErr string
	}{
		{"empty", nil, "it is empty"},
		{"only comments", []byte("# nothing\n---\n"), "it is empty"},
		{"two documents", []byte(helloYAML + "---\n" + helloYAML), "more than one YAML document"},
		{"a list", []byte("- kind: Workflow\n- kind: Workflow\n"), "must be a JSON object"},
		{"not YAML", []byte("kind: [Workflow"), "yaml"},
		{"KFP v2 pipeline spec without its schema version", []byte("pipelineInfo: {name: hello}\nroot: {dag: {}}\n"), `pipelineSpec.schemaVersion: Unsupported value: ""`},
		{"neither", []byte("hello: world\n"), "neither an Argo Workflow (KFP v1) nor a pipeline IR (KFP 2.x)"},
		{"broken workflow", []byte(strings.ReplaceAll(helloYAML, "entrypoint: main", "entrypoint: nope")), `spec.entrypoint: Not found: "nope"`},
		{"tar.gz with two files", tarGz(t, map[string]string{"a.yaml": helloYAML, "b.yaml": helloYAML}), "holds 2 files (a.yaml, b.yaml)"},
		{"tar.gz with no file", tarGz(t, map[string]string{"out/": ""}), "holds no file"},
		{"zip with two files", zipFile(t, map[string]string{"a.yaml": helloYAML, "b.yaml": helloYAML}), "holds 2 files"},
		{"empty zip", zipFile(t, nil), "holds no file"},
		{"gzip, not tar", gzipped(t, []byte(helloYAML)), "reading tar.gz package"},
		{"truncated zip", zipFile(t, map[string]string{"a.yaml": helloYAML})[:30], "reading zip package"},
		{"too large", bytes.Repeat([]byte(" "), MaxBytes+1), "larger than 32 MiB"},
		{"package member too large", tarGz(t, map[string]string{"a.yaml": strings.Repeat(" ", MaxBytes+1)}), "a.yaml in the package: larger than 32 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(bytes.NewReader(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestVersionName(t *testing.T) {
	a := VersionName("train", wfDef(helloJSON))
	if !regexp.MustCompile(`^train-[0-9a-f]{8}$`).MatchString(a) {
		t.Errorf("VersionName = %q, want train-<8 hex digits>", a)
	}
	if errs := validation.IsDNS1123Subdomain(a); len(errs) > 0 {
		t.Errorf("VersionName = %q is not a valid name: %v", a, errs)
	}
	if b := VersionName("train", wfDef(helloJSON)); b != a {
		t.Errorf("the same workflow was named %q and %q", a, b)
	}
	other := strings.Replace(helloJSON, `"hi"`, `"hello"`, 1)
	if b := VersionName("train", wfDef(other)); b == a {
		t.Errorf("two workflows were both named %q", a)
	}
}

// TestKFPV1Packages reads what the KFP v1 SDK compiles, plain and packaged as KFP
// packages it, and checks that each form is the same version.
func TestKFPV1Packages(t *testing.T) {
	dir := shareddata.Dir(t, "kfp-v1")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no .yaml files in %s", dir)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			want, err := Read(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			for name, pkg := range map[string][]byte{
				"tar.gz": tarGz(t, map[string]string{"pipeline.yaml": string(data)}),
				"zip":    zipFile(t, map[string]string{"pipeline.yaml": string(data)}),
			} {
				got, err := Read(bytes.NewReader(pkg))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if VersionName("p", got) != VersionName("p", want) {
					t.Errorf("%s: named %s, the plain file %s", name, VersionName("p", got), VersionName("p", want))
				}
			}
		})
	}
}

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zipFile(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range sortedKeys(files) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, files[name]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestKFPV2Files reads every pipeline the KFP 2.x SDK compiled in the shared test
// data as a pipeline IR (with its platform spec when the file has one), and refuses
// every file of invalid/ with a reason.
func TestKFPV2Files(t *testing.T) {
	for _, file := range shareddata.Files(t, "kfp-v2", "valid", ".yaml") {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			def, err := Read(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if len(def.Workflow.Raw) > 0 || len(def.PipelineSpec.Raw) == 0 {
				t.Fatalf("not read as a pipeline IR: %+v", def)
			}
			twoDocs := bytes.Contains(data, []byte("\n---\n"))
			if twoDocs != (len(def.PlatformSpec.Raw) > 0) {
				t.Errorf("file has a second document: %v; platform spec read: %s", twoDocs, def.PlatformSpec.Raw)
			}
		})
	}
	for _, file := range shareddata.Files(t, "kfp-v2", "invalid") {
		t.Run("invalid/"+filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			def, err := Read(bytes.NewReader(data))
			if err == nil {
				t.Fatalf("accepted: %+v", def)
			}
			t.Logf("refused: %v", err)
		})
	}
}

func tarGz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range sortedKeys(files) {
		h := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(files[name])), Typeflag: tar.TypeReg}
		if strings.HasSuffix(name, "/") {
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, files[name]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return gzipped(t, buf.Bytes())
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func wfDef(j string) *v1beta1.PipelineVersionSpec {
	return &v1beta1.PipelineVersionSpec{Workflow: runtime.RawExtension{Raw: []byte(j)}}
}
