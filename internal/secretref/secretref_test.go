package secretref

import (
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	for _, ok := range []string{"repo", "prod-repo", "a.b_c-1", "A", strings.Repeat("x", MaxLen)} {
		if err := Validate(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "../etc/passwd", "a/b", ".hidden", "trailing-", "-lead", "sp ace", strings.Repeat("x", MaxLen+1)} {
		if err := Validate(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestEnvVar(t *testing.T) {
	if got := EnvVar("other-key.v2"); got != "CAIRN_SECRET_OTHER_KEY_V2" {
		t.Errorf("EnvVar = %q", got)
	}
}
