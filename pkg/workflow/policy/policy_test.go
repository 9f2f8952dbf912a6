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

package policy

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
)

// workflowWith is a workflow whose spec has the given JSON members besides a template
// "main" with the given JSON members besides its name.
func workflowWith(t *testing.T, specMembers, templateMembers string) map[string]interface{} {
	t.Helper()
	tmpl := `{"name": "main"` + prefixComma(templateMembers) + `}`
	doc := `{"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "spec": {"entrypoint": "main", "templates": [` +
		tmpl + `]` + prefixComma(specMembers) + `}}`
	obj := map[string]interface{}{}
	if err := kjson.UnmarshalCaseSensitivePreserveInts([]byte(doc), &obj); err != nil {
		t.Fatalf("%s: %v", doc, err)
	}
	return obj
}

func prefixComma(s string) string {
	if s == "" {
		return ""
	}
	return ", " + s
}

// TestRefused: under the default policy each powerful form is refused with a
// Forbidden error on its exact path and the flag that would allow it; the flag
// allows it.
func TestRefused(t *testing.T) {
	const ctr = `"container": {"image": "busybox"`
	cases := []struct {
		name           string
		spec, template string
		path           string
		allow          func(*Policy)
	}{
		{"privileged container", "", ctr + `, "securityContext": {"privileged": true}}`,
			"spec.templates[0].container.securityContext.privileged", func(p *Policy) { p.Privileged = true }},
		{"privilege escalation", "", ctr + `, "securityContext": {"allowPrivilegeEscalation": true}}`,
			"spec.templates[0].container.securityContext.allowPrivilegeEscalation", func(p *Policy) { p.Privileged = true }},
		{"added capabilities", "", ctr + `, "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}`,
			"spec.templates[0].container.securityContext.capabilities.add", func(p *Policy) { p.Privileged = true }},
		{"unmasked proc", "", ctr + `, "securityContext": {"procMount": "Unmasked"}}`,
			"spec.templates[0].container.securityContext.procMount", func(p *Policy) { p.Privileged = true }},
		{"windows host process", "", ctr + `, "securityContext": {"windowsOptions": {"hostProcess": true}}}`,
			"spec.templates[0].container.securityContext.windowsOptions.hostProcess", func(p *Policy) { p.Privileged = true }},
		{"pod-level windows host process", `"securityContext": {"windowsOptions": {"hostProcess": true}}`, ctr + `}`,
			"spec.securityContext.windowsOptions.hostProcess", func(p *Policy) { p.Privileged = true }},
		{"privileged script", "", `"script": {"image": "python", "source": "x", "securityContext": {"privileged": true}}`,
			"spec.templates[0].script.securityContext.privileged", func(p *Policy) { p.Privileged = true }},
		{"privileged container set", "", `"containerSet": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "x", "securityContext": {"privileged": true}}]}`,
			"spec.templates[0].containerSet.containers[1].securityContext.privileged", func(p *Policy) { p.Privileged = true }},
		{"privileged init container", "", ctr + `}, "initContainers": [{"name": "i", "image": "x", "securityContext": {"privileged": true}}]`,
			"spec.templates[0].initContainers[0].securityContext.privileged", func(p *Policy) { p.Privileged = true }},
		{"privileged sidecar", "", ctr + `}, "sidecars": [{"name": "s", "image": "x", "securityContext": {"privileged": true}}]`,
			"spec.templates[0].sidecars[0].securityContext.privileged", func(p *Policy) { p.Privileged = true }},
		{"privileged template default", `"templateDefaults": {"container": {"image": "x", "securityContext": {"privileged": true}}}`, ctr + `}`,
			"spec.templateDefaults.container.securityContext.privileged", func(p *Policy) { p.Privileged = true }},
		{"privileged inline step", "", `"steps": [[{"name": "s", "inline": {"container": {"image": "x", "securityContext": {"privileged": true}}}}]]`,
			"spec.templates[0].steps[0][0].inline.container.securityContext.privileged", func(p *Policy) { p.Privileged = true }},
		{"privileged inline task", "", `"dag": {"tasks": [{"name": "t", "inline": {"container": {"image": "x", "securityContext": {"privileged": "true"}}}}]}`,
			"spec.templates[0].dag.tasks[0].inline.container.securityContext.privileged", func(p *Policy) { p.Privileged = true }},
		{"host network", `"hostNetwork": true`, ctr + `}`,
			"spec.hostNetwork", func(p *Policy) { p.HostNamespaces = true }},
		{"host port", "", ctr + `, "ports": [{"containerPort": 80, "hostPort": 80}]}`,
			"spec.templates[0].container.ports[0].hostPort", func(p *Policy) { p.HostNamespaces = true }},
		{"workflow hostPath", `"volumes": [{"name": "v", "hostPath": {"path": "/"}}]`, ctr + `}`,
			"spec.volumes[0].hostPath", func(p *Policy) { p.HostPath = true }},
		{"template hostPath", "", ctr + `}, "volumes": [{"name": "ok", "emptyDir": {}}, {"name": "v", "hostPath": {"path": "/"}}]`,
			"spec.templates[0].volumes[1].hostPath", func(p *Policy) { p.HostPath = true }},
		{"workflow podSpecPatch", `"podSpecPatch": "{\"hostPID\": true}"`, ctr + `}`,
			"spec.podSpecPatch", func(p *Policy) { p.PodSpecPatch = true }},
		{"template podSpecPatch", "", ctr + `}, "podSpecPatch": "{\"serviceAccountName\": \"admin\"}"`,
			"spec.templates[0].podSpecPatch", func(p *Policy) { p.PodSpecPatch = true }},
		{"template default podSpecPatch", `"templateDefaults": {"podSpecPatch": "{}"}`, ctr + `}`,
			"spec.templateDefaults.podSpecPatch", func(p *Policy) { p.PodSpecPatch = true }},
		{"resource template", "", `"resource": {"action": "create", "manifest": "apiVersion: v1\nkind: Pod"}`,
			"spec.templates[0].resource", func(p *Policy) { p.ResourceTemplates = true }},
		{"workflowTemplateRef", `"workflowTemplateRef": {"name": "elsewhere"}`, ctr + `}`,
			"spec.workflowTemplateRef", func(p *Policy) { p.TemplateRefs = true }},
		{"step templateRef", "", `"steps": [[{"name": "s", "templateRef": {"name": "w", "template": "t", "clusterScope": true}}]]`,
			"spec.templates[0].steps[0][0].templateRef", func(p *Policy) { p.TemplateRefs = true }},
		{"task templateRef", "", `"dag": {"tasks": [{"name": "t", "templateRef": {"name": "w", "template": "t"}}]}`,
			"spec.templates[0].dag.tasks[0].templateRef", func(p *Policy) { p.TemplateRefs = true }},
		{"workflow hook templateRef", `"hooks": {"exit": {"templateRef": {"name": "w", "template": "t"}}}`, ctr + `}`,
			"spec.hooks[exit].templateRef", func(p *Policy) { p.TemplateRefs = true }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wf := workflowWith(t, c.spec, c.template)
			errs := Policy{}.Check(wf, field.NewPath("spec", "workflow"))
			want := "spec.workflow." + c.path
			if len(errs) != 1 || errs[0].Type != field.ErrorTypeForbidden || errs[0].Field != want {
				t.Fatalf("got %v, want one Forbidden error on %s", errs, want)
			}
			if !strings.Contains(errs[0].Detail, "--workflow-allow-") {
				t.Errorf("%q does not name the flag that allows it", errs[0].Detail)
			}
			var allowing Policy
			c.allow(&allowing)
			if errs := allowing.Check(wf, field.NewPath("spec", "workflow")); len(errs) != 0 {
				t.Errorf("allowed by %+v, still refused: %v", allowing, errs)
			}
		})
	}
}

// TestSafeFormsAllowed: the forms of the same fields that give no power pass under the
// default policy.
func TestSafeFormsAllowed(t *testing.T) {
	for name, c := range map[string]struct{ spec, template string }{
		"unprivileged": {"", `"container": {"image": "x", "securityContext": {"privileged": false, "allowPrivilegeEscalation": false,
			"runAsNonRoot": true, "capabilities": {"drop": ["ALL"], "add": []}, "procMount": "Default"}}`},
		"host network off":   {`"hostNetwork": false, "securityContext": {"runAsUser": 1000}`, `"container": {"image": "x"}`},
		"ports":              {"", `"container": {"image": "x", "ports": [{"containerPort": 80}]}`},
		"other volumes":      {`"volumes": [{"name": "a", "emptyDir": {}}, {"name": "b", "secret": {"secretName": "s"}}]`, `"container": {"image": "x"}`},
		"empty podSpecPatch": {`"podSpecPatch": ""`, `"container": {"image": "x"}`},
		"local templates":    {"", `"steps": [[{"name": "s", "template": "main"}]], "dag": {"tasks": [{"name": "t", "template": "main"}]}`},
	} {
		t.Run(name, func(t *testing.T) {
			if errs := (Policy{}).Check(workflowWith(t, c.spec, c.template), field.NewPath("spec", "workflow")); len(errs) != 0 {
				t.Errorf("refused: %v", errs)
			}
		})
	}
}

// TestKFPv1Allowed: every workflow the KFP v1 SDK compiled in the shared test data
// passes the default policy.
func TestKFPv1Allowed(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "..", "shared", "testdata", "kfp-v1"))
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) || len(files) == 0 {
		const env = "PIPELINES_REQUIRE_TESTDEPS"
		if os.Getenv(env) == "1" {
			t.Fatalf("no KFP v1 compiler output in %s; %s=1 requires it", dir, env)
		}
		t.Skipf("no KFP v1 compiler output in %s (the shared test data beside the repository); set %s=1 to fail instead", dir, env)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		js, err := utilyaml.ToJSON(raw)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		obj := map[string]interface{}{}
		if err := kjson.UnmarshalCaseSensitivePreserveInts(js, &obj); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if errs := (Policy{}).Check(obj, field.NewPath("spec", "workflow")); len(errs) != 0 {
			t.Errorf("%s refused by the default policy: %v", filepath.Base(f), errs)
		}
	}
	t.Logf("%d KFP v1 workflows pass the default policy", len(files))
}
