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
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/controlplane"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/framework"
)

// workers is how many cases run at once: enough to keep two cores busy while requests
// wait on the network and the database.
const workers = 8

// outcome is what RBAC and the case's fields say should happen.
type outcome int

const (
	// denied: RBAC does not grant the request: 403.
	denied outcome = iota
	// refused: RBAC grants the request, but a field crosses a boundary: 403 or 422, as the
	// server decides (415 counts too: a patch type not served changes nothing).
	refused
	// allowed: it succeeds, with exactly the effect asked for.
	allowed
	// allowedOrRefused: it sets fields the server owns: refused, or accepted with those
	// fields as they were; or it names an owner in another namespace: refused, or
	// accepted as written.
	allowedOrRefused
)

func (o outcome) String() string {
	return [...]string{"denied by RBAC (403)", "refused (403/415/422)", "allowed", "refused, or allowed ignoring server-owned fields"}[o]
}

func (o outcome) accepts(code int) bool {
	ok := code >= 200 && code < 300
	no := code == http.StatusForbidden || code == http.StatusUnsupportedMediaType || code == http.StatusUnprocessableEntity
	switch o {
	case denied:
		return code == http.StatusForbidden
	case refused:
		return no
	case allowed:
		return ok
	}
	return ok || no
}

type tester struct {
	fx *fixtures
	// snapshot is team-a before the cases (fixtures.teamA).
	snapshot map[string]string
	oracle   *oracle
	clients  map[string]rest.Interface
}

// TestAttackMatrix runs the matrix (matrix.go) and checks each case against RBAC, then
// team-a's objects, and at the end everything the guard saw.
func TestAttackMatrix(t *testing.T) {
	env := setup(t)
	ctx := t.Context()
	admin := env.Client(t, framework.AdminUser).PipelinesV1beta1().RESTClient()
	tr := &tester{fx: &fixtures{admin: admin, uids: map[string]string{}}, oracle: newOracle(), clients: map[string]rest.Interface{}}
	for user, kubeconfig := range kubeconfigs {
		cfg, err := controlplane.RESTConfig(kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		cfg.QPS, cfg.Burst = 200, 400
		c, err := versioned.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		tr.clients[user] = c.PipelinesV1beta1().RESTClient()
	}
	begin := time.Now()
	if err := tr.fx.setUp(ctx); err != nil {
		t.Fatal(err)
	}
	snapshot, err := tr.fx.teamA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tr.snapshot = snapshot
	g := &guard{snapshot: snapshot}
	guardCtx, stopGuard := context.WithCancel(ctx)
	if err := g.start(guardCtx, dynamic.NewForConfigOrDie(env.ControlPlane().AdminRESTConfig())); err != nil {
		t.Fatal(err)
	}
	t.Logf("fixtures ready in %v: %d objects in team-a", time.Since(begin).Round(time.Millisecond), len(snapshot))

	cases := matrix()
	var next atomic.Int64
	var mu sync.Mutex
	var failures []string
	tally := map[string]int{}
	var wg sync.WaitGroup
	begin = time.Now()
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(cases) && ctx.Err() == nil; i = int(next.Add(1)) - 1 {
				c := cases[i]
				exp, err := tr.run(ctx, c)
				mu.Lock()
				tally[exp.String()]++
				if err != nil {
					failures = append(failures, fmt.Sprintf("%s: want %s: %v", c, exp, err))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(begin)

	// Controllers act on what slipped through (a job's next run) after the request: give
	// them a moment, then compare all of team-a once more.
	time.Sleep(3 * time.Second)
	final, err := tr.fx.teamA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for key, was := range snapshot {
		if now, ok := final[key]; !ok {
			g.record(teamA+"/"+key, "%s is gone from team-a", key)
		} else if now != was {
			g.record(teamA+"/"+key, "%s of team-a differs from before the cases", key)
		}
	}
	for key := range final {
		if _, ok := snapshot[key]; !ok {
			g.record(teamA+"/"+key, "%s is new in team-a", key)
		}
	}
	stopGuard()
	g.wg.Wait()

	sort.Strings(failures)
	for _, f := range failures {
		t.Error(f)
	}
	changes := g.seen()
	for _, c := range changes {
		t.Errorf("cross-tenant change: %s", c)
	}
	var outcomes []string
	for o, n := range tally {
		outcomes = append(outcomes, fmt.Sprintf("%s: %d", o, n))
	}
	sort.Strings(outcomes)
	t.Logf("cases by expected outcome: %s; %d distinct kubectl auth can-i questions; %v",
		strings.Join(outcomes, ", "), tr.oracle.size(), elapsed.Round(time.Millisecond))
	t.Logf("attack: %d cases, %d failed, %d cross-tenant changes", len(cases), len(failures), len(changes))
}

// expect derives a case's outcome from RBAC and its fields.
func (tr *tester) expect(ctx context.Context, c *attackCase) (outcome, error) {
	ok := false
	for _, alt := range c.rbac() {
		all, err := tr.oracle.all(ctx, alt)
		if err != nil {
			return denied, err
		}
		ok = ok || all
	}
	switch {
	case !ok:
		return denied, nil
	case c.variant == "":
		return allowed, nil
	}
	_, b := c.edits(tr.fx)
	if b.crossing {
		return refused, nil
	}
	if ok, err := tr.oracle.all(ctx, b.perms); err != nil || !ok {
		return refused, err
	}
	if b.serverOwned || b.foreignOwner || c.isStatus() && c.variant != "status-conditions" {
		return allowedOrRefused, nil
	}
	return allowed, nil
}

// rbac is what the request needs from RBAC: any one of the alternatives, each a list of
// perms that must all be granted.
func (c *attackCase) rbac() [][]perm {
	p := func(verb, sub string) perm {
		return perm{user: c.user, verb: verb, group: group, resource: c.res.plural, sub: sub, ns: c.ns}
	}
	switch c.op {
	case "create":
		return [][]perm{{p("create", "")}}
	case "apply-create":
		return [][]perm{{p("patch", ""), p("create", "")}}
	case "update":
		return [][]perm{{p("update", "")}}
	case "merge-patch", "json-patch", "strategic-merge-patch", "apply":
		return [][]perm{{p("patch", "")}}
	case "status-update":
		return [][]perm{{p("update", "status")}}
	case "status-merge-patch", "status-apply":
		return [][]perm{{p("patch", "status")}}
	case "get", "list", "watch":
		return [][]perm{{p(c.op, "")}}
	case "list-all-namespaces":
		all := p("list", "")
		all.ns = ""
		return [][]perm{{all}}
	case "deletecollection":
		return [][]perm{{p("deletecollection", "")}}
	case "action":
		// Kubeflow's roles grant the action as a verb on the resource (issue 13).
		return [][]perm{{p("create", c.action)}, {p(c.action, "")}}
	case "log":
		return [][]perm{{p("get", "log")}}
	}
	if c.isDelete() {
		return [][]perm{{p("delete", "")}}
	}
	panic("unknown op " + c.op)
}

// run prepares, sends and checks one case.
func (tr *tester) run(ctx context.Context, c *attackCase) (outcome, error) {
	exp, err := tr.expect(ctx, c)
	if err != nil {
		return exp, fmt.Errorf("asking RBAC: %w", err)
	}
	target, err := tr.target(ctx, c, exp)
	if err != nil {
		return exp, err
	}
	var before obj
	if !c.creates() && c.op != "deletecollection" && c.op != "list" && c.op != "list-all-namespaces" && c.op != "watch" {
		if before, _, err = tr.fx.get(ctx, c.ns, c.res.plural, target); err != nil || before == nil {
			return exp, fmt.Errorf("reading the target %s/%s as admin: %v", c.ns, target, err)
		}
	}
	code, body, err := tr.send(ctx, c, target, before)
	if err != nil {
		return exp, fmt.Errorf("sending: %w", err)
	}
	if !exp.accepts(code) {
		return exp, fmt.Errorf("got %d: %.300s", code, body)
	}
	if code < 300 {
		if err := tr.effect(ctx, c, target, before, body); err != nil {
			return exp, fmt.Errorf("got %d, but %w", code, err)
		}
	}
	return exp, tr.readBack(ctx, c, target)
}

// target names the object a case acts on. In team-a it is the shared fixture (or a twin,
// for deletes): no attacker should change it. In team-b a request RBAC allows gets an
// object of its own, so no case sees another's effects; a denied one aims at the shared
// fixture, which it must not change either.
func (tr *tester) target(ctx context.Context, c *attackCase, exp outcome) (string, error) {
	switch {
	case c.creates():
		return c.key(), nil
	case c.ns == teamA && c.isDelete():
		return twin(c.user, c.op), nil
	case c.ns == teamA || exp == denied || !c.mutatesTarget() && c.op != "deletecollection":
		switch c.res.plural {
		case "experiments":
			return sharedExp, nil
		case "pipelines":
			return sharedPipe, nil
		case "pipelineversions":
			return sharedVersion, nil
		case "runs":
			return sharedRun, nil
		}
		return sharedJob, nil
	}
	name := c.key()
	var labels obj
	switch {
	case c.isDelete():
		name = twin(c.user, c.op) // the same name as team-a's twin
	case c.op == "deletecollection":
		labels = obj{tenantLabel: "a"} // the same label as team-a's objects
	}
	create := tr.fx.createWithDependent
	if !c.isDelete() && c.op != "deletecollection" {
		create = tr.fx.createAlone
	}
	if err := create(ctx, c.res, c.ns, name, labels); err != nil {
		return "", err
	}
	if c.action == "retry" {
		patch := obj{"status": obj{"phase": "Failed"}}
		code, raw, err := do(ctx, tr.fx.admin, http.MethodPatch, path(c.ns, "runs", name, "status"), "application/merge-patch+json", patch, nil)
		if err != nil || code != http.StatusOK {
			return "", fmt.Errorf("admin failing run %s: %d %v %.200s", name, code, err, raw)
		}
	}
	return name, nil
}

// send makes the case's request as its user.
func (tr *tester) send(ctx context.Context, c *attackCase, target string, before obj) (int, []byte, error) {
	cl := tr.clients[c.user]
	var edits []edit
	if c.variant != "" {
		edits, _ = c.edits(tr.fx)
	}
	applyParams := map[string]string{"fieldManager": "attack-" + c.user, "force": "true"}
	var sub []string
	if c.isStatus() {
		sub = []string{"status"}
	}
	switch c.op {
	case "create":
		return do(ctx, cl, http.MethodPost, path(c.ns, c.res.plural, ""), "application/json", withEdits(base(c.res, c.ns, target), edits), nil)
	case "apply-create":
		return do(ctx, cl, http.MethodPatch, path(c.ns, c.res.plural, target), "application/apply-patch+yaml", withEdits(base(c.res, c.ns, target), edits), applyParams)
	case "update", "status-update":
		// Unconditional, as the strategies allow: the controllers may have written the
		// object since it was read.
		body := deepCopy(before)
		delete(body["metadata"].(obj), "resourceVersion")
		return do(ctx, cl, http.MethodPut, path(c.ns, c.res.plural, target, sub...), "application/json", withEdits(body, edits), nil)
	case "merge-patch", "status-merge-patch":
		return do(ctx, cl, http.MethodPatch, path(c.ns, c.res.plural, target, sub...), "application/merge-patch+json", withEdits(obj{}, edits), nil)
	case "strategic-merge-patch":
		return do(ctx, cl, http.MethodPatch, path(c.ns, c.res.plural, target), "application/strategic-merge-patch+json", withEdits(obj{}, edits), nil)
	case "json-patch":
		var ops []any
		for _, e := range edits {
			ops = append(ops, obj{"op": "add", "path": "/" + strings.Join(e.path, "/"), "value": e.value})
		}
		return do(ctx, cl, http.MethodPatch, path(c.ns, c.res.plural, target), "application/json-patch+json", ops, nil)
	case "apply", "status-apply":
		config := obj{"apiVersion": group + "/v1beta1", "kind": c.res.kind, "metadata": obj{"name": target, "namespace": c.ns}}
		return do(ctx, cl, http.MethodPatch, path(c.ns, c.res.plural, target, sub...), "application/apply-patch+yaml", withEdits(config, edits), applyParams)
	case "get":
		return do(ctx, cl, http.MethodGet, path(c.ns, c.res.plural, target), "", nil, nil)
	case "list":
		return do(ctx, cl, http.MethodGet, path(c.ns, c.res.plural, ""), "", nil, nil)
	case "list-all-namespaces":
		return do(ctx, cl, http.MethodGet, path("", c.res.plural, ""), "", nil, nil)
	case "watch":
		// The server ends the watch after a second; the body holds what it sent.
		return do(ctx, cl, http.MethodGet, path(c.ns, c.res.plural, ""), "", nil, map[string]string{"watch": "true", "timeoutSeconds": "1"})
	case "deletecollection":
		return do(ctx, cl, http.MethodDelete, path(c.ns, c.res.plural, ""), "", nil, map[string]string{"labelSelector": tenantLabel + "=a"})
	case "action":
		return do(ctx, cl, http.MethodPost, path(c.ns, c.res.plural, target, c.action), "application/json", nil, nil)
	case "log":
		return do(ctx, cl, http.MethodGet, path(c.ns, c.res.plural, target, "log"), "", nil, nil)
	}
	policy := strings.TrimPrefix(c.op, "delete-")
	return do(ctx, cl, http.MethodDelete, path(c.ns, c.res.plural, target), "application/json",
		obj{"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": policy}, nil)
}

// effect checks that an accepted request did exactly what it asked, and no more.
func (tr *tester) effect(ctx context.Context, c *attackCase, target string, before obj, body []byte) error {
	switch c.op {
	case "get":
		o, err := decode(body)
		if err != nil {
			return err
		}
		if ns := o["metadata"].(obj)["namespace"]; ns != c.ns {
			return fmt.Errorf("it returned an object of namespace %v", ns)
		}
		return nil
	case "list", "list-all-namespaces":
		var list struct{ Items []obj }
		if err := json.Unmarshal(body, &list); err != nil {
			return err
		}
		for _, o := range list.Items {
			if ns := o["metadata"].(obj)["namespace"]; c.op == "list" && ns != c.ns {
				return fmt.Errorf("it listed an object of namespace %v", ns)
			}
		}
		return nil
	case "watch":
		dec := json.NewDecoder(strings.NewReader(string(body)))
		for dec.More() {
			var ev struct{ Object obj }
			if err := dec.Decode(&ev); err != nil {
				return fmt.Errorf("decoding the watch: %w", err)
			}
			if m, _ := ev.Object["metadata"].(obj); m != nil && m["namespace"] != c.ns {
				return fmt.Errorf("the watch sent an object of namespace %v", m["namespace"])
			}
		}
		return nil
	case "log":
		return nil
	case "deletecollection":
		return tr.gone(ctx, c.ns, c.res.plural, c.key())
	}
	if c.isDelete() {
		if err := tr.gone(ctx, c.ns, c.res.plural, target); err != nil {
			return err
		}
		if dep := dependent(c.res); dep.plural != "" && c.op == "delete-Orphan" {
			if o, _, err := tr.fx.get(ctx, c.ns, dep.plural, target+"-dep"); err != nil || o == nil {
				return fmt.Errorf("the orphaned %s %s-dep is gone: %v", dep.plural, target, err)
			}
		}
		return nil
	}
	var edits []edit
	var b boundary
	if c.variant != "" {
		edits, b = c.edits(tr.fx)
	}
	after, code, err := tr.fx.get(ctx, c.ns, c.res.plural, target)
	if b.foreignOwner && code == http.StatusNotFound {
		return nil // its owner is absent from its namespace: swept, as Kubernetes' collector would
	}
	if err != nil || after == nil {
		return fmt.Errorf("reading %s/%s back: %d %v", c.ns, target, code, err)
	}
	if c.op == "action" {
		want := map[string][]any{
			"archive": {"status", "storageState", "Archived"}, "unarchive": {"status", "storageState", "Available"},
			"enable": {"spec", "enabled", true}, "disable": {"spec", "enabled", false},
		}[c.action]
		if want != nil {
			if got := at(after, want[0].(string), want[1].(string)); got != want[2] {
				return fmt.Errorf("%s.%s is %v, want %v", want[0], want[1], got, want[2])
			}
		}
		return nil
	}
	for _, e := range edits {
		got := at(after, e.path...)
		// What the request may not write: metadata and spec through status, status
		// through the resource, and fields the server owns anywhere.
		keep := c.isStatus() != (e.path[0] == "status") || b.serverOwned
		switch {
		case keep && before != nil && !reflect.DeepEqual(got, at(before, e.path...)):
			return fmt.Errorf("%s changed to %v, was %v", strings.Join(e.path, "."), got, at(before, e.path...))
		case keep && before == nil && contains(got, normalize(e.value)):
			return fmt.Errorf("%s took the value written, %v", strings.Join(e.path, "."), got)
		case !keep && !contains(got, normalize(e.value)):
			return fmt.Errorf("%s is %v, want %v", strings.Join(e.path, "."), got, e.value)
		}
	}
	return nil
}

// gone checks that an object was deleted, or is being deleted (finalizers, foreground).
func (tr *tester) gone(ctx context.Context, ns, res, name string) error {
	o, code, err := tr.fx.get(ctx, ns, res, name)
	switch {
	case err != nil:
		return err
	case code == http.StatusNotFound:
		return nil
	case o != nil && at(o, "metadata", "deletionTimestamp") != nil:
		return nil
	}
	return fmt.Errorf("%s %s/%s still exists (%d)", res, ns, name, code)
}

// readBack reads the team-a objects the case named, as admin, and checks they are as
// before the cases (the guard also sees every change to team-a, from any case).
func (tr *tester) readBack(ctx context.Context, c *attackCase, target string) error {
	type ref struct{ res, name string }
	var refs []ref
	switch {
	case c.ns == teamA && c.creates():
		if _, code, _ := tr.fx.get(ctx, teamA, c.res.plural, target); code != http.StatusNotFound {
			return fmt.Errorf("%s/%s exists in team-a (%d)", c.res.plural, target, code)
		}
	case c.ns == teamA:
		refs = append(refs, ref{c.res.plural, target})
		if dep := dependent(c.res); c.isDelete() && dep.plural != "" {
			refs = append(refs, ref{dep.plural, target + "-dep"})
		}
	case c.isDelete(): // its twin in team-a, and what the twin owns
		name := twin(c.user, c.op)
		refs = append(refs, ref{c.res.plural, name})
		if dep := dependent(c.res); dep.plural != "" {
			refs = append(refs, ref{dep.plural, name + "-dep"})
		}
	}
	switch c.variant {
	case "owner-a-uid", "experiment-a":
		refs = append(refs, ref{"experiments", sharedExp}, ref{"experiments", onlyAExp})
	case "owner-a-name", "ref-ns-a", "ref-ns-a-version", "ref-name-a", "pipeline-a", "spec":
		refs = append(refs, ref{"pipelines", onlyAPipe}, ref{"pipelineversions", onlyAVersion})
	}
	for _, r := range refs {
		o, code, err := tr.fx.get(ctx, teamA, r.res, r.name)
		if err != nil || o == nil {
			return fmt.Errorf("reading %s/%s of team-a back: %d %v", r.res, r.name, code, err)
		}
		if was := tr.snapshot[r.res+"/"+r.name]; identity(o) != was {
			return fmt.Errorf("%s/%s of team-a changed: %s, was %s", r.res, r.name, identity(o), was)
		}
	}
	return nil
}

// at is the value at path in o, nil when absent.
func at(o obj, path ...string) any {
	var v any = o
	for _, p := range path {
		m, ok := v.(obj)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// withEdits sets each edit's value in o and returns o.
func withEdits(o obj, edits []edit) obj {
	for _, e := range edits {
		m := o
		for _, p := range e.path[:len(e.path)-1] {
			next, ok := m[p].(obj)
			if !ok {
				next = obj{}
				m[p] = next
			}
			m = next
		}
		m[e.path[len(e.path)-1]] = e.value
	}
	return o
}

func deepCopy(o obj) obj {
	raw, _ := json.Marshal(o)
	var c obj
	_ = json.Unmarshal(raw, &c)
	return c
}

// normalize gives v the types JSON decoding gives (float64 numbers, []any, obj).
func normalize(v any) any {
	raw, _ := json.Marshal(v)
	var n any
	_ = json.Unmarshal(raw, &n)
	return n
}

// contains: got holds want; maps and lists may hold more (labels the server adds, its own
// owner reference).
func contains(got, want any) bool {
	switch w := want.(type) {
	case obj:
		g, ok := got.(obj)
		if !ok {
			return false
		}
		for k, v := range w {
			if !contains(g[k], v) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok {
			return len(w) == 0
		}
		for _, wv := range w {
			if !slices.ContainsFunc(g, func(gv any) bool { return contains(gv, wv) }) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(got, want)
}
