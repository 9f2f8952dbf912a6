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
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
)

// upstream stands in for kube-apiserver: it answers with the request it got.
func upstream(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_ = json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery,
			"authorization": r.Header.Get("Authorization"), "cookie": r.Header.Get("Cookie"),
			"impersonate": r.Header.Get("Impersonate-User"), "body": string(body)})
	}))
	t.Cleanup(s.Close)
	return s
}

func call(t *testing.T, h http.Handler, method, target string, header map[string]string) (int, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(`{}`))
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var got map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &got)
	return w.Code, got
}

func TestProxyLocal(t *testing.T) {
	up := upstream(t)
	h, err := New(Options{Config: &rest.Config{Host: up.URL, BearerToken: "users-token"}, Namespace: "team-a"})
	if err != nil {
		t.Fatal(err)
	}
	code, got := call(t, h, http.MethodPost, "/k8s/apis/pipelines.kubeflow.org/v1beta1/namespaces/team-a/runs/r/terminate?x=1",
		map[string]string{"Cookie": "a=b", "Authorization": "Bearer page-token", "Impersonate-User": "admin"})
	if code != http.StatusOK || got["path"] != "/apis/pipelines.kubeflow.org/v1beta1/namespaces/team-a/runs/r/terminate" ||
		got["query"] != "x=1" || got["method"] != "POST" || got["body"] != "{}" {
		t.Errorf("passed on as %d %v", code, got)
	}
	if got["authorization"] != "Bearer users-token" || got["cookie"] != "" || got["impersonate"] != "" {
		t.Errorf("headers passed on: %v", got)
	}
	for _, p := range []string{"/k8s/api/v1/namespaces/team-a/secrets", "/k8s/api/v1/namespaces/team-a/pods/p/exec", "/k8s/apis/rbac.authorization.k8s.io/v1/clusterroles"} {
		if code, _ := call(t, h, http.MethodGet, p, nil); code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, code)
		}
	}
	if code, _ := call(t, h, http.MethodPost, "/index.html", nil); code != http.StatusMethodNotAllowed {
		t.Errorf("POST of an asset: %d", code)
	}
	if code, _ := call(t, h, http.MethodGet, "/", nil); code != http.StatusOK {
		t.Errorf("GET /: %d", code)
	}
}

func TestProxyForwardedToken(t *testing.T) {
	up := upstream(t)
	if _, err := New(Options{Config: &rest.Config{Host: up.URL, BearerToken: "own"}, ForwardedToken: true}); err == nil {
		t.Errorf("a forwarded-token handler took credentials of its own")
	}
	h, err := New(Options{Config: &rest.Config{Host: up.URL}, ForwardedToken: true})
	if err != nil {
		t.Fatal(err)
	}
	const runs = "/k8s/apis/pipelines.kubeflow.org/v1beta1/namespaces/team-a/runs"
	if code, got := call(t, h, http.MethodGet, runs, nil); code != http.StatusUnauthorized || got["kind"] != "Status" {
		t.Errorf("no token: %d %v", code, got)
	}
	for _, header := range []map[string]string{{"Authorization": "Bearer alices"}, {"X-Forwarded-Access-Token": "alices"}} {
		if code, got := call(t, h, http.MethodGet, runs, header); code != http.StatusOK || got["authorization"] != "Bearer alices" {
			t.Errorf("%v: %d %v", header, code, got)
		}
	}
	if code, _ := call(t, h, http.MethodPost, runs, map[string]string{"Authorization": "Bearer alices", "Origin": "http://evil.example"}); code != http.StatusForbidden {
		t.Errorf("cross-origin POST: %d", code)
	}
}
