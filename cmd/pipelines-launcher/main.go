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

// Command pipelines-launcher runs a KFP component in a task's pod: the main
// container's entrypoint in runs of pipeline IR (docs/execution.md, "The launcher").
package main

import (
	"os"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/launcher"
)

func main() {
	os.Exit(launcher.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
