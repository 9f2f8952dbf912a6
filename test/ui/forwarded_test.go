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
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pipelines-apiserver/pipelines-apiserver/test/framework"
)

// TestForwardedToken: `kubectl pipelines ui --forwarded-token`, as it runs behind an
// authenticating proxy, acts only with the bearer token each request carries: started
// with the administrator's kubeconfig, it still refuses a request without a token, and
// with a service account's token it sees what that account may see and no more.
func TestForwardedToken(t *testing.T) {
	setup(t)
	ctx := t.Context()
	admin := env.ControlPlane().Client()
	const ns = "team-a"
	sa := uniqueName("ui-user")
	if _, err := admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: sa},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "view"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: ns}},
	}
	if _, err := admin.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tr, err := admin.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	base := serveUI(t, framework.AdminUser, "--forwarded-token")
	get := func(path, token string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = res.Body.Close() }()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	runs := func(ns string) string { return "/k8s/apis/pipelines.kubeflow.org/v1beta1/namespaces/" + ns + "/runs" }

	if code, body := get(runs(ns), ""); code != http.StatusUnauthorized {
		t.Errorf("no token: %d %s", code, body)
	}
	code, body := get(runs(ns), tr.Status.Token)
	var list struct{ Kind string }
	if code != http.StatusOK || json.Unmarshal([]byte(body), &list) != nil || list.Kind != "RunList" {
		t.Errorf("the account's runs: %d %s", code, body)
	}
	if code, body := get(runs("team-b"), tr.Status.Token); code != http.StatusForbidden || !strings.Contains(body, "system:serviceaccount:"+ns+":"+sa) {
		t.Errorf("team-b with the account's token: %d %s", code, body)
	}
	if code, body := get("/ui/config", ""); code != http.StatusOK || !strings.Contains(body, `"forwarded-token"`) {
		t.Errorf("/ui/config: %d %s", code, body)
	}
}

// TestLocalGuard: the server `kubectl pipelines ui` starts answers nothing without the
// token its URL carries, nor to a Host it does not listen as (DNS rebinding), nor to a
// page of another origin; the URL itself sets the cookie that lets the page in.
func TestLocalGuard(t *testing.T) {
	setup(t)
	u := serveUI(t, "alice")
	base := u[:strings.Index(u, "?")]
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(url, host, origin string, cookies ...*http.Cookie) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if host != "" {
			req.Host = host
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		for _, c := range cookies {
			req.AddCookie(c)
		}
		res, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		return res
	}
	runs := base + "k8s/apis/pipelines.kubeflow.org/v1beta1/namespaces/team-a/runs"
	if res := do(runs, "", ""); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("without the token: %d", res.StatusCode)
	}
	first := do(u, "", "")
	if first.StatusCode != http.StatusSeeOther || len(first.Cookies()) != 1 {
		t.Fatalf("opening the printed URL: %d, cookies %v", first.StatusCode, first.Cookies())
	}
	cookie := first.Cookies()[0]
	if res := do(runs, "", "", cookie); res.StatusCode != http.StatusOK {
		t.Errorf("with the cookie: %d", res.StatusCode)
	}
	if res := do(runs, "rebound.example:"+strings.Split(strings.TrimPrefix(base, "http://127.0.0.1:"), "/")[0], "", cookie); res.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("another Host: %d", res.StatusCode)
	}
	if res := do(runs, "", "http://evil.example", cookie); res.StatusCode != http.StatusForbidden {
		t.Errorf("another origin: %d", res.StatusCode)
	}
}
