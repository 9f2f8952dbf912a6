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

package options

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/validate/content"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/workflow/policy"
)

// DefaultRunServiceAccount is the account a run's pods run as when the run names
// none: Kubeflow Pipelines' runner, which every KFP v1 manifest names.
const DefaultRunServiceAccount = "pipeline-runner"

// RunPolicyOptions are the cluster-wide rules on what a run's pods may do.
type RunPolicyOptions struct {
	// DefaultServiceAccount is the account of runs and jobs that name none.
	DefaultServiceAccount string
	// Workflow decides what pipeline versions' workflows may use.
	Workflow policy.Policy
}

// NewRunPolicyOptions returns the defaults: the KFP runner account, and every
// powerful workflow form refused.
func NewRunPolicyOptions() *RunPolicyOptions {
	return &RunPolicyOptions{DefaultServiceAccount: DefaultRunServiceAccount}
}

// AddFlags adds the flags to fs.
func (o *RunPolicyOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.DefaultServiceAccount, "default-run-service-account", o.DefaultServiceAccount,
		"The service account, in the run's namespace, that the pods of a run or job naming none run as. Using it needs no "+
			"permission; naming any other account in spec.serviceAccountName needs RBAC verb \"use\" on that serviceaccounts name. "+
			"Every pod of a run's workflow runs as the run's account: accounts named in the pipeline's manifest are replaced.")
	allow := func(p *bool, flag, what string) {
		fs.BoolVar(p, strings.TrimPrefix(flag, "--"), *p, "Allow pipeline versions whose workflow uses "+what+
			". Refused by default (422 naming the field); pipeline versions stored earlier are checked again when a run starts.")
	}
	allow(&o.Workflow.Privileged, policy.FlagPrivileged,
		"privileged containers, allowPrivilegeEscalation: true, added capabilities, Windows host-process containers or an unmasked /proc")
	allow(&o.Workflow.HostNamespaces, policy.FlagHostNamespaces, "the host's namespaces (hostNetwork) or host ports")
	allow(&o.Workflow.HostPath, policy.FlagHostPath, "hostPath volumes")
	allow(&o.Workflow.PodSpecPatch, policy.FlagPodSpecPatch,
		"podSpecPatch on the workflow or a template (a patch can set any pod field, the service account and everything this policy refuses included)")
	allow(&o.Workflow.ResourceTemplates, policy.FlagResourceTemplates,
		"resource templates (the workflow creates, patches or deletes any object its service account may)")
	allow(&o.Workflow.TemplateRefs, policy.FlagTemplateRefs,
		"workflowTemplateRef or templateRef (templates stored in WorkflowTemplates or ClusterWorkflowTemplates, which this policy does not see)")
}

// Validate reports problems with the flags.
func (o *RunPolicyOptions) Validate() []error {
	if msgs := content.IsDNS1123Subdomain(o.DefaultServiceAccount); len(msgs) > 0 {
		return []error{fmt.Errorf("--default-run-service-account %q: %s", o.DefaultServiceAccount, strings.Join(msgs, "; "))}
	}
	return nil
}
