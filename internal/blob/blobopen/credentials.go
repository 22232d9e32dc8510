package blobopen

import (
	"github.com/cairnbackup/cairn/internal/blob/azure"
	"github.com/cairnbackup/cairn/internal/blob/s3"
)

// CredentialEnv lists the environment variables the backends read credentials from, so that a
// process handing a storage location to another (the data mover's pod) passes the same
// credentials along. Files a variable names (AWS_SHARED_CREDENTIALS_FILE) do not travel: the
// receiving process needs the keys themselves.
func CredentialEnv() []string {
	return []string{
		s3.EnvAccessKeyID, s3.EnvSecretAccessKey, s3.EnvSessionToken,
		azure.EnvConnectionString, azure.EnvAccountKey, azure.EnvSASToken,
	}
}

// PassCredentials returns the credential variables set in the environment getenv reads.
func PassCredentials(getenv func(string) string) map[string]string {
	out := map[string]string{}
	for _, name := range CredentialEnv() {
		if v := getenv(name); v != "" {
			out[name] = v
		}
	}
	return out
}
