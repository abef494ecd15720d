package login

import (
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// bindErr is the error net.Listen returns when bind(2) fails with errno.
func bindErr(errno syscall.Errno) error {
	return &net.OpError{Op: "listen", Net: "tcp", Err: os.NewSyscallError("bind", errno)}
}

// stubListener stands in for a listener on an address this machine may
// not have.
type stubListener struct {
	addr   *net.TCPAddr
	closed chan struct{}
}

func newStub(addr string) *stubListener {
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	return &stubListener{addr: &net.TCPAddr{IP: net.ParseIP(host), Port: p}, closed: make(chan struct{})}
}

func (s *stubListener) Accept() (net.Conn, error) { <-s.closed; return nil, net.ErrClosed }
func (s *stubListener) Close() error {
	select {
	case <-s.closed:
	default:
		close(s.closed)
	}
	return nil
}
func (s *stubListener) Addr() net.Addr { return s.addr }

// fakeBind binds 127.0.0.1 for real and answers for ::1 with v6(n, addr),
// n counting the ::1 binds from 1; it records every listener it returns.
type fakeBind struct {
	v6  func(n int, addr string) (net.Listener, error)
	n   int
	lns []net.Listener
}

func (f *fakeBind) listen(network, addr string) (net.Listener, error) {
	var ln net.Listener
	var err error
	if strings.HasPrefix(addr, "[::1]") {
		f.n++
		ln, err = f.v6(f.n, addr)
	} else {
		ln, err = net.Listen(network, addr)
	}
	if ln != nil {
		f.lns = append(f.lns, ln)
	}
	return ln, err
}

// TestListenLocalhostBothOrBusy: for redirect host localhost, ::1 taken
// by another program is the port being busy, named with its address (it
// would receive the code from a browser that tries ::1 first); only
// "IPv6 is off" errors let the login go on with 127.0.0.1 alone.
func TestListenLocalhostBothOrBusy(t *testing.T) {
	tests := []struct {
		name     string
		errno    syscall.Errno
		wantErr  error  // nil: the listener works on 127.0.0.1 alone
		wantText string // in the error
	}{
		{"::1 taken", syscall.EADDRINUSE, ErrPortBusy, "on [::1] is already in use"},
		{"::1 taken (Windows)", wsaeAddrInUse, ErrPortBusy, "on [::1] is already in use"},
		{"IPv6 off on lo", syscall.EADDRNOTAVAIL, nil, ""},
		{"IPv6 not in the kernel", syscall.EAFNOSUPPORT, nil, ""},
		{"IPv6 protocol missing", syscall.EPROTONOSUPPORT, nil, ""},
		{"IPv6 off (Windows)", wsaeAddrNotAvail, nil, ""},
		{"::1 forbidden", syscall.EACCES, syscall.EACCES, "listen on [::1]:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port := freePort(t)
			f := &fakeBind{v6: func(int, string) (net.Listener, error) { return nil, bindErr(tt.errno) }}
			l, err := listen(f.listen, "localhost", port, "/cb")
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("listen: %v", err)
				}
				defer closeAll(l.lns)
				if len(l.lns) != 1 || l.redirectURI != "http://localhost:"+strconv.Itoa(port)+"/cb" || l.host != "localhost:"+strconv.Itoa(port) {
					t.Errorf("listeners %d, redirect URI %s, host %s", len(l.lns), l.redirectURI, l.host)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("got %v, want %v saying %q", err, tt.wantErr, tt.wantText)
			}
			var pb *PortBusyError
			if errors.Is(tt.wantErr, ErrPortBusy) && (!errors.As(err, &pb) || pb.Port != port || pb.Host != "::1") {
				t.Errorf("got %#v, want port %d on ::1", err, port)
			}
			assertPortFree(t, strconv.Itoa(port))
		})
	}
}

// TestListenLocalhostRealBusyV6: the same with a real program holding
// [::1]:PORT, where this machine has IPv6.
func TestListenLocalhostRealBusyV6(t *testing.T) {
	held, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback here:", err)
	}
	defer held.Close()
	port := held.Addr().(*net.TCPAddr).Port
	l, err := listen(net.Listen, "localhost", port, "/callback")
	if err == nil {
		closeAll(l.lns)
		t.Fatalf("listened on localhost:%d while another program holds [::1]:%d", port, port)
	}
	want := "port " + strconv.Itoa(port) + " on [::1] is already in use; choose another with --port, or 0 for any free port"
	if !errors.Is(err, ErrPortBusy) || err.Error() != want {
		t.Fatalf("got %q, want %q", err, want)
	}
	assertPortFree(t, strconv.Itoa(port))
}

// TestListenLocalhostPortZeroRetries: with port 0, a random port whose ::1
// side is taken is given up for another, and nothing stays bound on the
// first; a port never free on both ends in an error matching ErrPortBusy.
func TestListenLocalhostPortZeroRetries(t *testing.T) {
	t.Run("second port works", func(t *testing.T) {
		f := &fakeBind{v6: func(n int, addr string) (net.Listener, error) {
			if n == 1 {
				return nil, bindErr(syscall.EADDRINUSE)
			}
			return newStub(addr), nil
		}}
		l, err := listen(f.listen, "localhost", 0, "/callback")
		if err != nil {
			t.Fatal(err)
		}
		defer closeAll(l.lns)
		if len(f.lns) != 3 || len(l.lns) != 2 {
			t.Fatalf("%d binds, %d listeners kept; want 3 and 2", len(f.lns), len(l.lns))
		}
		first := f.lns[0].Addr().(*net.TCPAddr).Port
		if l.port == 0 || l.port != f.lns[1].Addr().(*net.TCPAddr).Port || l.port != l.lns[1].Addr().(*net.TCPAddr).Port {
			t.Errorf("port %d; binds %v, %v", l.port, f.lns[1].Addr(), l.lns[1].Addr())
		}
		if first != l.port {
			assertPortFree(t, strconv.Itoa(first))
		}
	})
	t.Run("never free", func(t *testing.T) {
		f := &fakeBind{v6: func(int, string) (net.Listener, error) { return nil, bindErr(syscall.EADDRINUSE) }}
		_, err := listen(f.listen, "localhost", 0, "/callback")
		if !errors.Is(err, ErrPortBusy) || !strings.Contains(err.Error(), "no port was free on both 127.0.0.1 and [::1] in 5 tries") {
			t.Fatalf("got %v", err)
		}
		if f.n != portTries {
			t.Errorf("%d tries, want %d", f.n, portTries)
		}
		for _, ln := range f.lns {
			assertPortFree(t, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
		}
	})
}

// TestListenIPv6OnlyWithoutIPv6: --redirect-host [::1] where IPv6 is off
// is an error that names the way out.
func TestListenIPv6OnlyWithoutIPv6(t *testing.T) {
	f := &fakeBind{v6: func(int, string) (net.Listener, error) { return nil, bindErr(syscall.EADDRNOTAVAIL) }}
	_, err := listen(f.listen, "[::1]", 0, "/callback")
	if err == nil || !strings.Contains(err.Error(), "use --redirect-host 127.0.0.1") {
		t.Fatalf("got %v", err)
	}
}

func closeAll(lns []net.Listener) {
	for _, ln := range lns {
		ln.Close()
	}
}
