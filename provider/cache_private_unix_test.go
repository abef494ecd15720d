//go:build unix

package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A cache entry, or cache directory, that another user could write is a
// miss: the entry decides where refresh tokens go, so it is discovered
// anew, and -v says why. One only others can read is a hit: endpoints are
// not secrets.
func TestCacheOthersCanWriteIsAMiss(t *testing.T) {
	for _, tt := range []struct {
		name          string
		dirMode, mode os.FileMode
		hit           bool
		why           string
	}{
		{"private", 0o700, 0o600, true, ""},
		{"readable by others", 0o755, 0o644, true, ""},
		{"entry writable by others", 0o700, 0o666, false, "discovery-work.json is open to other users (mode 0666)"},
		{"entry writable by the group", 0o700, 0o620, false, "discovery-work.json is open to other users (mode 0620)"},
		{"directory writable by others", 0o777, 0o600, false, "cache is open to other users (mode 0777)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, requests := tlsServer(t, "", "")
			var lines []string
			logf := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
			r := Resolver{Client: srv.Client(), Cache: Cache{Dir: filepath.Join(t.TempDir(), "cache")}, Log: logf}
			ctx := context.Background()
			if _, err := r.Resolve(ctx, "work", srv.URL, Metadata{}); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(r.Cache.path("work"), tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(r.Cache.Dir, tt.dirMode); err != nil {
				t.Fatal(err)
			}
			_, hit := r.Cache.Load("work", srv.URL)
			lines = nil
			if _, err := r.Resolve(ctx, "work", srv.URL, Metadata{}); err != nil {
				t.Fatal(err)
			}
			want := int32(2)
			if tt.hit {
				want = 1
			}
			if hit != tt.hit || requests.Load() != want {
				t.Errorf("hit %v after %d discovery requests; want hit %v after %d", hit, requests.Load(), tt.hit, want)
			}
			if log := strings.Join(lines, "\n"); tt.why != "" && !strings.Contains(log, tt.why) {
				t.Errorf("-v said:\n%s\nwant the reason %q", log, tt.why)
			}
		})
	}
}
