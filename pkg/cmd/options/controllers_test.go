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
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestControllersOptionsValidate(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string // a part of the one error expected; empty: valid
	}{
		{name: "defaults"},
		{name: "disabled ignores the rest", args: []string{"--controllers-enabled=false", "--run-executor-workers=0"}},
		{name: "no leader election", args: []string{"--leader-elect=false", "--leader-elect-lease-duration=1s"}},
		{name: "workers", args: []string{"--job-scheduler-workers=0"}, want: "--job-scheduler-workers"},
		{name: "renew deadline", args: []string{"--leader-elect-renew-deadline=2s"}, want: "--leader-elect-renew-deadline (2s) must be more than 1.2 times"},
		{name: "lease duration", args: []string{"--leader-elect-lease-duration=10s"}, want: "--leader-elect-lease-duration (10s) must be longer"},
		{name: "lock", args: []string{"--leader-elect-resource-lock=endpoints"}, want: `--leader-elect-resource-lock must be "leases"`},
		{name: "lease name", args: []string{"--leader-elect-resource-name="}, want: "--leader-elect-resource-name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := NewControllersOptions()
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			o.AddFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			errs := o.Validate()
			switch {
			case tc.want == "" && len(errs) > 0:
				t.Errorf("errors %v, want none", errs)
			case tc.want != "" && (len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.want)):
				t.Errorf("errors %v, want one saying %q", errs, tc.want)
			}
			if cfg := o.ApplyTo(); (cfg == nil) == o.Enabled {
				t.Errorf("ApplyTo %v with enabled %v", cfg, o.Enabled)
			}
		})
	}
}
