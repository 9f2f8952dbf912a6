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

// Package ui is the web UI of pipelines.kubeflow.org: an http.Handler that serves the
// front end embedded from assets/ (plain ES modules, CSS and SVG, no build step) and
// passes its API calls on to kube-apiserver as the person using it, so that RBAC decides
// what each one sees and may do. It never holds an identity of its own.
//
// Two ways to know the person:
//   - Local (`kubectl pipelines ui`): the user's kubeconfig, with whatever it
//     authenticates with (client certificates, tokens, exec plugins).
//   - Forwarded token (in a cluster, behind an authenticating proxy): the bearer token
//     the proxy forwards with each request; the handler has no credentials at all.
//
// Paths:
//
//	/                 index.html and the assets
//	/k8s/...          kube-apiserver's API, for the paths in allowedAPI
//	/ui/config        what the front end needs to start (mode, default namespace)
//	/ui/graph/...     the task graph of a run or a pipeline version, computed here
//	/ui/upload/...    a compiled pipeline uploaded as a version (pkg/pipelinefile)
//	/ui/compare/...   runs side by side
package ui

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned"
)

//go:embed assets
var assets embed.FS

// APIPrefix is where the front end reaches kube-apiserver.
const APIPrefix = "/k8s"

// allowedAPI are the kube-apiserver paths the UI passes on: this API group, the reviews
// that tell it which actions to show, and namespaces and events to read. The user could
// do more with their own credentials, but a page in the browser has no business to.
var allowedAPI = regexp.MustCompile(`^/(` +
	`apis/pipelines\.kubeflow\.org(/.*)?` +
	`|apis/authorization\.k8s\.io/v1/(selfsubjectaccessreviews|selfsubjectrulesreviews)` +
	`|api/v1/namespaces` +
	`|api/v1/namespaces/[a-z0-9-]+/events` +
	`)$`)

// Options configure a Handler. Exactly one of Config and ForwardedToken's base is used.
type Options struct {
	// Config is how to reach kube-apiserver. In local mode it carries the user's
	// credentials; with ForwardedToken it must carry none (see rest.AnonymousClientConfig).
	Config *rest.Config
	// ForwardedToken makes every request use the bearer token an authenticating proxy
	// forwards (Authorization: Bearer, or X-Forwarded-Access-Token as oauth2-proxy sends
	// it); requests without one are refused with 401.
	ForwardedToken bool
	// Namespace is the namespace to show first (the kubeconfig context's).
	Namespace string
	// Guard protects a local server from other pages in the same browser; nil in a
	// cluster, where the proxy in front is the guard.
	Guard *Guard
}

// Handler serves the UI.
type Handler struct {
	opts Options
	mux  *http.ServeMux
}

// New returns the UI's handler.
func New(opts Options) (*Handler, error) {
	if opts.Config == nil {
		return nil, errors.New("ui: no rest.Config")
	}
	if opts.ForwardedToken && (opts.Config.BearerToken != "" || opts.Config.BearerTokenFile != "" ||
		opts.Config.CertData != nil || opts.Config.CertFile != "" || opts.Config.ExecProvider != nil ||
		opts.Config.AuthProvider != nil || opts.Config.Username != "" || opts.Config.Impersonate.UserName != "") {
		return nil, errors.New("ui: with a forwarded token the handler must have no credentials of its own")
	}
	h := &Handler{opts: opts, mux: http.NewServeMux()}
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		return nil, err
	}
	files := http.FileServerFS(static)
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		files.ServeHTTP(w, r)
	})
	h.mux.HandleFunc(APIPrefix+"/", h.proxy)
	h.mux.HandleFunc("GET /ui/config", h.config)
	h.mux.HandleFunc("GET /ui/graph/namespaces/{namespace}/runs/{name}", h.runGraph)
	h.mux.HandleFunc("GET /ui/graph/namespaces/{namespace}/pipelineversions/{name}", h.versionGraph)
	h.mux.HandleFunc("POST /ui/upload/namespaces/{namespace}", h.upload)
	h.mux.HandleFunc("GET /ui/compare/namespaces/{namespace}", h.compareRuns)
	return h, nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
	w.Header().Set("Referrer-Policy", "no-referrer")
	if h.opts.Guard != nil && !h.opts.Guard.Allow(w, r) {
		return
	}
	if h.opts.Guard == nil && !sameOrigin(r) {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// sameOrigin says whether a request that changes something comes from a page of the UI
// itself (behind a proxy, the host the browser used is X-Forwarded-Host); the proxy's
// SameSite cookie is the first line against other sites, this the second.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	u, err := url.Parse(o)
	if err != nil {
		return false
	}
	return u.Host == r.Host || (r.Header.Get("X-Forwarded-Host") != "" && u.Host == r.Header.Get("X-Forwarded-Host"))
}

// restConfig is the configuration to call kube-apiserver with for r: the user's own, or
// the anonymous one with the forwarded token.
func (h *Handler) restConfig(r *http.Request) (*rest.Config, error) {
	if !h.opts.ForwardedToken {
		return h.opts.Config, nil
	}
	token := ""
	if auth := r.Header.Get("Authorization"); len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
		token = strings.TrimSpace(auth[7:])
	} else {
		token = strings.TrimSpace(r.Header.Get("X-Forwarded-Access-Token"))
	}
	if token == "" {
		return nil, apierrors.NewUnauthorized("no bearer token forwarded by the authenticating proxy")
	}
	cfg := rest.CopyConfig(h.opts.Config)
	cfg.BearerToken = token
	return cfg, nil
}

// proxy passes a request on to kube-apiserver as the user, streaming the answer (watches
// and followed logs included).
func (h *Handler) proxy(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, APIPrefix)
	if !allowedAPI.MatchString(path) {
		writeStatus(w, statusError(http.StatusNotFound, metav1.StatusReasonNotFound, "the UI does not pass on "+path))
		return
	}
	cfg, err := h.restConfig(r)
	if err != nil {
		writeStatus(w, err)
		return
	}
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		writeStatus(w, apierrors.NewInternalError(err))
		return
	}
	host, err := url.Parse(cfg.Host)
	if err != nil {
		writeStatus(w, apierrors.NewInternalError(err))
		return
	}
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = host.Scheme, host.Host
			pr.Out.URL.Path = strings.TrimSuffix(host.Path, "/") + path
			pr.Out.URL.RawPath = ""
			pr.Out.Host = ""
			// Only what an API request needs: never the browser's cookies, nor an
			// Authorization or Impersonate-* header a page might add.
			in := pr.In.Header
			pr.Out.Header = http.Header{}
			for _, k := range []string{"Accept", "Content-Type"} {
				if v := in.Get(k); v != "" {
					pr.Out.Header.Set(k, v)
				}
			}
		},
		Transport:     rt,
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if !errors.Is(err, context.Canceled) {
				klog.ErrorS(err, "Proxying to kube-apiserver", "path", path)
			}
			writeStatus(w, apierrors.NewServiceUnavailable("kube-apiserver: "+err.Error()))
		},
	}
	p.ServeHTTP(w, r)
}

// config tells the front end how it is served.
func (h *Handler) config(w http.ResponseWriter, r *http.Request) {
	mode := "local"
	if h.opts.ForwardedToken {
		mode = "forwarded-token"
	}
	writeJSON(w, http.StatusOK, map[string]string{"mode": mode, "namespace": h.opts.Namespace})
}

func (h *Handler) client(r *http.Request) (versioned.Interface, error) {
	cfg, err := h.restConfig(r)
	if err != nil {
		return nil, err
	}
	return versioned.NewForConfig(cfg)
}

func (h *Handler) runGraph(w http.ResponseWriter, r *http.Request) {
	c, err := h.client(r)
	if err != nil {
		writeStatus(w, err)
		return
	}
	ns, name := r.PathValue("namespace"), r.PathValue("name")
	p := c.PipelinesV1beta1()
	run, err := p.Runs(ns).Get(r.Context(), name, metav1.GetOptions{})
	if err != nil {
		writeStatus(w, err)
		return
	}
	version := run.Status.PipelineVersion
	if version == "" {
		version = run.Spec.PipelineRef.VersionName
	}
	if version == "" {
		writeStatus(w, statusError(http.StatusConflict, metav1.StatusReasonConflict, "run "+name+" has no pipeline version yet"))
		return
	}
	// A run may use a shared pipeline of another namespace (pipelines-shared).
	versionNS := ns
	if run.Spec.PipelineRef.Namespace != "" {
		versionNS = run.Spec.PipelineRef.Namespace
	}
	v, err := p.PipelineVersions(versionNS).Get(r.Context(), version, metav1.GetOptions{})
	if err != nil {
		writeStatus(w, err)
		return
	}
	g, err := GraphOf(v)
	if err != nil {
		writeStatus(w, apierrors.NewBadRequest("pipeline version "+versionNS+"/"+version+": "+err.Error()))
		return
	}
	g.Color(run.Status.Steps)
	writeJSON(w, http.StatusOK, g)
}

func (h *Handler) versionGraph(w http.ResponseWriter, r *http.Request) {
	c, err := h.client(r)
	if err != nil {
		writeStatus(w, err)
		return
	}
	v, err := c.PipelinesV1beta1().PipelineVersions(r.PathValue("namespace")).Get(r.Context(), r.PathValue("name"), metav1.GetOptions{})
	if err != nil {
		writeStatus(w, err)
		return
	}
	g, err := GraphOf(v)
	if err != nil {
		writeStatus(w, apierrors.NewBadRequest(err.Error()))
		return
	}
	writeJSON(w, http.StatusOK, g)
}
