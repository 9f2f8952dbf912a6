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

// Package kubelet is a stand-in for a kubelet in tests, and only for the part of one that
// serves container logs. It is not a kubelet: it runs no pods. It registers a Node whose
// kubelet endpoint is this process, so that kube-apiserver's pods/log (and so kubectl
// logs and the server's runs/log) reads the log lines a test gave it, through the same
// proxying as in a cluster.
package kubelet

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Kubelet serves container logs for the pods bound to its Node.
type Kubelet struct {
	// Node is the name of its Node; bind pods to it with spec.nodeName.
	Node string

	server *httptest.Server
	mu     sync.Mutex
	logs   map[string]*containerLog
}

type containerLog struct {
	lines   []string
	closed  bool
	changed chan struct{}
}

// Start serves on a loopback port with a self-signed certificate and registers the Node
// name with kube-apiserver (kube-apiserver verifies a kubelet's certificate only when
// given --kubelet-certificate-authority). Stop it with Close.
func Start(ctx context.Context, client kubernetes.Interface, node string) (*Kubelet, error) {
	k := &Kubelet{Node: node, logs: map[string]*containerLog{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", k.serveLog)
	k.server = httptest.NewUnstartedServer(mux)
	k.server.Listener.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	k.server.Listener = l
	k.server.StartTLS()
	port := l.Addr().(*net.TCPAddr).Port
	if err := k.register(ctx, client, port); err != nil {
		k.server.Close()
		return nil, err
	}
	return k, nil
}

func (k *Kubelet) register(ctx context.Context, client kubernetes.Interface, port int) error {
	n, err := client.CoreV1().Nodes().Get(ctx, k.Node, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		n, err = client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: k.Node}}, metav1.CreateOptions{})
	}
	if err != nil {
		return fmt.Errorf("registering node %s: %w", k.Node, err)
	}
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
	n.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
	if _, err := client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("setting the kubelet endpoint of node %s: %w", k.Node, err)
	}
	return nil
}

// Close stops serving.
func (k *Kubelet) Close() { k.server.Close() }

func logKey(namespace, pod, container string) string { return namespace + "/" + pod + "/" + container }

func (k *Kubelet) log(namespace, pod, container string) *containerLog {
	key := logKey(namespace, pod, container)
	l, ok := k.logs[key]
	if !ok {
		l = &containerLog{changed: make(chan struct{})}
		k.logs[key] = l
	}
	return l
}

// Append adds lines to a container's log; followers see them at once.
func (k *Kubelet) Append(namespace, pod, container string, lines ...string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	l := k.log(namespace, pod, container)
	l.lines = append(l.lines, lines...)
	close(l.changed)
	l.changed = make(chan struct{})
}

// Exit ends a container's log: followers get the end of the stream, as when the
// container exits.
func (k *Kubelet) Exit(namespace, pod, container string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	l := k.log(namespace, pod, container)
	l.closed = true
	close(l.changed)
	l.changed = make(chan struct{})
}

// serveLog answers GET /containerLogs/{namespace}/{pod}/{container} with the
// kubelet's query parameters follow and tailLines.
func (k *Kubelet) serveLog(w http.ResponseWriter, r *http.Request) {
	ns, pod, container := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	follow := r.URL.Query().Get("follow") == "true"
	tail := -1
	if s := r.URL.Query().Get("tailLines"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			http.Error(w, "tailLines: "+s, http.StatusBadRequest)
			return
		}
		tail = n
	}
	k.mu.Lock()
	_, known := k.logs[logKey(ns, pod, container)]
	k.mu.Unlock()
	if !known {
		http.Error(w, fmt.Sprintf("container %q in pod %s/%s is not known", container, ns, pod), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	out := bufio.NewWriter(w)
	sent := 0
	for first := true; ; first = false {
		k.mu.Lock()
		l := k.log(ns, pod, container)
		lines, closed, changed := l.lines, l.closed, l.changed
		k.mu.Unlock()
		if first && tail >= 0 && tail < len(lines) {
			sent = len(lines) - tail
		}
		if sent < len(lines) {
			_, _ = out.WriteString(strings.Join(lines[sent:], "\n") + "\n")
			sent = len(lines)
		}
		_ = out.Flush()
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		if !follow || closed {
			return
		}
		select {
		case <-changed:
		case <-r.Context().Done():
			return
		}
	}
}
