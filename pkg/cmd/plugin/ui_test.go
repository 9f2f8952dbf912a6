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

package plugin

import (
	"strings"
	"testing"
)

// TestUIAddress: the UI acts with the kubeconfig's credentials, so it listens on a
// loopback address only, unless it has none of its own (--forwarded-token).
func TestUIAddress(t *testing.T) {
	for _, address := range []string{"0.0.0.0", "192.0.2.1", "::", "example.com"} {
		streams, _, _ := testStreams()
		cmd := NewCommand(streams)
		cmd.SetArgs([]string{"--server", "https://127.0.0.1:1", "ui", "--address", address})
		err := cmd.ExecuteContext(t.Context())
		if err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("--address %s: %v, want a refusal", address, err)
		}
	}
}
