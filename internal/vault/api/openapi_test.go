package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenAPIDocumentIsTheDocsCopy(t *testing.T) {
	docs, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "api", "openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(docs, openAPIDoc) {
		t.Fatal("docs/api/openapi.json differs from internal/vault/api/openapi.json: copy one over the other")
	}
}

func TestOpenAPIIsServed(t *testing.T) {
	f := newFixture(t)
	rec := f.do(t, "GET", "/api/v1/openapi.json", "", "")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" || !bytes.Equal(rec.Body.Bytes(), openAPIDoc) {
		t.Fatalf("status %d, Content-Type %q, body equal %v", rec.Code, rec.Header().Get("Content-Type"), bytes.Equal(rec.Body.Bytes(), openAPIDoc))
	}
}

// TestOpenAPIDescribesTheRouteTable checks the document against the route table both ways, with
// each operation's role (x-cairn-role) and security, and that every $ref resolves.
func TestOpenAPIDescribesTheRouteTable(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.0.") {
		t.Fatalf("openapi %q, want 3.0.x", v)
	}
	if scheme := lookup(t, doc, "#/components/securitySchemes/bearer"); scheme["type"] != "http" || scheme["scheme"] != "bearer" {
		t.Errorf("bearer scheme %v", scheme)
	}
	for _, name := range []string{"Policy", "Schedule", "Retention", "Token", "TokenRequest", "Error", "WhoAmI", "PolicyList"} {
		lookup(t, doc, "#/components/schemas/"+name)
	}

	paths := doc["paths"].(map[string]any)
	described := map[string]bool{}
	for path, item := range paths {
		for method := range item.(map[string]any) {
			if method != "parameters" {
				described[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	srv := NewServer(nil, nil, nil)
	for _, rt := range srv.routes() {
		key := rt.method + " " + rt.pattern
		if !described[key] {
			t.Errorf("route %s is not in openapi.json", key)
			continue
		}
		delete(described, key)
		op := paths[rt.pattern].(map[string]any)[strings.ToLower(rt.method)].(map[string]any)
		responses := op["responses"].(map[string]any)
		security, hasSecurity := op["security"].([]any)
		if rt.minRole == public {
			if op["x-cairn-role"] != "none" || !hasSecurity || len(security) != 0 {
				t.Errorf("%s: public, but x-cairn-role %v, security %v", key, op["x-cairn-role"], op["security"])
			}
			continue
		}
		if op["x-cairn-role"] != rt.minRole || hasSecurity {
			t.Errorf("%s: x-cairn-role %v, security %v; want %s and the document's bearer security", key, op["x-cairn-role"], op["security"], rt.minRole)
		}
		for _, status := range []string{"401", "403", "500"} {
			if responses[status] == nil {
				t.Errorf("%s: no %s response", key, status)
			}
		}
		if strings.Contains(rt.pattern, "{name}") && responses["404"] == nil {
			t.Errorf("%s: no 404 response", key)
		}
		if rt.method == http.MethodPost {
			for _, status := range []string{"201", "400", "409", "413", "422"} {
				if responses[status] == nil {
					t.Errorf("%s: no %s response", key, status)
				}
			}
		}
	}
	for key := range described {
		t.Errorf("openapi.json describes %s, which the route table lacks", key)
	}

	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				lookup(t, doc, ref)
			}
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(doc)
}

// lookup resolves a local JSON pointer ("#/a/b") in doc to an object.
func lookup(t *testing.T, doc map[string]any, ref string) map[string]any {
	t.Helper()
	pointer, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		t.Fatalf("$ref %q is not local", ref)
	}
	var v any = doc
	for _, part := range strings.Split(pointer, "/") {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("$ref %q does not resolve", ref)
		}
		v = m[strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")]
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("$ref %q does not resolve to an object", ref)
	}
	return m
}
