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

package e2e

// Multi-user isolation (issue 4), with real credentials: alice's and bob's client
// certificates, other users' certificates issued by the cluster CA, and
// service-account tokens. Every rejected request is checked to change nothing.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/controlplane"
)

// TestTwoUsers: alice works in team-a; bob, in team-b, can neither see nor touch it.
func TestTwoUsers(t *testing.T) {
	setup(t)
	ctx := t.Context()
	alice, bob := clientFor(t, "alice"), clientFor(t, "bob")
	fixture(t, alice, "team-a", "alices")
	run, err := alice.PipelinesV1beta1().Runs("team-a").Create(ctx, newRun("alices-run", "alices", "alices"), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("alice creating a run in team-a: %v", err)
	}

	// bob's watch in team-b starts before alice changes anything more.
	w, err := bob.PipelinesV1beta1().Runs("team-b").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("bob watching team-b: %v", err)
	}
	defer w.Stop()

	list, err := bob.PipelinesV1beta1().Runs("team-b").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("bob listing team-b: %v", err)
	}
	for _, r := range list.Items {
		if r.Name == run.Name || r.Namespace != "team-b" {
			t.Errorf("bob's list of team-b holds %s/%s", r.Namespace, r.Name)
		}
	}

	runs := bob.PipelinesV1beta1().Runs("team-a")
	forbidden := map[string]func() error{
		"get":   func() error { _, err := runs.Get(ctx, run.Name, metav1.GetOptions{}); return err },
		"list":  func() error { _, err := runs.List(ctx, metav1.ListOptions{}); return err },
		"watch": func() error { _, err := runs.Watch(ctx, metav1.ListOptions{}); return err },
		"patch": func() error {
			_, err := runs.Patch(ctx, run.Name, types.MergePatchType, []byte(`{"metadata":{"labels":{"x":"y"}}}`), metav1.PatchOptions{})
			return err
		},
		"delete":    func() error { return runs.Delete(ctx, run.Name, metav1.DeleteOptions{}) },
		"terminate": func() error { return action(ctx, bob, "team-a", "runs", run.Name, "terminate") },
		"archive":   func() error { return action(ctx, bob, "team-a", "runs", run.Name, "archive") },
		"list-all":  func() error { _, err := bob.PipelinesV1beta1().Runs("").List(ctx, metav1.ListOptions{}); return err },
	}
	for name, f := range forbidden {
		if err := f(); !apierrors.IsForbidden(err) {
			t.Errorf("bob %s alice's run: %v, want Forbidden", name, err)
		}
	}
	if _, stderr, err := kubectlResult(t, "bob", "", "get", "runs", "-n", "team-a"); err == nil || !strings.Contains(stderr, "Forbidden") {
		t.Errorf("kubectl get runs -n team-a as bob: %v %s", err, stderr)
	}
	if _, stderr, err := kubectlResult(t, "bob", "", "get", "runs", "-A"); err == nil || !strings.Contains(stderr, "Forbidden") {
		t.Errorf("kubectl get runs -A as bob: %v %s", err, stderr)
	}
	// kubectl auth can-i agrees with every case.
	for _, c := range []struct {
		user, verb, resource, ns string
		want                     bool
	}{
		{"bob", "get", "runs", "team-a", false},
		{"bob", "list", "runs", "team-a", false},
		{"bob", "watch", "runs", "team-a", false},
		{"bob", "patch", "runs", "team-a", false},
		{"bob", "delete", "runs", "team-a", false},
		{"bob", "create", "runs/terminate", "team-a", false},
		{"bob", "list", "runs", "", false},
		{"bob", "list", "runs", "team-b", true},
		{"bob", "create", "runs/terminate", "team-b", true},
		{"alice", "create", "runs/terminate", "team-a", true},
		{"alice", "get", "runs/log", "team-a", true},
	} {
		args := []string{"auth", "can-i", c.verb, c.resource + "." + v1beta1.GroupName}
		if c.ns == "" {
			args = append(args, "-A")
		} else {
			args = append(args, "-n", c.ns)
		}
		out, _, _ := kubectlResult(t, c.user, "", args...)
		if got := strings.TrimSpace(out) == "yes"; got != c.want {
			t.Errorf("kubectl auth can-i %s as %s: %q, want %v", strings.Join(args[2:], " "), c.user, out, c.want)
		}
	}

	unchangedExcept(t, alice, run, "")

	// alice changes her run; bob's watch of team-b must not hear of it.
	if err := action(ctx, alice, "team-a", "runs", run.Name, "archive"); err != nil {
		t.Fatalf("alice archiving her run: %v", err)
	}
	timeout := time.After(2 * time.Second)
	for done := false; !done; {
		select {
		case ev := <-w.ResultChan():
			if r, ok := ev.Object.(*v1beta1.Run); ok && r.Namespace != "team-b" {
				t.Errorf("bob's watch of team-b received %s %s/%s", ev.Type, r.Namespace, r.Name)
			}
		case <-timeout:
			done = true
		}
	}
}

// unchangedExcept checks that run is as it was; with a label, only its status and labels
// are compared.
func unchangedExcept(t *testing.T, c versioned.Interface, run *v1beta1.Run, label string) {
	t.Helper()
	got, err := c.PipelinesV1beta1().Runs(run.Namespace).Get(t.Context(), run.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading %s back: %v", run.Name, err)
	}
	if got.Status.Phase != run.Status.Phase || got.Status.StorageState != run.Status.StorageState || got.Labels["x"] != "" {
		t.Errorf("rejected requests changed run %s: %+v", run.Name, got.Status)
	}
	if label == "" && got.ResourceVersion != run.ResourceVersion {
		t.Errorf("run %s changed: resourceVersion %s, was %s", run.Name, got.ResourceVersion, run.ResourceVersion)
	}
}

// action POSTs an action subresource.
func action(ctx context.Context, c versioned.Interface, ns, resource, name, sub string) error {
	return c.PipelinesV1beta1().RESTClient().Post().Namespace(ns).Resource(resource).Name(name).SubResource(sub).
		Do(ctx).Error()
}

// newUserWithRole issues a certificate for a new user bound to a Role of rules in ns.
func newUserWithRole(t *testing.T, name, ns, rules string) versioned.Interface {
	t.Helper()
	cp := env.ControlPlane()
	kubeconfig, err := cp.NewUser(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	manifest := fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: %[1]s, namespace: %[2]s}
rules:
%[3]s
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: %[1]s, namespace: %[2]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: %[1]s}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: %[1]s}]
`, name, ns, rules)
	kubectl(t, "", manifest, "apply", "-f", "-")
	cfg, err := controlplane.RESTConfig(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	return versioned.NewForConfigOrDie(cfg)
}

// TestFineGrainedRoles: each action is its own permission.
func TestFineGrainedRoles(t *testing.T) {
	setup(t)
	ctx := t.Context()
	ns := newNamespace(t)
	admin := clientFor(t, "admin")
	fixture(t, admin, ns, "fg")

	t.Run("pipelines-but-not-runs", func(t *testing.T) {
		carol := newUserWithRole(t, "carol", ns, `- apiGroups: [pipelines.kubeflow.org]
  resources: [pipelines, pipelineversions, experiments]
  verbs: [get, list, watch, create]`)
		if _, err := carol.PipelinesV1beta1().Pipelines(ns).Create(ctx, newPipeline("carols"), metav1.CreateOptions{}); err != nil {
			t.Errorf("carol creating a pipeline: %v", err)
		}
		if _, err := carol.PipelinesV1beta1().Pipelines(ns).Get(ctx, "fg", metav1.GetOptions{}); err != nil {
			t.Errorf("carol reading a pipeline: %v", err)
		}
		_, err := carol.PipelinesV1beta1().Runs(ns).Create(ctx, newRun("carols-run", "fg", "fg"), metav1.CreateOptions{})
		if !apierrors.IsForbidden(err) {
			t.Errorf("carol creating a run: %v, want Forbidden", err)
		}
		if _, err := admin.PipelinesV1beta1().Runs(ns).Get(ctx, "carols-run", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("carol's rejected run: %v, want NotFound", err)
		}
	})

	t.Run("runs-but-not-terminate", func(t *testing.T) {
		dave := newUserWithRole(t, "dave", ns, `- apiGroups: [pipelines.kubeflow.org]
  resources: [runs]
  verbs: [get, list, watch, create]`)
		run, err := dave.PipelinesV1beta1().Runs(ns).Create(ctx, newRun("daves-run", "fg", "fg"), metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("dave creating a run: %v", err)
		}
		if err := action(ctx, dave, ns, "runs", run.Name, "terminate"); !apierrors.IsForbidden(err) {
			t.Errorf("dave terminating his run: %v, want Forbidden", err)
		}
		unchangedExcept(t, admin, run, "")
		if err := action(ctx, admin, ns, "runs", run.Name, "terminate"); err != nil {
			t.Errorf("admin terminating the run: %v", err)
		}
	})
}

// TestForgedIdentity: the front-proxy headers count only on a connection with the
// front proxy's certificate.
func TestForgedIdentity(t *testing.T) {
	setup(t)
	url := env.ServerURL() + "/apis/pipelines.kubeflow.org/v1beta1/namespaces/team-a/runs"
	get := func(cert *tls.Certificate) int {
		t.Helper()
		tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // the identity is under test, not the server's
		if cert != nil {
			tr.TLSClientConfig.Certificates = []tls.Certificate{*cert}
		}
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
		req.Header.Set("X-Remote-User", "admin")
		req.Header.Set("X-Remote-Group", "system:masters")
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(nil); code != http.StatusUnauthorized {
		t.Errorf("forged X-Remote-User without a certificate: %d, want 401", code)
	}
	other := selfSigned(t, controlplane.FrontProxyClientName)
	if code := get(&other); code != http.StatusUnauthorized {
		t.Errorf("forged X-Remote-User with a front-proxy-client certificate of another CA: %d, want 401", code)
	}
}

func selfSigned(t *testing.T, cn string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestTokenAudience: a workload reaches the server directly with a token for its
// audience; the same service account's token for kube-apiserver does not work here.
func TestTokenAudience(t *testing.T) {
	setup(t)
	ctx := t.Context()
	cp := env.ControlPlane()
	if err := cp.EnsureServiceAccount(ctx, "team-a", "notebook"); err != nil {
		t.Fatal(err)
	}
	kubectl(t, "", `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: notebook-edit, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects: [{kind: ServiceAccount, name: notebook, namespace: team-a}]
`, "apply", "-f", "-")
	ca, err := os.ReadFile(cp.Certs().ServingCA)
	if err != nil {
		t.Fatal(err)
	}
	direct := func(token string) error {
		c, err := versioned.NewForConfig(&rest.Config{
			Host: env.ServerURL(), BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: ca},
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.PipelinesV1beta1().Runs("team-a").List(ctx, metav1.ListOptions{})
		return err
	}
	ours, err := cp.ServiceAccountToken(ctx, "team-a", "notebook", controlplane.PipelinesAudience)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error { return direct(ours) }) // RBAC caches settle
	theirs, err := cp.ServiceAccountToken(ctx, "team-a", "notebook")
	if err != nil {
		t.Fatal(err)
	}
	if err := direct(theirs); !apierrors.IsUnauthorized(err) {
		t.Errorf("a token for kube-apiserver's audience, sent to this server: %v, want Unauthorized", err)
	}
}

// TestSharedPipelines: a run may use a pipeline of another namespace only if its
// creator may read that namespace's pipeline versions.
func TestSharedPipelines(t *testing.T) {
	setup(t)
	ctx := t.Context()
	manifest, err := os.ReadFile("../../artifacts/shared-namespace.yaml")
	if err != nil {
		t.Fatal(err)
	}
	kubectl(t, "", string(manifest), "apply", "-f", "-")
	admin, alice, bob := clientFor(t, "admin"), clientFor(t, "alice"), clientFor(t, "bob")
	if _, err := admin.PipelinesV1beta1().Pipelines("pipelines-shared").Get(ctx, "shared", metav1.GetOptions{}); apierrors.IsNotFound(err) {
		fixture(t, admin, "pipelines-shared", "shared")
	}
	if _, err := alice.PipelinesV1beta1().Experiments("team-a").Get(ctx, "sharing", metav1.GetOptions{}); apierrors.IsNotFound(err) {
		fixture(t, alice, "team-a", "sharing")
	}
	if _, err := bob.PipelinesV1beta1().Experiments("team-b").Get(ctx, "sharing", metav1.GetOptions{}); apierrors.IsNotFound(err) {
		fixture(t, bob, "team-b", "sharing")
	}

	fromShared := newRun("from-shared", "sharing", "shared")
	fromShared.Spec.PipelineRef.Namespace = "pipelines-shared"
	eventually(t, 10*time.Second, func() error {
		_, err := alice.PipelinesV1beta1().Runs("team-a").Create(ctx, fromShared, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	})
	got, err := alice.PipelinesV1beta1().Runs("team-a").Get(ctx, "from-shared", metav1.GetOptions{})
	if err != nil || got.Status.PipelineVersion != "shared-v1" {
		t.Errorf("alice's run of the shared pipeline: %v, pinned %q", err, got.Status.PipelineVersion)
	}

	fromTeamA := newRun("from-team-a", "sharing", "alices-"+fmt.Sprint(time.Now().UnixNano()))
	fixture(t, alice, "team-a", fromTeamA.Spec.PipelineRef.PipelineName)
	fromTeamA.Spec.PipelineRef.Namespace = "team-a"
	_, err = bob.PipelinesV1beta1().Runs("team-b").Create(ctx, fromTeamA, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("bob using a pipeline of team-a: %v, want Forbidden", err)
	}
	if _, err := bob.PipelinesV1beta1().Runs("team-b").Get(ctx, "from-team-a", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("bob's rejected run: %v, want NotFound", err)
	}
}
