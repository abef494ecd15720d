package cmd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestInWords: the failures of a request that got no answer are told in
// words, whatever wraps them; the exit code stays that of the error.
func TestInWords(t *testing.T) {
	// A port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	// A server that accepts and never answers.
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hang.Close() })
	go func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	get := func(client *http.Client, u string) error {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
		_, err := client.Do(req)
		if err == nil {
			t.Fatalf("GET %s succeeded", u)
		}
		return fmt.Errorf("find the provider's endpoints: discovery: %w", err)
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"refused", get(http.DefaultClient, "http://"+closed+"/.well-known/openid-configuration"),
			"find the provider's endpoints: discovery: " + closed + " refused the connection"},
		{"no answer", get(&http.Client{Timeout: 200 * time.Millisecond}, "http://"+hang.Addr().String()+"/x"),
			"find the provider's endpoints: discovery: " + hang.Addr().String() + " did not answer within 30s"},
		{"no such host", fmt.Errorf("refresh: %w", &url.Error{Op: "Post", URL: "https://id.example.invalid/token", Err: &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Name: "id.example.invalid", Err: "no such host", IsNotFound: true}}}),
			"refresh: id.example.invalid: no such host"},
		{"an answer that was an error stays", errors.New("discovery: http://x/ answered 500 Internal Server Error"),
			"discovery: http://x/ answered 500 Internal Server Error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := inWords(tt.err, 30*time.Second)
			if got.Error() != tt.want {
				t.Errorf("inWords = %q, want %q", got, tt.want)
			}
			if !errors.Is(got, tt.err) {
				t.Error("the original error is not underneath")
			}
			if strings.Contains(got.Error(), "dial tcp") || strings.Contains(got.Error(), "deadline exceeded") {
				t.Errorf("Go's words remain: %q", got)
			}
		})
	}
}
