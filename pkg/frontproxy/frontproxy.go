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

// Package frontproxy authenticates requests that kube-apiserver, the front proxy,
// forwards with its client certificate and the caller's identity in headers, as
// k8s.io/apiserver's request-header authenticator does, but verifies each
// certificate chain once and remembers the result until the chain expires, the CA
// bundle changes or a short time passes, instead of on every request: kube-apiserver
// presents the same certificate on every request, and the chain's signature checks
// were 7.7 % of this server's CPU during creates (docs/performance.md).
package frontproxy

import (
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"net/http"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/util/cache"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/authenticatorfactory"
	"k8s.io/apiserver/pkg/authentication/request/headerrequest"
	"k8s.io/utils/clock"
)

// maxAge bounds how long a verification is trusted, so that a certificate the CA
// bundle no longer vouches for through a change the bundle's identity does not show
// is refused soon.
const maxAge = time.Minute

// maxEntries bounds the cache: a front proxy has a handful of certificates, and
// anyone else's chains that verify are few too (failures are never cached).
const maxEntries = 64

// Authenticator is the front proxy's request-header authenticator with a cache of
// verified certificate chains.
type Authenticator struct {
	cfg      *authenticatorfactory.RequestHeaderConfig
	headers  authenticator.Request
	verified *cache.LRUExpireCache
	clock    clock.PassiveClock
}

var _ authenticator.Request = &Authenticator{}

// New returns the authenticator of cfg, the request-header configuration
// k8s.io/apiserver's authentication options produce.
func New(cfg *authenticatorfactory.RequestHeaderConfig) *Authenticator {
	return newWithClock(cfg, clock.RealClock{})
}

func newWithClock(cfg *authenticatorfactory.RequestHeaderConfig, c clock.PassiveClock) *Authenticator {
	return &Authenticator{
		cfg:      cfg,
		headers:  headerrequest.NewDynamic(cfg.UsernameHeaders, cfg.UIDHeaders, cfg.GroupHeaders, cfg.ExtraHeaderPrefixes),
		verified: cache.NewLRUExpireCacheWithClock(maxEntries, c),
		clock:    c,
	}
}

// entry is a verified chain: valid while the CA bundle is the one it was verified
// against (its pool is replaced when the bundle's content changes).
type entry struct {
	roots *x509.CertPool
}

// AuthenticateRequest implements authenticator.Request: a request whose client
// certificate chain the front-proxy CA signs, with an allowed common name, is the
// user its headers name.
func (a *Authenticator) AuthenticateRequest(req *http.Request) (*authenticator.Response, bool, error) {
	if req.TLS == nil || len(req.TLS.PeerCertificates) == 0 {
		return nil, false, nil
	}
	opts, ok := a.cfg.CAContentProvider.VerifyOptions()
	if !ok {
		return nil, false, nil
	}
	if err := a.verify(req.TLS.PeerCertificates, opts); err != nil {
		return nil, false, err
	}
	if names := a.cfg.AllowedClientNames.Value(); len(names) > 0 {
		if cn := req.TLS.PeerCertificates[0].Subject.CommonName; !slices.Contains(names, cn) {
			return nil, false, fmt.Errorf("x509: subject with cn=%s is not in the allowed list", cn)
		}
	}
	return a.headers.AuthenticateRequest(req)
}

// verify verifies chain against opts, or finds that it was verified against the same
// roots before and has not expired since.
func (a *Authenticator) verify(chain []*x509.Certificate, opts x509.VerifyOptions) error {
	key := chainKey(chain)
	now := a.clock.Now()
	if v, ok := a.verified.Get(key); ok && v.(entry).roots == opts.Roots && now.Before(notAfter(chain)) {
		return nil
	}
	if opts.Intermediates == nil && len(chain) > 1 {
		opts.Intermediates = x509.NewCertPool()
		for _, c := range chain[1:] {
			opts.Intermediates.AddCert(c)
		}
	}
	opts.CurrentTime = now
	if _, err := chain[0].Verify(opts); err != nil {
		return err
	}
	if ttl := min(notAfter(chain).Sub(now), maxAge); ttl > 0 {
		a.verified.Add(key, entry{roots: opts.Roots}, ttl)
	}
	return nil
}

// chainKey identifies a chain by the bytes of its certificates.
func chainKey(chain []*x509.Certificate) [sha256.Size]byte {
	h := sha256.New()
	for _, c := range chain {
		h.Write(c.Raw) // DER carries its length: the concatenation is unambiguous
	}
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

// notAfter is when the first certificate of chain expires.
func notAfter(chain []*x509.Certificate) time.Time {
	t := chain[0].NotAfter
	for _, c := range chain[1:] {
		if c.NotAfter.Before(t) {
			t = c.NotAfter
		}
	}
	return t
}
