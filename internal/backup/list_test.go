package backup

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestWithTypeMeta(t *testing.T) {
	tests := []struct {
		name    string
		item    string
		want    map[string]any // the decoded output; nil when wantErr
		wantErr string
	}{
		{
			name: "added",
			item: `{"metadata":{"name":"cm","namespace":"ns"},"data":{"k":"v"}}`,
			want: map[string]any{
				"apiVersion": "v1", "kind": "ConfigMap",
				"metadata": map[string]any{"name": "cm", "namespace": "ns"},
				"data":     map[string]any{"k": "v"},
			},
		},
		{
			name: "empty object",
			item: `{}`,
			want: map[string]any{"apiVersion": "v1", "kind": "ConfigMap"},
		},
		{
			name: "empty object with space",
			item: `{ }`,
			want: map[string]any{"apiVersion": "v1", "kind": "ConfigMap"},
		},
		{
			name: "space after brace",
			item: `{ "metadata": {"name": "cm"}}`,
			want: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "cm"}},
		},
		{
			name: "pretty",
			item: "{\n  \"metadata\": {\n    \"name\": \"cm\"\n  },\n  \"data\": {\"k\": \"a\\nb\"}\r\n}\n",
			want: map[string]any{
				"apiVersion": "v1", "kind": "ConfigMap",
				"metadata": map[string]any{"name": "cm"},
				"data":     map[string]any{"k": "a\nb"},
			},
		},
		{
			name: "pretty empty",
			item: "{\n}\n",
			want: map[string]any{"apiVersion": "v1", "kind": "ConfigMap"},
		},
		{
			name:    "half type meta",
			item:    `{"apiVersion":"v1","metadata":{"name":"cm"}}`,
			wantErr: "half",
		},
		{
			name:    "only kind",
			item:    `{"kind":"ConfigMap","metadata":{"name":"cm"}}`,
			wantErr: "half",
		},
		{name: "array", item: `[{"metadata":{}}]`, wantErr: "not a JSON object"},
		{name: "string", item: `"x"`, wantErr: "not a JSON object"},
		{name: "null", item: `null`, wantErr: "not a JSON object"},
		{name: "empty", item: ``, wantErr: "not a JSON object"},
		{name: "bad pretty", item: "{\n\"a\":", wantErr: "compact"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := headOf([]byte(tt.item)) // what a page's scan would give, errors aside
			out, err := withTypeMeta([]byte(tt.item), h, "v1", "ConfigMap")
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("withTypeMeta = %s, want an error", out)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %q does not mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("withTypeMeta: %v", err)
			}
			if !json.Valid(out) {
				t.Fatalf("output is not valid JSON: %s", out)
			}
			if bytes.ContainsAny(out, "\n\r") {
				t.Errorf("output is not compact: %q", out)
			}
			if !bytes.HasPrefix(out, []byte(`{"apiVersion":"v1","kind":"ConfigMap"`)) {
				t.Errorf("output does not start with the type meta: %s", out)
			}
			var got map[string]any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestWithTypeMetaPresent(t *testing.T) {
	tests := []struct {
		name, item, want string
	}{
		{
			name: "compact",
			item: `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"}}`,
			want: `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"}}`,
		},
		{
			name: "kept order and spacing",
			item: `{"metadata": {"name":"d"}, "kind":"Deployment", "apiVersion":"apps/v1"}`,
			want: `{"metadata": {"name":"d"}, "kind":"Deployment", "apiVersion":"apps/v1"}`,
		},
		{
			name: "single get body",
			item: "{\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"metadata\":{\"name\":\"d\"}}\n",
			want: `{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"d"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := headOf([]byte(tt.item))
			if err != nil {
				t.Fatal(err)
			}
			// The item's own type meta wins over what the caller passes.
			out, err := withTypeMeta([]byte(tt.item), h, "v1", "ConfigMap")
			if err != nil {
				t.Fatalf("withTypeMeta: %v", err)
			}
			if string(out) != tt.want {
				t.Errorf("withTypeMeta = %s, want %s", out, tt.want)
			}
		})
	}
}

func TestNextLimitKeepsPagesNearTheTarget(t *testing.T) {
	for _, c := range []struct {
		name          string
		items, size   int
		ceiling, want int64
	}{
		{"small items: the page size", 500, 500 * 1024, 500, 500},
		{"64 KiB items: 32 a page", 500, 500 * 64 << 10, 500, 32},
		{"near 1 MiB items: the floor", 10, 10 << 20, 500, minPageSize},
		{"an empty page: unchanged", 0, 0, 500, 500},
		{"never above the page size asked for", 5, 500, 2, 2},
	} {
		if got := nextLimit(c.ceiling, c.items, c.size); got != c.want {
			t.Errorf("%s: nextLimit(%d, %d, %d) = %d, want %d", c.name, c.ceiling, c.items, c.size, got, c.want)
		}
	}
}
