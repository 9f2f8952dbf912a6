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

// Package table turns objects into the tables kubectl get prints.
package table

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apiserver/pkg/registry/rest"
)

// Convertor is a rest.TableConvertor: a NAME column, Columns, then AGE.
type Convertor struct {
	// Columns are the columns between NAME and AGE.
	Columns []metav1.TableColumnDefinition
	// Cells returns the cells of Columns for one object.
	Cells func(obj runtime.Object) []interface{}
}

var _ rest.TableConvertor = Convertor{}

var (
	nameColumn = metav1.TableColumnDefinition{Name: "Name", Type: "string", Format: "name",
		Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]}
	ageColumn = metav1.TableColumnDefinition{Name: "Age", Type: "date",
		Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]}
)

// ConvertToTable implements rest.TableConvertor for one object or a list.
func (c Convertor) ConvertToTable(_ context.Context, obj runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	t := &metav1.Table{}
	if opts, ok := tableOptions.(*metav1.TableOptions); !ok || !opts.NoHeaders {
		t.ColumnDefinitions = append(append([]metav1.TableColumnDefinition{nameColumn}, c.Columns...), ageColumn)
	}
	addRow := func(item runtime.Object) error {
		m, err := meta.Accessor(item)
		if err != nil {
			return err
		}
		cells := append([]interface{}{m.GetName()}, c.Cells(item)...)
		cells = append(cells, Since(m.GetCreationTimestamp()))
		t.Rows = append(t.Rows, metav1.TableRow{Cells: cells, Object: runtime.RawExtension{Object: item}})
		return nil
	}
	if !meta.IsListType(obj) {
		if err := addRow(obj); err != nil {
			return nil, err
		}
		if m, err := meta.Accessor(obj); err == nil {
			t.ResourceVersion = m.GetResourceVersion()
		}
		return t, nil
	}
	if err := meta.EachListItem(obj, addRow); err != nil {
		return nil, err
	}
	if l, err := meta.ListAccessor(obj); err == nil {
		t.ResourceVersion = l.GetResourceVersion()
		t.Continue = l.GetContinue()
		t.RemainingItemCount = l.GetRemainingItemCount()
	}
	return t, nil
}

// Since prints how long ago a time was, as kubectl's AGE column does; "<unknown>" for none.
func Since(ts metav1.Time) string {
	if ts.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(time.Since(ts.Time))
}

// SinceP is Since for an optional time; "" for none.
func SinceP(ts *metav1.Time) string {
	if ts == nil {
		return ""
	}
	return Since(*ts)
}
