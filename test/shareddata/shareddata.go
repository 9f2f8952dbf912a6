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

// Package shareddata finds the test data shared beside the repository
// (shared/testdata): compiled pipelines and Argo's CRDs, which are not part of the
// repository.
package shareddata

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// EnvRequireTestDeps set to "1" (as in CI) turns missing shared data from a skip into a
// failure.
const EnvRequireTestDeps = "PIPELINES_REQUIRE_TESTDEPS"

// Root returns the shared test data, shared/testdata in the nearest directory at or
// above the working directory that has it: beside the module root, or beside the
// folder holding a worktree.
func Root() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		candidate := filepath.Join(dir, "shared", "testdata")
		if fi, err := os.Stat(candidate); err == nil && fi.IsDir() {
			return candidate, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("shared/testdata not found in %s or above it", wd)
		}
	}
}

// Dir returns shared/testdata/<name> (see Root). Without it the test is skipped with
// the reason, or fails if PIPELINES_REQUIRE_TESTDEPS=1.
func Dir(tb testing.TB, name string) string {
	tb.Helper()
	root, err := Root()
	if err == nil {
		dir := filepath.Join(root, name)
		if _, err = os.Stat(dir); err == nil {
			return dir
		}
	}
	msg := fmt.Sprintf("shared test data %s: %v", name, err)
	if os.Getenv(EnvRequireTestDeps) == "1" {
		tb.Fatalf("%s; %s=1 requires it", msg, EnvRequireTestDeps)
	}
	tb.Skipf("%s; set %s=1 to fail instead", msg, EnvRequireTestDeps)
	return ""
}

// Files lists the files under shared/testdata/<name>/<sub>, at any depth, whose names
// end in one of exts (all files if none is given). It fails the test if there are none.
func Files(tb testing.TB, name, sub string, exts ...string) []string {
	tb.Helper()
	root := filepath.Join(Dir(tb, name), sub)
	var files []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if len(exts) == 0 {
			files = append(files, path)
			return nil
		}
		for _, ext := range exts {
			if filepath.Ext(path) == ext {
				files = append(files, path)
				break
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	if len(files) == 0 {
		tb.Fatalf("no files in %s", root)
	}
	return files
}
