package s3server

import (
	"bytes"
	"io"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// TestPutGet stores an object in a new bucket of a real SeaweedFS and reads it back with
// minio-go, the client pkg/objectstore uses; a wrong secret is refused.
func TestPutGet(t *testing.T) {
	srv := Start(t)
	srv.Bucket(t, "artifacts")
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	want := bytes.Repeat([]byte("pipelines\n"), 100_000) // 1 MB: more than one chunk write
	if _, err := c.PutObject(ctx, "artifacts", "runs/r1/train/model", bytes.NewReader(want), int64(len(want)),
		minio.PutObjectOptions{ContentType: "application/octet-stream"}); err != nil {
		t.Fatalf("put: %v", err)
	}
	obj, err := c.GetObject(ctx, "artifacts", "runs/r1/train/model", minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	got, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("reading: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("read back %d bytes, want the %d written", len(got), len(want))
	}
	var keys []string
	for o := range c.ListObjects(ctx, "artifacts", minio.ListObjectsOptions{Prefix: "runs/r1/", Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		keys = append(keys, o.Key)
	}
	if len(keys) != 1 || keys[0] != "runs/r1/train/model" {
		t.Errorf("listed %v, want [runs/r1/train/model]", keys)
	}

	wrong, err := minio.New(srv.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(srv.AccessKey, "not-the-secret", ""), Region: srv.Region})
	if err != nil {
		t.Fatal(err)
	}
	_, err = wrong.StatObject(ctx, "artifacts", "runs/r1/train/model", minio.StatObjectOptions{})
	if code := minio.ToErrorResponse(err).Code; code != "SignatureDoesNotMatch" && code != "AccessDenied" {
		t.Errorf("a request signed with a wrong secret key: %v (code %q), want SignatureDoesNotMatch or AccessDenied", err, code)
	}
}

// TestRestartKeepsData: a second Run on the same directory, as a second `make run` does,
// serves the same endpoint and identity with the objects stored before, and can store
// more (SeaweedFS's master would otherwise refuse new volumes after a change of address).
func TestRestartKeepsData(t *testing.T) {
	binary := BinaryOrSkip(t)
	dir := t.TempDir()
	srv, err := Run(t.Context(), Config{Binary: binary, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	srv.Bucket(t, "kept")
	put := func(s *Server, key string) {
		t.Helper()
		c, err := s.Client()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutObject(t.Context(), "kept", key, bytes.NewReader([]byte(key)), int64(len(key)), minio.PutObjectOptions{}); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
	}
	put(srv, "before")
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	again, err := Run(t.Context(), Config{Binary: binary, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(again.Kill)
	if again.Endpoint != srv.Endpoint || again.AccessKey != srv.AccessKey || again.SecretKey != srv.SecretKey {
		t.Errorf("restarted as %s with key %s, want %s with key %s", again.Endpoint, again.AccessKey, srv.Endpoint, srv.AccessKey)
	}
	c, err := again.Client()
	if err != nil {
		t.Fatal(err)
	}
	obj, err := c.GetObject(t.Context(), "kept", "before", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(obj); err != nil || string(got) != "before" {
		t.Errorf("after the restart: %q, %v; want %q", got, err, "before")
	}
	put(again, "after")
}
