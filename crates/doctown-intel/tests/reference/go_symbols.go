// Reference symbols for Go files, from Go's own go/parser and go/ast.
//
// Usage: go run go_symbols.go ROOT
// Prints one JSON object per file under ROOT (testdata excluded) that go/parser parses:
// {"path": relative path, "symbols": [[qualified_name, kind, start_line, end_line], ...]}
// Kinds: function, method (with receiver: Type.Method; interface methods: Iface.Method),
// struct, interface, type_alias (other type declarations), const, variable (package level).
// A declaration in a parenthesised group spans its spec; an ungrouped one spans from its keyword.
package main

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

type symbol = []interface{}

func receiverName(expr ast.Expr) string {
	switch t := expr.(type) {
	case *ast.StarExpr:
		return receiverName(t.X)
	case *ast.Ident:
		return t.Name
	case *ast.IndexExpr:
		return receiverName(t.X)
	case *ast.IndexListExpr:
		return receiverName(t.X)
	case *ast.ParenExpr:
		return receiverName(t.X)
	}
	return ""
}

func collect(fset *token.FileSet, file *ast.File) []symbol {
	symbols := []symbol{}
	add := func(name, kind string, from, to token.Pos) {
		symbols = append(symbols, symbol{name, kind, fset.Position(from).Line, fset.Position(to - 1).Line})
	}
	for _, decl := range file.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			if d.Recv != nil && len(d.Recv.List) > 0 {
				add(receiverName(d.Recv.List[0].Type)+"."+d.Name.Name, "method", d.Pos(), d.End())
			} else {
				add(d.Name.Name, "function", d.Pos(), d.End())
			}
		case *ast.GenDecl:
			grouped := d.Lparen.IsValid()
			for _, spec := range d.Specs {
				from, to := d.Pos(), d.End()
				if grouped {
					from, to = spec.Pos(), spec.End()
				}
				switch s := spec.(type) {
				case *ast.TypeSpec:
					switch t := s.Type.(type) {
					case *ast.StructType:
						add(s.Name.Name, "struct", from, to)
					case *ast.InterfaceType:
						add(s.Name.Name, "interface", from, to)
						for _, field := range t.Methods.List {
							if _, isMethod := field.Type.(*ast.FuncType); isMethod {
								for _, name := range field.Names {
									add(s.Name.Name+"."+name.Name, "method", field.Pos(), field.End())
								}
							}
						}
					default:
						add(s.Name.Name, "type_alias", from, to)
					}
				case *ast.ValueSpec:
					kind := "variable"
					if d.Tok == token.CONST {
						kind = "const"
					}
					for _, name := range s.Names {
						if name.Name != "_" {
							add(name.Name, kind, from, to)
						}
					}
				}
			}
		}
	}
	return symbols
}

func main() {
	root, err := filepath.EvalSymlinks(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var paths []string
	filepath.WalkDir(root, func(path string, entry fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if entry.IsDir() && (entry.Name() == "testdata" || entry.Name() == "vendor") {
			return filepath.SkipDir
		}
		if !entry.IsDir() && filepath.Ext(path) == ".go" {
			paths = append(paths, path)
		}
		return nil
	})
	sort.Strings(paths)
	out := json.NewEncoder(os.Stdout)
	for _, path := range paths {
		fset := token.NewFileSet()
		file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			continue
		}
		relative, _ := filepath.Rel(root, path)
		if err := out.Encode(map[string]interface{}{"path": relative, "symbols": collect(fset, file)}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
