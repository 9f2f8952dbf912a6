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

package plugin

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned/scheme"
)

// resource is a kind of object the plugin acts on.
type resource struct {
	kind      string // lower-case singular, as kubectl prints it: "run"
	plural    string // the REST resource: "runs"
	shortName string // as the server advertises it: "kfprun"
	newObj    func() runtime.Object
}

var (
	experiments = resource{"experiment", "experiments", "kfpexp", func() runtime.Object { return &v1beta1.Experiment{} }}
	runs        = resource{"run", "runs", "kfprun", func() runtime.Object { return &v1beta1.Run{} }}
	jobs        = resource{"job", "jobs", "kfpjob", func() runtime.Object { return &v1beta1.Job{} }}

	allResources = []resource{experiments, runs, jobs}
)

// resourceFor finds the resource a kubectl-style type names: singular, plural or short
// name, optionally qualified by the group ("run.pipelines.kubeflow.org", as
// `kubectl get -o name` prints it).
func resourceFor(typ string) (resource, bool) {
	typ = strings.TrimSuffix(strings.ToLower(typ), "."+v1beta1.GroupName)
	for _, r := range allResources {
		if typ == r.kind || typ == r.plural || typ == r.shortName {
			return r, true
		}
	}
	return resource{}, false
}

// action is a subresource that is a verb: a POST with an empty body, answered with the
// changed object.
type action struct {
	verb      string     // the subresource and the command: "terminate"
	done      string     // what is printed after the object's name: "terminated"
	resources []resource // what it applies to; the type may be left out when there is one
	short     string
}

var actions = []action{
	{"archive", "archived", []resource{experiments, runs}, "Archive experiments (archiving their runs and disabling their jobs) or runs"},
	{"unarchive", "unarchived", []resource{experiments, runs}, "Unarchive experiments or runs"},
	{"terminate", "terminated", []resource{runs}, "Terminate runs"},
	{"retry", "retried", []resource{runs}, "Retry failed runs"},
	{"enable", "enabled", []resource{jobs}, "Enable recurring runs (jobs)"},
	{"disable", "disabled", []resource{jobs}, "Disable recurring runs (jobs)"},
}

// target is one object to act on.
type target struct {
	resource
	name string
}

// targets reads the arguments of an action as kubectl would: TYPE NAME..., or
// TYPE/NAME..., or, when the action applies to one resource only, NAME...
func (a action) targets(args []string) ([]target, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("you must say which objects: %s %s", a.verb, a.usage())
	}
	if strings.Contains(args[0], "/") {
		ts := make([]target, 0, len(args))
		for _, arg := range args {
			typ, name, _ := strings.Cut(arg, "/")
			if name == "" || strings.Contains(name, "/") {
				return nil, fmt.Errorf("%q is not TYPE/NAME: give every object as TYPE/NAME, or TYPE and then names", arg)
			}
			r, err := a.resourceFor(typ)
			if err != nil {
				return nil, err
			}
			ts = append(ts, target{r, name})
		}
		return ts, nil
	}
	r, names := resource{}, args[1:]
	if _, known := resourceFor(args[0]); !known && len(a.resources) == 1 {
		r, names = a.resources[0], args
	} else {
		var err error
		if r, err = a.resourceFor(args[0]); err != nil {
			return nil, err
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("you must specify the name of the %s: %s %s", r.kind, a.verb, a.usage())
	}
	ts := make([]target, len(names))
	for i, name := range names {
		ts[i] = target{r, name}
	}
	return ts, nil
}

// resourceFor returns the resource typ names if the action applies to it.
func (a action) resourceFor(typ string) (resource, error) {
	r, ok := resourceFor(typ)
	if !ok {
		return resource{}, fmt.Errorf("unknown resource type %q: %s %s", typ, a.verb, a.usage())
	}
	for _, allowed := range a.resources {
		if allowed.plural == r.plural {
			return r, nil
		}
	}
	return resource{}, fmt.Errorf("%s does not apply to %s: %s %s", a.verb, r.plural, a.verb, a.usage())
}

func (a action) usage() string {
	if len(a.resources) == 1 {
		return fmt.Sprintf("[%s] NAME...", a.resources[0].kind)
	}
	kinds := make([]string, len(a.resources))
	for i, r := range a.resources {
		kinds[i] = r.kind
	}
	return fmt.Sprintf("(%s) NAME...", strings.Join(kinds, "|"))
}

func newActionCommand(o *options, a action) *cobra.Command {
	printFlags := genericclioptions.NewPrintFlags(a.done).WithTypeSetter(scheme.Scheme)
	r := a.resources[len(a.resources)-1]
	cmd := &cobra.Command{
		Use:   a.verb + " " + a.usage(),
		Short: a.short,
		Long: a.short + `.

Objects are given as TYPE NAME..., or TYPE/NAME... (so the output of
kubectl get -o name can be passed on).`,
		Example: fmt.Sprintf(`  kubectl pipelines %[1]s %[2]s my-%[2]s -n team-a
  kubectl get %[3]s -n team-a -o name | xargs kubectl pipelines %[1]s -n team-a`, a.verb, r.kind, r.plural),
		RunE: func(cmd *cobra.Command, args []string) error {
			targets, err := a.targets(args)
			if err != nil {
				return err
			}
			printer, err := printFlags.ToPrinter()
			if err != nil {
				return err
			}
			cs, ns, err := o.client()
			if err != nil {
				return err
			}
			// Like kubectl delete: act on every object, report every failure.
			var errs []error
			for _, t := range targets {
				obj := t.newObj()
				err := cs.PipelinesV1beta1().RESTClient().Post().
					Namespace(ns).Resource(t.plural).Name(t.name).SubResource(a.verb).
					Do(cmd.Context()).Into(obj)
				if err == nil {
					err = printer.PrintObj(obj, o.streams.Out)
				}
				errs = append(errs, err)
			}
			return errors.Join(errs...)
		},
	}
	printFlags.AddFlags(cmd)
	return cmd
}
