package controlplane

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	certutil "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
)

const (
	// FrontProxyClientName is the common name of the client certificate kube-apiserver presents
	// to aggregated servers, and the only name in --requestheader-allowed-names.
	FrontProxyClientName = "front-proxy-client"

	leafValidity = 365 * 24 * time.Hour
	// Leaves closer than this to expiry are issued again on start.
	renewBefore = 7 * 24 * time.Hour
)

// Certs are the paths of the PEM files a control plane uses, all inside Config.Dir/pki.
// They are kept across runs: a second Start on the same Dir reuses them, and issues a leaf
// again only when it is missing, about to expire, no longer signed by its CA or lacks a
// required name.
type Certs struct {
	// ClusterCA signs kube-apiserver's serving certificate and every client certificate
	// kube-apiserver accepts (--client-ca-file): admin, NewUser.
	ClusterCA, ClusterCAKey string
	// APIServerCert and APIServerKey are kube-apiserver's serving certificate.
	APIServerCert, APIServerKey string
	// AdminCert and AdminKey are the admin client certificate (CN=admin, O=system:masters).
	AdminCert, AdminKey string

	// FrontProxyCA is the request-header CA (--requestheader-client-ca-file). Aggregated servers
	// trust X-Remote-* headers only on connections with a client certificate it signed.
	FrontProxyCA, FrontProxyCAKey string
	// FrontProxyClientCert and FrontProxyClientKey (CN=front-proxy-client) are what
	// kube-apiserver presents to aggregated servers (--proxy-client-cert-file).
	FrontProxyClientCert, FrontProxyClientKey string

	// ServingCA signs the aggregated server's serving certificate; its PEM is the APIService
	// caBundle.
	ServingCA, ServingCAKey string
	// ServingCert and ServingKey are the aggregated server's serving certificate, valid for its
	// Service's host names (<name>.<namespace>.svc, ...), localhost and 127.0.0.1.
	ServingCert, ServingKey string

	// ServiceAccountKey signs service-account tokens; ServiceAccountPublicKey verifies them.
	ServiceAccountKey, ServiceAccountPublicKey string
}

func newCerts(pki string) Certs {
	p := func(name string) string { return filepath.Join(pki, name) }
	return Certs{
		ClusterCA: p("ca.crt"), ClusterCAKey: p("ca.key"),
		APIServerCert: p("apiserver.crt"), APIServerKey: p("apiserver.key"),
		AdminCert: p("admin.crt"), AdminKey: p("admin.key"),
		FrontProxyCA: p("front-proxy-ca.crt"), FrontProxyCAKey: p("front-proxy-ca.key"),
		FrontProxyClientCert: p("front-proxy-client.crt"), FrontProxyClientKey: p("front-proxy-client.key"),
		ServingCA: p("serving-ca.crt"), ServingCAKey: p("serving-ca.key"),
		ServingCert: p("serving.crt"), ServingKey: p("serving.key"),
		ServiceAccountKey: p("sa.key"), ServiceAccountPublicKey: p("sa.pub"),
	}
}

// ServingCABundle returns the PEM of the CA that signed the aggregated server's serving
// certificate: the caBundle of its APIService.
func (c Certs) ServingCABundle() ([]byte, error) {
	b, err := os.ReadFile(c.ServingCA)
	if err != nil {
		return nil, fmt.Errorf("reading serving CA bundle: %w", err)
	}
	return b, nil
}

// keyPair is a loaded certificate with its key.
type keyPair struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// leafSpec describes a certificate signed by a CA.
type leafSpec struct {
	certFile, keyFile string
	commonName        string
	organizations     []string
	dnsNames          []string
	ips               []net.IP
	usages            []x509.ExtKeyUsage
}

// ensureCerts loads or creates every file in c. serviceHosts are the aggregated server's
// Service host names; apiServerIPs the IPs kube-apiserver's serving certificate must cover.
func ensureCerts(c Certs, serviceHosts []string, apiServerIPs []net.IP) error {
	if err := os.MkdirAll(filepath.Dir(c.ClusterCA), 0o700); err != nil {
		return fmt.Errorf("creating pki dir: %w", err)
	}
	clusterCA, err := loadOrCreateCA(c.ClusterCA, c.ClusterCAKey, "pipelines-controlplane-ca")
	if err != nil {
		return err
	}
	frontProxyCA, err := loadOrCreateCA(c.FrontProxyCA, c.FrontProxyCAKey, "pipelines-front-proxy-ca")
	if err != nil {
		return err
	}
	servingCA, err := loadOrCreateCA(c.ServingCA, c.ServingCAKey, "pipelines-serving-ca")
	if err != nil {
		return err
	}
	leaves := []struct {
		ca   keyPair
		spec leafSpec
	}{
		{clusterCA, leafSpec{
			certFile: c.APIServerCert, keyFile: c.APIServerKey, commonName: "kube-apiserver",
			dnsNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
			ips:      append([]net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, apiServerIPs...),
			usages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}},
		{clusterCA, leafSpec{
			certFile: c.AdminCert, keyFile: c.AdminKey, commonName: "admin", organizations: []string{"system:masters"},
			usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}},
		{frontProxyCA, leafSpec{
			certFile: c.FrontProxyClientCert, keyFile: c.FrontProxyClientKey, commonName: FrontProxyClientName,
			usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}},
		{servingCA, leafSpec{
			certFile: c.ServingCert, keyFile: c.ServingKey, commonName: serviceHosts[0],
			dnsNames: append(slices.Clone(serviceHosts), "localhost"),
			ips:      []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
			usages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}},
	}
	for _, l := range leaves {
		if err := ensureLeaf(l.ca, l.spec); err != nil {
			return err
		}
	}
	return ensureServiceAccountKey(c.ServiceAccountKey, c.ServiceAccountPublicKey)
}

func newKey() (*ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating key: %w", err)
	}
	return k, nil
}

func writeKey(path string, key crypto.Signer) error {
	pemBytes, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		return fmt.Errorf("encoding key %s: %w", path, err)
	}
	if err := keyutil.WriteKey(path, pemBytes); err != nil {
		return fmt.Errorf("writing key %s: %w", path, err)
	}
	return nil
}

func writeCert(path string, cert *x509.Certificate) error {
	pemBytes, err := certutil.EncodeCertificates(cert)
	if err != nil {
		return fmt.Errorf("encoding certificate %s: %w", path, err)
	}
	if err := certutil.WriteCert(path, pemBytes); err != nil {
		return fmt.Errorf("writing certificate %s: %w", path, err)
	}
	return nil
}

// loadKeyPair reads a certificate (the first in the file) and its private key.
func loadKeyPair(certFile, keyFile string) (keyPair, error) {
	certs, err := certutil.CertsFromFile(certFile)
	if err != nil {
		return keyPair{}, fmt.Errorf("reading %s: %w", certFile, err)
	}
	key, err := keyutil.PrivateKeyFromFile(keyFile)
	if err != nil {
		return keyPair{}, fmt.Errorf("reading %s: %w", keyFile, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return keyPair{}, fmt.Errorf("key %s is a %T, not a signer", keyFile, key)
	}
	return keyPair{cert: certs[0], key: signer}, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func loadOrCreateCA(certFile, keyFile, commonName string) (keyPair, error) {
	if fileExists(certFile) && fileExists(keyFile) {
		kp, err := loadKeyPair(certFile, keyFile)
		if err == nil && time.Until(kp.cert.NotAfter) > renewBefore {
			return kp, nil
		}
	}
	key, err := newKey()
	if err != nil {
		return keyPair{}, err
	}
	cert, err := certutil.NewSelfSignedCACert(certutil.Config{CommonName: commonName}, key)
	if err != nil {
		return keyPair{}, fmt.Errorf("creating CA %s: %w", commonName, err)
	}
	if err := writeKey(keyFile, key); err != nil {
		return keyPair{}, err
	}
	if err := writeCert(certFile, cert); err != nil {
		return keyPair{}, err
	}
	return keyPair{cert: cert, key: key}, nil
}

// leafUpToDate says whether the files of spec hold a certificate signed by ca that is not
// about to expire and has every name and the subject spec asks for.
func leafUpToDate(ca keyPair, spec leafSpec) bool {
	if !fileExists(spec.certFile) || !fileExists(spec.keyFile) {
		return false
	}
	kp, err := loadKeyPair(spec.certFile, spec.keyFile)
	if err != nil || time.Until(kp.cert.NotAfter) < renewBefore || kp.cert.CheckSignatureFrom(ca.cert) != nil {
		return false
	}
	if kp.cert.Subject.CommonName != spec.commonName || !slices.Equal(kp.cert.Subject.Organization, spec.organizations) {
		return false
	}
	for _, name := range spec.dnsNames {
		if !slices.Contains(kp.cert.DNSNames, name) {
			return false
		}
	}
	for _, ip := range spec.ips {
		if !slices.ContainsFunc(kp.cert.IPAddresses, ip.Equal) {
			return false
		}
	}
	return true
}

func ensureLeaf(ca keyPair, spec leafSpec) error {
	if leafUpToDate(ca, spec) {
		return nil
	}
	return issueLeaf(ca, spec)
}

func issueLeaf(ca keyPair, spec leafSpec) error {
	key, err := newKey()
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(math.MaxInt64))
	if err != nil {
		return fmt.Errorf("generating serial number: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial.Add(serial, big.NewInt(1)),
		Subject:               pkix.Name{CommonName: spec.commonName, Organization: spec.organizations},
		DNSNames:              spec.dnsNames,
		IPAddresses:           spec.ips,
		NotBefore:             now.Add(-time.Hour).UTC(), // tolerate clock skew between processes
		NotAfter:              now.Add(leafValidity).UTC(),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           spec.usages,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return fmt.Errorf("signing certificate for %q: %w", spec.commonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("parsing certificate for %q: %w", spec.commonName, err)
	}
	// Key first: a crash in between leaves a certificate that no longer matches, which the next
	// run detects (loadKeyPair fails) rather than a valid-looking pair.
	if err := writeKey(spec.keyFile, key); err != nil {
		return err
	}
	return writeCert(spec.certFile, cert)
}

func ensureServiceAccountKey(keyFile, pubFile string) error {
	if fileExists(keyFile) && fileExists(pubFile) {
		if _, err := keyutil.PrivateKeyFromFile(keyFile); err == nil {
			return nil
		}
	}
	key, err := newKey()
	if err != nil {
		return err
	}
	if err := writeKey(keyFile, key); err != nil {
		return err
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return fmt.Errorf("encoding service-account public key: %w", err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	if err := os.WriteFile(pubFile, pubPEM, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", pubFile, err)
	}
	return nil
}
