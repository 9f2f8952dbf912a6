package controlplane

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/klog/v2/ktesting"
)

const argoCRD = "/work/shared/testdata/argo/workflows-crd-full.yaml"

func startForTest(t *testing.T, ctx context.Context, dir string) *ControlPlane {
	t.Helper()
	if !BinariesBuilt() {
		t.Log("kube-apiserver, kubectl and etcd are not built yet: hack/build-controlplane.sh builds them now, " +
			"which takes several minutes (about 5 on two cores) the first time and is reused afterwards")
	}
	begin := time.Now()
	cp, err := Start(ctx, Config{Dir: dir, Logger: ktesting.NewLogger(t, ktesting.NewConfig())})
	if err != nil {
		t.Fatalf("starting control plane: %v", err)
	}
	t.Cleanup(func() {
		if err := cp.Stop(); err != nil {
			t.Errorf("stopping control plane: %v", err)
		}
	})
	t.Logf("control plane up in %v at %s (dir %s)", time.Since(begin).Round(time.Millisecond), cp.ServerURL(), dir)
	return cp
}

func kubectl(t *testing.T, ctx context.Context, cp *ControlPlane, kubeconfig string, args ...string) string {
	t.Helper()
	out, _, err := cp.Kubectl(ctx, kubeconfig, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestControlPlane(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd and kube-apiserver")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Minute)
	defer cancel()
	dir := t.TempDir()
	cp := startForTest(t, ctx, dir)

	t.Run("dir-in-use", func(t *testing.T) {
		_, err := Start(ctx, Config{Dir: dir, BinDir: cp.BinDir()})
		if err == nil || !strings.Contains(err.Error(), "in use by another process") {
			t.Errorf("second Start on a running Dir: %v", err)
		}
	})

	t.Run("kubectl", func(t *testing.T) {
		out := kubectl(t, ctx, cp, "", "version")
		if !strings.Contains(out, "Server Version: v1.37.2") || !strings.Contains(out, "Client Version: v1.37.2") {
			t.Errorf("kubectl version:\n%s", out)
		}
		out = kubectl(t, ctx, cp, "", "get", "ns", "-o", "name")
		for _, ns := range []string{"namespace/default", "namespace/kube-system"} {
			if !strings.Contains(out, ns) {
				t.Errorf("kubectl get ns lacks %s:\n%s", ns, out)
			}
		}
	})

	t.Run("rbac", func(t *testing.T) {
		alice, err := cp.NewUser(ctx, "alice", "team-a")
		if err != nil {
			t.Fatal(err)
		}
		_, stderr, err := cp.Kubectl(ctx, alice, "get", "pods", "-n", "default")
		var kerr *KubectlError
		if !errors.As(err, &kerr) || !strings.Contains(stderr, "Forbidden") || !strings.Contains(stderr, `User "alice"`) {
			t.Fatalf("alice without a binding: err=%v stderr=%s", err, stderr)
		}
		kubectl(t, ctx, cp, "", "create", "rolebinding", "alice-edit", "-n", "default", "--clusterrole=edit", "--user=alice")
		waitKubectl(t, ctx, cp, alice, "get", "pods", "-n", "default")

		// Groups come from O= of the certificate.
		kubectl(t, ctx, cp, "", "create", "namespace", "team-a")
		kubectl(t, ctx, cp, "", "create", "rolebinding", "team-a-view", "-n", "team-a", "--clusterrole=view", "--group=team-a")
		waitKubectl(t, ctx, cp, alice, "get", "configmaps", "-n", "team-a")
		if out, _, _ := cp.Kubectl(ctx, alice, "auth", "can-i", "create", "configmaps", "-n", "team-a"); strings.TrimSpace(out) != "no" {
			t.Errorf("alice can create configmaps in team-a with view: %q", out)
		}
	})

	t.Run("argo-crd", func(t *testing.T) {
		if _, err := os.Stat(argoCRD); err != nil {
			if os.Getenv("PIPELINES_REQUIRE_TESTDEPS") == "1" {
				t.Fatalf("PIPELINES_REQUIRE_TESTDEPS=1 and %s is missing: %v", argoCRD, err)
			}
			t.Skipf("Argo's full Workflow CRD (/work/shared) is not available: %v", err)
		}
		kubectl(t, ctx, cp, "", "create", "-f", argoCRD)
		// kubectl wait fails at once while the CRD has no conditions yet, so poll.
		waitKubectl(t, ctx, cp, "", "wait", "--for=condition=Established", "--timeout=10s", "crd/workflows.argoproj.io")
		kubectl(t, ctx, cp, "", "get", "workflows.argoproj.io", "-A")
	})

	t.Run("service-account-token", func(t *testing.T) {
		if err := cp.EnsureServiceAccount(ctx, "team-a", "default"); err != nil {
			t.Fatal(err)
		}
		if err := cp.EnsureServiceAccount(ctx, "team-a", "default"); err != nil {
			t.Fatalf("second EnsureServiceAccount: %v", err)
		}
		token, err := cp.ServiceAccountToken(ctx, "team-a", "default", PipelinesAudience)
		if err != nil {
			t.Fatal(err)
		}
		review := func(audience string) *authenticationv1.TokenReviewStatus {
			tr, err := cp.Client().AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{
				Spec: authenticationv1.TokenReviewSpec{Token: token, Audiences: []string{audience}},
			}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return &tr.Status
		}
		if st := review(PipelinesAudience); !st.Authenticated || st.User.Username != "system:serviceaccount:team-a:default" {
			t.Errorf("token for %s not accepted for it: %+v", PipelinesAudience, st)
		}
		if st := review(ServiceAccountIssuer); st.Authenticated {
			t.Errorf("token for %s accepted for %s", PipelinesAudience, ServiceAccountIssuer)
		}
		token, err = cp.ServiceAccountToken(ctx, "team-a", "default")
		if err != nil {
			t.Fatal(err)
		}
		if st := review(PipelinesAudience); st.Authenticated {
			t.Errorf("token for kube-apiserver's default audience accepted for %s", PipelinesAudience)
		}
	})

	t.Run("apiservice", func(t *testing.T) {
		testAPIService(t, ctx, cp)
	})

	t.Run("restart-keeps-certs-and-data", func(t *testing.T) {
		kubectl(t, ctx, cp, "", "create", "configmap", "survivor", "-n", "default", "--from-literal=k=v")
		ca, err := os.ReadFile(cp.Certs().ClusterCA)
		if err != nil {
			t.Fatal(err)
		}
		if err := cp.Stop(); err != nil {
			t.Fatal(err)
		}
		cp2 := startForTest(t, ctx, dir)
		ca2, err := os.ReadFile(cp2.Certs().ClusterCA)
		if err != nil {
			t.Fatal(err)
		}
		if string(ca) != string(ca2) {
			t.Error("restart issued a new cluster CA")
		}
		cm, err := cp2.Client().CoreV1().ConfigMaps("default").Get(ctx, "survivor", metav1.GetOptions{})
		if err != nil || cm.Data["k"] != "v" {
			t.Errorf("configmap after restart: %v %v", cm, err)
		}
		// Users issued before the restart still work: same CA.
		out := kubectl(t, ctx, cp2, filepath.Join(dir, "users", "alice.kubeconfig"), "get", "configmap", "survivor", "-n", "default", "-o", "name")
		if strings.TrimSpace(out) != "configmap/survivor" {
			t.Errorf("alice after restart: %q", out)
		}
	})
}

func TestStartFailureShowsLog(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd and kube-apiserver")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Minute)
	defer cancel()
	dir := t.TempDir()
	_, err := Start(ctx, Config{Dir: dir, APIServerFlags: []string{"--no-such-flag"}, Logger: ktesting.NewLogger(t, ktesting.NewConfig())})
	if err == nil {
		t.Fatal("Start with a bad kube-apiserver flag succeeded")
	}
	if !strings.Contains(err.Error(), "kube-apiserver exited") || !strings.Contains(err.Error(), "unknown flag: --no-such-flag") {
		t.Errorf("error lacks the exit and the log tail: %v", err)
	}
	t.Logf("the error a failed start returns:\n%v", err)
	// The failed start cleaned up after itself: the Dir is free again.
	cp := startForTest(t, ctx, dir)
	if _, _, err := cp.Kubectl(ctx, "", "get", "ns", "default"); err != nil {
		t.Error(err)
	}
}

// waitKubectl runs kubectl until it succeeds: RBAC changes reach the authorizer through an
// informer, a moment after the API call returns.
func waitKubectl(t *testing.T, ctx context.Context, cp *ControlPlane, kubeconfig string, args ...string) string {
	t.Helper()
	var out string
	var lastErr error
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(pollCtx context.Context) (bool, error) {
		var err error
		out, _, err = cp.Kubectl(ctx, kubeconfig, args...)
		if err != nil {
			lastErr = err
		}
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("kubectl %v never succeeded: %v", args, lastErr)
	}
	return out
}

// testAPIService registers an APIService for a stand-in aggregated server that requires the
// front-proxy client certificate and echoes the X-Remote-* identity, then calls it through
// kube-apiserver as alice.
func testAPIService(t *testing.T, ctx context.Context, cp *ControlPlane) {
	const group, version = "test.pipelines.kubeflow.org", "v1"
	certs := cp.Certs()
	serving, err := tls.LoadX509KeyPair(certs.ServingCert, certs.ServingKey)
	if err != nil {
		t.Fatal(err)
	}
	frontProxyCAs, err := certutil.NewPool(certs.FrontProxyCA)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/apis/"+group+"/"+version, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(metav1.APIResourceList{
			TypeMeta:     metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"},
			GroupVersion: group + "/" + version,
			APIResources: []metav1.APIResource{},
		})
	})
	mux.HandleFunc("/apis/"+group+"/"+version+"/whoami", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"user": r.Header.Get("X-Remote-User"), "groups": r.Header.Values("X-Remote-Group"),
			"client": r.TLS.PeerCertificates[0].Subject.CommonName,
		})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: mux,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{serving},
			ClientAuth:   tls.RequireAndVerifyClientCert,
			ClientCAs:    frontProxyCAs,
			VerifyPeerCertificate: func(_ [][]byte, chains [][]*x509.Certificate) error {
				if cn := chains[0][0].Subject.CommonName; cn != FrontProxyClientName {
					return errors.New("unexpected client " + cn)
				}
				return nil
			},
		},
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })

	port := ln.Addr().(*net.TCPAddr).Port
	if err := cp.RegisterAPIService(ctx, group, version, port, nil); err != nil {
		t.Fatal(err)
	}
	// Registering twice is an update, not an error.
	if err := cp.RegisterAPIService(ctx, group, version, port, nil); err != nil {
		t.Fatalf("second RegisterAPIService: %v", err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := cp.WaitAPIServiceAvailable(waitCtx, APIServiceName(group, version)); err != nil {
		t.Fatal(err)
	}

	// kube-apiserver authorizes requests for aggregated APIs as well before proxying them.
	// (kubectl create clusterrole would look the resource up in discovery, which has none.)
	_, err = cp.Client().RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "whoami"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{group}, Resources: []string{"whoami"}, Verbs: []string{"get", "list"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kubectl(t, ctx, cp, "", "create", "clusterrolebinding", "alice-whoami", "--clusterrole=whoami", "--user=alice")
	alice := filepath.Join(cp.Dir(), "users", "alice.kubeconfig")
	out := waitKubectl(t, ctx, cp, alice, "get", "--raw", "/apis/"+group+"/"+version+"/whoami")
	var who struct {
		User   string   `json:"user"`
		Groups []string `json:"groups"`
		Client string   `json:"client"`
	}
	if err := json.Unmarshal([]byte(out), &who); err != nil {
		t.Fatalf("decoding %q: %v", out, err)
	}
	if who.User != "alice" || !contains(who.Groups, "team-a") || !contains(who.Groups, "system:authenticated") || who.Client != FrontProxyClientName {
		t.Errorf("aggregated server saw %+v", who)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
