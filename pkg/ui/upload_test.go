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

package ui

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
)

// TestUploadRefusals: what the upload endpoint refuses before asking kube-apiserver
// anything (the address below has no server), each with a Status naming the problem.
func TestUploadRefusals(t *testing.T) {
	h, err := New(Options{Config: &rest.Config{Host: "http://127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, target, contentType, body string
		code                            int
		want                            string
	}{
		{"a form's type", "/ui/upload/namespaces/team-a?pipeline=p", "text/plain", "kind: Workflow", http.StatusUnsupportedMediaType, "application/octet-stream"},
		{"no type", "/ui/upload/namespaces/team-a?pipeline=p", "", "kind: Workflow", http.StatusUnsupportedMediaType, "application/octet-stream"},
		{"no pipeline", "/ui/upload/namespaces/team-a", "application/octet-stream", "kind: Workflow", http.StatusBadRequest, "pipeline: Required value"},
		{"not a pipeline", "/ui/upload/namespaces/team-a?pipeline=p", "application/octet-stream", "hello: world", http.StatusBadRequest,
			"file: neither an Argo Workflow (KFP v1) nor a pipeline IR (KFP 2.x)"},
		{"empty", "/ui/upload/namespaces/team-a?pipeline=p", "application/octet-stream", "", http.StatusBadRequest, "it is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, tt.target, strings.NewReader(tt.body))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			var status struct {
				Kind    string `json:"kind"`
				Code    int    `json:"code"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &status); err != nil {
				t.Fatalf("answer %d %q is not a Status: %v", w.Code, w.Body, err)
			}
			if w.Code != tt.code || status.Kind != "Status" || status.Code != tt.code || !strings.Contains(status.Message, tt.want) {
				t.Errorf("answer %d %+v, want %d with a Status saying %q", w.Code, status, tt.code, tt.want)
			}
		})
	}
}
