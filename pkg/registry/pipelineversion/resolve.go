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

package pipelineversion

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/pipelinespec"
)

// Resolver finds the pipeline version a run or job refers to.
type Resolver struct {
	Pipelines rest.Getter
	Versions  rest.Getter
	// Authorizer decides whether the caller may use a pipeline of another namespace:
	// kube-apiserver, asked with a SubjectAccessReview for the caller's user, groups
	// and extra.
	Authorizer authorizer.Authorizer
}

// Resolve returns the version ref names: its versionName, or the pipeline's latest
// version. Mistakes in ref are field errors on fldPath; a pipeline of another
// namespace that the caller may not read is a Forbidden error.
func (r *Resolver) Resolve(ctx context.Context, ref pipelines.PipelineRef, fldPath *field.Path) (*pipelines.PipelineVersion, field.ErrorList, error) {
	if !validName(ref.PipelineName) || (ref.VersionName != "" && !validName(ref.VersionName)) ||
		(ref.Namespace != "" && len(apimachineryvalidation.ValidateNamespaceName(ref.Namespace, false)) > 0) {
		return nil, nil, nil // validation names the field
	}
	ns, _ := genericapirequest.NamespaceFrom(ctx)
	if ref.Namespace != "" && ref.Namespace != ns {
		ns = ref.Namespace
		ctx = genericapirequest.WithNamespace(ctx, ns)
	} else {
		ref.Namespace = ""
	}
	name := ref.VersionName
	if name == "" {
		if err := r.authorize(ctx, ref.Namespace, "pipelines", ref.PipelineName); err != nil {
			return nil, nil, err
		}
		obj, err := r.Pipelines.Get(ctx, ref.PipelineName, &metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, field.ErrorList{field.NotFound(fldPath.Child("pipelineName"), ref.PipelineName)}, nil
		}
		if err != nil {
			return nil, nil, err
		}
		name = obj.(*pipelines.Pipeline).Status.LatestVersion
		if name == "" {
			return nil, field.ErrorList{field.Invalid(fldPath.Child("pipelineName"), ref.PipelineName,
				"the pipeline has no versions yet")}, nil
		}
	}
	if err := r.authorize(ctx, ref.Namespace, "pipelineversions", name); err != nil {
		return nil, nil, err
	}
	obj, err := r.Versions.Get(ctx, name, &metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, field.ErrorList{field.NotFound(fldPath.Child("versionName"), name)}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	v := obj.(*pipelines.PipelineVersion)
	if v.Spec.PipelineName != ref.PipelineName {
		return nil, field.ErrorList{field.Invalid(fldPath.Child("versionName"), name,
			fmt.Sprintf("is a version of pipeline %q, not %q", v.Spec.PipelineName, ref.PipelineName))}, nil
	}
	return v, nil, nil
}

// authorize checks that the caller may get name, of resource, in ns: only for
// another namespace than the request's (ns is empty otherwise), where RBAC on the
// request itself says nothing.
func (r *Resolver) authorize(ctx context.Context, ns, resource, name string) error {
	if ns == "" {
		return nil
	}
	gr := pipelines.Resource(resource)
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok {
		return apierrors.NewForbidden(gr, name, fmt.Errorf("no user to authorize in namespace %q", ns))
	}
	decision, reason, err := r.Authorizer.Authorize(ctx, authorizer.AttributesRecord{
		User:            u,
		Verb:            "get",
		Namespace:       ns,
		APIGroup:        pipelines.GroupName,
		APIVersion:      v1beta1.SchemeGroupVersion.Version,
		Resource:        resource,
		Name:            name,
		ResourceRequest: true,
	})
	if decision == authorizer.DecisionAllow {
		return nil
	}
	msg := fmt.Sprintf("user %q cannot get %s %q in namespace %q, which using a pipeline of that namespace needs",
		u.GetName(), resource, name, ns)
	if reason != "" {
		msg += ": " + reason
	}
	if err != nil {
		msg += ": " + err.Error()
	}
	return apierrors.NewForbidden(gr, name, fmt.Errorf("%s", msg))
}

// CheckParameters reports run parameters the version does not declare, values that
// are not of their input's declared type (pipeline IR inputs: see
// pipelinespec.ParseValue for the encoding), and declared inputs that are neither
// optional nor given.
func CheckParameters(v *pipelines.PipelineVersion, params []pipelines.RunParameter, fldPath *field.Path) field.ErrorList {
	declared := map[string]pipelines.Parameter{}
	for _, p := range v.Status.Parameters {
		declared[p.Name] = p
	}
	given := sets.New[string]()
	var errs field.ErrorList
	for i, p := range params {
		given.Insert(p.Name)
		d, ok := declared[p.Name]
		switch {
		case !ok:
			errs = append(errs, field.NotSupported(fldPath.Index(i).Child("name"), p.Name, sets.List(sets.KeySet(declared))))
		case d.Type != "":
			if _, err := pipelinespec.ParseValue(pipelinespec.ParameterType(d.Type), p.Value); err != nil {
				errs = append(errs, field.Invalid(fldPath.Index(i).Child("value"), p.Value,
					fmt.Sprintf("pipeline input %q is of type %s: %v", p.Name, d.Type, err)))
			}
		}
	}
	for _, p := range v.Status.Parameters {
		if !given.Has(p.Name) && p.Default == nil && (p.Type == "" || !p.Optional) {
			errs = append(errs, field.Required(fldPath, fmt.Sprintf("pipeline parameter %q has no default", p.Name)))
		}
	}
	return errs
}

// validName says whether name can be looked up; names that cannot are left to validation.
func validName(name string) bool {
	return name != "" && len(content.IsPathSegmentName(name)) == 0
}
