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

package attack

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/pipelines-apiserver/pipelines-apiserver/test/controlplane"
)

// perm is one question for RBAC: may user do verb on group/resource[/subresource][/name] in
// namespace (empty: in every namespace)?
type perm struct {
	user, verb, group, resource, sub, name, ns string
}

func (p perm) String() string {
	r := p.resource
	if p.group != "" {
		r += "." + p.group
	}
	if p.name != "" {
		r += "/" + p.name
	}
	if p.sub != "" {
		r += " --subresource=" + p.sub
	}
	ns := "-n " + p.ns
	if p.ns == "" {
		ns = "-A"
	}
	return fmt.Sprintf("%s: can-i %s %s %s", p.user, p.verb, r, ns)
}

// oracle answers perms with the real `kubectl auth can-i`, run with the user's own
// kubeconfig (a SelfSubjectAccessReview with that user's certificate), and remembers the
// answers: RBAC does not change while the cases run.
type oracle struct {
	mu      sync.Mutex
	answers map[perm]*answer
}

type answer struct {
	once    sync.Once
	allowed bool
	err     error
}

func newOracle() *oracle { return &oracle{answers: map[perm]*answer{}} }

func (o *oracle) allowed(ctx context.Context, p perm) (bool, error) {
	o.mu.Lock()
	a, ok := o.answers[p]
	if !ok {
		a = &answer{}
		o.answers[p] = a
	}
	o.mu.Unlock()
	a.once.Do(func() { a.allowed, a.err = canI(ctx, p) })
	return a.allowed, a.err
}

// all is true when every perm is allowed.
func (o *oracle) all(ctx context.Context, perms []perm) (bool, error) {
	for _, p := range perms {
		ok, err := o.allowed(ctx, p)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// size is the number of distinct questions asked.
func (o *oracle) size() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.answers)
}

func canI(ctx context.Context, p perm) (bool, error) {
	resource := p.resource
	if p.group != "" {
		resource += "." + p.group
	}
	if p.name != "" {
		resource += "/" + p.name
	}
	args := []string{"auth", "can-i", p.verb, resource}
	if p.sub != "" {
		args = append(args, "--subresource="+p.sub)
	}
	if p.ns == "" {
		args = append(args, "--all-namespaces")
	} else {
		args = append(args, "--namespace="+p.ns)
	}
	out, _, err := env.ControlPlane().Kubectl(ctx, kubeconfigs[p.user], args...)
	// "no" exits 1; anything else that fails is a failure to ask.
	var kerr *controlplane.KubectlError
	switch answer := strings.TrimSpace(out); {
	case answer == "yes" && err == nil:
		return true, nil
	case strings.HasPrefix(answer, "no") && (err == nil || errors.As(err, &kerr) && kerr.ExitCode == 1):
		return false, nil
	default:
		return false, fmt.Errorf("%s: %q: %w", p, answer, err)
	}
}
