package blobopen

import (
	"strings"
	"testing"
)

func TestValidateLocation(t *testing.T) {
	for _, ok := range []string{"file:///var/backups/cairn", "s3://backups/prod?region=eu-west-1",
		"s3://b/p?endpoint=http://127.0.0.1:7070&pathStyle=true", "azblob://acct/container/prefix", "azblob://acct/c?endpoint=http://127.0.0.1:10000/acct"} {
		if err := ValidateLocation(ok); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, tc := range []struct{ url, want string }{
		{"", "empty storage URL"},
		{"ftp://x/y", `scheme "ftp": use file://, s3:// or azblob://`},
		{"/var/backups", `scheme ""`},
		{"mem://", `scheme "mem"`},
		{"s3://key:secret@bucket/x", "holds credentials"},
		{"azblob://acct/c?sv=2024&sig=c2VjcmV0", "credentials never go in the URL"},
		{"s3://b/p?X-Amz-Credential=AKIA&X-Amz-Signature=c2VjcmV0", "it takes endpoint, region, pathStyle); credentials never go in the URL"},
		{"s3://b/p?secretKey=c2VjcmV0", "credentials never go in the URL"},
		{"s3://b/p?endpoint=http://key:secret@127.0.0.1:7070", "without credentials"},
		{"file:///var/backups?password=secret", "file:// takes no query parameters"},
		{"s3://key:secret@bucket/%zz", "invalid URL"},
	} {
		err := ValidateLocation(tc.url)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error containing %q", tc.url, err, tc.want)
			continue
		}
		for _, secret := range []string{"secret", "c2VjcmV0"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%q: the error repeats a credential: %v", tc.url, err)
			}
		}
	}
}
