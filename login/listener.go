package login

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// listener is the bound loopback listener(s) and the redirect URI they
// serve.
type listener struct {
	lns         []net.Listener
	port        int
	host        string // the redirect URI's host:port
	redirectURI string
}

// listenFunc binds a TCP address, as net.Listen does.
type listenFunc func(network, address string) (net.Listener, error)

// bindAddrs are the addresses bound for each redirect host.
var bindAddrs = map[string][]string{
	"127.0.0.1": {"127.0.0.1"},
	"[::1]":     {"::1"},
	"localhost": {"127.0.0.1", "::1"},
}

// portTries is how many random ports listen tries for localhost before it
// gives up finding one free on both 127.0.0.1 and ::1.
const portTries = 5

// listen binds the loopback address(es) of host ("127.0.0.1", "localhost"
// or "[::1]") on port (0: any free port) with bind. For localhost it binds
// 127.0.0.1 and ::1 on the same port, since a browser may try either: the
// port taken on either one is a *PortBusyError naming that address (another
// program there would receive the code), and ::1 is skipped only where
// IPv6 is off. With port 0 it tries a few random ports until one is free on
// both.
func listen(bind listenFunc, host string, port int, path string) (*listener, error) {
	addrs := bindAddrs[host]
	tries := 1
	if port == 0 && len(addrs) > 1 {
		tries = portTries
	}
	var lns []net.Listener
	var err error
	for range tries {
		var got int
		lns, got, err = bindAll(bind, addrs, port)
		if err == nil {
			port = got
			break
		}
		if !errors.Is(err, ErrPortBusy) {
			return nil, err
		}
	}
	if err != nil {
		if tries > 1 {
			return nil, fmt.Errorf("no port was free on both 127.0.0.1 and [::1] in %d tries: %w", tries, err)
		}
		return nil, err
	}
	hostPort := host + ":" + strconv.Itoa(port)
	return &listener{
		lns:         lns,
		port:        port,
		host:        hostPort,
		redirectURI: (&url.URL{Scheme: "http", Host: hostPort, Path: path}).String(),
	}, nil
}

// bindAll binds every address of addrs on port and returns the listeners
// and the port; with port 0 the first address picks it for the others. On
// error nothing stays bound.
func bindAll(bind listenFunc, addrs []string, port int) ([]net.Listener, int, error) {
	var lns []net.Listener
	fail := func(err error) ([]net.Listener, int, error) {
		for _, ln := range lns {
			_ = ln.Close()
		}
		return nil, 0, err
	}
	for i, addr := range addrs {
		hp := net.JoinHostPort(addr, strconv.Itoa(port))
		ln, err := bind("tcp", hp)
		switch {
		case err == nil:
		case addrInUse(err):
			return fail(&PortBusyError{Host: addr, Port: port})
		case i > 0 && ipv6Off(err):
			continue // localhost's ::1 where the machine has no IPv6
		case ipv6Off(err):
			return fail(fmt.Errorf("listen on %s: %w (this machine has no IPv6 loopback; use --redirect-host 127.0.0.1)", hp, err))
		default:
			return fail(fmt.Errorf("listen on %s: %w", hp, err))
		}
		if port == 0 {
			port = ln.Addr().(*net.TCPAddr).Port
		}
		lns = append(lns, ln)
	}
	return lns, port, nil
}

// serve runs h on every listener until shutdown is called. shutdown lets
// in-flight pages finish for a moment, then closes everything; when it
// returns the port is free.
func (l *listener) serve(h http.Handler) (shutdown func()) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	var wg sync.WaitGroup
	for _, ln := range l.lns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = srv.Serve(ln)
		}()
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = srv.Close()
		for _, ln := range l.lns {
			_ = ln.Close()
		}
		wg.Wait()
	}
}

// Windows' socket errors, which its syscall package does not map to the
// Unix names.
const (
	wsaeAddrInUse      = syscall.Errno(10048)
	wsaeAddrNotAvail   = syscall.Errno(10049)
	wsaeAFNoSupport    = syscall.Errno(10047)
	wsaePFNoSupport    = syscall.Errno(10046)
	wsaeProtoNoSupport = syscall.Errno(10043)
)

// addrInUse reports whether err says the address is taken, on every OS.
func addrInUse(err error) bool {
	return errors.Is(err, syscall.EADDRINUSE) || errors.Is(err, wsaeAddrInUse)
}

// ipv6Off reports whether err says the address cannot exist here (IPv6
// disabled or not compiled in), as opposed to being taken or forbidden.
func ipv6Off(err error) bool {
	for _, e := range []error{
		syscall.EADDRNOTAVAIL, syscall.EAFNOSUPPORT, syscall.EPROTONOSUPPORT,
		wsaeAddrNotAvail, wsaeAFNoSupport, wsaePFNoSupport, wsaeProtoNoSupport,
	} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
