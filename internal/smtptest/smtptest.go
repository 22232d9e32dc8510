// Package smtptest runs a real SMTP server for tests: aiosmtpd (Debian's python3-aiosmtpd) on
// loopback, storing what it receives in a Maildir that Messages reads. Without aiosmtpd the test
// is skipped, except under CI=true, where it fails.
package smtptest

import (
	"bytes"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

const installHint = "apt-get install -y python3-aiosmtpd (or make deps)"

// Server is a running SMTP server.
type Server struct {
	// Addr is its host:port.
	Addr    string
	maildir string
}

// Start runs an SMTP server until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	python := findPython()
	if python == "" {
		msg := "no python3 with the aiosmtpd module; install it: " + installHint
		if os.Getenv("CI") == "true" {
			t.Fatal("smtptest: " + msg)
		}
		t.Skip("smtptest: " + msg)
	}
	dir := t.TempDir()
	maildir := filepath.Join(dir, "mail")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	logFile, err := os.Create(filepath.Join(dir, "aiosmtpd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, "-m", "aiosmtpd", "--nosetuid", "--listen", addr, "--class", "aiosmtpd.handlers.Mailbox", maildir)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("smtptest: start aiosmtpd: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logFile.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logFile.Name()); err == nil {
				t.Logf("aiosmtpd.log:\n%s", b)
			}
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("smtptest: aiosmtpd not listening on %s after 20s: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return &Server{Addr: addr, maildir: maildir}
}

// findPython returns a python3 that has aiosmtpd (Debian's, which a pyenv's may shadow on $PATH).
func findPython() string {
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if path, err := exec.LookPath(p); err == nil && exec.Command(path, "-c", "import aiosmtpd").Run() == nil {
			return path
		}
	}
	return ""
}

// Messages returns the messages received so far, oldest first.
func (s *Server) Messages(t testing.TB) []*mail.Message {
	t.Helper()
	var files []string
	for _, sub := range []string{"new", "cur"} {
		m, _ := filepath.Glob(filepath.Join(s.maildir, sub, "*"))
		files = append(files, m...)
	}
	type received struct {
		at  time.Time
		msg *mail.Message
	}
	var all []received
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("smtptest: %s: %v", f, err)
		}
		info, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, received{info.ModTime(), msg})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].at.Before(all[j].at) })
	out := make([]*mail.Message, len(all))
	for i, r := range all {
		out[i] = r.msg
	}
	return out
}

// WaitMessages waits up to timeout for at least n messages and returns those received.
func (s *Server) WaitMessages(t testing.TB, n int, timeout time.Duration) []*mail.Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msgs := s.Messages(t)
		if len(msgs) >= n || time.Now().After(deadline) {
			return msgs
		}
		time.Sleep(100 * time.Millisecond)
	}
}
