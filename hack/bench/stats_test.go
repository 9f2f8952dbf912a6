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
	"math"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var hundred []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		hundred = append(hundred, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		samples []time.Duration
		p       float64
		want    time.Duration
	}{
		{nil, 50, 0},
		{[]time.Duration{7}, 99, 7},
		{hundred, 50, 50 * time.Millisecond},
		{hundred, 99, 99 * time.Millisecond},
		{hundred, 100, 100 * time.Millisecond},
		{[]time.Duration{4, 1, 3, 2}, 50, 2},
	} {
		if got := percentile(tc.samples, tc.p); got != tc.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", tc.samples, tc.p, got, tc.want)
		}
	}
	if hundred[0] != 100*time.Millisecond {
		t.Error("percentile sorted its argument in place")
	}
}

func TestSummaryThroughput(t *testing.T) {
	r := result{Samples: make([]time.Duration, 50), Wall: 2 * time.Second}
	if got := r.summary().Throughput; got != 25 {
		t.Errorf("throughput %v, want 25", got)
	}
	if !math.IsNaN(ratio(1, 0)) || ratio(3, 2) != 1.5 {
		t.Error("ratio")
	}
}

func TestRunSchemaInlinesReferences(t *testing.T) {
	s, err := runSchema()
	if err != nil {
		t.Fatal(err)
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch m := v.(type) {
		case map[string]any:
			for k, val := range m {
				if k == "$ref" || k == "default" || k == "allOf" {
					t.Errorf("%s has %s", path, k)
				}
				walk(path+"."+k, val)
			}
		case []any:
			for _, val := range m {
				walk(path+"[]", val)
			}
		}
	}
	walk("Run", s)
	props := s["properties"].(map[string]any)
	spec, ok := props["spec"].(map[string]any)
	if !ok {
		t.Fatalf("no spec in %v", props)
	}
	exp, ok := spec["properties"].(map[string]any)["experimentName"].(map[string]any)
	if !ok || exp["type"] != "string" {
		t.Errorf("spec.experimentName is %v, want a string", exp)
	}
	if md := props["metadata"].(map[string]any); len(md) != 1 || md["type"] != "object" {
		t.Errorf("metadata is %v, want {type: object}", md)
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-quick", "-sizes=200,1000", "-server-arg=--v=4", "-server-arg=--a=b"})
	if err != nil {
		t.Fatal(err)
	}
	if len(o.serverArgs) != 2 || o.serverArgs[1] != "--a=b" {
		t.Errorf("server args %q", o.serverArgs)
	}
	if !o.quick || o.ops != defaultOptions(true).ops || len(o.sizes) != 2 || o.sizes[1] != 1000 {
		t.Errorf("options %+v", o)
	}
	if _, err := parseFlags([]string{"-sizes=1000,200"}); err == nil {
		t.Error("descending sizes accepted")
	}
	if o.retentionBatches != 2 {
		t.Errorf("retention batches %d at 1,000 runs, want the 2 that fit", o.retentionBatches)
	}
	if _, err := parseFlags([]string{"-sizes=1000", "-retention-batches=3"}); err == nil {
		t.Error("more retention batches than runs accepted")
	}
	if _, err := parseFlags([]string{"-sizes=150"}); err == nil {
		t.Error("a size that is not a multiple of the namespaces accepted")
	}
}

func TestProjectRSS(t *testing.T) {
	mem := []memory{
		{Stored: 0, CRDStored: 0, RSS: map[string]int64{"kube-apiserver": 100}},
		{Stored: 10, CRDStored: 10, RSS: map[string]int64{"kube-apiserver": 200}},
		{Stored: 20, CRDStored: 20, Note: "kube-apiserver at its limit", RSS: map[string]int64{"kube-apiserver": 9999}},
		{Stored: 30, CRDStored: 30, RSS: map[string]int64{"kube-apiserver": 400}},
	}
	if got, ok := projectRSS(mem, 100); !ok || got != 1100 {
		t.Errorf("projectRSS = %d, %v; want 1100 from the rows without a note", got, ok)
	}
	if _, ok := projectRSS(mem[:2], 100); ok {
		t.Error("projected from a single size")
	}
}
