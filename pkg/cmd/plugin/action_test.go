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
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
)

func TestTargets(t *testing.T) {
	archive, terminate := mustAction(t, "archive"), mustAction(t, "terminate")
	tests := []struct {
		name    string
		action  action
		args    []string
		want    []string // plural/name
		wantErr string
	}{
		{"type and names", archive, []string{"experiment", "a", "b"}, []string{"experiments/a", "experiments/b"}, ""},
		{"plural type", archive, []string{"runs", "a"}, []string{"runs/a"}, ""},
		{"short name", archive, []string{"kfpexp", "a"}, []string{"experiments/a"}, ""},
		{"type is case-insensitive, names are not", archive, []string{"Run", "My-Run"}, []string{"runs/My-Run"}, ""},
		{"TYPE/NAME", archive, []string{"run/a", "experiment/b"}, []string{"runs/a", "experiments/b"}, ""},
		{"kubectl get -o name", archive, []string{"run.pipelines.kubeflow.org/a"}, []string{"runs/a"}, ""},
		{"type left out when there is one", terminate, []string{"a", "b"}, []string{"runs/a", "runs/b"}, ""},
		{"type given when there is one", terminate, []string{"run", "a"}, []string{"runs/a"}, ""},
		{"nothing", archive, nil, nil, "you must say which objects: archive (experiment|run) NAME..."},
		{"type without name", archive, []string{"run"}, nil, "you must specify the name of the run: archive (experiment|run) NAME..."},
		{"type without name, one type", terminate, []string{"runs"}, nil, "you must specify the name of the run: terminate [run] NAME..."},
		{"type needed when there are several", archive, []string{"a"}, nil, `unknown resource type "a": archive (experiment|run) NAME...`},
		{"type the action does not apply to", terminate, []string{"experiment", "a"}, nil, "terminate does not apply to experiments: terminate [run] NAME..."},
		{"TYPE/NAME the action does not apply to", terminate, []string{"run/a", "job/b"}, nil, "terminate does not apply to jobs"},
		{"TYPE/ without name", archive, []string{"run/"}, nil, "is not TYPE/NAME"},
		{"TYPE/NAME mixed with NAME", archive, []string{"run/a", "b"}, nil, "is not TYPE/NAME"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			targets, err := tt.action.targets(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, tg := range targets {
				got = append(got, tg.plural+"/"+tg.name)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("targets (-want +got):\n%s", diff)
			}
		})
	}
}

func mustAction(t *testing.T, verb string) action {
	t.Helper()
	for _, a := range actions {
		if a.verb == verb {
			return a
		}
	}
	t.Fatalf("no action %q", verb)
	return action{}
}

// TestActions runs each action against a fake server: one empty POST to the
// subresource, and the answer printed as kubectl prints it.
func TestActions(t *testing.T) {
	tests := []struct {
		args     []string
		wantPath string
		kind     string
		wantOut  string
	}{
		{[]string{"archive", "experiment", "e1"}, "experiments/e1/archive", "Experiment", "experiment.pipelines.kubeflow.org/e1 archived\n"},
		{[]string{"unarchive", "experiment/e1"}, "experiments/e1/unarchive", "Experiment", "experiment.pipelines.kubeflow.org/e1 unarchived\n"},
		{[]string{"archive", "run", "r1"}, "runs/r1/archive", "Run", "run.pipelines.kubeflow.org/r1 archived\n"},
		{[]string{"unarchive", "runs", "r1"}, "runs/r1/unarchive", "Run", "run.pipelines.kubeflow.org/r1 unarchived\n"},
		{[]string{"terminate", "run", "r1"}, "runs/r1/terminate", "Run", "run.pipelines.kubeflow.org/r1 terminated\n"},
		{[]string{"terminate", "r1"}, "runs/r1/terminate", "Run", "run.pipelines.kubeflow.org/r1 terminated\n"},
		{[]string{"retry", "r1", "-o", "name"}, "runs/r1/retry", "Run", "run.pipelines.kubeflow.org/r1\n"},
		{[]string{"enable", "job", "j1"}, "jobs/j1/enable", "Job", "job.pipelines.kubeflow.org/j1 enabled\n"},
		{[]string{"disable", "j1", "-o", "jsonpath={.kind}/{.metadata.name}"}, "jobs/j1/disable", "Job", "Job/j1"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var requests []string
			srv := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				requests = append(requests, r.Method+" "+r.URL.Path+" "+string(body))
				name := strings.Split(tt.wantPath, "/")[1]
				writeJSON(w, http.StatusOK, map[string]any{
					"apiVersion": v1beta1.SchemeGroupVersion.String(), "kind": tt.kind,
					"metadata": map[string]any{"name": name, "namespace": "team-a"},
				})
			})
			out, _, err := runCommand(t, srv, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"POST /apis/pipelines.kubeflow.org/v1beta1/namespaces/team-a/" + tt.wantPath + " "}
			if diff := cmp.Diff(want, requests); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if out != tt.wantOut {
				t.Errorf("output = %q, want %q", out, tt.wantOut)
			}
		})
	}
}

// TestActionErrors checks that every object is tried, that every failure is
// reported, and that API errors keep their meaning.
func TestActionErrors(t *testing.T) {
	srv := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		name := strings.Split(r.URL.Path, "/")[7]
		if name == "ok" {
			writeJSON(w, http.StatusOK, &v1beta1.Run{ObjectMeta: metav1.ObjectMeta{Name: name}})
			return
		}
		writeStatus(w, apierrors.NewForbidden(schema.GroupResource{Group: v1beta1.GroupName, Resource: "runs"}, name, errors.New("no")))
	})
	streams, out, errOut := testStreams()
	code := Run(t.Context(), streams, append(srv.args, "terminate", "bad1", "ok", "bad2"))
	if code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	if got, want := out.String(), "run.pipelines.kubeflow.org/ok terminated\n"; got != want {
		t.Errorf("output = %q, want %q", got, want)
	}
	wantErr := `Error from server (Forbidden): runs.pipelines.kubeflow.org "bad1" is forbidden: no
Error from server (Forbidden): runs.pipelines.kubeflow.org "bad2" is forbidden: no
`
	if diff := cmp.Diff(wantErr, errOut.String()); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	_, _, err := runCommand(t, srv, "terminate", "bad1")
	if !apierrors.IsForbidden(err) {
		t.Errorf("error = %v, want one apierrors.IsForbidden recognises", err)
	}
}

// server is a fake API server and the flags that point the plugin at it.
type server struct {
	*httptest.Server
	args []string
}

func fakeServer(t *testing.T, handler http.HandlerFunc) *server {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	// An empty kubeconfig, so that the developer's own is not read.
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return &server{srv, []string{"--kubeconfig", kubeconfig, "--server", srv.URL, "-n", "team-a"}}
}

func testStreams() (genericiooptions.IOStreams, *bytes.Buffer, *bytes.Buffer) {
	out, errOut := &bytes.Buffer{}, &bytes.Buffer{}
	return genericiooptions.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: errOut}, out, errOut
}

// runCommand runs the plugin in-process against srv.
func runCommand(t *testing.T, srv *server, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	streams, out, errOut := testStreams()
	cmd := NewCommand(streams)
	cmd.SetArgs(append(append([]string{}, srv.args...), args...))
	err = cmd.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeStatus(w http.ResponseWriter, err *apierrors.StatusError) {
	status := err.Status()
	status.APIVersion, status.Kind = "v1", "Status"
	writeJSON(w, int(status.Code), status)
}
