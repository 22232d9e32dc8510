package vault

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockFile, in the data dir, is held by the one vault process serving its SQLite database.
const LockFile = "vault.lock"

// lockDataDir takes the data dir's lock for this process, or says which process holds it: two
// schedulers over one SQLite database would queue every backup twice. The lock is an flock on
// LockFile, which the kernel releases when the process ends however it ends; the file keeps the
// holder's PID for the message.
func lockDataDir(dir string) (unlock func(), err error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the data dir's lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another vault process (pid %s) serves data dir %s: stop it first, or give this one its own --data-dir (several vault processes share one database only on PostgreSQL, --database)",
				pidOrUnknown(holder), dir)
		}
		return nil, fmt.Errorf("lock the data dir %s: %w", dir, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() { f.Close() }, nil
}

func pidOrUnknown(b []byte) string {
	if s := strings.TrimSpace(string(b)); s != "" {
		return s
	}
	return "unknown"
}
