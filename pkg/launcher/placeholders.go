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

package launcher

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// LocalPath is where a component finds the artifact at uri on its file system, as
// kfp.dsl's Artifact.path derives it: gs://x as /gcs/x, minio://x as /minio/x, s3://x
// as /s3/x, oci://a/b as /oci/a_b; anything else is taken as a local path already.
func LocalPath(uri string) string {
	for _, p := range []struct{ scheme, dir string }{{"gs://", "/gcs/"}, {"minio://", "/minio/"}, {"s3://", "/s3/"}} {
		if rest, ok := strings.CutPrefix(uri, p.scheme); ok {
			return p.dir + rest
		}
	}
	if rest, ok := strings.CutPrefix(uri, "oci://"); ok {
		return "/oci/" + strings.ReplaceAll(rest, "/", "_")
	}
	return uri
}

// resolver resolves KFP's placeholders in an executor's command and args.
type resolver struct {
	in *ExecutorInput
	// job, task and root answer {{$.pipeline_job_name}}, {{$.pipeline_task_name}} and
	// {{$.pipeline_root}}.
	job, task, root string
}

var placeholder = regexp.MustCompile(`\{\{\$[^{}]*\}\}`)

// ioPlaceholder is the body of an input's or output's placeholder after "{{$".
var ioPlaceholder = regexp.MustCompile(`^\.(inputs|outputs)\.(parameters|artifacts)\[(?:'([^']*)'|"([^"]*)")\](?:\.([a-z_]+))?$`)

// resolve resolves a command or args list. An item may be a string with
// placeholders, or the JSON of a Concat or IfPresent structure (which may expand to
// no item or several).
func (r *resolver) resolve(items []string) ([]string, error) {
	var out []string
	for _, item := range items {
		if v, ok := structure(item); ok {
			got, err := r.structure(v)
			if err != nil {
				return nil, err
			}
			out = append(out, got...)
			continue
		}
		s, err := r.substitute(item)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// structure decodes item if it is the JSON of a Concat or IfPresent placeholder.
func structure(item string) (map[string]any, bool) {
	t := strings.TrimSpace(item)
	if !strings.HasPrefix(t, "{") || !(strings.Contains(t, `"Concat"`) || strings.Contains(t, `"IfPresent"`)) {
		return nil, false
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(t), &m); err != nil || len(m) != 1 {
		return nil, false
	}
	if _, ok := m["Concat"]; ok {
		return m, true
	}
	if _, ok := m["IfPresent"]; ok {
		return m, true
	}
	return nil, false
}

// structure resolves one Concat or IfPresent structure.
func (r *resolver) structure(m map[string]any) ([]string, error) {
	if parts, ok := m["Concat"]; ok {
		list, ok := parts.([]any)
		if !ok {
			return nil, fmt.Errorf("placeholder Concat: want a list, got %s", jsonString(parts))
		}
		var b strings.Builder
		for _, p := range list {
			got, err := r.value(p)
			if err != nil {
				return nil, err
			}
			b.WriteString(strings.Join(got, ""))
		}
		return []string{b.String()}, nil
	}
	body, ok := m["IfPresent"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("placeholder IfPresent: want an object, got %s", jsonString(m["IfPresent"]))
	}
	name, ok := body["InputName"].(string)
	if !ok {
		return nil, fmt.Errorf("placeholder IfPresent: no InputName in %s", jsonString(body))
	}
	branch := body["Else"]
	if r.present(name) {
		branch = body["Then"]
	}
	if branch == nil {
		return nil, nil
	}
	return r.value(branch)
}

// value resolves an item of a structure: a string, a list, or a nested structure
// (as an object or as its JSON).
func (r *resolver) value(v any) ([]string, error) {
	switch v := v.(type) {
	case string:
		if m, ok := structure(v); ok {
			return r.structure(m)
		}
		s, err := r.substitute(v)
		if err != nil {
			return nil, err
		}
		return []string{s}, nil
	case []any:
		var out []string
		for _, item := range v {
			got, err := r.value(item)
			if err != nil {
				return nil, err
			}
			out = append(out, got...)
		}
		return out, nil
	case map[string]any:
		if len(v) == 1 && (v["Concat"] != nil || v["IfPresent"] != nil) {
			return r.structure(v)
		}
	}
	return nil, fmt.Errorf("placeholder structure: cannot resolve %s", jsonString(v))
}

// present says whether the input name has a value.
func (r *resolver) present(name string) bool {
	if _, ok := r.in.Inputs.ParameterValues[name]; ok {
		return true
	}
	l, ok := r.in.Inputs.Artifacts[name]
	return ok && l != nil && len(l.Artifacts) > 0
}

// substitute replaces every placeholder in s.
func (r *resolver) substitute(s string) (string, error) {
	var firstErr error
	out := placeholder.ReplaceAllStringFunc(s, func(p string) string {
		v, err := r.placeholder(strings.TrimSuffix(strings.TrimPrefix(p, "{{$"), "}}"))
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("placeholder %s: %w", p, err)
		}
		return v
	})
	return out, firstErr
}

// placeholder resolves one placeholder's body (what follows "{{$").
func (r *resolver) placeholder(body string) (string, error) {
	switch body {
	case "":
		b, err := json.Marshal(r.in)
		return string(b), err
	case ".pipeline_job_name", ".pipeline_job_resource_name":
		return r.job, nil
	case ".pipeline_task_name":
		return r.task, nil
	case ".pipeline_root":
		return r.root, nil
	}
	m := ioPlaceholder.FindStringSubmatch(body)
	if m == nil {
		return "", fmt.Errorf("not supported")
	}
	dir, kind, name, field := m[1], m[2], m[3]+m[4], m[5]
	switch {
	case dir == "inputs" && kind == "parameters" && field == "":
		v, ok := r.in.Inputs.ParameterValues[name]
		if !ok {
			// An optional input without a value; IfPresent guards the cases that
			// matter.
			return "", nil
		}
		return Format(v), nil
	case dir == "outputs" && kind == "parameters" && field == "output_file":
		p := r.in.Outputs.Parameters[name]
		if p == nil {
			return "", fmt.Errorf("no output parameter %q", name)
		}
		return p.OutputFile, nil
	case kind == "artifacts":
		list := r.in.Inputs.Artifacts[name]
		if dir == "outputs" {
			list = r.in.Outputs.Artifacts[name]
		}
		if list == nil || len(list.Artifacts) == 0 {
			if dir == "inputs" {
				return "", nil
			}
			return "", fmt.Errorf("no output artifact %q", name)
		}
		a := list.Artifacts[0]
		switch field {
		case "uri":
			return a.URI, nil
		case "path":
			return LocalPath(a.URI), nil
		case "metadata":
			md := a.Metadata
			if md == nil {
				md = map[string]any{}
			}
			return jsonString(md), nil
		}
	}
	return "", fmt.Errorf("not supported")
}

// Format writes a parameter value as a placeholder gives it, and in the
// run-parameter encoding: a string as itself, anything else as JSON.
func Format(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return jsonString(v)
}

func jsonString(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}
