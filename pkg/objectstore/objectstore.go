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

// Package objectstore reads and writes KFP artifacts in an S3-compatible object
// store. The store is the one a team configured in its namespace (docs/execution.md,
// "Artifact store"): the compiled task pods get its settings as environment variables,
// which ConfigFromEnv reads. URIs are s3://bucket/key; minio://bucket/key, which KFP
// writes for its bundled MinIO, is the same thing.
package objectstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/launcherspec"
)

// DefaultEndpoint is used when no endpoint is configured.
const DefaultEndpoint = "s3.amazonaws.com"

// Config says where the store is and how to sign in.
type Config struct {
	// PipelineRoot is the default root URI for output artifacts (s3://bucket/prefix).
	PipelineRoot string
	// Endpoint is host:port or a URL (http:// means Insecure).
	Endpoint string
	Region   string
	// Insecure uses plain HTTP.
	Insecure bool
	// AccessKey and SecretKey sign requests; without them the store is used
	// anonymously.
	AccessKey, SecretKey string
}

// ConfigFromEnv reads the Config from the environment variables the compiler gives a
// task's main container (launcherspec.StoreEnv).
func ConfigFromEnv() (Config, error) {
	c := Config{
		PipelineRoot: os.Getenv(launcherspec.PipelineRootEnv),
		Endpoint:     os.Getenv(launcherspec.EndpointEnv),
		Region:       os.Getenv(launcherspec.RegionEnv),
		AccessKey:    os.Getenv(launcherspec.AccessKeyEnv),
		SecretKey:    os.Getenv(launcherspec.SecretKeyEnv),
	}
	if s := os.Getenv(launcherspec.InsecureEnv); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return Config{}, fmt.Errorf("%s=%q: not a boolean", launcherspec.InsecureEnv, s)
		}
		c.Insecure = b
	}
	return c, nil
}

// Store is an open connection to the store.
type Store struct {
	client *minio.Client
}

// Open checks c and makes a client; it does not contact the store.
func Open(ctx context.Context, c Config) (*Store, error) {
	endpoint, secure := c.Endpoint, !c.Insecure
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	if strings.Contains(endpoint, "://") {
		u, err := url.Parse(endpoint)
		if err != nil {
			return nil, fmt.Errorf("object store endpoint %q: %w", c.Endpoint, err)
		}
		switch u.Scheme {
		case "http":
			secure = false
		case "https":
		default:
			return nil, fmt.Errorf("object store endpoint %q: scheme must be http or https", c.Endpoint)
		}
		if u.Path != "" && u.Path != "/" {
			return nil, fmt.Errorf("object store endpoint %q: a path is not supported", c.Endpoint)
		}
		endpoint = u.Host
	}
	if (c.AccessKey == "") != (c.SecretKey == "") {
		return nil, fmt.Errorf("object store credentials: both %s and %s are needed", launcherspec.AccessKeyEnv, launcherspec.SecretKeyEnv)
	}
	var creds *credentials.Credentials
	if c.AccessKey != "" {
		creds = credentials.NewStaticV4(c.AccessKey, c.SecretKey, "")
	} else {
		creds = credentials.NewStatic("", "", "", credentials.SignatureAnonymous)
	}
	client, err := minio.New(endpoint, &minio.Options{
		Creds:        creds,
		Secure:       secure,
		Region:       c.Region,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return nil, fmt.Errorf("object store endpoint %q: %w", endpoint, err)
	}
	return &Store{client: client}, nil
}

// ParseURI splits an s3:// or minio:// URI into bucket and key (without leading or
// trailing slashes).
func ParseURI(uri string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(uri, "s3://")
	if !ok {
		rest, ok = strings.CutPrefix(uri, "minio://")
	}
	if !ok {
		return "", "", fmt.Errorf("artifact URI %q: only s3:// and minio:// URIs are supported", uri)
	}
	bucket, key, _ = strings.Cut(rest, "/")
	key = strings.Trim(key, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("artifact URI %q: no bucket", uri)
	}
	return bucket, key, nil
}

// Put uploads localPath to uri: a file as the object uri, a directory as one object
// per file under uri/.
func (s *Store) Put(ctx context.Context, uri, localPath string) error {
	bucket, key, err := ParseURI(uri)
	if err != nil {
		return err
	}
	info, err := os.Stat(localPath)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		if key == "" {
			return fmt.Errorf("artifact URI %q: a file needs a key", uri)
		}
		if _, err := s.client.FPutObject(ctx, bucket, key, localPath, minio.PutObjectOptions{}); err != nil {
			return fmt.Errorf("upload %s to %s: %w", localPath, uri, err)
		}
		return nil
	}
	return filepath.WalkDir(localPath, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(localPath, p)
		if err != nil {
			return err
		}
		k := path.Join(key, filepath.ToSlash(rel))
		if _, err := s.client.FPutObject(ctx, bucket, k, p, minio.PutObjectOptions{}); err != nil {
			return fmt.Errorf("upload %s to s3://%s/%s: %w", p, bucket, k, err)
		}
		return nil
	})
}

// Get downloads uri to localPath: the object uri as a file if there is one, else
// every object under uri/ into the directory localPath. A URI with neither is an
// error.
func (s *Store) Get(ctx context.Context, uri, localPath string) error {
	bucket, key, err := ParseURI(uri)
	if err != nil {
		return err
	}
	if key != "" {
		_, err := s.client.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
		if err == nil {
			if err := os.MkdirAll(filepath.Dir(localPath), 0o755); err != nil {
				return err
			}
			if err := s.client.FGetObject(ctx, bucket, key, localPath, minio.GetObjectOptions{}); err != nil {
				return fmt.Errorf("download %s: %w", uri, err)
			}
			return nil
		}
		if minio.ToErrorResponse(err).Code != minio.NoSuchKey {
			return fmt.Errorf("download %s: %w", uri, err)
		}
	}
	prefix := key
	if prefix != "" {
		prefix += "/"
	}
	found := false
	for obj := range s.client.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("download %s: %w", uri, obj.Err)
		}
		rel := strings.TrimPrefix(obj.Key, prefix)
		if rel == "" || strings.HasSuffix(rel, "/") {
			continue
		}
		dst := filepath.Join(localPath, filepath.FromSlash(rel))
		if !strings.HasPrefix(dst, filepath.Clean(localPath)+string(filepath.Separator)) {
			return fmt.Errorf("download %s: object key %q leaves the directory", uri, obj.Key)
		}
		if err := s.client.FGetObject(ctx, bucket, obj.Key, dst, minio.GetObjectOptions{}); err != nil {
			return fmt.Errorf("download s3://%s/%s: %w", bucket, obj.Key, err)
		}
		found = true
	}
	if !found {
		return fmt.Errorf("download %s: %w", uri, ErrNotFound)
	}
	return nil
}

// ErrNotFound is returned (wrapped) by Get when nothing is stored at the URI.
var ErrNotFound = errors.New("no object or directory of objects there")
