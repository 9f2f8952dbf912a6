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

// Package policy is the cluster's rule on what the pods of a pipeline's Argo Workflow
// may do beyond what any pod of the namespace may: privilege, the host's namespaces
// and files, raw pod-spec patches, Kubernetes objects created by the workflow itself,
// and templates kept outside the workflow. Creating a run is all it takes to start
// those pods, so without this rule `create runs` would be more power than the role
// granting it appears to give.
//
// Check reads a workflow as the generic JSON object kube-apiserver and Argo read, so
// any code that makes a Workflow (the KFP v1 manifest of a pipeline version, a
// compiler of the KFP v2 pipeline IR) can check what it made.
package policy

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/workflow"
)

// Policy says which of the powerful forms a workflow may use. The zero value refuses
// every one.
type Policy struct {
	// Privileged allows privileged containers, allowPrivilegeEscalation: true, added
	// capabilities, Windows host-process containers and an unmasked /proc.
	Privileged bool
	// HostNamespaces allows hostNetwork (Argo's only host namespace; hostPID and hostIPC
	// have no field in a Workflow and can only come through podSpecPatch) and host ports.
	HostNamespaces bool
	// HostPath allows hostPath volumes.
	HostPath bool
	// PodSpecPatch allows podSpecPatch, on the workflow and on templates: a patch can
	// set any field of the pod, this policy's and the service account included.
	PodSpecPatch bool
	// ResourceTemplates allows resource templates, with which the workflow creates,
	// patches or deletes any Kubernetes object its service account may.
	ResourceTemplates bool
	// TemplateRefs allows workflowTemplateRef, templateRef in steps, tasks and hooks:
	// templates stored elsewhere (WorkflowTemplates, ClusterWorkflowTemplates) that
	// this check does not see.
	TemplateRefs bool
}

// The flags that allow each class, named in refusals so the reader knows what decides.
const (
	FlagPrivileged        = "--workflow-allow-privileged"
	FlagHostNamespaces    = "--workflow-allow-host-namespaces"
	FlagHostPath          = "--workflow-allow-host-path"
	FlagPodSpecPatch      = "--workflow-allow-pod-spec-patch"
	FlagResourceTemplates = "--workflow-allow-resource-templates"
	FlagTemplateRefs      = "--workflow-allow-template-refs"
)

// Check reports every use in wf of a form the policy does not allow, each a Forbidden
// error on its path below fldPath (the path of the workflow itself).
func (p Policy) Check(wf map[string]interface{}, fldPath *field.Path) field.ErrorList {
	c := checker{p: p}
	spec, _ := wf["spec"].(map[string]interface{})
	sp := fldPath.Child("spec")
	c.flag(p.HostNamespaces, spec["hostNetwork"], sp.Child("hostNetwork"), "the host's network", FlagHostNamespaces)
	c.flag(p.PodSpecPatch, spec["podSpecPatch"], sp.Child("podSpecPatch"), "a pod spec patch", FlagPodSpecPatch)
	c.flag(p.TemplateRefs, spec["workflowTemplateRef"], sp.Child("workflowTemplateRef"), "a template stored outside the workflow", FlagTemplateRefs)
	c.podSecurityContext(spec["securityContext"], sp.Child("securityContext"))
	c.volumes(spec["volumes"], sp.Child("volumes"))
	c.hooks(spec["hooks"], sp.Child("hooks"))
	workflow.VisitTemplates(spec, sp, c.template)
	return c.errs
}

type checker struct {
	p    Policy
	errs field.ErrorList
}

// flag refuses value at path unless allowed or unset: absent, null, false, 0, "" or
// an empty list. Anything else counts as set, whatever its type, so that a
// value Argo would read differently from the schema is refused too.
func (c *checker) flag(allowed bool, value interface{}, path *field.Path, what, flag string) {
	if allowed || unset(value) {
		return
	}
	c.errs = append(c.errs, field.Forbidden(path, fmt.Sprintf("%s is not allowed by this cluster's workflow policy (%s)", what, flag)))
}

func unset(v interface{}) bool {
	switch v := v.(type) {
	case nil:
		return true
	case bool:
		return !v
	case string:
		return v == ""
	case int64:
		return v == 0
	case float64:
		return v == 0
	case []interface{}:
		return len(v) == 0
	}
	// An object, even an empty one, is set: a hostPath or a resource template is
	// refused for being there.
	return false
}

// template checks one template: the pods it makes and what else it may do.
func (c *checker) template(t map[string]interface{}, path *field.Path) {
	c.flag(c.p.PodSpecPatch, t["podSpecPatch"], path.Child("podSpecPatch"), "a pod spec patch", FlagPodSpecPatch)
	c.flag(c.p.ResourceTemplates, t["resource"], path.Child("resource"), "a resource template", FlagResourceTemplates)
	c.podSecurityContext(t["securityContext"], path.Child("securityContext"))
	c.volumes(t["volumes"], path.Child("volumes"))
	c.container(t["container"], path.Child("container"))
	c.container(t["script"], path.Child("script"))
	if set, ok := t["containerSet"].(map[string]interface{}); ok {
		c.containers(set["containers"], path.Child("containerSet", "containers"))
	}
	c.containers(t["initContainers"], path.Child("initContainers"))
	c.containers(t["sidecars"], path.Child("sidecars"))
	workflow.VisitSteps(t, path, func(s map[string]interface{}, sp *field.Path) {
		c.flag(c.p.TemplateRefs, s["templateRef"], sp.Child("templateRef"), "a template stored outside the workflow", FlagTemplateRefs)
		c.hooks(s["hooks"], sp.Child("hooks"))
	})
}

func (c *checker) hooks(v interface{}, path *field.Path) {
	hooks, _ := v.(map[string]interface{})
	for name, h := range hooks {
		if h, ok := h.(map[string]interface{}); ok {
			c.flag(c.p.TemplateRefs, h["templateRef"], path.Key(name).Child("templateRef"), "a template stored outside the workflow", FlagTemplateRefs)
		}
	}
}

func (c *checker) containers(v interface{}, path *field.Path) {
	list, _ := v.([]interface{})
	for i, ct := range list {
		c.container(ct, path.Index(i))
	}
}

func (c *checker) container(v interface{}, path *field.Path) {
	ct, ok := v.(map[string]interface{})
	if !ok {
		return
	}
	if sc, ok := ct["securityContext"].(map[string]interface{}); ok {
		sp := path.Child("securityContext")
		c.flag(c.p.Privileged, sc["privileged"], sp.Child("privileged"), "a privileged container", FlagPrivileged)
		c.flag(c.p.Privileged, sc["allowPrivilegeEscalation"], sp.Child("allowPrivilegeEscalation"), "privilege escalation", FlagPrivileged)
		if caps, ok := sc["capabilities"].(map[string]interface{}); ok {
			c.flag(c.p.Privileged, caps["add"], sp.Child("capabilities", "add"), "adding capabilities", FlagPrivileged)
		}
		c.windows(sc["windowsOptions"], sp.Child("windowsOptions"))
		if pm := sc["procMount"]; pm != "Default" {
			c.flag(c.p.Privileged, pm, sp.Child("procMount"), "an unmasked /proc", FlagPrivileged)
		}
	}
	ports, _ := ct["ports"].([]interface{})
	for i, port := range ports {
		if port, ok := port.(map[string]interface{}); ok {
			c.flag(c.p.HostNamespaces, port["hostPort"], path.Child("ports").Index(i).Child("hostPort"), "a host port", FlagHostNamespaces)
		}
	}
}

// podSecurityContext checks a pod-level security context (workflow or template).
func (c *checker) podSecurityContext(v interface{}, path *field.Path) {
	if sc, ok := v.(map[string]interface{}); ok {
		c.windows(sc["windowsOptions"], path.Child("windowsOptions"))
	}
}

func (c *checker) windows(v interface{}, path *field.Path) {
	if w, ok := v.(map[string]interface{}); ok {
		c.flag(c.p.Privileged, w["hostProcess"], path.Child("hostProcess"), "a Windows host-process container", FlagPrivileged)
	}
}

func (c *checker) volumes(v interface{}, path *field.Path) {
	list, _ := v.([]interface{})
	for i, vol := range list {
		if vol, ok := vol.(map[string]interface{}); ok {
			c.flag(c.p.HostPath, vol["hostPath"], path.Index(i).Child("hostPath"), "a hostPath volume", FlagHostPath)
		}
	}
}
