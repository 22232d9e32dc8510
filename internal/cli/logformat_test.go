package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestLogFormat(t *testing.T) {
	var buf bytes.Buffer
	f := logFlags{format: "json"}
	log, err := f.logger(&buf)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("vault serving", "addr", "127.0.0.1:8443")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil || line["msg"] != "vault serving" || line["addr"] != "127.0.0.1:8443" {
		t.Fatalf("json log line %q: %v", buf.String(), err)
	}
	for _, args := range [][]string{{"vault", "serve", "--log-format", "xml"}, {"agent", "run", "--vault", "http://127.0.0.1:1", "--log-format", "xml"}} {
		if _, err := runCairn(args...); err == nil || !strings.Contains(err.Error(), `--log-format "xml": use one of ["text" "json"]`) {
			t.Errorf("%v: %v", args, err)
		}
	}
}
