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

package retention

import (
	"strings"
	"testing"
	"time"
)

func TestPolicyFor(t *testing.T) {
	cluster := Policy{ArchiveAfter: 24 * time.Hour, DeleteAfter: 0}
	for _, tc := range []struct {
		name        string
		annotations map[string]string
		want        Policy
		err         string
	}{
		{name: "none", want: cluster},
		{name: "both", annotations: map[string]string{ArchiveAfterAnnotation: "1h", DeleteAfterAnnotation: "720h"},
			want: Policy{ArchiveAfter: time.Hour, DeleteAfter: 720 * time.Hour}},
		{name: "off", annotations: map[string]string{ArchiveAfterAnnotation: "0"}, want: Policy{}},
		{name: "not a duration", annotations: map[string]string{ArchiveAfterAnnotation: "30d", DeleteAfterAnnotation: "2h"},
			want: Policy{ArchiveAfter: 24 * time.Hour, DeleteAfter: 2 * time.Hour}, err: ArchiveAfterAnnotation},
		{name: "too short", annotations: map[string]string{DeleteAfterAnnotation: "5s"}, want: cluster, err: "shorter than 1m0s"},
		{name: "negative", annotations: map[string]string{DeleteAfterAnnotation: "-1h"}, want: cluster, err: DeleteAfterAnnotation},
		{name: "other annotations", annotations: map[string]string{"example.com/x": "1h"}, want: cluster},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PolicyFor(cluster, tc.annotations)
			if got != tc.want {
				t.Errorf("policy %+v, want %+v", got, tc.want)
			}
			if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error %v, want one naming %q", err, tc.err)
			}
		})
	}
}

func TestPolicyValidate(t *testing.T) {
	if err := (Policy{ArchiveAfter: time.Minute}).Validate(); err != nil {
		t.Errorf("a minute: %v", err)
	}
	err := Policy{ArchiveAfter: time.Second, DeleteAfter: -time.Hour}.Validate()
	if err == nil || !strings.Contains(err.Error(), "--archive-finished-runs-after") || !strings.Contains(err.Error(), "--delete-archived-runs-after") {
		t.Errorf("a second and a negative period: %v", err)
	}
}
