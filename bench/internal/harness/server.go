package harness

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	startTries        = 3
	serverStopTimeout = 10 * time.Second
)

// Server is a running server process, in its own process group.
type Server struct {
	name string
	cmd  *exec.Cmd
	out  *tail
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done is closed
	once sync.Once
}

// StartServer runs the command argv(addr) on a free loopback port, retried on a new port if
// another process took it first, and waits until it answers HTTP on addr (and check, if not
// nil, accepts the response). It returns the server and its host:port.
func StartServer(ctx context.Context, name string, argv func(addr string) []string, env []string, check func(*http.Response) error) (*Server, string, error) {
	var lastErr error
	for range startTries {
		port, err := FreeLoopbackPort()
		if err != nil {
			return nil, "", fmt.Errorf("%s: find a free port: %w", name, err)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		args := argv(addr)
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = append(os.Environ(), env...)
		out := &tail{}
		cmd.Stdout, cmd.Stderr = out, out
		// Its own process group, so that stop reaches any child and a Ctrl-C reaches only this
		// program, which then stops the server itself; killed should this program die first.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		cmd.WaitDelay = 5 * time.Second
		if err := cmd.Start(); err != nil {
			return nil, "", fmt.Errorf("%s: start %s: %w", name, args[0], err)
		}
		s := &Server{name: name, cmd: cmd, out: out, done: make(chan struct{})}
		go func() {
			s.err = cmd.Wait()
			close(s.done)
		}()
		began := time.Now()
		err = s.waitReady(ctx, "http://"+addr+"/", check)
		if err == nil {
			fmt.Fprintf(os.Stderr, "%s: up on %s in %s\n", name, addr, time.Since(began).Round(time.Millisecond))
			return s, addr, nil
		}
		exited := s.Exited()
		_ = s.Stop()
		lastErr = err
		if !exited || ctx.Err() != nil {
			break // it runs but does not answer: another port will not help
		}
	}
	return nil, "", fmt.Errorf("%s did not start: %w", name, lastErr)
}

func (s *Server) waitReady(ctx context.Context, url string, check func(*http.Response) error) error {
	const timeout = 60 * time.Second // Azurite takes ~10 s on a loaded machine
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if check != nil {
				if cerr := check(resp); cerr != nil {
					return fmt.Errorf("%s: %w", url, cerr)
				}
			}
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("exited before answering (%w); output:\n%s", s.err, s.out)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer at %s within %s (last error: %w); output:\n%s", url, timeout, err, s.out)
		}
	}
}

// Exited tells whether the server's process has ended.
func (s *Server) Exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// PeakRSSKiB is the server process's peak resident set so far (VmHWM), 0 if unknown.
func (s *Server) PeakRSSKiB() int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kib
		}
	}
	return 0
}

// Pid is the server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Output is the end of what the server printed, for error messages.
func (s *Server) Output() string { return s.out.String() }

// Stop sends SIGTERM to the server's process group, then SIGKILL if it has not exited in time,
// and waits for it.
func (s *Server) Stop() error {
	var err error
	s.once.Do(func() {
		if s.Exited() {
			return
		}
		pgid := s.cmd.Process.Pid
		if kerr := syscall.Kill(-pgid, syscall.SIGTERM); kerr != nil && !errors.Is(kerr, syscall.ESRCH) {
			err = fmt.Errorf("%s: signal: %w", s.name, kerr)
		}
		select {
		case <-s.done:
		case <-time.After(serverStopTimeout):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-s.done
			err = fmt.Errorf("%s did not exit within %s of SIGTERM; killed", s.name, serverStopTimeout)
		}
	})
	return err
}

// FreeLoopbackPort is a port free on 127.0.0.1 a moment ago.
func FreeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// RandomHex is n random bytes in hex, for fresh credentials.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails
	return hex.EncodeToString(b)
}

// tail keeps the last bytes a server wrote, for error messages.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

const tailKeep = 8 << 10

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailKeep {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-tailKeep:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(bytes.TrimSpace(t.buf)) == 0 {
		return "(none)"
	}
	return strings.TrimSpace(string(t.buf))
}
