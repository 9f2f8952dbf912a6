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

package compiler

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"regexp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/launcherspec"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/pipelinespec"
)

const (
	// platformPrefix starts the names of the inputs that carry the platform spec's
	// names into a task's template; they are not the component's inputs.
	platformPrefix = "kfp-k8s-"
	binVolume      = "kfp-launcher"
	outVolume      = "kfp-outputs"
	// RunLabel is the label the executor puts on every pod of a run's workflow.
	runLabel = "pipelines.kubeflow.org/run"
	// EnableCacheAnnotation on a task's template (and so its pod) is the task's
	// cachingOptions.enableCache, "true" or "false".
	EnableCacheAnnotation = "pipelines.kubeflow.org/enable-cache"
)

// storeEnv gives the main container the namespace's artifact-store settings. The
// references are optional, so that a namespace without the ConfigMap or Secret still
// runs pipelines that pass no artifacts.
func storeEnv() []any {
	var env []any
	for _, v := range launcherspec.StoreEnv {
		ref, kind := map[string]any{"name": launcherspec.StoreConfig, "key": v.Key, "optional": true}, "configMapKeyRef"
		if v.Secret {
			kind = "secretKeyRef"
		}
		env = append(env, map[string]any{"name": v.Env, "valueFrom": map[string]any{kind: ref}})
	}
	return env
}

// k8s returns the platform spec of comp's executor, or nil.
func (c *compiler) k8s(comp *pipelinespec.ComponentSpec) *pipelinespec.KubernetesExecutorConfig {
	if comp.ExecutorLabel == "" {
		return nil
	}
	return c.platform.Kubernetes(comp.ExecutorLabel)
}

func constant(name string) *pipelinespec.InputParameterSpec {
	return &pipelinespec.InputParameterSpec{RuntimeValue: &pipelinespec.ValueOrRuntimeParameter{Constant: name}}
}

func orConstant(p *pipelinespec.InputParameterSpec, name string) *pipelinespec.InputParameterSpec {
	if p != nil {
		return p
	}
	return constant(name)
}

// platformRefs lists where each name the platform spec uses comes from, in the order
// container reads them.
func platformRefs(k *pipelinespec.KubernetesExecutorConfig) []*pipelinespec.InputParameterSpec {
	var refs []*pipelinespec.InputParameterSpec
	for _, s := range k.SecretAsEnv {
		refs = append(refs, orConstant(s.SecretNameParameter, s.SecretName))
	}
	for _, s := range k.SecretAsVolume {
		refs = append(refs, orConstant(s.SecretNameParameter, s.SecretName))
	}
	for _, m := range k.ConfigMapAsEnv {
		refs = append(refs, orConstant(m.ConfigMapNameParameter, m.ConfigMapName))
	}
	for _, m := range k.ConfigMapAsVolume {
		refs = append(refs, orConstant(m.ConfigMapNameParameter, m.ConfigMapName))
	}
	for i := range k.PVCMount {
		refs = append(refs, k.PVCMount[i].NameParameter())
	}
	for _, s := range k.ImagePullSecret {
		refs = append(refs, orConstant(s.SecretNameParameter, s.SecretName))
	}
	return refs
}

// container compiles a container task: one pod. inside are the values the task
// passes the template, by input name.
func (c *compiler) container(comp *pipelinespec.ComponentSpec, executor string, t *pipelinespec.TaskSpec,
	spec *launcherspec.Spec, inside map[string]value, taskPath string) (string, error) {
	name := c.name(strings.ReplaceAll(taskPath, "/", "-"))
	c.used[name] = true
	var inputs []any
	var launcherArgs []string
	for _, n := range sortedKeys(inside) {
		inputs = append(inputs, map[string]any{"name": n})
		if strings.HasPrefix(n, platformPrefix) {
			continue
		}
		if v := inside[n]; v.imported != nil {
			spec.Artifacts[n] = launcherspec.ArtifactInput{Imported: v.imported}
		}
		if v := inside[n]; len(v.selectors) > 0 {
			p := spec.Parameters[n]
			p.Selectors = v.selectors
			spec.Parameters[n] = p
		}
		flag := "--parameter="
		if comp.InputDefinitions != nil && comp.InputDefinitions.Artifacts[n] != nil {
			flag = "--artifact="
		}
		launcherArgs = append(launcherArgs, flag+n+"="+inside[n].expr)
	}
	encoded, err := launcherspec.Encode(spec)
	if err != nil {
		return "", err
	}
	var outputs []any
	if out := comp.OutputDefinitions; out != nil {
		for _, n := range sortedKeys(out.Parameters) {
			outputs = append(outputs, map[string]any{"name": outputName(n),
				"valueFrom": map[string]any{"path": path.Join(launcherspec.OutputDir, "parameters", n)}})
		}
		for _, n := range sortedKeys(out.Artifacts) {
			outputs = append(outputs, map[string]any{"name": outputName(n),
				"valueFrom": map[string]any{"path": path.Join(launcherspec.OutputDir, "artifacts", n)}})
		}
	}
	mounts := []any{
		map[string]any{"name": binVolume, "mountPath": launcherspec.BinDir},
		map[string]any{"name": outVolume, "mountPath": launcherspec.OutputDir},
	}
	volumes := []any{
		map[string]any{"name": binVolume, "emptyDir": map[string]any{}},
		map[string]any{"name": outVolume, "emptyDir": map[string]any{}},
	}
	env := []any{
		map[string]any{"name": launcherspec.RunEnv, "valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": "metadata.labels['" + runLabel + "']"}}},
		map[string]any{"name": launcherspec.NamespaceEnv, "valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": "metadata.namespace"}}},
		map[string]any{"name": launcherspec.TaskEnv, "value": literal(taskPath)},
	}
	env = append(env, storeEnv()...)
	for _, e := range spec.Container.Env {
		env = append(env, map[string]any{"name": e.Name, "value": literal(e.Value)})
	}
	ctr := map[string]any{
		"name":    "main",
		"image":   literal(spec.Container.Image),
		"command": []any{launcherspec.Binary},
		"args":    append([]string{"--spec=" + encoded}, launcherArgs...),
	}
	r, err := resources(spec.Container.Resources, inside)
	if err != nil {
		return "", err
	}
	if r != nil {
		ctr["resources"] = r
	}
	tmpl := map[string]any{
		"name":   name,
		"inputs": map[string]any{"parameters": inputs},
		"initContainers": []any{map[string]any{
			"name":         "kfp-launcher",
			"image":        c.opts.LauncherImage,
			"command":      []any{c.opts.LauncherPath, launcherspec.CopyCommand, launcherspec.Binary},
			"volumeMounts": []any{map[string]any{"name": binVolume, "mountPath": launcherspec.BinDir}},
		}},
	}
	if len(outputs) > 0 {
		tmpl["outputs"] = map[string]any{"parameters": outputs}
	}
	if t.RetryPolicy != nil && t.RetryPolicy.MaxRetryCount > 0 {
		rs, err := retryStrategy(t.RetryPolicy)
		if err != nil {
			return "", err
		}
		tmpl["retryStrategy"] = rs
	}
	if k := c.k8s(comp); k != nil {
		var err error
		if env, mounts, volumes, err = c.applyPlatform(k, tmpl, ctr, env, mounts, volumes); err != nil {
			return "", fmt.Errorf("platform spec of %s: %w", executor, err)
		}
	}
	ctr["env"], ctr["volumeMounts"], tmpl["volumes"] = env, mounts, volumes
	tmpl["container"] = ctr
	// The run's status says whether the task asked for caching, and that nothing was cached.
	md, _ := tmpl["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		tmpl["metadata"] = md
	}
	annotations, _ := md["annotations"].(map[string]string)
	annotations = maps.Clone(annotations)
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[EnableCacheAnnotation] = strconv.FormatBool(t.CachingOptions != nil && t.CachingOptions.EnableCache)
	md["annotations"] = annotations
	c.templates = append(c.templates, tmpl)
	return name, nil
}

var inputPlaceholder = regexp.MustCompile(`^\{\{\$\.inputs\.parameters\['([^']*)'\]\}\}$`)

// resources are a container's requests and limits from the IR's resource spec. A
// quantity may be an input's placeholder ({{$.inputs.parameters['x']}}, from a
// pipeline input): kube-apiserver checks quantities when the workflow is created, so
// it must be known then.
func resources(r *pipelinespec.ResourceSpec, inside map[string]value) (map[string]any, error) {
	if r == nil {
		return nil, nil
	}
	var errs []string
	resolve := func(s string) string {
		m := inputPlaceholder.FindStringSubmatch(s)
		if m == nil {
			return s
		}
		if v, ok := inside[m[1]]; ok && v.known != nil {
			return *v.known
		}
		errs = append(errs, fmt.Sprintf("resource %s: input %q is known only while the run runs", s, m[1]))
		return ""
	}
	limits, requests := map[string]any{}, map[string]any{}
	set := func(m map[string]any, k, s string, f float64, unit string) {
		switch {
		case s != "":
			if s = resolve(s); s != "" {
				m[k] = s
			}
		case f > 0:
			m[k] = strconv.FormatFloat(f, 'f', -1, 64) + unit
		}
	}
	set(limits, "cpu", r.ResourceCPULimit, r.CPULimit, "")
	set(limits, "memory", r.ResourceMemoryLimit, r.MemoryLimit, "G")
	set(requests, "cpu", r.ResourceCPURequest, r.CPURequest, "")
	set(requests, "memory", r.ResourceMemoryRequest, r.MemoryRequest, "G")
	if a := r.Accelerator; a != nil {
		kind, count := a.ResourceType, a.ResourceCount
		if kind == "" {
			kind = a.Type
		}
		if count == "" && a.Count > 0 {
			count = strconv.FormatInt(int64(a.Count), 10)
		}
		kind, count = resolve(kind), resolve(count)
		if kind != "" && count != "" {
			if !strings.Contains(kind, "/") {
				// The SDK's short names for GPUs.
				kind = map[string]string{"NVIDIA_TESLA_K80": "nvidia.com/gpu"}[kind]
				if kind == "" {
					kind = "nvidia.com/gpu"
				}
			}
			limits[kind] = count
		}
	}
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "; "))
	}
	r2 := map[string]any{}
	if len(limits) > 0 {
		r2["limits"] = limits
	}
	if len(requests) > 0 {
		r2["requests"] = requests
	}
	if len(r2) == 0 {
		return nil, nil
	}
	return r2, nil
}

// applyPlatform puts the platform spec into the task's pod.
func (c *compiler) applyPlatform(k *pipelinespec.KubernetesExecutorConfig, tmpl, ctr map[string]any, env, mounts, volumes []any) ([]any, []any, []any, error) {
	switch {
	case len(k.GenericEphemeralVolume) > 0:
		return nil, nil, nil, fmt.Errorf("genericEphemeralVolume is not supported")
	case len(k.NodeAffinity) > 0, len(k.PodAffinity) > 0:
		return nil, nil, nil, fmt.Errorf("nodeAffinity and podAffinity are not supported")
	case len(k.InitContainers) > 0:
		return nil, nil, nil, fmt.Errorf("initContainers are not supported")
	case k.NodeSelector != nil && k.NodeSelector.NodeSelectorJSON != nil:
		return nil, nil, nil, fmt.Errorf("nodeSelectorJson is not supported")
	}
	i := 0
	next := func() string {
		s := "{{inputs.parameters." + platformPrefix + strconv.Itoa(i) + "}}"
		i++
		return s
	}
	vol := func(kind string) string { return fmt.Sprintf("kfp-%s-%d", kind, len(volumes)) }
	for _, s := range k.SecretAsEnv {
		n := next()
		for _, kv := range s.KeyToEnv {
			ref := map[string]any{"name": n, "key": kv.SecretKey}
			if s.Optional != nil {
				ref["optional"] = *s.Optional
			}
			env = append(env, map[string]any{"name": kv.EnvVar, "valueFrom": map[string]any{"secretKeyRef": ref}})
		}
	}
	for _, s := range k.SecretAsVolume {
		v := vol("secret")
		src := map[string]any{"secretName": next()}
		if s.Optional != nil {
			src["optional"] = *s.Optional
		}
		volumes = append(volumes, map[string]any{"name": v, "secret": src})
		mounts = append(mounts, map[string]any{"name": v, "mountPath": s.MountPath})
	}
	for _, m := range k.ConfigMapAsEnv {
		n := next()
		for _, kv := range m.KeyToEnv {
			ref := map[string]any{"name": n, "key": kv.ConfigMapKey}
			if m.Optional != nil {
				ref["optional"] = *m.Optional
			}
			env = append(env, map[string]any{"name": kv.EnvVar, "valueFrom": map[string]any{"configMapKeyRef": ref}})
		}
	}
	for _, m := range k.ConfigMapAsVolume {
		v := vol("configmap")
		src := map[string]any{"name": next()}
		if m.Optional != nil {
			src["optional"] = *m.Optional
		}
		volumes = append(volumes, map[string]any{"name": v, "configMap": src})
		mounts = append(mounts, map[string]any{"name": v, "mountPath": m.MountPath})
	}
	for _, p := range k.PVCMount {
		v := vol("pvc")
		volumes = append(volumes, map[string]any{"name": v, "persistentVolumeClaim": map[string]any{"claimName": next()}})
		mount := map[string]any{"name": v, "mountPath": p.MountPath}
		if p.SubPath != "" {
			mount["subPath"] = p.SubPath
		}
		mounts = append(mounts, mount)
	}
	for _, s := range k.ImagePullSecret {
		// Argo takes pull secrets for the whole workflow, so only names known at
		// compile time (constants) can be used.
		next()
		p := orConstant(s.SecretNameParameter, s.SecretName)
		name, ok := "", false
		if p.RuntimeValue != nil {
			name, ok = p.RuntimeValue.Constant.(string)
		}
		if !ok || name == "" {
			return nil, nil, nil, fmt.Errorf("imagePullSecret: only a constant secret name is supported")
		}
		if c.pullSecrets == nil {
			c.pullSecrets = sets.New[string]()
		}
		c.pullSecrets.Insert(name)
	}
	for _, f := range k.FieldPathAsEnv {
		env = append(env, map[string]any{"name": f.Name, "valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": f.FieldPath}}})
	}
	for _, e := range k.EmptyDirMounts {
		src := map[string]any{}
		if e.Medium != nil {
			src["medium"] = *e.Medium
		}
		if e.SizeLimit != nil {
			src["sizeLimit"] = *e.SizeLimit
		}
		volumes = append(volumes, map[string]any{"name": e.VolumeName, "emptyDir": src})
		mounts = append(mounts, map[string]any{"name": e.VolumeName, "mountPath": e.MountPath})
	}
	if m := k.EnabledSharedMemory; m != nil {
		v := m.VolumeName
		if v == "" {
			v = "shm"
		}
		src := map[string]any{"medium": "Memory"}
		if m.Size != "" {
			src["sizeLimit"] = m.Size
		}
		volumes = append(volumes, map[string]any{"name": v, "emptyDir": src})
		mounts = append(mounts, map[string]any{"name": v, "mountPath": "/dev/shm"})
	}
	if k.NodeSelector != nil && len(k.NodeSelector.Labels) > 0 {
		tmpl["nodeSelector"] = k.NodeSelector.Labels
	}
	var tolerations []any
	for _, t := range k.Tolerations {
		if t.TolerationJSON != nil {
			return nil, nil, nil, fmt.Errorf("tolerationJson is not supported")
		}
		tol := map[string]any{}
		for key, v := range map[string]string{"key": t.Key, "operator": t.Operator, "value": t.Value, "effect": t.Effect} {
			if v != "" {
				tol[key] = v
			}
		}
		if t.TolerationSeconds != nil {
			tol["tolerationSeconds"] = int64(*t.TolerationSeconds)
		}
		tolerations = append(tolerations, tol)
	}
	if len(tolerations) > 0 {
		tmpl["tolerations"] = tolerations
	}
	if m := k.PodMetadata; m != nil {
		md := map[string]any{}
		if len(m.Labels) > 0 {
			md["labels"] = m.Labels
		}
		if len(m.Annotations) > 0 {
			md["annotations"] = m.Annotations
		}
		tmpl["metadata"] = md
	}
	if k.ImagePullPolicy != "" {
		ctr["imagePullPolicy"] = k.ImagePullPolicy
	}
	if k.ActiveDeadlineSeconds > 0 {
		tmpl["activeDeadlineSeconds"] = int64(k.ActiveDeadlineSeconds)
	}
	if sc := k.SecurityContext; sc != nil {
		psc := map[string]any{}
		if sc.RunAsUser != nil {
			psc["runAsUser"] = int64(*sc.RunAsUser)
		}
		if sc.RunAsGroup != nil {
			psc["runAsGroup"] = int64(*sc.RunAsGroup)
		}
		if sc.RunAsNonRoot != nil {
			psc["runAsNonRoot"] = *sc.RunAsNonRoot
		}
		tmpl["securityContext"] = psc
	}
	return env, mounts, volumes, nil
}
