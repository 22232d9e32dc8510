package s3_test

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/internal/blob/s3"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

var envKeys = map[string]string{"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "secret-env"}

func parse(t *testing.T, raw string, getenv func(string) string) (s3.Config, error) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("url.Parse(%q): %v", raw, err)
	}
	return s3.ParseURL(u, getenv)
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want s3.Config
	}{
		{"s3://bucket", s3.Config{Endpoint: "s3.amazonaws.com", Secure: true, Region: "us-east-1", Bucket: "bucket"}},
		{"s3://bucket/", s3.Config{Endpoint: "s3.amazonaws.com", Secure: true, Region: "us-east-1", Bucket: "bucket"}},
		{"s3://my-bucket/backups/prod/", s3.Config{Endpoint: "s3.amazonaws.com", Secure: true, Region: "us-east-1", Bucket: "my-bucket", Prefix: "backups/prod"}},
		{"s3://b.dotted/p?region=eu-west-3", s3.Config{Endpoint: "s3.amazonaws.com", Secure: true, Region: "eu-west-3", Bucket: "b.dotted", Prefix: "p"}},
		{"s3://bkt/p?endpoint=http://127.0.0.1:7070&pathStyle=true", s3.Config{Endpoint: "127.0.0.1:7070", Secure: false, Region: "us-east-1", Bucket: "bkt", Prefix: "p", PathStyle: true}},
		{"s3://bkt?endpoint=https%3A%2F%2Fminio.example.com%3A9000%2F&pathStyle=false&region=home", s3.Config{Endpoint: "minio.example.com:9000", Secure: true, Region: "home", Bucket: "bkt"}},
		{"s3://bkt?endpoint=https://storage.example.com", s3.Config{Endpoint: "storage.example.com", Secure: true, Region: "us-east-1", Bucket: "bkt"}},
	} {
		got, err := parse(t, tc.raw, env(envKeys))
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tc.raw, err)
			continue
		}
		tc.want.AccessKey, tc.want.SecretKey = "AKIDENV", "secret-env"
		if got != tc.want {
			t.Errorf("ParseURL(%q)\n got %+v\nwant %+v", tc.raw, got, tc.want)
		}
	}
}

func TestParseURLEnvCredentials(t *testing.T) {
	got, err := parse(t, "s3://bucket", env(map[string]string{
		"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "sec", "AWS_SESSION_TOKEN": "tok",
		// The environment wins over a credentials file.
		"AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessKey != "AKID" || got.SecretKey != "sec" || got.SessionToken != "tok" {
		t.Errorf("credentials = %q %q %q, want AKID sec tok", got.AccessKey, got.SecretKey, got.SessionToken)
	}

	_, err = parse(t, "s3://bucket", env(map[string]string{"AWS_ACCESS_KEY_ID": "AKID"}))
	if err == nil || !strings.Contains(err.Error(), "AWS_SECRET_ACCESS_KEY") {
		t.Errorf("only an access key: error = %v, want one naming AWS_SECRET_ACCESS_KEY", err)
	}
}

const credentialsFile = `# cairn test
[default]
aws_access_key_id = AKIDDEFAULT
aws_secret_access_key=secret-default

; another profile
[ backup ]
AWS_ACCESS_KEY_ID = AKIDBACKUP
aws_secret_access_key = secret=with=equals
aws_session_token = token-backup

[partial]
aws_access_key_id = AKIDPARTIAL
`

func TestParseURLSharedCredentials(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "credentials")
	if err := os.WriteFile(file, []byte(credentialsFile), 0o600); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".aws"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".aws", "credentials"), []byte("[default]\naws_access_key_id=AKIDHOME\naws_secret_access_key=secret-home\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name                 string
		env                  map[string]string
		access, secret, tok  string
		wantErr, errContains string
	}{
		{name: "default profile", env: map[string]string{"AWS_SHARED_CREDENTIALS_FILE": file}, access: "AKIDDEFAULT", secret: "secret-default"},
		{name: "named profile", env: map[string]string{"AWS_SHARED_CREDENTIALS_FILE": file, "AWS_PROFILE": "backup"}, access: "AKIDBACKUP", secret: "secret=with=equals", tok: "token-backup"},
		{name: "home file", env: map[string]string{"HOME": home}, access: "AKIDHOME", secret: "secret-home"},
		{name: "explicit file beats home", env: map[string]string{"HOME": home, "AWS_SHARED_CREDENTIALS_FILE": file}, access: "AKIDDEFAULT", secret: "secret-default"},
		{name: "missing profile", env: map[string]string{"AWS_SHARED_CREDENTIALS_FILE": file, "AWS_PROFILE": "nope"}, errContains: `profile "nope"`},
		{name: "incomplete profile", env: map[string]string{"AWS_SHARED_CREDENTIALS_FILE": file, "AWS_PROFILE": "partial"}, errContains: "aws_secret_access_key"},
		{name: "missing file", env: map[string]string{"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "absent")}, errContains: "AWS_ACCESS_KEY_ID"},
		{name: "no home", env: map[string]string{}, errContains: "AWS_ACCESS_KEY_ID"},
		{name: "home without file", env: map[string]string{"HOME": dir}, errContains: filepath.Join(dir, ".aws", "credentials")},
	} {
		cfg, err := parse(t, "s3://bucket/p", env(tc.env))
		if tc.errContains != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errContains) {
				t.Errorf("%s: error = %v, want one containing %q", tc.name, err, tc.errContains)
			}
			if err != nil && strings.Contains(err.Error(), "AKIDPARTIAL") {
				t.Errorf("%s: error %q shows a credential", tc.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if cfg.AccessKey != tc.access || cfg.SecretKey != tc.secret || cfg.SessionToken != tc.tok {
			t.Errorf("%s: credentials = %q %q %q, want %q %q %q", tc.name, cfg.AccessKey, cfg.SecretKey, cfg.SessionToken, tc.access, tc.secret, tc.tok)
		}
	}
}

func TestParseURLErrors(t *testing.T) {
	for _, tc := range []struct {
		raw, contains string
	}{
		{"s3://AKID:topsecret@bucket/p", "AWS_ACCESS_KEY_ID"},
		{"s3://AKID@bucket/p", "credentials in the URL"},
		{"s3:///prefix", "no bucket"},
		{"s3://", "no bucket"},
		{"s3:bucket", "no bucket"},
		{"file:///tmp", "not an s3:// URL"},
		{"s3://Bad_Bucket", "bucket"},
		{"s3://bucket/a//b", "prefix"},
		{"s3://bucket/a/../b", "prefix"},
		{"s3://bucket/sp%20ace", "prefix"},
		{"s3://bucket?endpoint=127.0.0.1:7070", "endpoint"},
		{"s3://bucket?endpoint=ftp://host", "endpoint"},
		{"s3://bucket?endpoint=http://host/path", "endpoint"},
		{"s3://bucket?endpoint=http://u:pw@host", "endpoint"},
		{"s3://bucket?region=", "region"},
		{"s3://bucket?pathStyle=maybe", "pathStyle"},
		{"s3://bucket?endpint=http://x", `unknown parameter "endpint"`},
		{"s3://bucket?region=a&region=b", "2 times"},
		{"s3://bucket#frag", "fragment"},
	} {
		_, err := parse(t, tc.raw, env(envKeys))
		if err == nil {
			t.Errorf("ParseURL(%q) succeeded, want an error containing %q", tc.raw, tc.contains)
			continue
		}
		if !strings.Contains(err.Error(), tc.contains) {
			t.Errorf("ParseURL(%q) error = %q, want it to contain %q", tc.raw, err, tc.contains)
		}
		for _, secret := range []string{"topsecret", "pw@", "secret-env"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("ParseURL(%q) error %q shows a credential", tc.raw, err)
			}
		}
	}
}
