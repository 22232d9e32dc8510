package backup

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// scanned validates data as one JSON value with only white space around it.
func scanned(data []byte) error {
	end, err := scanNested(data, skipSpace(data, 0), 0)
	if err != nil {
		return err
	}
	if end = skipSpace(data, end); end != len(data) {
		return syntaxError(data, end, "the end of the input")
	}
	return nil
}

var jsonCases = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `1.5e+3`, `-12.25E-2`, `true`, `false`, `null`, ` { "a" : [ 1 , "x" , null ] } `,
	`{"a":{"b":{"c":[[],{}]}}}`, `"\u00e9\n\t\\\"\/"`, "\"\xff\xfe\"", `{"a":1,"a":2}`,
	// invalid
	``, ` `, `{`, `}`, `[`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `[,1]`, `{a:1}`, `{"a" 1}`, `{"a":1 "b":2}`,
	`01`, `1.`, `.5`, `1e`, `-`, `+1`, `tru`, `nul`, `falsey`, `"abc`, `"\x"`, `"\u12"`, `"\u12g4"`, "\"a\tb\"",
	`[1] [2]`, `{"a":1}}`, `"\`, `[[[`, `{"a":[}`, `{"a":{]}`,
}

func TestScanAgreesWithEncodingJSON(t *testing.T) {
	for _, c := range jsonCases {
		if err, valid := scanned([]byte(c)), json.Valid([]byte(c)); (err == nil) != valid {
			t.Errorf("%q: scan error %v, encoding/json valid %v", c, err, valid)
		}
	}
}

func FuzzJSONScan(f *testing.F) {
	for _, c := range jsonCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err, valid := scanned(data), json.Valid(data); (err == nil) != valid {
			t.Errorf("%q: scan error %v, encoding/json valid %v", data, err, valid)
		}
		if p, err := scanPage(data); err == nil {
			for _, it := range p.items {
				var want oldHead
				if err := json.Unmarshal(it.raw, &want); err != nil {
					t.Fatalf("item %q: scanned, but encoding/json says %v", it.raw, err)
				}
				if !sameHead(it.head, want) {
					t.Errorf("item %q: head %+v, encoding/json reads %+v", it.raw, it.head, want)
				}
			}
		}
	})
}

// oldHead is how the head was read before the scanner: encoding/json into a struct.
type oldHead struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Type       string `json:"type"`
	Metadata   struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
}

// sameHead compares where encoding/json and the scanner agree by design: encoding/json also
// matches keys that differ in case, which the apiserver never sends.
func sameHead(h itemHead, o oldHead) bool {
	return h.APIVersion == o.APIVersion && h.Kind == o.Kind && h.Type == o.Type && h.Metadata.Name == o.Metadata.Name &&
		h.Metadata.Namespace == o.Metadata.Namespace && reflect.DeepEqual(h.Metadata.Labels, o.Metadata.Labels) &&
		reflect.DeepEqual(h.Metadata.Annotations, o.Metadata.Annotations)
}

func TestScanPage(t *testing.T) {
	item1 := `{"metadata":{"name":"s","namespace":"ns","labels":{"app":"a"},"annotations":{"note":"n\u00e9"},"uid":"u1",` +
		`"managedFields":[{"manager":"m","fieldsV1":{"f:data":{}}}]},"data":{"k":"dg=="},"type":"Opaque"}`
	item2 := `{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w\"1"},"spec":{"n":[1,2.5,true,null]}}`
	body := `{"kind":"SecretList","apiVersion":"v1","metadata":{"resourceVersion":"42","continue":"tok"},"items":[` +
		item1 + ",\n  " + item2 + "]}\n"
	p, err := scanPage([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if p.resourceVersion != "42" || p.continueToken != "tok" || len(p.items) != 2 {
		t.Fatalf("page %+v", p)
	}
	if string(p.items[0].raw) != item1 || string(p.items[1].raw) != item2 {
		t.Errorf("items %q, %q", p.items[0].raw, p.items[1].raw)
	}
	var want itemHead
	want.Type = "Opaque"
	want.Metadata.Name, want.Metadata.Namespace = "s", "ns"
	want.Metadata.Labels = map[string]string{"app": "a"}
	want.Metadata.Annotations = map[string]string{"note": "né"}
	if !reflect.DeepEqual(p.items[0].head, want) {
		t.Errorf("head %+v, want %+v", p.items[0].head, want)
	}
	h := p.items[1].head
	if h.APIVersion != "example.com/v1" || h.Kind != "Widget" || h.Metadata.Name != `w"1` {
		t.Errorf("head %+v", h)
	}

	empty, err := scanPage([]byte(`{"metadata":{"resourceVersion":"7"},"items":null}`))
	if err != nil || empty.resourceVersion != "7" || len(empty.items) != 0 {
		t.Errorf("a page without items: %+v, %v", empty, err)
	}
	for _, bad := range []string{
		`{"metadata":`, `[1]`, ``, `{"items":[{"metadata":{"labels":{"a":1}}}]}`, `{"items":[1]}`, `{"items":{}}`,
		`{"items":[{"metadata":"x"}]}`, `{"items":[{"kind":3}]}`, `{"items":[]} {}`, `{"metadata":{"continue":1}}`,
		`{"items":[{"metadata":{"name":"a"}}]`,
	} {
		if _, err := scanPage([]byte(bad)); err == nil {
			t.Errorf("scanPage(%q) gave no error", bad)
		}
	}
}

func TestScanReportsWhereTheInputIsWrong(t *testing.T) {
	_, err := scanPage([]byte(`{"items":[{"metadata":{"name":"a"}} {"x":1}]}`))
	if err == nil || !strings.Contains(err.Error(), "offset 36") || !strings.Contains(err.Error(), "',' or ']'") {
		t.Errorf("error %v, want one naming offset 36 and what was expected", err)
	}
}

// BenchmarkScanPage compares the scanner with what it replaced, encoding/json splitting the page
// and then decoding each item's head, on a page of 200 Secrets.
func BenchmarkScanPage(b *testing.B) {
	var items []string
	for i := range 200 {
		items = append(items, `{"metadata":{"name":"secret-`+strings.Repeat("x", i%7)+`","namespace":"ns","uid":"0d6f8e1e-3c9f-4b0e-9a57-53d1d1a4e7c1",`+
			`"resourceVersion":"123456","labels":{"app":"web","tier":"backend"},"managedFields":[{"manager":"kubectl","operation":"Update",`+
			`"fieldsType":"FieldsV1","fieldsV1":{"f:data":{".":{},"f:password":{}}}}]},"data":{"password":"`+strings.Repeat("c2VjcmV0", 1000)+`"},"type":"Opaque"}`)
	}
	body := []byte(`{"kind":"SecretList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[` + strings.Join(items, ",") + `]}`)
	b.Run("scanner", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, err := scanPage(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var page struct {
				Items []json.RawMessage `json:"items"`
			}
			if err := json.Unmarshal(body, &page); err != nil {
				b.Fatal(err)
			}
			for _, it := range page.Items {
				var h oldHead
				if err := json.Unmarshal(it, &h); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// headOf reads the head of one item, as a page's scan does.
func headOf(item []byte) (itemHead, error) {
	h, _, err := scanItem(item, skipSpace(item, 0), 0)
	return h, err
}
