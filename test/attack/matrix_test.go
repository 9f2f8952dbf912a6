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
	"fmt"
	"strings"
)

// The matrix: attackers × namespaces × resources × operations × fields. Nothing here says
// whether a case should pass; expect (in attack_test.go) asks RBAC.

const group = "pipelines.kubeflow.org"

// Names in the fixtures. Both teams hold exp, pipe (version pipe-v1), run and job; only
// team-a holds exp-a and pipe-a (version pipe-a-v1), and the service account alice-runner.
const (
	sharedExp, sharedPipe, sharedVersion, sharedRun, sharedJob = "exp", "pipe", "pipe-v1", "run", "job"
	onlyAExp, onlyAPipe, onlyAVersion                          = "exp-a", "pipe-a", "pipe-a-v1"
	teamARunner, teamBOther, defaultRunner                     = "alice-runner", "other-runner", "pipeline-runner"
	// teamAMarker is in the manifest of every pipeline version of team-a: a Workflow
	// outside team-a that holds it runs team-a's pipeline.
	teamAMarker = "registry.team-a.example/secret-step"
	finalizer   = "attack.example.com/hold"
	// tenantLabel marks team-a's fixtures; team-b's deletecollection targets carry it too.
	tenantLabel = "attack.example.com/tenant"
)

type resource struct {
	plural, kind string
	// fields that name something elsewhere, for this resource's spec.
	variants []string
	actions  []string
}

var resources = []resource{
	{"experiments", "Experiment", nil, []string{"archive", "unarchive"}},
	{"pipelines", "Pipeline", nil, nil},
	{"pipelineversions", "PipelineVersion", []string{"pipeline-a"}, nil},
	{"runs", "Run", append(refVariants, "status-version"), []string{"archive", "unarchive", "terminate", "retry"}},
	{"jobs", "Job", append(refVariants, "status-author"), []string{"enable", "disable"}},
}

var (
	// metaVariants apply to every resource.
	metaVariants = []string{"labels", "finalizers", "owner-a-uid", "owner-a-name", "owner-own"}
	// refVariants name pipelines, experiments and service accounts (runs and jobs).
	refVariants = []string{"ref-ns-a", "ref-ns-a-version", "ref-name-a", "experiment-a", "sa-team-a", "sa-other", "sa-default"}
	// statusVariants are what a status write carries: metadata and spec that it must not
	// change, fields the server owns, and a plain status change.
	statusVariants = []string{"labels", "finalizers", "spec", "status-version", "status-author", "status-conditions"}
)

// Operations. Those with a body take every variant; read-only ones take none.
var (
	// Strategic-merge patch is served for these types (they are Go types, not custom
	// resources), so it is tried with every field too.
	bodyOps   = []string{"create", "apply-create", "update", "merge-patch", "json-patch", "strategic-merge-patch", "apply"}
	statusOps = []string{"status-update", "status-merge-patch", "status-apply"}
	plainOps  = []string{"get", "list", "list-all-namespaces", "watch",
		"delete-Foreground", "delete-Background", "delete-Orphan", "deletecollection"}
)

// attackCase is one request: user does op on res in ns, with variant's fields (for ops
// with a body) or action (the subresource of an action or log).
type attackCase struct {
	n            int
	user, ns, op string
	res          resource
	variant      string
	action       string
}

func (c *attackCase) String() string {
	s := fmt.Sprintf("#%d %s %s %s/%s", c.n, c.user, c.op, c.ns, c.res.plural)
	if c.action != "" {
		s += "/" + c.action
	}
	if c.variant != "" {
		s += " [" + c.variant + "]"
	}
	return s
}

// key is a name for objects the case creates: short, unique, a valid label value.
func (c *attackCase) key() string { return fmt.Sprintf("c%d", c.n) }

func (c *attackCase) isStatus() bool { return strings.HasPrefix(c.op, "status-") }

func (c *attackCase) isDelete() bool { return strings.HasPrefix(c.op, "delete-") }

// creates: the case names a new object rather than an existing one.
func (c *attackCase) creates() bool { return c.op == "create" || c.op == "apply-create" }

// mutatesTarget: on success the case changes or deletes an existing object, which in
// team-b is then one of its own.
func (c *attackCase) mutatesTarget() bool {
	switch {
	case c.creates(), c.op == "get", c.op == "list", c.op == "list-all-namespaces", c.op == "watch",
		c.op == "log", c.op == "deletecollection":
		return false
	}
	return true
}

func matrix() []*attackCase {
	var cases []*attackCase
	add := func(c attackCase) {
		c.n = len(cases)
		cases = append(cases, &c)
	}
	for _, user := range []string{bob, vera, olga} {
		for _, ns := range []string{teamA, teamB} {
			for _, r := range resources {
				variants := append(append([]string{}, metaVariants...), r.variants...)
				for _, op := range bodyOps {
					if op == "create" || op == "apply-create" {
						add(attackCase{user: user, ns: ns, op: op, res: r, variant: "plain"})
					}
					for _, v := range variants {
						add(attackCase{user: user, ns: ns, op: op, res: r, variant: v})
					}
				}
				for _, op := range statusOps {
					for _, v := range statusVariants {
						if statusVariantApplies(r, v) {
							add(attackCase{user: user, ns: ns, op: op, res: r, variant: v})
						}
					}
				}
				for _, op := range plainOps {
					add(attackCase{user: user, ns: ns, op: op, res: r})
				}
				for _, a := range r.actions {
					add(attackCase{user: user, ns: ns, op: "action", res: r, action: a})
				}
				if r.plural == "runs" {
					add(attackCase{user: user, ns: ns, op: "log", res: r, action: "log"})
				}
			}
		}
	}
	return cases
}

func statusVariantApplies(r resource, v string) bool {
	switch v {
	case "status-version":
		return r.plural == "runs"
	case "status-author":
		return r.plural == "jobs"
	}
	return true
}

// edit is what a variant writes: values at paths of the object. A request sends them as
// the whole object (create, update), as a merge patch, as JSON patch operations or as an
// apply configuration.
type edit struct {
	path  []string
	value any
}

// boundary is what a variant needs beyond the request's own RBAC: every perm, and
// crossing when the field names what does not exist in the request's namespace (an owner
// or a name of team-a), which no permission makes acceptable.
type boundary struct {
	perms    []perm
	crossing bool
	// serverOwned fields may be refused, or accepted without taking the written value.
	serverOwned bool
	// foreignOwner: an owner reference to another namespace's object may be refused, or
	// accepted as written, as Kubernetes does: it resolves in the object's own namespace
	// only (where it names nothing), so no delete of the other team reaches or waits on
	// the object; the guard checks that nothing of team-a changes either way.
	foreignOwner bool
}

func (c *attackCase) edits(f *fixtures) ([]edit, boundary) {
	var b boundary
	ownerRef := func(kind, name, uid string) []any {
		return []any{map[string]any{"apiVersion": group + "/v1beta1", "kind": kind, "name": name, "uid": uid, "blockOwnerDeletion": true}}
	}
	ref := func(m map[string]any) []edit {
		es := []edit{{[]string{"spec", "pipelineRef"}, m}}
		if c.res.plural == "jobs" { // a job that slipped through would run at once
			es = append(es, edit{[]string{"spec", "enabled"}, true}, edit{[]string{"spec", "schedule"}, map[string]any{"intervalSeconds": 1}})
		}
		return es
	}
	useSA := func(name string) boundary {
		return boundary{perms: []perm{{user: c.user, verb: "use", resource: "serviceaccounts", name: name, ns: c.ns}}}
	}
	getInA := func(resource, name string) perm {
		return perm{user: c.user, verb: "get", group: group, resource: resource, name: name, ns: teamA}
	}
	elsewhere := c.ns != teamA
	switch c.variant {
	case "plain":
		return nil, b
	case "labels":
		return []edit{{[]string{"metadata", "labels"}, map[string]any{"attack": c.key(), group + "/namespace": teamA}}}, b
	case "finalizers":
		return []edit{{[]string{"metadata", "finalizers"}, []any{finalizer}}}, b
	case "owner-a-uid":
		return []edit{{[]string{"metadata", "ownerReferences"}, ownerRef("Experiment", sharedExp, f.uid(teamA, "experiments", sharedExp))}}, boundary{foreignOwner: elsewhere}
	case "owner-a-name":
		return []edit{{[]string{"metadata", "ownerReferences"}, ownerRef("Pipeline", onlyAPipe, f.uid(teamA, "pipelines", onlyAPipe))}}, boundary{foreignOwner: elsewhere}
	case "owner-own":
		return []edit{{[]string{"metadata", "ownerReferences"}, ownerRef("Experiment", sharedExp, f.uid(c.ns, "experiments", sharedExp))}}, b
	case "ref-ns-a":
		if elsewhere {
			b.perms = []perm{getInA("pipelines", onlyAPipe), getInA("pipelineversions", onlyAVersion)}
		}
		return ref(map[string]any{"namespace": teamA, "pipelineName": onlyAPipe}), b
	case "ref-ns-a-version":
		if elsewhere {
			b.perms = []perm{getInA("pipelineversions", onlyAVersion)}
		}
		return ref(map[string]any{"namespace": teamA, "pipelineName": onlyAPipe, "versionName": onlyAVersion}), b
	case "ref-name-a":
		return ref(map[string]any{"pipelineName": onlyAPipe}), boundary{crossing: elsewhere}
	case "experiment-a":
		return []edit{{[]string{"spec", "experimentName"}, onlyAExp}}, boundary{crossing: elsewhere}
	case "sa-team-a":
		return []edit{{[]string{"spec", "serviceAccountName"}, teamARunner}}, useSA(teamARunner)
	case "sa-other":
		return []edit{{[]string{"spec", "serviceAccountName"}, teamBOther}}, useSA(teamBOther)
	case "sa-default":
		return []edit{{[]string{"spec", "serviceAccountName"}, defaultRunner}}, useSA(defaultRunner)
	case "pipeline-a":
		return []edit{{[]string{"spec", "pipelineName"}, onlyAPipe}}, boundary{crossing: elsewhere}
	case "status-version":
		return []edit{{[]string{"status", "pipelineVersion"}, onlyAVersion}}, boundary{serverOwned: true}
	case "status-author":
		return []edit{{[]string{"status", "author"}, map[string]any{"username": "alice", "groups": []any{"system:masters"}}}}, boundary{serverOwned: true}
	case "status-conditions":
		return []edit{{[]string{"status", "conditions"}, []any{map[string]any{
			"type": "Attacked", "status": "True", "reason": "Attack", "message": c.key(), "lastTransitionTime": "2026-01-01T00:00:00Z",
		}}}}, b
	case "spec":
		if c.res.plural == "runs" || c.res.plural == "jobs" {
			return ref(map[string]any{"namespace": teamA, "pipelineName": onlyAPipe}), b
		}
		return []edit{{[]string{"spec", "description"}, "changed by " + c.key()}}, b
	}
	panic("unknown variant " + c.variant)
}
