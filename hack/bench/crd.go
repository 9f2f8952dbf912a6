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

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/klog/v2"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/openapi"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/controlplane"
)

// The CRD twin of Run: same schema, same version, another group.
const (
	crdGroup    = "pipelines.bench.example.com"
	crdVersion  = "v1beta1"
	crdResource = "runs"
	crdKind     = "Run"
	// experimentLabel carries the experiment on both kinds of run, so that the CRD's
	// objects can be selected by it (a label selector) and both kinds have the same size.
	experimentLabel = "pipelines.kubeflow.org/experiment"
)

var (
	crdGVR = schema.GroupVersionResource{Group: crdGroup, Version: crdVersion, Resource: crdResource}
	crdCRD = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

// runSchema returns Run's OpenAPI schema from the generated definitions, with every
// reference inlined, as a CRD's structural schema must be. metadata is left to the API
// server, as in every CRD.
func runSchema() (map[string]any, error) {
	defs := openapi.GetOpenAPIDefinitions(func(name string) spec.Ref { return spec.MustCreateRef(name) })
	root, err := schemaJSON(defs, v1beta1.Run{}.OpenAPIModelName())
	if err != nil {
		return nil, err
	}
	inlined, err := inline(defs, root, 0)
	if err != nil {
		return nil, err
	}
	s := inlined.(map[string]any)
	props, _ := s["properties"].(map[string]any)
	if props == nil {
		return nil, fmt.Errorf("the Run schema has no properties")
	}
	props["metadata"] = map[string]any{"type": "object"}
	return s, nil
}

func schemaJSON(defs map[string]common.OpenAPIDefinition, name string) (map[string]any, error) {
	def, ok := defs[name]
	if !ok {
		return nil, fmt.Errorf("no OpenAPI definition %s", name)
	}
	data, err := json.Marshal(def.Schema)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	return out, json.Unmarshal(data, &out)
}

// inline replaces every $ref by the schema it names and drops what a CRD schema may not
// hold: defaults (the generated {} defaults would not validate against required fields).
func inline(defs map[string]common.OpenAPIDefinition, v any, depth int) (any, error) {
	if depth > 32 {
		return nil, fmt.Errorf("schema references nest deeper than 32: a cycle?")
	}
	switch t := v.(type) {
	case map[string]any:
		if ref, ok := t["$ref"].(string); ok {
			target, err := schemaJSON(defs, ref)
			if err != nil {
				return nil, err
			}
			if desc, ok := t["description"]; ok {
				target["description"] = desc
			}
			return inline(defs, target, depth+1)
		}
		// A single allOf wraps a reference that carries its own description or default.
		if all, ok := t["allOf"].([]any); ok && len(all) == 1 {
			inner, err := inline(defs, all[0], depth+1)
			if err != nil {
				return nil, err
			}
			m := inner.(map[string]any)
			if desc, ok := t["description"]; ok {
				m["description"] = desc
			}
			return m, nil
		}
		out := make(map[string]any, len(t))
		for k, val := range t {
			if k == "default" {
				continue
			}
			r, err := inline(defs, val, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, val := range t {
			r, err := inline(defs, val, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	default:
		return v, nil
	}
}

// installCRD creates the CRD (status subresource, as Run has) and waits until it is
// Established and served.
func (b *benchEnv) installCRD(ctx context.Context) error { return installCRD(ctx, b.dyn) }

// installCRD installs the CRD through dyn and waits until it serves crudNamespace.
func installCRD(ctx context.Context, dyn dynamic.Interface) error {
	s, err := runSchema()
	if err != nil {
		return err
	}
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": crdResource + "." + crdGroup},
		"spec": map[string]any{
			"group": crdGroup,
			"scope": "Namespaced",
			"names": map[string]any{"plural": crdResource, "singular": "run", "kind": crdKind, "listKind": crdKind + "List"},
			"versions": []any{map[string]any{
				"name": crdVersion, "served": true, "storage": true,
				"schema":       map[string]any{"openAPIV3Schema": s},
				"subresources": map[string]any{"status": map[string]any{}},
			}},
		},
	}}
	_, err = dyn.Resource(crdCRD).Create(ctx, crd, metav1.CreateOptions{FieldManager: fieldManager})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the CRD: %w", err)
	}
	return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		got, err := dyn.Resource(crdCRD).Get(ctx, crdResource+"."+crdGroup, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		established := false
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == "Established" && m["status"] == "True" {
				established = true
			}
		}
		if !established {
			return false, nil
		}
		_, err = dyn.Resource(crdGVR).Namespace(crudNamespace).List(ctx, metav1.ListOptions{Limit: 1})
		return err == nil, nil
	})
}

// startNoFsyncCRD starts a second etcd and kube-apiserver, etcd with --unsafe-no-fsync
// (as test/controlplane runs it for tests), and installs the CRD there, for the CRUD
// workloads' reference column: what the CRD would do on an etcd that does not make its
// writes durable. stop stops them; they hold no loaded runs and are stopped before any
// memory is measured.
func (b *benchEnv) startNoFsyncCRD(ctx context.Context) (target apiTarget, stop func(), err error) {
	_, dyn, stop, err := b.startCRDControlPlane(ctx, false, crudNamespace)
	if err != nil {
		return nil, nil, err
	}
	return crdTarget{c: dyn, label: targetCRDNoFsync}, stop, nil
}

// startCRDControlPlane starts another etcd (syncing every commit if fsync) and
// kube-apiserver, with namespace ns and the CRD installed, beside the environment's.
func (b *benchEnv) startCRDControlPlane(ctx context.Context, fsync bool, ns string) (*controlplane.ControlPlane, dynamic.Interface, func(), error) {
	cp, err := controlplane.Start(ctx, controlplane.Config{BinDir: b.env.ControlPlane().BinDir(), EtcdFsync: fsync})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("starting another etcd (fsync %t) and kube-apiserver: %w", fsync, err)
	}
	stop := func() {
		if err := cp.Stop(); err != nil {
			klog.ErrorS(err, "Stopping the other control plane", "fsync", fsync)
		}
	}
	cfg := cp.AdminRESTConfig()
	cfg.QPS, cfg.Burst = -1, 0
	dyn, err := dynamic.NewForConfig(cfg)
	if err == nil {
		err = cp.EnsureNamespace(ctx, crudNamespace)
	}
	if err == nil && ns != crudNamespace {
		err = cp.EnsureNamespace(ctx, ns)
	}
	if err == nil {
		err = installCRD(ctx, dyn)
	}
	if err != nil {
		stop()
		return nil, nil, nil, err
	}
	return cp, dyn, stop, nil
}
