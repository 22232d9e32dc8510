package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/policy"
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
	srv := NewServer(nil, Config{})
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
		if (strings.Contains(rt.pattern, "{name}") || strings.Contains(rt.pattern, "{id}")) && responses["404"] == nil {
			t.Errorf("%s: no 404 response", key)
		}
		success := false
		for status := range responses {
			success = success || strings.HasPrefix(status, "2")
		}
		if !success {
			t.Errorf("%s: no 2xx response", key)
		}
		var want []string
		if op["requestBody"] != nil || rt.method == http.MethodPost && responses["201"] != nil {
			want = append(want, "400", "413") // malformed or too large
		}
		if responses["201"] != nil {
			want = append(want, "409", "422") // a creation: duplicate, invalid content
		}
		for _, status := range want {
			if responses[status] == nil {
				t.Errorf("%s: no %s response", key, status)
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

// TestOpenAPISchemasMatchTheGoTypes checks each schema against the Go type the API encodes, both
// ways: every JSON field is a property of the matching type (structs by $ref to the schema of
// the same name), every property is a field, and required names only fields always written.
func TestOpenAPISchemasMatchTheGoTypes(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	for name, v := range map[string]any{
		"Policy": policy.Policy{}, "Schedule": policy.Schedule{}, "Retention": policy.Retention{}, "CopyTier": policy.CopyTier{},
		"Cluster": vaultv1.Cluster{}, "ClusterList": vaultv1.List[vaultv1.Cluster]{}, "ClusterRegistration": vaultv1.ClusterRegistration{},
		"TrustGrant": vaultv1.TrustGrant{}, "BackupConfig": vaultv1.BackupConfig{}, "StorageLocation": vaultv1.StorageLocation{},
		"InstanceSpec": vaultv1.InstanceSpec{}, "Instance": vaultv1.Instance{}, "InstanceList": vaultv1.List[vaultv1.Instance]{},
		"BackupNowRequest": vaultv1.BackupNowRequest{}, "StopRequest": vaultv1.StopRequest{},
		"RecoveryPoint": vaultv1.RecoveryPoint{}, "RecoveryPointList": vaultv1.List[vaultv1.RecoveryPoint]{}, "SoftDeletion": vaultv1.SoftDeletion{},
		"Job": vaultv1.Job{}, "JobList": vaultv1.List[vaultv1.Job]{}, "JobProgress": vaultv1.JobProgress{}, "JobSpec": vaultv1.JobSpec{},
		"BackupJob": vaultv1.BackupJob{}, "RestoreOptions": vaultv1.RestoreOptions{}, "RestoreRequest": vaultv1.RestoreRequest{},
		"RestoreJob": vaultv1.RestoreJob{}, "DeleteJob": vaultv1.DeleteJob{}, "VerifyJob": vaultv1.VerifyJob{}, "JobResult": vaultv1.JobResult{},
		"Check": vaultv1.Check{}, "RestoreSummary": vaultv1.RestoreSummary{}, "RestoreItem": vaultv1.RestoreItem{},
		"LogLine": vaultv1.LogLine{}, "LogLineList": vaultv1.List[vaultv1.LogLine]{}, "Heartbeat": agentv1.Heartbeat{},
		"ProgressReport": agentv1.ProgressReport{}, "ProgressReply": agentv1.ProgressReply{}, "Completion": agentv1.Completion{},
		"Prices": vaultv1.Prices{}, "InstanceUsage": vaultv1.InstanceUsage{}, "Usage": vaultv1.Usage{},
		"TokenRequest": vaultv1.TokenRequest{}, "NewToken": vaultv1.NewToken{}, "Token": vaultv1.Token{}, "TokenList": vaultv1.List[vaultv1.Token]{},
		"ApprovalRequest": vaultv1.ApprovalRequest{}, "ApprovalRequestList": vaultv1.List[vaultv1.ApprovalRequest]{},
		"AuditEntry": vaultv1.AuditEntry{}, "AuditEntryList": vaultv1.List[vaultv1.AuditEntry]{},
		"BrowseRequest": vaultv1.BrowseRequest{}, "FetchRequest": vaultv1.FetchRequest{}, "BrowseJob": vaultv1.BrowseJob{},
		"FetchJob": vaultv1.FetchJob{}, "BrowseResult": vaultv1.BrowseResult{}, "FileEntry": vaultv1.FileEntry{}, "FetchResult": vaultv1.FetchResult{},
		"Verification": vaultv1.Verification{}, "VerifyRequest": vaultv1.VerifyRequest{}, "VerifyResult": vaultv1.VerifyResult{},
		"VerifySchedule": policy.VerifySchedule{},
		"SSOSettings":    vaultv1.SSOSettings{}, "SSOTokenRequest": vaultv1.SSOTokenRequest{}, "SSOToken": vaultv1.SSOToken{},
		"SSORevokeRequest": vaultv1.SSORevokeRequest{},
		"Vault":            vaultv1.Vault{}, "VaultList": vaultv1.List[vaultv1.Vault]{}, "VaultRequest": vaultv1.VaultRequest{}, "NewVault": vaultv1.NewVault{},
	} {
		schema := lookup(t, doc, "#/components/schemas/"+name)
		props, _ := schema["properties"].(map[string]any)
		fields := jsonFields(reflect.TypeOf(v))
		for field, f := range fields {
			p, ok := props[field]
			if !ok {
				t.Errorf("%s: field %s (%s) is not in the schema", name, field, f.typ)
				continue
			}
			checkSchemaType(t, doc, name+"."+field, p.(map[string]any), f.typ)
		}
		for prop := range props {
			if _, ok := fields[prop]; !ok {
				t.Errorf("%s: property %s is no field of %T", name, prop, v)
			}
		}
		required, _ := schema["required"].([]any)
		for _, r := range required {
			if f, ok := fields[r.(string)]; ok && f.omitempty {
				t.Errorf("%s: %s is required, but the Go field is omitempty", name, r)
			}
		}
	}
}

type jsonField struct {
	typ       reflect.Type
	omitempty bool
}

// jsonFields are the JSON fields encoding/json writes for struct type typ, embedded structs
// flattened.
func jsonFields(typ reflect.Type) map[string]jsonField {
	out := map[string]jsonField{}
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() && !f.Anonymous {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = jsonField{typ: f.Type, omitempty: strings.Contains(","+opts+",", ",omitempty,")}
	}
	return out
}

// checkSchemaType checks that schema (a property's, or an array's items) describes Go type typ.
func checkSchemaType(t *testing.T, doc map[string]any, path string, schema map[string]any, typ reflect.Type) {
	t.Helper()
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	refName := ""
	for {
		if ref, ok := schema["$ref"].(string); ok {
			refName = strings.TrimPrefix(ref, "#/components/schemas/")
			schema = lookup(t, doc, ref)
			continue
		}
		if all, ok := schema["allOf"].([]any); ok && len(all) == 1 {
			schema = all[0].(map[string]any)
			continue
		}
		break
	}
	want, format := "", ""
	switch {
	case typ == reflect.TypeOf(time.Time{}):
		want, format = "string", "date-time"
	case typ.Implements(reflect.TypeOf((*json.Marshaler)(nil)).Elem()):
		want = "string" // policy.Duration
	case typ.Kind() == reflect.String:
		want = "string"
	case typ.Kind() == reflect.Bool:
		want = "boolean"
	case typ.Kind() == reflect.Int64:
		want, format = "integer", "int64"
	case typ.Kind() >= reflect.Int && typ.Kind() <= reflect.Int32:
		want = "integer"
	case typ.Kind() == reflect.Float64:
		want = "number"
	case typ.Kind() == reflect.Slice:
		want = "array"
		if items, ok := schema["items"].(map[string]any); ok {
			checkSchemaType(t, doc, path+"[]", items, typ.Elem())
		} else {
			t.Errorf("%s: an array without items", path)
		}
	case typ.Kind() == reflect.Map:
		want = "object"
		if values, ok := schema["additionalProperties"].(map[string]any); ok {
			checkSchemaType(t, doc, path+"{}", values, typ.Elem())
		} else {
			t.Errorf("%s: a map without additionalProperties", path)
		}
	case typ.Kind() == reflect.Struct:
		want = "object"
		if refName != typ.Name() {
			t.Errorf("%s: %s is described by %q, want a $ref to schema %q", path, typ, refName, typ.Name())
		}
	default:
		t.Errorf("%s: Go type %s has no JSON schema type here", path, typ)
		return
	}
	if schema["type"] != want {
		t.Errorf("%s: schema type %v, want %s (Go %s)", path, schema["type"], want, typ)
	}
	if format != "" && schema["format"] != format {
		t.Errorf("%s: schema format %v, want %s (Go %s)", path, schema["format"], format, typ)
	}
}
