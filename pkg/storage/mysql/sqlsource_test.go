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

package mysql

// This file reads the engine's own source and proves that every piece of SQL text is
// built from constants and from the table and column names of Config (Table.Name and
// Column.Name, which Config.Validate restricts to [a-z][a-z0-9_]*), and never from
// fmt.Sprintf, a parameter, or anything else a request could reach. Request data can
// then only travel as statement arguments, which the driver sends apart from the text
// (binary protocol: the DSN's interpolateParams is forced off).

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// sqlFields are the struct fields that hold SQL text. Every write to them is checked;
// reading them is then safe.
var sqlFields = map[string]bool{
	"statement.text":           true,
	"migration.statements":     true,
	"tableStatements.listFrom": true,
	"tableStatements.counted":  true,
}

// sqlMethods are database/sql methods and the index of their query argument.
var sqlMethods = map[string]int{
	"ExecContext": 1, "QueryContext": 1, "QueryRowContext": 1, "PrepareContext": 1,
	"Exec": 0, "Query": 0, "QueryRow": 0, "Prepare": 0,
}

// sqlChecker finds the SQL sinks of one type-checked package and checks what reaches them.
type sqlChecker struct {
	fset  *token.FileSet
	info  *types.Info
	pkg   *types.Package
	files []*ast.File

	// assigned holds, for each variable, every expression assigned to it (nil for one
	// whose value cannot be followed, such as one of several results of a call); for a
	// range variable, the ranged expression.
	assigned map[types.Object][]ast.Expr
	ranged   map[types.Object]ast.Expr
	// builder holds what is written to each strings.Builder variable.
	builder map[types.Object][]ast.Expr
	funcs   map[types.Object]*ast.FuncDecl
	params  map[types.Object]bool

	safeVar  map[types.Object]bool // memo; true while being decided, to end cycles
	problems []string
	sinks    int
}

// checkPackageSQL parses and type-checks the non-test files of dir. Imports are not
// loaded: the rules only need the package's own types, so imported names are resolved
// to empty packages and the type errors that causes are ignored.
func checkPackageSQL(t *testing.T, dir string, files map[string]string) *sqlChecker {
	t.Helper()
	fset := token.NewFileSet()
	var parsed []*ast.File
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), files[name], parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, f)
	}
	info := &types.Info{
		Types:      map[ast.Expr]types.TypeAndValue{},
		Defs:       map[*ast.Ident]types.Object{},
		Uses:       map[*ast.Ident]types.Object{},
		Selections: map[*ast.SelectorExpr]*types.Selection{},
	}
	conf := types.Config{
		Importer: emptyImporter{},
		Error:    func(error) {},
	}
	pkg, _ := conf.Check("mysql", fset, parsed, info)
	c := &sqlChecker{
		fset: fset, info: info, pkg: pkg, files: parsed,
		assigned: map[types.Object][]ast.Expr{},
		ranged:   map[types.Object]ast.Expr{},
		builder:  map[types.Object][]ast.Expr{},
		funcs:    map[types.Object]*ast.FuncDecl{},
		params:   map[types.Object]bool{},
		safeVar:  map[types.Object]bool{},
	}
	c.collect()
	c.check()
	return c
}

// emptyImporter gives every import an empty package, which is all the rules need,
// except that database/sql declares the types whose methods run SQL: a *sql.Stmt runs
// text prepared earlier, and its arguments are not SQL.
type emptyImporter struct{}

func (emptyImporter) Import(path string) (*types.Package, error) {
	pkg := types.NewPackage(path, path[strings.LastIndex(path, "/")+1:])
	if path == "database/sql" {
		for _, name := range []string{"DB", "Tx", "Conn", "Stmt", "Rows", "Row"} {
			tn := types.NewTypeName(token.NoPos, pkg, name, nil)
			types.NewNamed(tn, types.NewStruct(nil, nil), nil)
			pkg.Scope().Insert(tn)
		}
	}
	pkg.MarkComplete()
	return pkg, nil
}

// isStmt reports whether e is a *sql.Stmt.
func (c *sqlChecker) isStmt(e ast.Expr) bool {
	tv, ok := c.info.Types[e]
	if !ok {
		return false
	}
	t := tv.Type
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	named, ok := t.(*types.Named)
	return ok && named.Obj().Pkg() != nil && named.Obj().Pkg().Path() == "database/sql" && named.Obj().Name() == "Stmt"
}

func (c *sqlChecker) obj(id *ast.Ident) types.Object {
	if o := c.info.Defs[id]; o != nil {
		return o
	}
	return c.info.Uses[id]
}

// collect records assignments, range variables, builder writes, functions and parameters.
func (c *sqlChecker) collect() {
	for _, f := range c.files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if o := c.info.Defs[d.Name]; o != nil {
					c.funcs[o] = d
				}
			case *ast.GenDecl:
				c.valueSpecs(d)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncType:
				for _, fl := range []*ast.FieldList{n.Params, n.Results} {
					if fl == nil {
						continue
					}
					for _, field := range fl.List {
						for _, name := range field.Names {
							if o := c.obj(name); o != nil {
								c.params[o] = true
							}
						}
					}
				}
			case *ast.AssignStmt:
				for i, lhs := range n.Lhs {
					id, ok := lhs.(*ast.Ident)
					if !ok {
						continue
					}
					o := c.obj(id)
					if o == nil {
						continue
					}
					if len(n.Lhs) == len(n.Rhs) {
						c.assigned[o] = append(c.assigned[o], n.Rhs[i])
					} else {
						c.assigned[o] = append(c.assigned[o], nil)
					}
				}
			case *ast.GenDecl:
				c.valueSpecs(n)
			case *ast.RangeStmt:
				for _, v := range []ast.Expr{n.Key, n.Value} {
					if id, ok := v.(*ast.Ident); ok {
						if o := c.obj(id); o != nil {
							c.ranged[o] = n.X
						}
					}
				}
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok || (sel.Sel.Name != "WriteString" && sel.Sel.Name != "WriteByte" && sel.Sel.Name != "WriteRune") {
					return true
				}
				if id, ok := sel.X.(*ast.Ident); ok {
					if o := c.obj(id); o != nil {
						c.builder[o] = append(c.builder[o], n.Args...)
					}
				}
			}
			return true
		})
	}
}

func (c *sqlChecker) valueSpecs(d *ast.GenDecl) {
	for _, spec := range d.Specs {
		vs, ok := spec.(*ast.ValueSpec)
		if !ok {
			continue
		}
		for i, name := range vs.Names {
			o := c.obj(name)
			if o == nil {
				continue
			}
			switch {
			case len(vs.Values) == len(vs.Names):
				c.assigned[o] = append(c.assigned[o], vs.Values[i])
			case len(vs.Values) > 0:
				c.assigned[o] = append(c.assigned[o], nil)
			}
		}
	}
}

// fieldName names a struct field as Type.field when it belongs to a named type of
// this package.
func (c *sqlChecker) fieldName(sel *ast.SelectorExpr) string {
	s, ok := c.info.Selections[sel]
	if !ok || s.Kind() != types.FieldVal {
		return ""
	}
	recv := s.Recv()
	if p, ok := recv.(*types.Pointer); ok {
		recv = p.Elem()
	}
	named, ok := recv.(*types.Named)
	if !ok || named.Obj().Pkg() != c.pkg {
		return ""
	}
	return named.Obj().Name() + "." + sel.Sel.Name
}

func (c *sqlChecker) typeName(e ast.Expr) string {
	tv, ok := c.info.Types[e]
	if !ok {
		return ""
	}
	t := tv.Type
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	if named, ok := t.(*types.Named); ok && named.Obj().Pkg() == c.pkg {
		return named.Obj().Name()
	}
	return ""
}

func (c *sqlChecker) report(n ast.Node, format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf("%s: ", c.fset.Position(n.Pos()))+fmt.Sprintf(format, args...))
}

// check visits every sink: the SQL fields where they are written and the query
// argument of every database/sql call.
func (c *sqlChecker) check() {
	for _, f := range c.files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CompositeLit:
				typ := c.typeName(n)
				for i, elt := range n.Elts {
					field, value := "", elt
					if kv, ok := elt.(*ast.KeyValueExpr); ok {
						if id, ok := kv.Key.(*ast.Ident); ok {
							field, value = id.Name, kv.Value
						}
					} else if named := c.structFieldAt(n, i); named != "" {
						field = named
					}
					if sqlFields[typ+"."+field] {
						c.sink(value, typ+"."+field)
					}
				}
			case *ast.AssignStmt:
				for i, lhs := range n.Lhs {
					if sel, ok := lhs.(*ast.SelectorExpr); ok && sqlFields[c.fieldName(sel)] && len(n.Rhs) == len(n.Lhs) {
						c.sink(n.Rhs[i], c.fieldName(sel))
					}
				}
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if idx, ok := sqlMethods[sel.Sel.Name]; ok && len(n.Args) > idx && !c.isStmt(sel.X) {
					c.sink(n.Args[idx], sel.Sel.Name)
				}
			}
			return true
		})
	}
}

// structFieldAt names the i-th field of the struct a positional literal builds.
func (c *sqlChecker) structFieldAt(lit *ast.CompositeLit, i int) string {
	tv, ok := c.info.Types[lit]
	if !ok {
		return ""
	}
	st, ok := tv.Type.Underlying().(*types.Struct)
	if !ok || i >= st.NumFields() {
		return ""
	}
	return st.Field(i).Name()
}

func (c *sqlChecker) sink(e ast.Expr, what string) {
	c.sinks++
	if !c.safe(e) {
		c.report(e, "SQL text for %s is built from %s, which is neither a constant nor a configured table or column name", what, types.ExprString(e))
	}
}

// safe reports whether e, a string or a slice of strings, can only hold constants and
// configured identifiers.
func (c *sqlChecker) safe(e ast.Expr) bool {
	if e == nil {
		return false
	}
	if tv, ok := c.info.Types[e]; ok && tv.Value != nil {
		return true // a constant
	}
	switch e := e.(type) {
	case *ast.BasicLit:
		return true
	case *ast.ParenExpr:
		return c.safe(e.X)
	case *ast.BinaryExpr:
		return e.Op == token.ADD && c.safe(e.X) && c.safe(e.Y)
	case *ast.CompositeLit:
		for _, elt := range e.Elts {
			if !c.safe(elt) {
				return false
			}
		}
		return true
	case *ast.IndexExpr:
		return c.safe(e.X)
	case *ast.SliceExpr:
		return c.safe(e.X)
	case *ast.Ident:
		return c.safeIdent(e)
	case *ast.SelectorExpr:
		if o, ok := c.info.Uses[e.Sel].(*types.Const); ok && o != nil {
			return true
		}
		name := c.fieldName(e)
		// Table.Name and Column.Name are what Config.Validate checks against identifier.
		return name == "Table.Name" || name == "Column.Name" || sqlFields[name]
	case *ast.CallExpr:
		return c.safeCall(e)
	}
	return false
}

func (c *sqlChecker) safeIdent(id *ast.Ident) bool {
	o := c.obj(id)
	switch o := o.(type) {
	case *types.Const:
		return true
	case *types.Var:
		if c.params[o] {
			return false // a parameter: anything may come in
		}
		if done, ok := c.safeVar[o]; ok {
			return done
		}
		c.safeVar[o] = true // assume, to end cycles such as s += s
		ok := true
		if x, isRange := c.ranged[o]; isRange {
			ok = c.safe(x)
		}
		for _, a := range c.assigned[o] {
			ok = ok && c.safe(a)
		}
		if _, isRange := c.ranged[o]; !isRange && len(c.assigned[o]) == 0 {
			ok = false // declared without a value and never assigned: not followed
		}
		c.safeVar[o] = ok
		return ok
	}
	return false
}

func (c *sqlChecker) safeCall(call *ast.CallExpr) bool {
	switch fun := call.Fun.(type) {
	case *ast.Ident:
		switch o := c.info.Uses[fun].(type) {
		case *types.Builtin:
			if o.Name() == "make" {
				return true // an empty slice
			}
			if o.Name() != "append" {
				return false
			}
			for _, a := range call.Args {
				if !c.safe(a) {
					return false
				}
			}
			return true
		case *types.Func:
			return c.safeFunc(o)
		}
		return false
	case *ast.SelectorExpr:
		if pkgID, ok := fun.X.(*ast.Ident); ok {
			if pn, ok := c.info.Uses[pkgID].(*types.PkgName); ok {
				switch pn.Imported().Path() + "." + fun.Sel.Name {
				case "strconv.Itoa", "strconv.FormatInt", "strconv.FormatUint":
					return true // digits and a sign
				case "strings.Join", "strings.TrimSuffix", "strings.TrimPrefix", "strings.ToLower":
					for _, a := range call.Args {
						if !c.safe(a) {
							return false
						}
					}
					return true
				case "strings.Repeat":
					return len(call.Args) == 2 && c.safe(call.Args[0])
				}
				return false // fmt.Sprintf and every other function
			}
		}
		// b.String() of a strings.Builder that only ever gets safe text.
		if fun.Sel.Name == "String" && len(call.Args) == 0 {
			if id, ok := fun.X.(*ast.Ident); ok {
				if o := c.obj(id); o != nil {
					writes, ok := c.builder[o]
					if !ok {
						return false
					}
					for _, w := range writes {
						if !c.safe(w) {
							return false
						}
					}
					return true
				}
			}
		}
	}
	return false
}

// safeFunc: a function of this package whose every returned string is safe.
func (c *sqlChecker) safeFunc(o *types.Func) bool {
	d := c.funcs[o]
	if d == nil || d.Body == nil {
		return false
	}
	if done, ok := c.safeVar[o]; ok {
		return done
	}
	c.safeVar[o] = true
	ok := true
	ast.Inspect(d.Body, func(n ast.Node) bool {
		if _, isLit := n.(*ast.FuncLit); isLit {
			return false
		}
		if r, isRet := n.(*ast.ReturnStmt); isRet {
			for _, res := range r.Results {
				ok = ok && c.safe(res)
			}
		}
		return true
	})
	c.safeVar[o] = ok
	return ok
}

// TestSQLTextFromConstantsAndConfigOnly runs the checker on this package.
func TestSQLTextFromConstantsAndConfigOnly(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range entries {
		if name := e.Name(); strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") {
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			files[name] = string(data)
		}
	}
	c := checkPackageSQL(t, ".", files)
	for _, p := range c.problems {
		t.Error(p)
	}
	// Every statement literal, migration and database/sql call is a sink: far more
	// than this, so a checker that stopped finding them would fail here.
	if c.sinks < 35 {
		t.Errorf("found only %d places where SQL text is built or run; the checker has lost track", c.sinks)
	}
	t.Logf("%d places where SQL text is built or run, all from constants and configured names", c.sinks)

	// The driver must send arguments apart from the text, not splice them in itself.
	if !strings.Contains(files["backend.go"], "dsn.InterpolateParams = false") {
		t.Errorf("backend.go no longer forces interpolateParams off")
	}
}

// TestSQLTextCheckerCatchesInjection runs the checker on code that builds SQL from
// input in the ways it must catch, beside code it must accept.
func TestSQLTextCheckerCatchesInjection(t *testing.T) {
	const src = `package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

type statement struct{ name, text string }
type Column struct{ Field, Name string; Size int }
type Table struct{ Name string; Columns []Column }
type migration struct { version int; statements []string }

const logTable = "changelog"

var good = statement{"good", "SELECT id FROM " + logTable + " WHERE k = ?"}

func goodTable(t Table) statement {
	cols := []string{"k"}
	for _, c := range t.Columns {
		cols = append(cols, c.Name+" VARBINARY("+strconv.Itoa(c.Size)+")")
	}
	var b strings.Builder
	b.WriteString("CREATE TABLE " + t.Name + " (")
	b.WriteString(strings.Join(cols, ", "))
	return statement{name: t.Name, text: b.String() + placeholders(3)}
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

func bad(ctx context.Context, db *sql.DB, stmt *sql.Stmt, key, ns string, t Table, col Column) {
	_ = statement{"bad_concat", "SELECT * FROM pods WHERE k = '" + key + "'"}       // BAD
	_, _ = db.ExecContext(ctx, fmt.Sprintf("DELETE FROM %s", t.Name))               // BAD
	q := "SELECT * FROM " + t.Name
	q += " WHERE ns = '" + ns + "'"
	_, _ = db.QueryContext(ctx, q)                                                    // BAD
	var b strings.Builder
	b.WriteString("SELECT 1 FROM " + col.Field)
	_ = statement{name: "bad_builder", text: b.String()}                              // BAD
	_ = migration{1, []string{"DROP TABLE " + key}}                                   // BAD
	_ = db.QueryRowContext(ctx, lookup(key))                                          // BAD
	s := good
	s.text = s.text + key                                                             // BAD
	_, _ = db.ExecContext(ctx, good.text, key)
	_, _ = stmt.ExecContext(ctx, key)
	_ = stmt.QueryRowContext(ctx, key, ns)
	_, _ = db.ExecContext(ctx, "UPDATE "+t.Name+" SET "+col.Name+" = ? WHERE k = ?", ns, key)
}

func lookup(key string) string { return "SELECT " + key }
`
	c := checkPackageSQL(t, "synthetic", map[string]string{"synthetic.go": src})
	var gotLines []int
	for _, p := range c.problems {
		var line int
		if _, err := fmt.Sscanf(strings.TrimPrefix(p, "synthetic/synthetic.go:"), "%d:", &line); err != nil {
			t.Fatalf("unexpected report %q", p)
		}
		gotLines = append(gotLines, line)
	}
	var wantLines []int
	for i, l := range strings.Split(src, "\n") {
		if strings.HasSuffix(l, "// BAD") {
			wantLines = append(wantLines, i+1)
		}
	}
	sort.Ints(gotLines)
	if fmt.Sprint(gotLines) != fmt.Sprint(wantLines) {
		t.Errorf("the checker reported lines %v, want %v:\n%s", gotLines, wantLines, strings.Join(c.problems, "\n"))
	}
}
