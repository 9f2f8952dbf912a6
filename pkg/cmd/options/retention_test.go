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
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/controller"
)

func TestRetentionOptions(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string // a part of the error expected; empty: valid
	}{
		{name: "defaults: off"},
		{name: "on", args: []string{"--archive-finished-runs-after=720h", "--delete-archived-runs-after=2160h"}},
		{name: "too short", args: []string{"--archive-finished-runs-after=30s"}, want: "--archive-finished-runs-after must be 0 (never) or at least 1m0s"},
		{name: "negative", args: []string{"--delete-archived-runs-after=-1h"}, want: "--delete-archived-runs-after"},
		{name: "batch", args: []string{"--retention-batch-size=0"}, want: "--retention-batch-size"},
		{name: "interval", args: []string{"--retention-interval=0s"}, want: "--retention-interval"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := NewRetentionOptions()
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			o.AddFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			err := errors.Join(o.Validate()...)
			if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate: %v, want an error containing %q", err, tc.want)
			}
		})
	}

	o := NewRetentionOptions()
	if o.Default.ArchiveAfter != 0 || o.Default.DeleteAfter != 0 {
		t.Errorf("retention is on by default: %+v", o.Default)
	}
	if o.ApplyTo(nil) != nil {
		t.Error("retention configured without controllers")
	}
	c := &controller.Config{}
	if cfg := o.ApplyTo(c); cfg == nil || cfg.BatchSize != 500 || c.RetentionInterval != time.Minute {
		t.Errorf("ApplyTo: %+v, interval %v", cfg, c.RetentionInterval)
	}
}
