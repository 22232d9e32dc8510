//go:build integration

package azure_test

import (
	"testing"

	"github.com/cairnbackup/cairn/internal/blob/blobtest"
	"github.com/cairnbackup/cairn/internal/testenv"
)

func TestLargeObject(t *testing.T) {
	srv := testenv.StartAzurite(t)
	blobtest.RunLarge(t, open(t, keyConfig(srv, newContainer(t, srv), "large")), blobtest.LargeSize)
}
