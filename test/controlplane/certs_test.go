package controlplane

import (
	"bytes"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"

	certutil "k8s.io/client-go/util/cert"
)

func verifyChain(t *testing.T, caFile, certFile, dnsName string, usage x509.ExtKeyUsage) *x509.Certificate {
	t.Helper()
	pool, err := certutil.NewPool(caFile)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := certutil.CertsFromFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := certs[0].Verify(x509.VerifyOptions{Roots: pool, DNSName: dnsName, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
		t.Errorf("%s does not verify against %s for %q: %v", filepath.Base(certFile), filepath.Base(caFile), dnsName, err)
	}
	return certs[0]
}

func TestEnsureCerts(t *testing.T) {
	c := newCerts(filepath.Join(t.TempDir(), "pki"))
	hosts := []string{"svc.ns.svc", "svc.ns.svc.cluster.local", "svc.ns", "svc"}
	if err := ensureCerts(c, hosts, []net.IP{firstServiceIP()}); err != nil {
		t.Fatal(err)
	}

	verifyChain(t, c.ClusterCA, c.APIServerCert, "127.0.0.1", x509.ExtKeyUsageServerAuth)
	verifyChain(t, c.ClusterCA, c.APIServerCert, "kubernetes.default.svc", x509.ExtKeyUsageServerAuth)
	verifyChain(t, c.ClusterCA, c.APIServerCert, "10.0.0.1", x509.ExtKeyUsageServerAuth)
	admin := verifyChain(t, c.ClusterCA, c.AdminCert, "", x509.ExtKeyUsageClientAuth)
	if admin.Subject.CommonName != "admin" || len(admin.Subject.Organization) != 1 || admin.Subject.Organization[0] != "system:masters" {
		t.Errorf("admin subject = %v", admin.Subject)
	}
	fp := verifyChain(t, c.FrontProxyCA, c.FrontProxyClientCert, "", x509.ExtKeyUsageClientAuth)
	if fp.Subject.CommonName != FrontProxyClientName {
		t.Errorf("front-proxy client CN = %q", fp.Subject.CommonName)
	}
	for _, h := range append(hosts, "localhost", "127.0.0.1") {
		verifyChain(t, c.ServingCA, c.ServingCert, h, x509.ExtKeyUsageServerAuth)
	}
	// The front-proxy client must not be accepted as a cluster client, nor the reverse.
	pool, _ := certutil.NewPool(c.ClusterCA)
	if _, err := fp.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("front-proxy client certificate verifies against the cluster CA")
	}

	snapshot := func() map[string][]byte {
		files := map[string][]byte{}
		entries, err := os.ReadDir(filepath.Dir(c.ClusterCA))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(filepath.Dir(c.ClusterCA), e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			files[e.Name()] = b
		}
		return files
	}
	before := snapshot()
	if err := ensureCerts(c, hosts, []net.IP{firstServiceIP()}); err != nil {
		t.Fatal(err)
	}
	for name, b := range snapshot() {
		if !bytes.Equal(before[name], b) {
			t.Errorf("second ensureCerts rewrote %s", name)
		}
	}

	// Another Service name: only the serving certificate is issued again.
	other := []string{"other.ns.svc", "other"}
	if err := ensureCerts(c, other, []net.IP{firstServiceIP()}); err != nil {
		t.Fatal(err)
	}
	after := snapshot()
	for name, b := range after {
		changed := !bytes.Equal(before[name], b)
		if want := name == "serving.crt" || name == "serving.key"; changed != want {
			t.Errorf("%s changed = %v, want %v", name, changed, want)
		}
	}
	verifyChain(t, c.ServingCA, c.ServingCert, "other.ns.svc", x509.ExtKeyUsageServerAuth)
}
