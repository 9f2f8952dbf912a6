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
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"

	"k8s.io/apimachinery/pkg/util/sets"
)

// cookiePrefix names the cookie that holds a guard's token once the printed URL was
// opened. Cookies do not tell ports apart, so each guard's cookie has a name of its own:
// two servers (two contexts) side by side in one browser keep their tokens.
const cookiePrefix = "pipelines-ui-"

// Guard keeps other pages and other local users away from a local UI server, which acts
// with the user's kubeconfig:
//   - a secret token, in the URL the command prints, then in a SameSite=Strict,
//     HttpOnly cookie: a page of another site cannot send it, nor can another local
//     user who does not know it;
//   - the Host header must name the server as it listens (127.0.0.1:port or
//     localhost:port), so a DNS name rebound to 127.0.0.1 gets nothing;
//   - a request with an Origin header must come from that same host.
type Guard struct {
	token  string
	cookie string
	hosts  sets.Set[string]
}

// NewGuard returns a guard with a fresh random token for a server reachable as hosts
// ("127.0.0.1:8080", ...).
func NewGuard(hosts ...string) (*Guard, error) {
	b := make([]byte, 30)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return &Guard{
		token:  base64.RawURLEncoding.EncodeToString(b[:24]),
		cookie: cookiePrefix + base64.RawURLEncoding.EncodeToString(b[24:]),
		hosts:  sets.New(hosts...),
	}, nil
}

// URL is the address to open: it carries the token once, then the cookie does.
func (g *Guard) URL(host string) string {
	return "http://" + host + "/?token=" + g.token
}

// Allow says whether r may be served, and answers it when not (or when it only sets the
// cookie).
func (g *Guard) Allow(w http.ResponseWriter, r *http.Request) bool {
	if !g.hosts.Has(r.Host) {
		http.Error(w, "unexpected Host header: open the URL kubectl pipelines ui printed", http.StatusMisdirectedRequest)
		return false
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Scheme != "http" || u.Host != r.Host {
			http.Error(w, "cross-origin request refused", http.StatusForbidden)
			return false
		}
	}
	if t := r.URL.Query().Get("token"); t != "" && r.Method == http.MethodGet && r.URL.Path == "/" {
		if !g.match(t) {
			http.Error(w, "wrong token: open the URL kubectl pipelines ui printed", http.StatusUnauthorized)
			return false
		}
		http.SetCookie(w, &http.Cookie{Name: g.cookie, Value: g.token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		// Out of the address bar and the history.
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return false
	}
	c, err := r.Cookie(g.cookie)
	if err != nil || !g.match(c.Value) {
		http.Error(w, "not authorized: open the URL kubectl pipelines ui printed (it carries a token)", http.StatusUnauthorized)
		return false
	}
	return true
}

func (g *Guard) match(t string) bool {
	return subtle.ConstantTimeCompare([]byte(t), []byte(g.token)) == 1
}
