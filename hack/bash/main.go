// Command bash stands in for /bin/bash in the local node's busybox image: it runs busybox's sh with
// the same arguments, so manifests written for images with bash (the AKS hook samples run
// `/bin/bash -c ...`) work unchanged. Built into the image by internal/localcluster.
package main

import (
	"fmt"
	"os"
	"syscall"
)

func main() {
	args := append([]string{"sh"}, os.Args[1:]...)
	err := syscall.Exec("/bin/busybox", args, os.Environ())
	fmt.Fprintln(os.Stderr, "bash: exec /bin/busybox sh:", err)
	os.Exit(127)
}
