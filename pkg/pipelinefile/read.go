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

// Package pipelinefile reads compiled pipelines, the files the Kubeflow Pipelines SDKs
// write (a v1 Argo Workflow, a 2.x pipeline IR, or a package holding one), and uploads
// them as pipeline versions. kubectl pipelines upload and the web UI both use it, so a
// file is told apart and checked in one place.
package pipelinefile

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/pipelinespec"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/workflow"
)

// MaxBytes bounds what is read from a file or an archive member, so that a small
// compressed archive cannot expand without limit. Compiled pipelines are kilobytes;
// the server's request limit is far below this.
const MaxBytes = 32 << 20

// VersionName names an uploaded version after its pipeline and its definition: the
// same definition always gets the same name.
func VersionName(pipeline string, def *v1beta1.PipelineVersionSpec) string {
	h := sha256.New()
	if len(def.PipelineSpec.Raw) == 0 {
		h.Write(def.Workflow.Raw)
	} else {
		h.Write(def.PipelineSpec.Raw)
		h.Write([]byte("\n"))
		h.Write(def.PlatformSpec.Raw)
	}
	return pipeline + "-" + hex.EncodeToString(h.Sum(nil)[:4])
}

// Read reads a compiled pipeline, plain or packaged as KFP packages them
// (.tar.gz or .zip holding one file), and returns it as a version's definition:
//   - one YAML document of kind Workflow is a KFP v1 Argo Workflow (spec.workflow);
//   - a pipeline IR (a document with pipelineInfo, root, components or
//     schemaVersion), as the KFP 2.x SDK compiles it, optionally followed by a second
//     document, its Kubernetes platform spec (platforms), is spec.pipelineSpec and
//     spec.platformSpec.
//
// The JSON is canonical (keys sorted, no layout), so the same pipeline in YAML, in
// JSON or in a package is the same bytes. It checks the definition as the server
// will, so that a wrong file is reported before anything is created.
func Read(r io.Reader) (*v1beta1.PipelineVersionSpec, error) {
	data, err := readLimited(r)
	if err != nil {
		return nil, err
	}
	if data, err = unpack(data); err != nil {
		return nil, err
	}
	docs, err := pipelinespec.Documents(data)
	if err != nil {
		return nil, fmt.Errorf("not YAML or JSON: %w", err)
	}
	if len(docs) == 0 {
		return nil, errors.New("holds no pipeline: it is empty")
	}
	var head map[string]json.RawMessage
	if bytes.HasPrefix(docs[0], []byte("{")) {
		_ = json.Unmarshal(docs[0], &head)
	}
	if isIR(head) {
		return readIR(docs)
	}
	if len(docs) > 1 {
		return nil, errors.New("holds more than one YAML document; a compiled pipeline is one Argo Workflow " +
			"(KFP v1) or a pipeline IR with an optional platform spec (KFP 2.x)")
	}
	wf, errs := workflow.Parse(docs[0], nil)
	if len(errs) > 0 {
		// About the document as a whole, which has no field path to print.
		return nil, errors.New(errs[0].Detail)
	}
	if errs := wf.Validate(nil); len(errs) > 0 {
		if wf.Kind == "" && wf.APIVersion == "" {
			return nil, fmt.Errorf("neither an Argo Workflow (KFP v1) nor a pipeline IR (KFP 2.x): %w", errs.ToAggregate())
		}
		return nil, fmt.Errorf("not an Argo Workflow as the Kubeflow Pipelines v1 SDK compiles it: %w", errs.ToAggregate())
	}
	return &v1beta1.PipelineVersionSpec{Workflow: runtime.RawExtension{Raw: docs[0]}}, nil
}

// isIR tells a pipeline IR from an Argo Workflow by the fields only the IR has.
func isIR(doc map[string]json.RawMessage) bool {
	if _, ok := doc["kind"]; ok {
		return false
	}
	for _, k := range []string{"pipelineInfo", "root", "components", "deploymentSpec", "schemaVersion"} {
		if _, ok := doc[k]; ok {
			return true
		}
	}
	return false
}

// readIR checks a KFP 2.x pipeline: the IR and its optional platform spec.
func readIR(docs [][]byte) (*v1beta1.PipelineVersionSpec, error) {
	if len(docs) > 2 {
		return nil, fmt.Errorf("holds %d YAML documents; a KFP 2.x pipeline is the pipeline IR and at most a platform spec", len(docs))
	}
	def := &v1beta1.PipelineVersionSpec{PipelineSpec: runtime.RawExtension{Raw: docs[0]}}
	if len(docs) == 2 {
		def.PlatformSpec = runtime.RawExtension{Raw: docs[1]}
	}
	ir, errs := pipelinespec.Parse(docs[0], field.NewPath("pipelineSpec"))
	platform, perrs := pipelinespec.ParsePlatform(def.PlatformSpec.Raw, field.NewPath("platformSpec"))
	if errs = append(errs, perrs...); len(errs) == 0 {
		errs = ir.Validate(platform, field.NewPath("pipelineSpec"), field.NewPath("platformSpec"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("not a pipeline IR that can run (KFP 2.x): %w", errs.ToAggregate())
	}
	return def, nil
}

func readLimited(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxBytes {
		return nil, fmt.Errorf("larger than %d MiB: not a compiled pipeline", MaxBytes>>20)
	}
	return data, nil
}

// unpack returns the one file in a .tar.gz or .zip package, recognised by its
// content rather than its name, and anything else as it is.
func unpack(data []byte) ([]byte, error) {
	switch {
	case bytes.HasPrefix(data, []byte{0x1f, 0x8b}):
		return fromTarGz(data)
	case bytes.HasPrefix(data, []byte("PK\x03\x04")), bytes.HasPrefix(data, []byte("PK\x05\x06")):
		return fromZip(data)
	}
	return data, nil
}

func fromTarGz(data []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("reading gzip: %w", err)
	}
	tr := tar.NewReader(zr)
	var names []string
	var content []byte
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading tar.gz package: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if names = append(names, h.Name); len(names) == 1 {
			if content, err = readLimited(tr); err != nil {
				return nil, fmt.Errorf("%s in the package: %w", h.Name, err)
			}
		}
	}
	return content, onlyOne(names)
}

func fromZip(data []byte) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("reading zip package: %w", err)
	}
	var files []*zip.File
	var names []string
	for _, f := range zr.File {
		if f.Mode().IsRegular() {
			files, names = append(files, f), append(names, f.Name)
		}
	}
	if err := onlyOne(names); err != nil {
		return nil, err
	}
	rc, err := files[0].Open()
	if err != nil {
		return nil, fmt.Errorf("%s in the package: %w", names[0], err)
	}
	defer rc.Close()
	content, err := readLimited(rc)
	if err != nil {
		return nil, fmt.Errorf("%s in the package: %w", names[0], err)
	}
	return content, nil
}

// onlyOne checks that a package holds one file, as KFP requires.
func onlyOne(names []string) error {
	switch len(names) {
	case 1:
		return nil
	case 0:
		return errors.New("the package holds no file; it should hold one, the compiled pipeline")
	default:
		return fmt.Errorf("the package holds %d files (%s); it should hold one, the compiled pipeline",
			len(names), strings.Join(names, ", "))
	}
}
