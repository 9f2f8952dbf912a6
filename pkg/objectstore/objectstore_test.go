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

package objectstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/objectstore"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/s3server"
)

func TestParseURI(t *testing.T) {
	for uri, want := range map[string]string{
		"s3://b/k/x":        "b k/x",
		"minio://b/k/":      "b k",
		"s3://b":            "b ",
		"gs://b/k":          "error",
		"s3:///k":           "error",
		"https://host/b/k":  "error",
		"/s3/b/k":           "error",
		"s3://bucket/a/b/c": "bucket a/b/c",
	} {
		b, k, err := objectstore.ParseURI(uri)
		got := b + " " + k
		if err != nil {
			got = "error"
		}
		if got != want {
			t.Errorf("ParseURI(%q) = %q, %v; want %q", uri, got, err, want)
		}
	}
}

func TestConfigFromEnv(t *testing.T) {
	t.Setenv("PIPELINES_PIPELINE_ROOT", "s3://b/p")
	t.Setenv("PIPELINES_S3_ENDPOINT", "http://127.0.0.1:9000")
	t.Setenv("PIPELINES_S3_REGION", "eu-1")
	t.Setenv("PIPELINES_S3_INSECURE", "true")
	t.Setenv("PIPELINES_S3_ACCESS_KEY", "a")
	t.Setenv("PIPELINES_S3_SECRET_KEY", "s")
	c, err := objectstore.ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if want := (objectstore.Config{PipelineRoot: "s3://b/p", Endpoint: "http://127.0.0.1:9000", Region: "eu-1", Insecure: true, AccessKey: "a", SecretKey: "s"}); c != want {
		t.Errorf("ConfigFromEnv() = %+v, want %+v", c, want)
	}
	t.Setenv("PIPELINES_S3_INSECURE", "maybe")
	if _, err := objectstore.ConfigFromEnv(); err == nil || !strings.Contains(err.Error(), "PIPELINES_S3_INSECURE") {
		t.Errorf("a bad PIPELINES_S3_INSECURE: error %v", err)
	}
}

func TestOpenRefuses(t *testing.T) {
	for _, c := range []objectstore.Config{
		{Endpoint: "ftp://host"},
		{Endpoint: "http://host/path"},
		{Endpoint: "host:9000", AccessKey: "only-one"},
	} {
		if _, err := objectstore.Open(context.Background(), c); err == nil {
			t.Errorf("Open(%+v): no error", c)
		}
	}
}

// Files and directory trees go in and come back out of a real S3 server, by s3:// and
// minio:// URIs alike.
func TestPutGet(t *testing.T) {
	srv := s3server.Start(t)
	srv.Bucket(t, "bkt")
	ctx := context.Background()
	st, err := objectstore.Open(ctx, objectstore.Config{Endpoint: "http://" + srv.Endpoint, Region: srv.Region, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("one file"), 0o644); err != nil {
		t.Fatal(err)
	}
	tree := filepath.Join(dir, "tree")
	for name, data := range map[string]string{"a": "A", "sub/b": "B", "sub/deeper/c": "C"} {
		p := filepath.Join(tree, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Put(ctx, "s3://bkt/run/file", file); err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, "minio://bkt/run/tree", tree); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := st.Get(ctx, "minio://bkt/run/file", filepath.Join(out, "f", "file")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(out, "f", "file")); err != nil || string(b) != "one file" {
		t.Errorf("file = %q, %v", b, err)
	}
	if err := st.Get(ctx, "s3://bkt/run/tree", filepath.Join(out, "tree")); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"a": "A", "sub/b": "B", "sub/deeper/c": "C"} {
		if b, err := os.ReadFile(filepath.Join(out, "tree", name)); err != nil || string(b) != want {
			t.Errorf("tree/%s = %q, %v; want %q", name, b, err, want)
		}
	}
	if err := st.Get(ctx, "s3://bkt/run/nothing", filepath.Join(out, "nothing")); !errors.Is(err, objectstore.ErrNotFound) {
		t.Errorf("Get of nothing: %v, want ErrNotFound", err)
	}
	if err := st.Get(ctx, "s3://no-such-bucket/x", filepath.Join(out, "x")); err == nil {
		t.Error("Get from a missing bucket: no error")
	}
	if err := st.Put(ctx, "s3://bkt/run/missing", filepath.Join(dir, "missing")); err == nil {
		t.Error("Put of a missing file: no error")
	}
	// Wrong credentials are refused by the server.
	bad, err := objectstore.Open(ctx, objectstore.Config{Endpoint: srv.Endpoint, Insecure: true, Region: srv.Region, AccessKey: srv.AccessKey, SecretKey: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.Get(ctx, "s3://bkt/run/file", filepath.Join(out, "bad")); err == nil {
		t.Error("Get with a wrong secret key: no error")
	}
}
