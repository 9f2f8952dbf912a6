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

// Command kubectl-pipelines is a kubectl plugin for pipelines.kubeflow.org: with it on
// PATH, `kubectl pipelines terminate run NAME` and the like work.
package main

import (
	"context"
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/cmd/plugin"
)

func main() {
	// No signal handling: Ctrl-C ends the plugin as it ends kubectl.
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	os.Exit(plugin.Run(context.Background(), streams, os.Args[1:]))
}
