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

package pipelinespec

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	"go.yaml.in/yaml/v3"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// Documents converts a YAML stream (or JSON) to its documents as JSON, leaving out
// empty ones and comments. A compiled KFP 2.x pipeline is one document, the IR, or
// two: the IR and then the platform spec.
func Documents(data []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		chunk, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		j, err := yamlToJSON(chunk)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(j, []byte("null")) {
			docs = append(docs, j)
		}
	}
}

// yamlToJSON converts one YAML document to JSON under YAML 1.2's core schema, as the
// KFP SDK (PyYAML) writes it: a key or value y, n, on or off is a string there, not
// the boolean YAML 1.1 (sigs.k8s.io/yaml) makes of it, which would rename an input
// named y to "true".
func yamlToJSON(doc []byte) ([]byte, error) {
	var v any
	if err := yaml.Unmarshal(doc, &v); err != nil {
		return nil, err
	}
	v, err := jsonValue(v)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// jsonValue makes a decoded YAML value one JSON can hold: mapping keys as strings.
func jsonValue(v any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			x, err := jsonValue(x)
			if err != nil {
				return nil, err
			}
			v[k] = x
		}
		return v, nil
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			x, err := jsonValue(x)
			if err != nil {
				return nil, err
			}
			m[fmt.Sprint(k)] = x
		}
		return m, nil
	case []any:
		for i, x := range v {
			x, err := jsonValue(x)
			if err != nil {
				return nil, err
			}
			v[i] = x
		}
		return v, nil
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, fmt.Errorf("%v has no JSON form", v)
		}
	}
	return v, nil
}
