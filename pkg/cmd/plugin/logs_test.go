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
	"net/http"
	"strings"
	"testing"
)

func TestLogs(t *testing.T) {
	tests := []struct {
		args      []string
		wantQuery string
	}{
		{[]string{"logs", "r1"}, ""},
		{[]string{"logs", "run", "r1", "--tail", "0"}, "tailLines=0"},
		{[]string{"logs", "run/r1", "--step", "train", "-f", "--tail", "20"}, "follow=true&step=train&tailLines=20"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var got string
			srv := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
				got = r.Method + " " + r.URL.Path + "?" + r.URL.Query().Encode()
				w.Header().Set("Content-Type", "text/plain")
				for _, line := range []string{"line 1\n", "line 2\n"} {
					_, _ = w.Write([]byte(line))
					w.(http.Flusher).Flush()
				}
			})
			out, _, err := runCommand(t, srv, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			want := "GET /apis/pipelines.kubeflow.org/v1beta1/namespaces/team-a/runs/r1/log?" + tt.wantQuery
			if got != want {
				t.Errorf("request = %q, want %q", got, want)
			}
			if out != "line 1\nline 2\n" {
				t.Errorf("output = %q, want the log as served", out)
			}
		})
	}
}

func TestLogsArgs(t *testing.T) {
	for _, args := range [][]string{{"logs"}, {"logs", "experiment", "e1"}, {"logs", "a", "b"}} {
		srv := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
			t.Errorf("unexpected request %s %s", r.Method, r.URL)
		})
		if _, _, err := runCommand(t, srv, args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
