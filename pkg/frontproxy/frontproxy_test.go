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

package frontproxy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apiserver/pkg/authentication/authenticatorfactory"
	"k8s.io/apiserver/pkg/authentication/request/headerrequest"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	clocktesting "k8s.io/utils/clock/testing"
)

type keyPair struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

var serial atomic.Int64

// issue makes a certificate for cn valid from notBefore to notAfter, signed by parent
// (self-signed, a CA, when parent is nil).
func issue(t testing.TB, cn string, parent *keyPair, notBefore, notAfter time.Time) *keyPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)), Subject: pkix.Name{CommonName: cn},
		NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	signer, signerKey := tmpl, key
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	} else {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &keyPair{cert: c, key: key}
}

func caProvider(t testing.TB, ca *keyPair) dynamiccertificates.CAContentProvider {
	t.Helper()
	p, err := dynamiccertificates.NewStaticCAContent("front-proxy-ca", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// switchable is a CA bundle that can be replaced, as a rotated configmap or file is.
type switchable struct {
	dynamiccertificates.CAContentProvider
	current atomic.Pointer[dynamiccertificates.CAContentProvider]
}

func (s *switchable) VerifyOptions() (x509.VerifyOptions, bool) {
	return (*s.current.Load()).VerifyOptions()
}

func config(ca dynamiccertificates.CAContentProvider, allowed ...string) *authenticatorfactory.RequestHeaderConfig {
	return &authenticatorfactory.RequestHeaderConfig{
		CAContentProvider:   ca,
		UsernameHeaders:     headerrequest.StaticStringSlice{"X-Remote-User"},
		UIDHeaders:          headerrequest.StaticStringSlice{"X-Remote-Uid"},
		GroupHeaders:        headerrequest.StaticStringSlice{"X-Remote-Group"},
		ExtraHeaderPrefixes: headerrequest.StaticStringSlice{"X-Remote-Extra-"},
		AllowedClientNames:  headerrequest.StaticStringSlice(allowed),
	}
}

func request(chain ...*keyPair) *http.Request {
	req := httptest.NewRequest(http.MethodGet, "/apis", nil)
	req.Header.Set("X-Remote-User", "alice")
	req.Header.Set("X-Remote-Group", "team-a")
	req.TLS = &tls.ConnectionState{}
	for _, c := range chain {
		req.TLS.PeerCertificates = append(req.TLS.PeerCertificates, c.cert)
	}
	return req
}

// TestCachedVerification: the front proxy's certificate is accepted, from the cache
// after the first time; a certificate of another CA, one that expired since it was
// cached, one whose CA left the bundle, and one with a common name not allowed are
// refused, each after a good one was cached.
func TestCachedVerification(t *testing.T) {
	now := time.Now()
	clock := clocktesting.NewFakeClock(now)
	ca := issue(t, "front-proxy-ca", nil, now.Add(-time.Hour), now.Add(24*time.Hour))
	proxy := issue(t, "front-proxy-client", ca, now.Add(-time.Hour), now.Add(time.Hour))
	other := issue(t, "front-proxy-client", issue(t, "other-ca", nil, now.Add(-time.Hour), now.Add(time.Hour)),
		now.Add(-time.Hour), now.Add(time.Hour))
	shortLived := issue(t, "front-proxy-client", ca, now.Add(-time.Hour), now.Add(30*time.Second))
	stranger := issue(t, "someone-else", ca, now.Add(-time.Hour), now.Add(time.Hour))

	bundle := &switchable{CAContentProvider: caProvider(t, ca)}
	first := caProvider(t, ca)
	bundle.current.Store(&first)
	a := newWithClock(config(bundle, "front-proxy-client"), clock)

	accept := func(what string, req *http.Request) {
		t.Helper()
		resp, ok, err := a.AuthenticateRequest(req)
		if err != nil || !ok || resp.User.GetName() != "alice" || req.Header.Get("X-Remote-User") != "" {
			t.Fatalf("%s: got %v, %v, %v (headers %v); want alice, with the headers removed", what, resp, ok, err, req.Header)
		}
	}
	refuse := func(what string, req *http.Request) {
		t.Helper()
		if resp, ok, err := a.AuthenticateRequest(req); ok || err == nil {
			t.Fatalf("%s: got %v, %v, %v; want refused with an error", what, resp, ok, err)
		}
	}
	accept("first request", request(proxy))
	if len(a.verified.Keys()) != 1 {
		t.Fatalf("cache holds %d chains after the first request, want 1", len(a.verified.Keys()))
	}
	accept("second request, from the cache", request(proxy))
	refuse("another CA's certificate", request(other))
	refuse("another CA's certificate presenting the real CA as intermediate", request(other, ca))
	refuse("a common name not allowed", request(stranger))
	if resp, ok, err := a.AuthenticateRequest(request()); ok || err != nil {
		t.Fatalf("no certificate: got %v, %v, %v; want not authenticated, no error", resp, ok, err)
	}

	accept("short-lived certificate", request(shortLived))
	clock.Step(31 * time.Second)
	refuse("the short-lived certificate after it expired", request(shortLived))

	// The front-proxy CA is replaced (revoking what it signed): the cached chain is not trusted.
	newCA := caProvider(t, issue(t, "new-front-proxy-ca", nil, now.Add(-time.Hour), now.Add(24*time.Hour)))
	bundle.current.Store(&newCA)
	refuse("the old CA's certificate after the bundle changed", request(proxy))

	// Back to the first bundle: after maxAge, a cached chain is verified again.
	bundle.current.Store(&first)
	accept("after the bundle came back", request(proxy))
	clock.Step(maxAge + time.Second)
	if _, ok := a.verified.Get(chainKey([]*x509.Certificate{proxy.cert})); ok {
		t.Fatalf("a verification is still cached after %v", maxAge)
	}
}

// BenchmarkAuthenticate measures one front-proxy request's authentication, as
// k8s.io/apiserver does it (verify every request) and with the cache.
func BenchmarkAuthenticate(b *testing.B) {
	now := time.Now()
	ca := issue(b, "front-proxy-ca", nil, now.Add(-time.Hour), now.Add(24*time.Hour))
	proxy := issue(b, "front-proxy-client", ca, now.Add(-time.Hour), now.Add(time.Hour))
	cfg := config(caProvider(b, ca), "front-proxy-client")
	run := func(b *testing.B, authenticate func(*http.Request) (bool, error)) {
		for b.Loop() {
			if ok, err := authenticate(request(proxy)); !ok || err != nil {
				b.Fatalf("refused: %v", err)
			}
		}
	}
	b.Run("impl=verify-each", func(b *testing.B) {
		a := headerrequest.NewDynamicVerifyOptionsSecure(cfg.CAContentProvider.VerifyOptions, cfg.AllowedClientNames,
			cfg.UsernameHeaders, cfg.UIDHeaders, cfg.GroupHeaders, cfg.ExtraHeaderPrefixes)
		run(b, func(r *http.Request) (bool, error) { _, ok, err := a.AuthenticateRequest(r); return ok, err })
	})
	b.Run("impl=cached", func(b *testing.B) {
		a := New(cfg)
		run(b, func(r *http.Request) (bool, error) { _, ok, err := a.AuthenticateRequest(r); return ok, err })
	})
}
