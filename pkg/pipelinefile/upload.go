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

package pipelinefile

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	client "github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned/typed/pipelines/v1beta1"
)

// Upload is a compiled pipeline to add as a version of a pipeline.
type Upload struct {
	// Pipeline is the name of the pipeline; it is created if it does not exist.
	Pipeline string
	// Version is the name of the version; empty means VersionName(Pipeline, Definition).
	Version string
	// Description describes the version, and the pipeline if it is created.
	Description string
	// Definition is what Read returned.
	Definition *v1beta1.PipelineVersionSpec
}

// Result is what Do did.
type Result struct {
	// Version is the name of the version, created or found identical.
	Version string
	// PipelineCreated says the pipeline did not exist and was created.
	PipelineCreated bool
}

// Do creates the pipeline unless it exists, then the version, in namespace ns, with
// the caller's client, so the server authorizes each request as the caller's. The
// same definition uploaded again under the same name is not an error; another one
// under a taken name is (AlreadyExists, saying what differs: versions are immutable).
func (u *Upload) Do(ctx context.Context, c client.PipelinesV1beta1Interface, ns string) (Result, error) {
	res := Result{Version: u.Version}
	if res.Version == "" {
		res.Version = VersionName(u.Pipeline, u.Definition)
	}
	created, err := u.ensurePipeline(ctx, c.Pipelines(ns))
	if err != nil {
		return res, err
	}
	res.PipelineCreated = created
	pv := &v1beta1.PipelineVersion{
		ObjectMeta: metav1.ObjectMeta{Name: res.Version},
		Spec: v1beta1.PipelineVersionSpec{
			PipelineName: u.Pipeline,
			Description:  u.Description,
			Workflow:     u.Definition.Workflow,
			PipelineSpec: u.Definition.PipelineSpec,
			PlatformSpec: u.Definition.PlatformSpec,
		},
	}
	versions := c.PipelineVersions(ns)
	_, err = versions.Create(ctx, pv, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		existing, getErr := versions.Get(ctx, res.Version, metav1.GetOptions{})
		if getErr != nil {
			return res, getErr
		}
		if diff := specDiff(&existing.Spec, &pv.Spec); diff != "" {
			return res, fmt.Errorf("%s; choose another version name: %w", diff, err)
		}
		err = nil
	}
	return res, err
}

// ensurePipeline creates the pipeline unless it exists. It asks first, so that a
// user who may add versions to an existing pipeline need not be allowed to create
// pipelines.
func (u *Upload) ensurePipeline(ctx context.Context, pipelines client.PipelineInterface) (created bool, _ error) {
	_, err := pipelines.Get(ctx, u.Pipeline, metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		return false, err
	}
	p := &v1beta1.Pipeline{
		ObjectMeta: metav1.ObjectMeta{Name: u.Pipeline},
		Spec:       v1beta1.PipelineSpec{Description: u.Description},
	}
	switch _, err = pipelines.Create(ctx, p, metav1.CreateOptions{}); {
	case err == nil:
		return true, nil
	case apierrors.IsAlreadyExists(err): // created meanwhile
		return false, nil
	default:
		return false, err
	}
}

// specDiff says how an existing version's spec differs from the one uploaded, or
// returns "" if they are the same.
func specDiff(existing, uploaded *v1beta1.PipelineVersionSpec) string {
	switch {
	case existing.PipelineName != uploaded.PipelineName:
		return fmt.Sprintf("the version belongs to pipeline %q", existing.PipelineName)
	case !sameJSON(existing.Workflow.Raw, uploaded.Workflow.Raw):
		return "the version holds another workflow"
	case !sameJSON(existing.PipelineSpec.Raw, uploaded.PipelineSpec.Raw) || !sameJSON(existing.PlatformSpec.Raw, uploaded.PlatformSpec.Raw):
		return "the version holds another pipeline IR"
	case existing.Description != uploaded.Description:
		return fmt.Sprintf("the version's description is %q", existing.Description)
	case existing.CodeSourceURL != uploaded.CodeSourceURL:
		return fmt.Sprintf("the version's codeSourceURL is %q", existing.CodeSourceURL)
	}
	return ""
}

// sameJSON reports whether a and b hold the same JSON value, whatever their layout.
func sameJSON(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}
