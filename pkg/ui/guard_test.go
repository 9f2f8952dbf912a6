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
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestGuard(t *testing.T) {
	g, err := NewGuard("127.0.0.1:8080", "localhost:8080")
	if err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("served")) })
	serve := func(r *http.Request) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		if g.Allow(w, r) {
			ok(w, r)
		}
		return w
	}
	u := g.URL("127.0.0.1:8080")
	token := u[strings.Index(u, "token=")+len("token="):]

	// Opening the printed URL sets the cookie and redirects away from the token.
	first := serve(httptest.NewRequest(http.MethodGet, u, nil))
	if first.Code != http.StatusSeeOther || first.Header().Get("Location") != "/" {
		t.Fatalf("opening the URL: %d %v", first.Code, first.Header())
	}
	cookies := first.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Value != token || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookie %+v", cookies)
	}
	withCookie := func(method, target, host, origin string) *http.Request {
		r := httptest.NewRequest(method, target, nil)
		r.Host = host
		r.AddCookie(cookies[0])
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		return r
	}
	for _, c := range []struct {
		name string
		req  *http.Request
		want int
	}{
		{"with the cookie", withCookie(http.MethodGet, "/k8s/apis/x", "127.0.0.1:8080", ""), http.StatusOK},
		{"as localhost", withCookie(http.MethodPost, "/k8s/apis/x", "localhost:8080", "http://localhost:8080"), http.StatusOK},
		{"no cookie", httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080/k8s/apis/x", nil), http.StatusUnauthorized},
		{"wrong token", httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080/?token=nope", nil), http.StatusUnauthorized},
		{"DNS rebinding", withCookie(http.MethodGet, "/k8s/apis/x", "evil.example:8080", ""), http.StatusMisdirectedRequest},
		{"another origin", withCookie(http.MethodPost, "/k8s/apis/x", "127.0.0.1:8080", "http://evil.example"), http.StatusForbidden},
		{"another port", withCookie(http.MethodPost, "/k8s/apis/x", "127.0.0.1:8080", "http://127.0.0.1:9999"), http.StatusForbidden},
	} {
		if got := serve(c.req); got.Code != c.want {
			t.Errorf("%s: %d %q, want %d", c.name, got.Code, got.Body.String(), c.want)
		}
	}
	other, err := NewGuard("127.0.0.1:8081")
	if err != nil {
		t.Fatal(err)
	}
	if other.cookie == g.cookie || other.token == g.token {
		t.Errorf("two guards share a cookie name or token")
	}
}
