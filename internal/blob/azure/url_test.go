package azure_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/internal/blob/azure"
)

const (
	testConnStr = "DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=Y29ubnN0cmluZ2tleQ==;BlobEndpoint=http://127.0.0.1:10000/acct;"
	testKey     = "c2hhcmVka2V5c2VjcmV0"
	testSAS     = "sv=2024-01-01&sp=rl&sig=sassecret"
)

// env returns a getenv that knows only vars.
func env(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("url.Parse(%q): %v", raw, err)
	}
	return u
}

func TestParseURL(t *testing.T) {
	keyOnly := map[string]string{azure.EnvAccountKey: testKey}
	for _, tc := range []struct {
		name string
		url  string
		env  map[string]string
		want azure.Config
	}{
		{
			name: "default endpoint",
			url:  "azblob://acct/backups",
			env:  keyOnly,
			want: azure.Config{Account: "acct", Container: "backups", AccountKey: testKey},
		},
		{
			name: "endpoint in the query",
			url:  "azblob://devstoreaccount1/backups?endpoint=http://127.0.0.1:10000/devstoreaccount1",
			env:  keyOnly,
			want: azure.Config{Account: "devstoreaccount1", Container: "backups", Endpoint: "http://127.0.0.1:10000/devstoreaccount1", AccountKey: testKey},
		},
		{
			name: "escaped endpoint with trailing slash",
			url:  "azblob://acct/backups?endpoint=" + url.QueryEscape("https://storage.example.com:8443/acct/"),
			env:  keyOnly,
			want: azure.Config{Account: "acct", Container: "backups", Endpoint: "https://storage.example.com:8443/acct", AccountKey: testKey},
		},
		{
			name: "prefix",
			url:  "azblob://acct/backups/cluster-a/daily",
			env:  keyOnly,
			want: azure.Config{Account: "acct", Container: "backups", Prefix: "cluster-a/daily", AccountKey: testKey},
		},
		{
			name: "prefix with trailing slash, container with trailing slash",
			url:  "azblob://acct/backups/cluster-a/",
			env:  keyOnly,
			want: azure.Config{Account: "acct", Container: "backups", Prefix: "cluster-a", AccountKey: testKey},
		},
		{
			name: "container only, trailing slash",
			url:  "azblob://acct/backups/",
			env:  keyOnly,
			want: azure.Config{Account: "acct", Container: "backups", AccountKey: testKey},
		},
		{
			name: "connection string wins over everything",
			url:  "azblob://acct/backups",
			env:  map[string]string{azure.EnvConnectionString: testConnStr, azure.EnvAccountKey: testKey, azure.EnvSASToken: testSAS},
			want: azure.Config{Account: "acct", Container: "backups", ConnectionString: testConnStr},
		},
		{
			name: "account key wins over SAS token",
			url:  "azblob://acct/backups",
			env:  map[string]string{azure.EnvAccountKey: testKey, azure.EnvSASToken: testSAS},
			want: azure.Config{Account: "acct", Container: "backups", AccountKey: testKey},
		},
		{
			name: "SAS token",
			url:  "azblob://acct/backups/p",
			env:  map[string]string{azure.EnvSASToken: "?" + testSAS},
			want: azure.Config{Account: "acct", Container: "backups", Prefix: "p", SASToken: "?" + testSAS},
		},
		{
			name: "empty variables do not count",
			url:  "azblob://acct/backups",
			env:  map[string]string{azure.EnvConnectionString: "", azure.EnvAccountKey: "", azure.EnvSASToken: testSAS},
			want: azure.Config{Account: "acct", Container: "backups", SASToken: testSAS},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := azure.ParseURL(mustParse(t, tc.url), env(tc.env))
			if err != nil {
				t.Fatalf("ParseURL(%q): %v", tc.url, err)
			}
			if got != tc.want {
				t.Errorf("ParseURL(%q) =\n %+v\nwant\n %+v", tc.url, got, tc.want)
			}
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	keyOnly := map[string]string{azure.EnvAccountKey: testKey}
	for _, tc := range []struct {
		name string
		url  string
		env  map[string]string
		want []string // substrings of the error
	}{
		{"no credentials", "azblob://acct/backups", nil,
			[]string{"AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN", "azblob://acct/backups"}},
		{"SAS token in the URL", "azblob://acct/backups?" + testSAS, keyOnly,
			[]string{"SAS token", "AZURE_STORAGE_SAS_TOKEN", "azblob://acct/backups"}},
		{"sig alone in the URL", "azblob://acct/backups?sig=sassecret", keyOnly,
			[]string{"SAS token", "AZURE_STORAGE_KEY"}},
		{"SAS token inside the endpoint", "azblob://acct/backups?endpoint=" + url.QueryEscape("https://acct.blob.core.windows.net?"+testSAS), keyOnly,
			[]string{"endpoint", "AZURE_STORAGE_SAS_TOKEN"}},
		{"user and password", "azblob://acct:sassecret@acct/backups", keyOnly,
			[]string{"credentials", "AZURE_STORAGE_CONNECTION_STRING", "azblob://acct/backups"}},
		{"user only", "azblob://sassecret@acct/backups", keyOnly,
			[]string{"credentials", "AZURE_STORAGE_KEY"}},
		{"no container", "azblob://acct", keyOnly, []string{"no container", "azblob://ACCOUNT/CONTAINER"}},
		{"no container, slash", "azblob://acct/", keyOnly, []string{"no container"}},
		{"no account", "azblob:///backups", keyOnly, []string{"no storage account"}},
		{"opaque", "azblob:acct/backups", keyOnly, []string{"no storage account"}},
		{"port in the account", "azblob://acct:10000/backups", keyOnly, []string{"account name"}},
		{"uppercase account", "azblob://Acct/backups", keyOnly, []string{"account name"}},
		{"invalid container", "azblob://acct/Back_ups", keyOnly, []string{"container name"}},
		{"short container", "azblob://acct/ab", keyOnly, []string{"container name"}},
		{"invalid prefix", "azblob://acct/backups/a//b", keyOnly, []string{"prefix", "empty path segment"}},
		{"dot-dot prefix", "azblob://acct/backups/a/../b", keyOnly, []string{"prefix"}},
		{"unknown parameter", "azblob://acct/backups?region=west", keyOnly, []string{`"region"`, "endpoint"}},
		{"empty endpoint", "azblob://acct/backups?endpoint=", keyOnly, []string{"endpoint"}},
		{"two endpoints", "azblob://acct/backups?endpoint=http://a&endpoint=http://b", keyOnly, []string{"endpoint"}},
		{"endpoint not http", "azblob://acct/backups?endpoint=ftp://127.0.0.1/x", keyOnly, []string{"http://"}},
		{"endpoint with credentials", "azblob://acct/backups?endpoint=" + url.QueryEscape("http://u:sassecret@127.0.0.1:10000/acct"), keyOnly,
			[]string{"endpoint", "credentials"}},
		{"fragment", "azblob://acct/backups#x", keyOnly, []string{"fragment"}},
		{"wrong scheme", "s3://acct/backups", keyOnly, []string{"azblob://"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := azure.ParseURL(mustParse(t, tc.url), env(tc.env))
			if err == nil {
				t.Fatalf("ParseURL(%q) = %+v, want an error", tc.url, cfg)
			}
			msg := err.Error()
			for _, want := range tc.want {
				if !strings.Contains(msg, want) {
					t.Errorf("ParseURL(%q) error %q does not mention %q", tc.url, msg, want)
				}
			}
			for _, secret := range []string{"sassecret", testKey} {
				if strings.Contains(msg, secret) {
					t.Errorf("ParseURL(%q) error %q shows a credential", tc.url, msg)
				}
			}
		})
	}
}

// New refuses inconsistent configurations before sending any request.
func TestNewConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  azure.Config
		want string
	}{
		{"no credentials", azure.Config{Account: "acct", Container: "backups"}, "exactly one"},
		{"two credentials", azure.Config{Account: "acct", Container: "backups", AccountKey: testKey, SASToken: testSAS}, "exactly one"},
		{"no container", azure.Config{Account: "acct", AccountKey: testKey}, "no container"},
		{"invalid prefix", azure.Config{Account: "acct", Container: "backups", Prefix: "a b", AccountKey: testKey}, "prefix"},
		{"key not base64", azure.Config{Account: "acct", Container: "backups", AccountKey: "sassecret!"}, "account key"},
		{"connection string for another account", azure.Config{Account: "other", Container: "backups", ConnectionString: testConnStr}, `for account "acct", not "other"`},
		{"endpoint differing from the connection string", azure.Config{Container: "backups", Endpoint: "http://127.0.0.1:9999/acct", ConnectionString: testConnStr}, "differs"},
		{"endpoint with a query", azure.Config{Account: "acct", Container: "backups", Endpoint: "http://127.0.0.1:1/acct?" + testSAS, AccountKey: testKey}, "endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := azure.New(t.Context(), tc.cfg)
			if err == nil {
				t.Fatalf("New(%+v) = %v, want an error", tc.cfg, s)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.want) || strings.Contains(msg, "sassecret") || strings.Contains(msg, testKey) {
				t.Errorf("New error %q: want it to mention %q and no credential", msg, tc.want)
			}
		})
	}
}
